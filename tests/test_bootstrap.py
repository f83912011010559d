"""Percentile bootstrap of a ratio over pieces."""

from __future__ import annotations

import numpy as np
import pytest

from midi_genres.analysis.bootstrap import bootstrap_ratio_interval, paired_ratio_replicates


def _pieces(n: int, seed: int, mean: float = 2.0):
    """``n`` pieces: notes per piece 20-200, bits per note scattered around ``mean`` (the true ratio)."""
    rng = np.random.default_rng(seed)
    notes = rng.integers(20, 200, size=n).astype(float)
    bits = notes * rng.normal(mean, 0.5, size=n)
    return bits, notes


def test_interval_contains_the_estimate_and_the_truth_and_shrinks_like_one_over_sqrt_n():
    widths = {}
    for n in (50, 800):
        bits, notes = _pieces(n, seed=n)
        est, low, high = bootstrap_ratio_interval(bits, notes, n_resamples=2000, seed=1)
        assert est == pytest.approx(bits.sum() / notes.sum())
        assert low <= est <= high
        assert low < 2.0 < high
        widths[n] = high - low
    assert widths[50] / widths[800] == pytest.approx(4.0, rel=0.35)  # sqrt(800 / 50) = 4


def test_coverage_of_the_true_ratio_is_near_the_level():
    hits = 0
    for trial in range(60):
        bits, notes = _pieces(100, seed=1000 + trial)
        _, low, high = bootstrap_ratio_interval(bits, notes, n_resamples=400, level=0.9, seed=trial)
        hits += low <= 2.0 <= high
    assert 45 <= hits <= 60  # 90% nominal: 54 expected


def test_same_seed_same_output_and_another_seed_differs():
    bits, notes = _pieces(200, seed=3)
    a = bootstrap_ratio_interval(bits, notes, seed=7)
    assert a == bootstrap_ratio_interval(list(bits), list(notes), seed=7)
    b = bootstrap_ratio_interval(bits, notes, seed=8)
    assert a[0] == b[0] and a[1:] != b[1:]


def test_batches_do_not_change_the_result(monkeypatch):
    import midi_genres.analysis.bootstrap as bootstrap

    bits, notes = _pieces(100, seed=4)
    whole = bootstrap_ratio_interval(bits, notes, n_resamples=300, seed=2)
    monkeypatch.setattr(bootstrap, "MAX_DRAWS_PER_BATCH", 100 * 7)  # 7 resamples per batch
    assert bootstrap_ratio_interval(bits, notes, n_resamples=300, seed=2) == pytest.approx(whole)


def test_one_piece_gives_a_degenerate_interval():
    assert bootstrap_ratio_interval([30.0], [12.0]) == (2.5, 2.5, 2.5)


def test_identical_pieces_give_a_degenerate_interval():
    est, low, high = bootstrap_ratio_interval([6.0] * 10, [3.0] * 10)
    assert est == low == high == 2.0


def test_wider_level_gives_a_wider_interval():
    bits, notes = _pieces(100, seed=5)
    _, low80, high80 = bootstrap_ratio_interval(bits, notes, level=0.8)
    _, low99, high99 = bootstrap_ratio_interval(bits, notes, level=0.99)
    assert low99 <= low80 < high80 <= high99


def test_pieces_without_notes_count_in_the_resampling():
    est, low, high = bootstrap_ratio_interval([10.0, 0.0, 30.0], [5.0, 0.0, 10.0], seed=0)
    assert est == pytest.approx(40.0 / 15.0)
    assert low <= est <= high


@pytest.mark.parametrize("num, den, kwargs", [
    ([1.0, 2.0], [1.0], {}),
    ([], [], {}),
    ([1.0], [0.0], {}),
    ([1.0, 2.0], [1.0, -1.0], {}),
    ([1.0, float("nan")], [1.0, 1.0], {}),
    ([1.0, 2.0], [1.0, 1.0], {"level": 1.0}),
    ([1.0, 2.0], [1.0, 1.0], {"n_resamples": 0}),
])
def test_bad_input_is_a_value_error(num, den, kwargs):
    with pytest.raises(ValueError):
        bootstrap_ratio_interval(num, den, **kwargs)


def test_paired_replicates_draw_the_same_families_for_every_point():
    """Two scorings of the same pieces, the second 0.5 bits per note dearer on every piece: each replicate of the
    second is exactly 0.5 above the same replicate of the first (the same families drawn), and a family's pieces are
    drawn together (replicates of pieces that all share one family do not vary)."""
    rng = np.random.default_rng(3)
    notes = rng.integers(5, 30, 40).astype(float)
    first = notes * rng.uniform(2, 5, 40)
    families = np.repeat(np.arange(10), 4)
    reps = paired_ratio_replicates(np.stack([first, first + 0.5 * notes]), notes, families, n_resamples=200)
    assert reps.shape == (2, 200) and np.allclose(reps[1] - reps[0], 0.5)
    assert reps[0].std() > 0
    one_family = paired_ratio_replicates(first[None, :], notes, np.zeros(40), n_resamples=50)
    assert np.allclose(one_family, first.sum() / notes.sum())
    assert np.array_equal(reps, paired_ratio_replicates(np.stack([first, first + 0.5 * notes]), notes, families,
                                                        n_resamples=200))  # seeded
