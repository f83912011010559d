"""Percentile bootstrap for ratio estimators such as bits per note (total bits / total notes), over the unit that was
held out: tune families (a cluster bootstrap, the pieces of a family resampled together) or pieces."""

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
    ratios = _resampled_ratios(num, den, n_resamples, np.random.default_rng(seed))
    ratios = ratios[np.isfinite(ratios)]  # a resample of only zero-denominator pieces has no ratio
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return estimate, float(low), float(high)


def _resampled_ratios(num: np.ndarray, den: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The ratio of sums of ``n_resamples`` resamples (with replacement) of the units; NaN/inf where a resample's
    denominators sum to 0."""
    n = num.size
    ratios = np.empty(n_resamples)
    batch = max(1, MAX_DRAWS_PER_BATCH // n)
    for lo in range(0, n_resamples, batch):
        hi = min(n_resamples, lo + batch)
        idx = rng.integers(0, n, size=(hi - lo, n))
        r_den = den[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[lo:hi] = num[idx].sum(axis=1) / r_den
    return ratios


def family_totals(values: Sequence[float] | np.ndarray, groups: Sequence | np.ndarray) -> np.ndarray:
    """``values`` summed within each group, groups in order of first appearance (so singleton groups give the
    values back unchanged, in their order)."""
    values = np.asarray(values, dtype=np.float64)
    labels, first, inverse = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    if len(values) != len(inverse):
        raise ValueError(f"{len(values)} values but {len(inverse)} group labels")
    order = np.argsort(first, kind="stable")  # group k of the output is the k-th group to appear
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return np.bincount(rank[inverse.ravel()], weights=values, minlength=len(labels))


def paired_ratio_replicates(bits: np.ndarray, notes: Sequence[float] | np.ndarray, groups: Sequence | np.ndarray,
                            n_resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Bootstrap replicates (points x ``n_resamples``) of total bits / total notes of several scorings of the same
    pieces (``bits``: points x pieces), every point resampled with the same draws of whole ``groups`` (tune
    families), so that column r of every point is one resample of the held-out music and the points' correlation
    is kept (e.g. the caps of a learning curve, all scored on the same held-out families). Seeded."""
    bits = np.atleast_2d(np.asarray(bits, dtype=np.float64))
    totals = np.stack([family_totals(row, groups) for row in bits])
    counts = family_totals(notes, groups)
    idx = np.random.default_rng(seed).integers(0, len(counts), size=(n_resamples, len(counts)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return totals[:, idx].sum(axis=2) / counts[idx].sum(axis=1)


def ratio_interval(bits: Sequence[float] | np.ndarray, notes: Sequence[float] | np.ndarray,
                   groups: Sequence | np.ndarray | None = None) -> tuple[float, float]:
    """The project's interval of total bits / total notes: 95%, seeded, over ``groups`` (the held-out unit, e.g.
    each piece's tune family: a cluster bootstrap that resamples whole families) or over pieces when ``groups`` is
    None. NaN for fewer than two units, where resampling says nothing, or without notes."""
    if groups is not None:
        bits, notes = family_totals(bits, groups), family_totals(notes, groups)
    if len(bits) < 2 or np.sum(notes) <= 0:
        return math.nan, math.nan
    _, low, high = bootstrap_ratio_interval(bits, notes, RESAMPLES, INTERVAL_LEVEL, BOOTSTRAP_SEED)
    return low, high


def ratio_difference_interval(num_a: Sequence[float] | np.ndarray, den_a: Sequence[float] | np.ndarray,
                              num_b: Sequence[float] | np.ndarray,
                              den_b: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """``(difference, low, high)`` of ``sum(num_a) / sum(den_a) - sum(num_b) / sum(den_b)`` for two independent
    sets of units (e.g. a model's samples and held-out pieces, or their tune families): each set resampled on its
    own, the project's 95% seeded percentile interval. The difference is NaN when a set's denominators do not sum
    to a positive number, the interval also when a set has fewer than two units."""
    a_num, a_den, b_num, b_den = (np.asarray(v, dtype=np.float64).ravel() for v in (num_a, den_a, num_b, den_b))
    if a_num.shape != a_den.shape or b_num.shape != b_den.shape:
        raise ValueError("each set needs one denominator per numerator")
    if a_den.sum() <= 0 or b_den.sum() <= 0:
        return math.nan, math.nan, math.nan
    estimate = float(a_num.sum() / a_den.sum() - b_num.sum() / b_den.sum())
    if min(a_num.size, b_num.size) < 2:
        return estimate, math.nan, math.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    diffs = _resampled_ratios(a_num, a_den, RESAMPLES, rng) - _resampled_ratios(b_num, b_den, RESAMPLES, rng)
    diffs = diffs[np.isfinite(diffs)]
    tail = (1.0 - INTERVAL_LEVEL) / 2.0
    low, high = np.quantile(diffs, [tail, 1.0 - tail])
    return estimate, float(low), float(high)
