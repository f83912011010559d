"""The learning-curve fit L(D) = a * D^-alpha + c and the questions asked of it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from midi_genres.analysis.learning_curve import (
    CurveFit,
    PowerLaw,
    crossing,
    crossing_interval,
    data_limited,
    difficulty_order,
    doubling_gain,
    fit_curve,
    fit_power_law,
    order_swaps,
    se_from_interval,
)

NOTES = np.array([2_000, 5_000, 12_000, 30_000, 80_000, 200_000], dtype=float)


def _curve(a: float, alpha: float, c: float, notes=NOTES) -> np.ndarray:
    return a * notes ** -alpha + c


@pytest.mark.parametrize("a, alpha, c", [(60.0, 0.35, 2.1), (400.0, 0.7, 0.8), (9.0, 0.12, 3.5)])
def test_exact_points_give_back_their_parameters(a, alpha, c):
    fit, at_bound = fit_power_law(NOTES, _curve(a, alpha, c))
    assert not at_bound
    assert fit.alpha == pytest.approx(alpha, rel=1e-4)
    assert fit.c == pytest.approx(c, abs=1e-3)
    assert fit.a == pytest.approx(a, rel=1e-3)
    assert fit.sse == pytest.approx(0.0, abs=1e-9)


def test_noisy_points_recover_alpha_and_c_within_their_intervals():
    rng = np.random.default_rng(5)
    truth = _curve(60.0, 0.4, 2.0)
    se = np.full(NOTES.size, 0.03)
    bits = truth + se * rng.standard_normal(NOTES.size)
    curve = fit_curve(NOTES, bits, se=se, n_resamples=400)
    low, high = curve.interval("alpha")
    assert low < 0.4 < high and high - low < 0.4
    c_low, c_high = curve.interval("c")
    assert c_low < 2.0 < c_high
    assert curve.fit.alpha == pytest.approx(0.4, abs=0.15)
    assert len(curve.replicates) == 400


def test_replicate_columns_are_refitted_and_weight_the_fit():
    rng = np.random.default_rng(1)
    truth = _curve(30.0, 0.3, 1.5)
    reps = truth[:, None] + 0.02 * rng.standard_normal((NOTES.size, 200))
    curve = fit_curve(NOTES[::-1], truth[::-1], replicates=reps[::-1])  # any point order
    assert curve.notes == tuple(NOTES)
    assert curve.fit.alpha == pytest.approx(0.3, rel=1e-3)
    low, high = curve.interval("alpha")
    assert low < 0.3 < high
    with_gap = reps.copy()
    with_gap[2, 7] = np.nan  # a resample that drew no notes for one point: the column is left out
    with_gap *= np.linspace(1, 3, NOTES.size)[:, None]  # unequal spreads, so that weighting matters
    noisy = truth + np.array([0.03, -0.02, 0.01, 0.0, -0.01, 0.02])
    gapped = fit_curve(NOTES, noisy, replicates=with_gap)
    spread = np.delete(with_gap, 7, axis=1).std(axis=1, ddof=1)
    weighted, _ = fit_power_law(NOTES, noisy, 1 / spread ** 2)  # still weighted by the other columns' spread
    assert len(gapped.replicates) == 199
    assert (gapped.fit.a, gapped.fit.alpha, gapped.fit.c) == pytest.approx((weighted.a, weighted.alpha, weighted.c))
    assert gapped.fit.alpha != pytest.approx(fit_power_law(NOTES, noisy)[0].alpha, rel=1e-6)
    est, p_low, p_high = curve.predict_interval(1e6)
    assert p_low < est < p_high and est == pytest.approx(float(_curve(30.0, 0.3, 1.5, 1e6)), rel=1e-4)


def test_a_flat_curve_is_fitted_as_flat_and_negative_floors_are_not_allowed():
    flat, _ = fit_power_law(NOTES, np.full(NOTES.size, 3.0))
    assert flat.predict(NOTES) == pytest.approx(np.full(NOTES.size, 3.0))
    rising, _ = fit_power_law(NOTES, np.linspace(2.0, 3.0, NOTES.size))  # more data, worse: a = 0
    assert rising.a == 0.0 and rising.c == pytest.approx(2.5)
    steep, _ = fit_power_law(NOTES, 50.0 * NOTES ** -0.5 - 0.05)
    assert steep.c == 0.0 and steep.a > 0


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="3 distinct"):
        fit_power_law([10, 10, 20], [1.0, 1.1, 1.2])
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([0, 10, 20], [1.0, 1.1, 1.2])
    with pytest.raises(ValueError, match="not both"):
        fit_curve(NOTES, _curve(1, 1, 1), replicates=np.ones((6, 3)), se=np.ones(6))
    with pytest.raises(ValueError, match="6 rows"):
        fit_curve(NOTES, _curve(1, 1, 1), replicates=np.ones((5, 3)))


def test_still_data_limited_at_the_whole_corpus_or_not():
    se = np.full(NOTES.size, 0.01)
    steep = fit_curve(NOTES, _curve(500.0, 0.6, 2.0), se=se, n_resamples=200)
    gain, low, high = doubling_gain(steep)
    assert gain == pytest.approx(500.0 * 200_000 ** -0.6 * (1 - 2 ** -0.6), rel=1e-3)
    assert data_limited(steep, min_gain=0.05) == "yes"
    saturated = fit_curve(NOTES, _curve(500.0, 1.5, 2.0), se=se, n_resamples=200)
    assert data_limited(saturated, min_gain=0.05) == "no"
    assert data_limited(CurveFit(PowerLaw(1.0, 0.5, 1.0), tuple(NOTES)), min_gain=0.05) == "unclear"


def test_crossing_the_floor_is_interpolated_in_log_notes():
    notes = [1_000, 10_000, 100_000]
    assert crossing(notes, [0.5, 0.5, -0.5]) == pytest.approx(math.sqrt(10_000 * 100_000))
    assert crossing(notes, [0.3, 0.1, 0.0]) == pytest.approx(100_000)
    assert crossing(notes, [-0.1, 0.2, -0.3]) == 0.0
    assert math.isnan(crossing(notes, [0.3, 0.2, 0.1]))
    reps = np.array([[0.5, 0.5], [0.5, 0.2], [-0.5, 0.1]])
    share, low, high = crossing_interval(notes, reps)
    assert share == 0.5 and math.isnan(low)


def test_order_by_difficulty_swaps_where_the_curves_cross():
    se = np.full(NOTES.size, 0.01)
    curves = {
        "steep": fit_curve(NOTES, _curve(800.0, 0.6, 1.0), se=se, n_resamples=100),  # hard with little data
        "flat": fit_curve(NOTES, _curve(5.0, 0.2, 3.0), se=se, n_resamples=100),
        "far": fit_curve(NOTES * 1000, _curve(5.0, 0.2, 9.0), se=se, n_resamples=100),  # no shared range
    }
    swaps = order_swaps(curves)
    assert len(swaps) == 1
    swap = swaps[0]
    assert (swap.harder, swap.easier) == ("steep", "flat")
    # where 800 D^-0.6 + 1 = 5 D^-0.2 + 3
    d = swap.notes
    assert 800 * d ** -0.6 + 1 == pytest.approx(5 * d ** -0.2 + 3, rel=0.02)
    assert swap.support > 0.9
    assert difficulty_order(curves, NOTES[0])[:2] == ["far", "steep"]
    assert difficulty_order(curves, NOTES[-1])[1:] == ["flat", "steep"]


def test_se_from_a_95_interval():
    assert se_from_interval(1.0, 1.0 + 2 * 1.959964) == pytest.approx(1.0)
