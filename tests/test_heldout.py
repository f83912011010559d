"""Held-out bits per piece and by part, their intervals over pieces and seeds, and the paired comparisons."""

import math

import numpy as np
import pytest

from midi_genres.analysis.heldout import (
    EVAL_COLUMNS,
    PIECE_COLUMNS,
    PieceBits,
    difference,
    likelihood_tables,
    load_piece_bits,
    piece_bits,
    verdict,
)
from midi_genres.analysis.summary import MATRIX_COLUMNS, cross_genre_rows, likelihood_columns
from midi_genres.core.notes import Note
from midi_genres.core.tables import write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import PARTS

PIECES = [[Note(60 + i % 5, 2 * i, 2 * i + 3) for i in range(n)] for n in (3, 7, 5, 9)]


@pytest.mark.parametrize("name", ["event", "remi"])
def test_the_parts_add_up_to_the_total_and_pieces_to_the_stream(name):
    tok = make_tokenizer(name)
    stream = np.concatenate([tok.encode(p) for p in PIECES])
    nll = np.random.default_rng(0).uniform(0.01, 5, len(stream) - 1)
    tokens, bits = piece_bits(stream, nll, tok.token_parts())
    assert tokens.tolist() == [len(tok.encode(p)) - (j == 0) for j, p in enumerate(PIECES)]
    assert np.abs(bits[:, 1:].sum(axis=1) - bits[:, 0]).max() < 1e-6
    assert bits[:, 0].sum() == pytest.approx(nll.sum() / math.log(2), abs=1e-6)
    parts = tok.token_parts()[stream[1:]]
    for k, part in enumerate(PARTS):  # each part is the bits of exactly the tokens of that kind
        assert bits[:, k + 1].sum() == pytest.approx(nll[parts == k].sum() / math.log(2), abs=1e-6), part


def test_likelihood_tables_give_intervals_and_parts_per_note():
    tok = make_tokenizer("event")
    stream = np.concatenate([tok.encode(p) for p in PIECES * 5])
    nll = np.random.default_rng(1).uniform(0.1, 3, len(stream) - 1)
    row, pieces = likelihood_tables("m", "d", stream, nll, tok, [len(p) for p in PIECES * 5], seconds=12.0)
    assert list(row) == EVAL_COLUMNS and list(pieces[0]) == PIECE_COLUMNS and len(pieces) == 20
    assert row["bits_per_note_low"] < row["bits_per_note"] < row["bits_per_note_high"]
    parts = sum(row[f"{p}_bits_per_note"] for p in PARTS)
    assert parts == pytest.approx(row["bits_per_note"], abs=5e-4)
    assert row == likelihood_tables("m", "d", stream, nll, tok, [len(p) for p in PIECES * 5], seconds=12.0)[0]
    with pytest.raises(ValueError, match="d: the stream holds 20 pieces but 3 note counts"):
        likelihood_tables("m", "d", stream, nll, tok, [1, 2, 3], seconds=1.0)


def scores(values, notes, seeds=1, spread=0.0):
    """PieceBits with total bits ``values`` per piece (parts all in pitch), seeds shifted by ``spread``."""
    bits = np.zeros((seeds, len(values), 5))
    for s in range(seeds):
        bits[s, :, 0] = bits[s, :, 1] = np.asarray(values) + s * spread
    return PieceBits(bits, np.asarray(notes))


def test_paired_difference_tells_a_consistent_gap_from_noise():
    rng = np.random.default_rng(2)
    notes = rng.integers(10, 40, 60)
    base = notes * rng.uniform(2, 6, 60)
    better, noisy = scores(base, notes), scores(base + rng.normal(0, 20, 60), notes)
    worse = scores(base + notes * 0.3, notes)
    diff, low, high = difference(worse, better)
    assert diff == pytest.approx(0.3) and verdict(low, high) == "higher" and 0 < low < 0.3 < high
    assert verdict(*difference(noisy, better)[1:]) == "tie"
    assert verdict(*difference(better, worse)[1:]) == "lower"
    with pytest.raises(ValueError, match="same pieces"):
        difference(better, scores(base[:-1], notes[:-1]))


def test_seeds_are_averaged_piece_by_piece_and_their_spread_reported():
    s = scores([10.0, 20.0, 30.0], [5, 5, 5], seeds=3, spread=1.5)
    assert s.seeds == 3 and s.per_note() == pytest.approx((60 + 3 * 1.5) / 15)
    assert s.seed_sd() == pytest.approx(np.std([60 / 15, 64.5 / 15, 69 / 15], ddof=1))
    assert math.isnan(scores([1.0, 2.0], [1, 1]).seed_sd())
    assert all(math.isnan(v) for v in scores([3.0], [2]).interval())  # one piece: no interval


def test_piece_tables_of_several_seeds_load_into_one_score(tmp_path):
    for seed in (0, 1):
        rows = [{"model": "a", "data": "b", "piece": j, "tokens": 9, "notes": 3, "bits": 6 + seed + j,
                 "bits_pitch": 6 + seed + j, "bits_timing": 0, "bits_duration": 0, "bits_structure": 0}
                for j in range(4)]
        write_table(rows, PIECE_COLUMNS, tmp_path / f"a{seed}.tsv")
    loaded = load_piece_bits([tmp_path / "a0.tsv", tmp_path / "a1.tsv"])
    assert list(loaded) == [("a", "b")] and loaded["a", "b"].bits.shape == (2, 4, 5)
    assert loaded["a", "b"].per_note() == pytest.approx(np.mean([6.5, 7.5, 8.5, 9.5]) / 3)


def test_cross_genre_rows_mark_the_best_and_the_models_it_cannot_be_told_from():
    rng = np.random.default_rng(3)
    notes = rng.integers(10, 40, 80)
    truth = notes * 4.0
    cells = {("own", "x"): scores(truth, notes), ("near", "x"): scores(truth + rng.normal(0, 15, 80), notes),
             ("far", "x"): scores(truth * 1.5, notes)}
    rows = cross_genre_rows(["own", "near", "far", "x"], cells)
    by = {r["model"]: r for r in rows}
    assert list(rows[0]) == MATRIX_COLUMNS
    assert by["own"]["best_in_column"] == "yes" or by["near"]["best_in_column"] == "yes"
    assert "yes" in (by["own"]["tied_with_best"], by["near"]["tied_with_best"])
    assert by["far"]["tied_with_best"] == "no" and by["far"]["vs_best_low"] > 0


def test_the_summary_says_whether_a_model_beats_its_floor():
    rng = np.random.default_rng(4)
    notes = rng.integers(10, 40, 50)
    model, floor = scores(notes * 3.0, notes, seeds=2, spread=2.0), scores(notes * 3.5, notes)
    row = likelihood_columns("g", model, floor, tokens=1000, seconds=100.0)
    assert row["seeds"] == 2 and row["beats_ngram"] == "yes" and row["vs_ngram_high"] < 0
    assert row["bits_per_note_low"] < row["bits_per_note"] < row["bits_per_note_high"]
    assert likelihood_columns("g", floor, model, 1000, 100.0)["beats_ngram"] == "no"
    assert likelihood_columns("g", floor, floor, 1000, 100.0)["beats_ngram"] == "tie"
