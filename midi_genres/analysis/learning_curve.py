"""Learning curves: held-out bits per note L against training notes D, fitted by L(D) = a * D^-alpha + c.

``a`` is the part of the loss more data removes, ``alpha`` how fast it goes, ``c`` the loss no amount of this data
removes (the floor of this model on this music). The fit needs no scipy: for each ``alpha`` of a grid, ``a`` and
``c`` are a (weighted) linear least-squares fit with ``a >= 0`` and ``c >= 0``, the best ``alpha`` is refined by a
golden-section search between its grid neighbours, and intervals come from refitting bootstrap replicates of the
points (``fit_curve``):

- ``replicates``: an array (points x R) of bootstrap replicates of each point's bits per note. Column ``r`` is one
  replicate of the whole curve: when the points share their held-out pieces (every cap of a genre is scored on the
  same held-out families), column ``r`` of every point should come from the same resample of those pieces, so the
  points' correlation is kept.
- ``se``: per-point standard errors (``se_from_interval`` turns a 95% interval into one), resampled as independent
  normal errors: for points known only by their intervals.

The helpers answer the questions a curve is drawn for: how much doubling the data would still gain at the largest
point (``doubling_gain``, ``data_limited``), where a model's curve crosses its floor's (``crossing``), and which
genres' order by difficulty changes along the curves (``order_swaps``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from midi_genres.analysis.bootstrap import BOOTSTRAP_SEED, INTERVAL_LEVEL, RESAMPLES

ALPHA_RANGE = (0.01, 3.0)  # exponents searched: from nearly flat to faster than any learning curve seen in practice
ALPHA_GRID = 300  # grid points (log-spaced) before the golden-section refinement
GOLDEN_STEPS = 30  # golden-section iterations: the bracket shrinks to 0.618^30 ~ 5e-7 of two grid steps
FIT_BATCH = 100  # replicate curves fitted at once (curves x grid x points floats held)
Z95 = 1.959964  # the normal quantile of a 95% interval


@dataclass(frozen=True)
class PowerLaw:
    """L(D) = a * D^-alpha + c, with its weighted sum of squared residuals ``sse`` on the fitted points."""

    a: float
    alpha: float
    c: float
    sse: float = 0.0

    def predict(self, notes: float | np.ndarray) -> float | np.ndarray:
        """Bits per note at ``notes`` training notes."""
        return self.a * np.asarray(notes, dtype=np.float64) ** -self.alpha + self.c


@dataclass(frozen=True)
class CurveFit:
    """A fitted curve, the fits of its bootstrap replicates and 95% percentile intervals of its parameters."""

    fit: PowerLaw
    notes: tuple[float, ...]  # the training notes of the fitted points, ascending
    replicates: tuple[PowerLaw, ...] = field(default=(), repr=False)
    alpha_at_bound: bool = False  # the best alpha lies on the edge of ALPHA_RANGE: the data do not fix it

    def interval(self, parameter: str) -> tuple[float, float]:
        """The 95% percentile interval of ``a``, ``alpha`` or ``c`` over the replicates (NaN without them)."""
        return _percentiles([getattr(r, parameter) for r in self.replicates])

    def predict_interval(self, notes: float) -> tuple[float, float, float]:
        """``(estimate, low, high)`` of the bits per note at ``notes`` training notes."""
        return (float(self.fit.predict(notes)), *_percentiles([float(r.predict(notes)) for r in self.replicates]))


def _percentiles(values: Sequence[float]) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan, math.nan
    tail = (1.0 - INTERVAL_LEVEL) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def se_from_interval(low: float, high: float) -> float:
    """The standard error a symmetric normal 95% interval ``[low, high]`` implies."""
    return (high - low) / (2.0 * Z95)


def _check_points(notes: np.ndarray, bits: np.ndarray, weights: np.ndarray) -> None:
    if notes.ndim != 1 or notes.shape != bits.shape or notes.shape != weights.shape:
        raise ValueError(f"notes, bits and weights must be 1-d of one length, got shapes {notes.shape}, "
                         f"{bits.shape}, {weights.shape}")
    if len(np.unique(notes)) < 3:
        raise ValueError("fitting a * D^-alpha + c needs at least 3 distinct training sizes, "
                         f"got {len(np.unique(notes))}")
    if np.any(notes <= 0) or not np.all(np.isfinite(bits)) or np.any(weights <= 0):
        raise ValueError("training notes and weights must be positive and bits per note finite")


def _solve(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of ``y ~ a * x + c`` along the last axis (``x`` and ``y`` broadcast against each
    other, ``w`` per point), constrained to ``a >= 0, c >= 0``: the unconstrained optimum where it is feasible,
    else the better of the two edges (``c = 0``; ``a = 0``). Returns ``(a, c, sse)`` of the leading shape."""
    x, y = np.broadcast_arrays(x, y)
    sw = w.sum()
    mx, my = (x * w).sum(axis=-1) / sw, (y * w).sum(axis=-1) / sw
    dx = x - mx[..., None]
    sxx = (w * dx ** 2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(sxx > 0, (w * dx * (y - my[..., None])).sum(axis=-1) / sxx, 0.0)
    zero = np.zeros_like(a)
    candidates = [(a, my - a * mx),
                  (np.maximum((w * x * y).sum(axis=-1) / (w * x * x).sum(axis=-1), 0.0), zero),
                  (zero, np.maximum(my, 0.0))]
    best_sse = np.full_like(a, np.inf)
    best_a, best_c = zero, zero
    for ca, cc in candidates:
        sse = (w * (y - ca[..., None] * x - cc[..., None]) ** 2).sum(axis=-1)
        better = (ca >= 0) & (cc >= 0) & (sse < best_sse)
        best_sse = np.where(better, sse, best_sse)
        best_a, best_c = np.where(better, ca, best_a), np.where(better, cc, best_c)
    return best_a, best_c, best_sse


def _fit_many(d: np.ndarray, ys: np.ndarray, w: np.ndarray) -> tuple[list[PowerLaw], np.ndarray]:
    """Fits of ``a * d^-alpha + c`` to every row of ``ys`` (curves x points) at once: the best alpha of a
    log-spaced grid over ``ALPHA_RANGE``, refined by a golden-section search between its grid neighbours. Returns
    the fits and whether each best grid alpha lay on the range's edge."""
    scale = float(np.exp(np.log(d).mean()))  # notes scaled by their geometric mean keep ``a`` well conditioned
    logx = np.log(d / scale)

    def solve(alphas: np.ndarray):  # alphas broadcast against the curves' leading shape
        return _solve(np.exp(-alphas[..., None] * logx), ys if alphas.ndim == 1 else ys[:, None, :], w)

    grid = np.geomspace(*ALPHA_RANGE, ALPHA_GRID)
    grid_sse = solve(np.broadcast_to(grid, (len(ys), len(grid))))[2]
    best = np.argmin(grid_sse, axis=1)
    lo, hi = grid[np.maximum(best - 1, 0)], grid[np.minimum(best + 1, len(grid) - 1)]
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(GOLDEN_STEPS):
        m1, m2 = hi - golden * (hi - lo), lo + golden * (hi - lo)
        left = solve(m1)[2] <= solve(m2)[2]
        hi, lo = np.where(left, m2, hi), np.where(left, lo, m1)
    alpha = (lo + hi) / 2.0
    alpha = np.where(solve(alpha)[2] <= grid_sse[np.arange(len(ys)), best], alpha, grid[best])
    a, c, sse = solve(alpha)
    fits = [PowerLaw(float(a[k] * scale ** alpha[k]), float(alpha[k]), float(c[k]), float(sse[k]))
            for k in range(len(ys))]
    return fits, (best == 0) | (best == len(grid) - 1)


def fit_power_law(notes: Sequence[float], bits: Sequence[float],
                  weights: Sequence[float] | None = None) -> tuple[PowerLaw, bool]:
    """The weighted least-squares fit of ``bits = a * notes^-alpha + c`` (``a, c >= 0``, ``alpha`` in
    ``ALPHA_RANGE``), and whether the best ``alpha`` lies on the range's edge (the data do not fix it).

    ``weights`` (default 1) are per point, e.g. 1 / se^2. Raises ``ValueError`` for fewer than 3 distinct
    training sizes, non-positive notes or weights, or non-finite bits.
    """
    d = np.asarray(notes, dtype=np.float64)
    y = np.asarray(bits, dtype=np.float64)
    w = np.ones_like(d) if weights is None else np.asarray(weights, dtype=np.float64)
    _check_points(d, y, w)
    fits, at_bound = _fit_many(d, y[None, :], w)
    return fits[0], bool(at_bound[0])


def fit_curve(notes: Sequence[float], bits: Sequence[float], *, replicates: np.ndarray | None = None,
              se: Sequence[float] | None = None, n_resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> CurveFit:
    """Fit one curve and refit it on bootstrap replicates of its points (see the module docstring).

    ``replicates`` (points x R) are refitted column by column and also weight the fit (1 / variance of each
    point's replicates); without them, ``se`` (per point) weights the fit and ``n_resamples`` normal replicates
    ``bits + se * N(0, 1)`` (seeded) are refitted. With neither there is no interval. Points are sorted by notes.
    """
    d = np.asarray(notes, dtype=np.float64)
    y = np.asarray(bits, dtype=np.float64)
    order = np.argsort(d, kind="stable")
    d, y = d[order], y[order]
    if replicates is not None and se is not None:
        raise ValueError("give either bootstrap replicates or standard errors of the points, not both")
    if replicates is not None:
        reps = np.asarray(replicates, dtype=np.float64)
        if reps.ndim != 2 or reps.shape[0] != d.size or reps.shape[1] < 2:
            raise ValueError(f"replicates must be (points x resamples) with {d.size} rows and at least 2 columns, "
                             f"got shape {reps.shape}")
        reps = reps[order][:, np.all(np.isfinite(reps), axis=0)]  # a resample without notes has no ratio
        spread = reps.std(axis=1, ddof=1) if reps.shape[1] > 1 else None
    elif se is not None:
        spread = np.asarray(se, dtype=np.float64)[order]
        if spread.shape != d.shape or np.any(~np.isfinite(spread)) or np.any(spread < 0):
            raise ValueError(f"se must hold one finite non-negative standard error per point ({d.size})")
        rng = np.random.default_rng(seed)
        reps = y[:, None] + spread[:, None] * rng.standard_normal((d.size, n_resamples))
    else:
        spread, reps = None, np.empty((d.size, 0))
    weights = None
    if spread is not None and np.all(spread > 0):
        weights = 1.0 / spread ** 2
    fit, at_bound = fit_power_law(d, y, weights)
    columns = reps.T
    fits = [f for lo in range(0, len(columns), FIT_BATCH)
            for f in _fit_many(d, columns[lo:lo + FIT_BATCH], np.ones_like(d) if weights is None else weights)[0]]
    return CurveFit(fit, tuple(d.tolist()), tuple(fits), at_bound)


def doubling_gain(curve: CurveFit, notes: float | None = None) -> tuple[float, float, float]:
    """``(gain, low, high)``: bits per note the fitted curve loses from ``notes`` (default: its largest point, the
    whole corpus) to twice as many, ``a * D^-alpha * (1 - 2^-alpha)``, with its interval over the replicates."""
    d = curve.notes[-1] if notes is None else notes

    def gain(p: PowerLaw) -> float:
        return float(p.predict(d) - p.predict(2.0 * d))

    return (gain(curve.fit), *_percentiles([gain(r) for r in curve.replicates]))


def data_limited(curve: CurveFit, min_gain: float, notes: float | None = None) -> str:
    """Whether a genre is still data-limited at ``notes`` (default: its whole corpus): ``yes`` when doubling its
    data gains more than ``min_gain`` bits per note across the whole interval, ``no`` when the whole interval lies
    below it, ``unclear`` otherwise (or without replicates)."""
    _, low, high = doubling_gain(curve, notes)
    if low > min_gain:
        return "yes"
    if high < min_gain:
        return "no"
    return "unclear"


def crossing(notes: Sequence[float], difference: Sequence[float]) -> float:
    """Training notes at which a model's curve first crosses below its floor's, from ``difference`` = model minus
    floor bits per note at the same ``notes``: interpolated linearly in log notes between the last point above
    (> 0) and the first at or below 0 after it. 0.0 when the model is at or below its floor from the first point;
    NaN when it never gets there within the measured points (no extrapolation)."""
    d = np.asarray(notes, dtype=np.float64)
    diff = np.asarray(difference, dtype=np.float64)
    if d.shape != diff.shape or d.size == 0:
        raise ValueError("notes and difference must be 1-d of one non-zero length")
    order = np.argsort(d, kind="stable")
    d, diff = d[order], diff[order]
    below = np.flatnonzero(diff <= 0)
    if below.size == 0:
        return math.nan
    j = int(below[0])
    if j == 0:
        return 0.0
    x0, x1 = math.log(d[j - 1]), math.log(d[j])
    return float(math.exp(x0 + (x1 - x0) * diff[j - 1] / (diff[j - 1] - diff[j])))


def crossing_interval(notes: Sequence[float], differences: np.ndarray) -> tuple[float, float, float]:
    """``(share, low, high)`` of ``crossing`` over bootstrap replicates of the differences (points x R, each column
    one paired resample of the held-out pieces): the share of replicates that cross within the measured points,
    and the 95% interval of the crossing among those that do."""
    reps = np.asarray(differences, dtype=np.float64)
    found = np.array([crossing(notes, reps[:, r]) for r in range(reps.shape[1])])
    crossed = found[np.isfinite(found)]
    return (float(crossed.size / max(found.size, 1)), *_percentiles(crossed))


@dataclass(frozen=True)
class Swap:
    """Two genres whose fitted curves cross within the training sizes both were measured at: below ``notes``
    training notes ``harder`` costs more bits per note than ``easier``, above it less (``support``: the share of
    paired replicate fits that cross in the same range)."""

    harder: str
    easier: str
    notes: float
    support: float


def _first_cross(p: PowerLaw, q: PowerLaw, grid: np.ndarray) -> int | None:
    """Index of the first grid interval over which curves ``p`` and ``q`` change order (None if they never do)."""
    sign = np.sign(p.predict(grid) - q.predict(grid))
    flips = np.flatnonzero(sign[1:] * sign[:-1] < 0)
    return int(flips[0]) if flips.size else None


def order_swaps(curves: Mapping[str, CurveFit], grid_points: int = 200) -> list[Swap]:
    """Every pair of genres whose order by difficulty (fitted bits per note) changes along their curves, within the
    range of training notes both were measured at (no extrapolation), in the order of ``curves``."""
    names = list(curves)
    swaps = []
    for i, g in enumerate(names):
        for h in names[i + 1:]:
            lo = max(curves[g].notes[0], curves[h].notes[0])
            hi = min(curves[g].notes[-1], curves[h].notes[-1])
            if lo >= hi:
                continue
            grid = np.geomspace(lo, hi, grid_points)
            k = _first_cross(curves[g].fit, curves[h].fit, grid)
            if k is None:
                continue
            pairs = list(zip(curves[g].replicates, curves[h].replicates))
            support = sum(_first_cross(p, q, grid) is not None for p, q in pairs) / len(pairs) if pairs else math.nan
            early_g = curves[g].fit.predict(grid[0]) > curves[h].fit.predict(grid[0])
            swaps.append(Swap(g if early_g else h, h if early_g else g, float(np.sqrt(grid[k] * grid[k + 1])),
                              support))
    return swaps


def difficulty_order(curves: Mapping[str, CurveFit], notes: float) -> list[str]:
    """Genres from hardest to easiest by their fitted bits per note at ``notes`` training notes."""
    return sorted(curves, key=lambda g: -float(curves[g].fit.predict(notes)))
