"""Percentile bootstrap over pieces for ratio estimators such as bits per note (total bits / total notes)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_DRAWS_PER_BATCH = 4_000_000  # resampled indices held at once (32 MB of int64)
INTERVAL_LEVEL = 0.95  # every interval the project reports
BOOTSTRAP_SEED = 0  # so that reruns give identical intervals
RESAMPLES = 1000


def bootstrap_ratio_interval(numerators: Sequence[float] | np.ndarray, denominators: Sequence[float] | np.ndarray,
                             n_resamples: int = 1000, level: float = 0.95,
                             seed: int = 0) -> tuple[float, float, float]:
    """``(estimate, low, high)`` of ``sum(numerators) / sum(denominators)`` with a percentile bootstrap.

    Pieces (pairs ``numerators[i]``, ``denominators[i]``) are resampled with replacement ``n_resamples``
    times and the ratio of sums recomputed; ``low``/``high`` are the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of those ratios. Deterministic for a given ``seed``
    (``np.random.default_rng``). One piece gives ``low == high == estimate``.
    """
    num = np.asarray(numerators, dtype=np.float64).ravel()
    den = np.asarray(denominators, dtype=np.float64).ravel()
    if num.shape != den.shape:
        raise ValueError(f"numerators and denominators differ in length: {num.size} vs {den.size}")
    if num.size == 0:
        raise ValueError("need at least one piece to bootstrap")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den))):
        raise ValueError("numerators and denominators must be finite")
    total_den = den.sum()
    if total_den <= 0 or np.any(den < 0):
        raise ValueError("denominators must be non-negative with a positive sum")
    estimate = float(num.sum() / total_den)
    if num.size == 1:
        return estimate, estimate, estimate
    rng = np.random.default_rng(seed)
    n = num.size
    ratios = np.empty(n_resamples)
    batch = max(1, MAX_DRAWS_PER_BATCH // n)
    for lo in range(0, n_resamples, batch):
        hi = min(n_resamples, lo + batch)
        idx = rng.integers(0, n, size=(hi - lo, n))
        r_den = den[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[lo:hi] = num[idx].sum(axis=1) / r_den
    ratios = ratios[np.isfinite(ratios)]  # a resample of only zero-denominator pieces has no ratio
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)


def ratio_interval(bits: Sequence[float] | np.ndarray, notes: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """The project's interval of total bits / total notes over pieces: 95%, seeded (NaN for fewer than two pieces,
    where resampling says nothing, or without notes)."""
    if len(bits) < 2 or np.sum(notes) <= 0:
        return math.nan, math.nan
    _, low, high = bootstrap_ratio_interval(bits, notes, RESAMPLES, INTERVAL_LEVEL, BOOTSTRAP_SEED)
    return low, high
