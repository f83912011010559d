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
    info = [{"notes": len(p), "piece_id": f"p{j}", "family": f"f{j % 4}", "fold": 1} for j, p in enumerate(PIECES * 5)]
    row, pieces = likelihood_tables("m", "d", stream, nll, tok, info, seconds=12.0)
    assert list(row) == EVAL_COLUMNS and list(pieces[0]) == PIECE_COLUMNS and len(pieces) == 20
    assert [r["piece_id"] for r in pieces] == [f"p{j}" for j in range(20)] and pieces[5]["family"] == "f1"
    assert row["bits_per_note_low"] < row["bits_per_note"] < row["bits_per_note_high"]
    parts = sum(row[f"{p}_bits_per_note"] for p in PARTS)
    assert parts == pytest.approx(row["bits_per_note"], abs=5e-4)
    assert row == likelihood_tables("m", "d", stream, nll, tok, info, seconds=12.0)[0]
    with pytest.raises(ValueError, match="d: the stream holds 20 pieces but 3 pieces"):
        likelihood_tables("m", "d", stream, nll, tok, info[:3], seconds=1.0)


def scores(values, notes, seeds=1, spread=0.0, families=None):
    """PieceBits with total bits ``values`` per piece (parts all in pitch), seeds shifted by ``spread``."""
    bits = np.zeros((seeds, len(values), 5))
    for s in range(seeds):
        bits[s, :, 0] = bits[s, :, 1] = np.asarray(values) + s * spread
    return PieceBits(bits, np.asarray(notes), None if families is None else np.asarray(families),
                     np.asarray(notes) * 3)


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


def piece_rows(seed, pieces, fold):
    return [{"model": "a", "data": "b", "piece_id": f"p{j}", "family": f"f{j // 2}", "fold": fold, "tokens": 9,
             "notes": 3, "bits": 6 + seed + j, "bits_pitch": 6 + seed + j, "bits_timing": 0, "bits_duration": 0,
             "bits_structure": 0} for j in pieces]


def test_piece_tables_of_several_seeds_load_into_one_score(tmp_path):
    for seed in (0, 1):
        write_table(piece_rows(seed, range(4), 1), PIECE_COLUMNS, tmp_path / f"a{seed}.tsv")
    loaded = load_piece_bits([tmp_path / "a0.tsv", tmp_path / "a1.tsv"])
    assert list(loaded) == [("a", "b")] and loaded["a", "b"].bits.shape == (2, 4, 5)
    assert loaded["a", "b"].per_note() == pytest.approx(np.mean([6.5, 7.5, 8.5, 9.5]) / 3)
    assert loaded["a", "b"].families.tolist() == ["f0", "f0", "f1", "f1"] and loaded["a", "b"].n_families == 2


def test_the_tables_of_a_seeds_folds_join_into_every_piece_once(tmp_path):
    """Two folds of two seeds: each piece scored once per seed, by the fold that held it out."""
    for seed in (0, 1):
        write_table(piece_rows(seed, [0, 1, 4, 5], 1), PIECE_COLUMNS, tmp_path / f"s{seed}.tsv")
        write_table(piece_rows(seed, [2, 3, 6, 7], 2), PIECE_COLUMNS, tmp_path / f"s{seed}.fold2.tsv")
    loaded = load_piece_bits(sorted(tmp_path.glob("*.tsv")))["a", "b"]
    assert loaded.seeds == 2 and len(loaded.notes) == 8 and loaded.n_families == 4
    assert loaded.per_note() == pytest.approx((sum(6 + j for j in range(8)) + 8 * 0.5) / 24)
    write_table(piece_rows(0, [0], 1), PIECE_COLUMNS, tmp_path / "extra.tsv")  # piece p0 once more: 3 scores
    with pytest.raises(ValueError, match="different number of times"):
        load_piece_bits(sorted(tmp_path.glob("*.tsv")))


def test_the_cluster_bootstrap_resamples_whole_families():
    """Where families repeat one tune (copies with the same bits), resampling pieces treats the copies as
    independent and gives too narrow an interval; resampling families is wider. With one piece per family the
    two are the same numbers."""
    rng = np.random.default_rng(5)
    family_bits = rng.uniform(2, 6, 12)
    families = np.repeat(np.arange(12), 6)  # six identical copies of each tune, as Essen's test1 #14-19
    notes = np.full(72, 10)
    values = family_bits[families] * 10 + rng.normal(0, 0.5, 72)
    clustered = scores(values, notes, families=families)
    as_pieces = scores(values, notes)
    low_c, high_c = clustered.interval()
    low_p, high_p = as_pieces.interval()
    assert low_c < clustered.per_note() < high_c and high_c - low_c > 1.8 * (high_p - low_p)
    singletons = scores(values, notes, families=[f"tune{i}" for i in range(72)])
    assert singletons.interval() == as_pieces.interval()
    other = scores(values + notes * 0.2, notes, families=families)
    _, d_low, d_high = difference(other, clustered)
    _, p_low, p_high = difference(scores(values + notes * 0.2, notes), as_pieces)
    assert d_high - d_low >= p_high - p_low


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
    row = likelihood_columns("g", model, floor, seconds=100.0)
    assert row["seeds"] == 2 and row["beats_ngram"] == "yes" and row["vs_ngram_high"] < 0
    assert row["bits_per_note_low"] < row["bits_per_note"] < row["bits_per_note_high"]
    assert row["held_out_families"] == 50 and row["rank_note"] == ""
    assert likelihood_columns("g", floor, model, 100.0)["beats_ngram"] == "no"
    assert likelihood_columns("g", floor, floor, 100.0)["beats_ngram"] == "tie"
    families = np.arange(50) % 9
    few = likelihood_columns("g", scores(notes * 3.0, notes, families=families),
                             scores(notes * 3.5, notes, families=families), 100.0)
    assert few["held_out_families"] == 9 and few["rank_note"] == "too few to rank"
