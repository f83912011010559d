"""A training-token cap by whole pieces."""

from __future__ import annotations

import pytest

from midi_genres.tokens.dataset import cap_pieces

IDS = [f"genre/piece{i:03d}" for i in range(40)]
LENGTHS = [50 + (i * 37) % 200 for i in range(40)]


def test_no_cap_or_a_cap_above_the_total_keeps_everything():
    assert cap_pieces(LENGTHS, IDS, None) == list(range(40))
    assert cap_pieces(LENGTHS, IDS, sum(LENGTHS)) == list(range(40))
    assert cap_pieces(LENGTHS, IDS, 10 * sum(LENGTHS)) == list(range(40))


@pytest.mark.parametrize("cap", [60, 500, 1000, 2500, sum(LENGTHS) - 1])
def test_whole_pieces_within_the_cap_in_original_order(cap):
    kept = cap_pieces(LENGTHS, IDS, cap)
    assert kept == sorted(set(kept)) and kept
    assert all(0 <= i < len(IDS) for i in kept)
    total = sum(LENGTHS[i] for i in kept)
    assert total <= cap
    assert total > cap - max(LENGTHS)  # greedy: nothing left out could still have been added...
    left = [LENGTHS[i] for i in range(len(IDS)) if i not in kept]
    assert all(total + length > cap for length in left)  # ...indeed, no piece left out fits


def test_deterministic_and_independent_of_the_input_order():
    kept = cap_pieces(LENGTHS, IDS, 1500)
    assert kept == cap_pieces(list(LENGTHS), list(IDS), 1500)
    reversed_kept = cap_pieces(LENGTHS[::-1], IDS[::-1], 1500)
    assert sorted(IDS[i] for i in kept) == sorted(IDS[::-1][i] for i in reversed_kept)


def test_at_least_one_piece_even_when_none_fits():
    assert cap_pieces([100, 30, 80], ["a", "b", "c"], 10) == [1]
    assert cap_pieces([100, 30, 80], ["a", "b", "c"], 0) == [1]
    assert cap_pieces([5], ["only"], 1) == [0]


def test_a_negative_cap_is_refused_naming_the_config_key():
    with pytest.raises(ValueError, match=r"corpus\.train_tokens"):
        cap_pieces(LENGTHS, IDS, -1)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError):
        cap_pieces([1, 2], ["a"], 10)
    with pytest.raises(ValueError):
        cap_pieces([1, -2], ["a", "b"], 10)


def test_empty_input_keeps_nothing():
    assert cap_pieces([], [], 10) == []
    assert cap_pieces([], [], None) == []
