"""A training-token cap by whole tune families, in a fixed order, so that caps are nested and fair to long pieces."""

from __future__ import annotations

import hashlib

import pytest

from midi_genres.tokens.dataset import cap_pieces

IDS = [f"genre/piece{i:03d}" for i in range(40)]
LENGTHS = [50 + (i * 37) % 200 for i in range(40)]


def test_no_cap_or_a_cap_above_the_total_keeps_everything():
    assert cap_pieces(LENGTHS, IDS, None) == list(range(40))
    assert cap_pieces(LENGTHS, IDS, sum(LENGTHS)) == list(range(40))
    assert cap_pieces(LENGTHS, IDS, 10 * sum(LENGTHS)) == list(range(40))


FAMILIES = [f"tune{i // 3}" for i in range(40)]  # 14 families of up to three pieces


@pytest.mark.parametrize("cap", [500, 1000, 2500, sum(LENGTHS) - 1])
def test_whole_families_within_the_cap_in_original_order(cap):
    kept = cap_pieces(LENGTHS, IDS, cap, FAMILIES)
    assert kept == sorted(set(kept)) and kept
    assert all(0 <= i < len(IDS) for i in kept)
    assert sum(LENGTHS[i] for i in kept) <= cap
    kept_families = {FAMILIES[i] for i in kept}
    assert [i for i in range(40) if FAMILIES[i] in kept_families] == kept  # no family cut


def test_caps_are_nested():
    """A smaller cap keeps a subset of a larger cap's pieces (the learning curves need it); a fill that skips what
    does not fit is not nested: with pieces 11 then 2 and caps 10 and 12, it keeps {2} and then {11}."""
    caps = [100, 300, 700, 1500, 3000, 6000]
    kept = [set(cap_pieces(LENGTHS, IDS, cap, FAMILIES)) for cap in caps]
    assert all(small <= large for small, large in zip(kept, kept[1:]))
    assert [len(k) for k in kept] == sorted(len(k) for k in kept) and len(kept[-1]) > len(kept[0])


def test_the_fill_does_not_favour_short_pieces():
    """Pieces of two lengths, alternating: the capped stream keeps both kinds in about their share of the corpus."""
    lengths = [40 if i % 2 else 400 for i in range(200)]
    ids = [f"p{i:03d}" for i in range(200)]
    kept = cap_pieces(lengths, ids, sum(lengths) // 4)
    long_share = sum(lengths[i] == 400 for i in kept) / len(kept)
    assert 0.35 < long_share < 0.65


def test_deterministic_and_independent_of_the_input_order():
    kept = cap_pieces(LENGTHS, IDS, 1500)
    assert kept == cap_pieces(list(LENGTHS), list(IDS), 1500)
    reversed_kept = cap_pieces(LENGTHS[::-1], IDS[::-1], 1500)
    assert sorted(IDS[i] for i in kept) == sorted(IDS[::-1][i] for i in reversed_kept)


def test_at_least_one_piece_even_when_no_family_fits():
    first = min(["a", "b", "c"], key=lambda name: hashlib.sha1(name.encode()).hexdigest())
    assert cap_pieces([100, 30, 80], ["a", "b", "c"], 10) == [["a", "b", "c"].index(first)]
    assert cap_pieces([5], ["only"], 1) == [0]
    one_tune = ["t", "t", "t"]  # the first family is over the cap: as many of its pieces as fit
    assert len(cap_pieces([30, 30, 30], ["a", "b", "c"], 65, one_tune)) == 2


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
