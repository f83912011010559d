"""Structure above the bar on constructed pieces: one that repeats every 4 bars, one that never repeats, one that
repeats beyond the window; and the verdict whether the window explains what samples lose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from midi_genres.analysis.bootstrap import ratio_difference_interval
from midi_genres.analysis.structure import (
    LOOKBACK_BARS,
    aggregate_structure,
    bars_of,
    lost_at_lag,
    measure_structure,
    piece_structure,
    sample_bars,
    structure_rows,
    summary_columns,
    window_bands,
    window_explains,
)
from midi_genres.analysis.window import WINDOW_COLUMNS, window_rows
from midi_genres.core.notes import Note
from midi_genres.core.tables import read_table, write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.dataset import PIECE_COLUMNS

# Four bars, each with its own onset pattern and pitch class, and no (position, pitch class) in common.
PATTERNS = [((0, 4, 8, 12), 60), ((0, 8), 62), ((0, 2, 4, 6, 8, 10, 12, 14), 64), ((0, 6, 12), 65)]


def _bar(b: int, positions, pitch: int) -> list[Note]:
    return [Note(pitch, 16 * b + p, 16 * b + p + 1) for p in positions]


def repeating(bars: int, period: int) -> list[Note]:
    """``bars`` bars of ``period`` distinct bars played over and over: PATTERNS for a period up to 4, else bar k
    has onsets at k and k + 3 and pitch class k (distinct for k < 12, no event shared)."""
    def pattern(k):
        return PATTERNS[k] if period <= len(PATTERNS) else ((k, k + 3), 60 + k)
    return [n for b in range(bars) for n in _bar(b, *pattern(b % period))]


def never_repeating(bars: int = 16) -> list[Note]:
    """One note per bar, at a new position each bar; its pitch class comes back only after 12 bars."""
    return [Note(60 + b % 12, 16 * b + b, 16 * b + b + 1) for b in range(bars)]


def test_a_piece_repeating_every_four_bars():
    row = piece_structure(repeating(16, 4))
    assert row["bars"] == 16 and row["judged"] == 15
    assert row["onset_repeats"] == row["pitch_class_repeats"] == 12  # bars 4..15
    for lag in range(1, 17):
        pairs = 16 - lag
        assert row[f"pairs_{lag}"] == pairs
        assert row[f"sim_{lag}"] == (pairs if lag % 4 == 0 else 0)


def test_a_piece_that_never_repeats():
    row = piece_structure(never_repeating())
    assert row["judged"] == 15 and row["onset_repeats"] == row["pitch_class_repeats"] == 0
    assert all(row[f"sim_{lag}"] == 0 for lag in range(1, 17))


def test_a_piece_repeating_beyond_the_lookback_counts_no_repeat_but_shows_in_the_profile():
    row = piece_structure(repeating(24, 12))
    assert 12 > LOOKBACK_BARS
    assert row["onset_repeats"] == row["pitch_class_repeats"] == 0
    assert row[f"sim_{12}"] == row["pairs_12"] == 12
    assert all(row[f"sim_{lag}"] == 0 for lag in range(1, 17) if lag != 12)


def test_bars_count_onsets_only_empty_bars_are_not_judged_and_drums_keep_their_keys():
    notes = [Note(60, 0, 40), Note(62, 36, 37), Note(38, 40, 41), Note(50, 41, 42)]  # bar 1 empty of onsets
    bars = bars_of(notes)
    assert [sorted(b.onsets) for b in bars] == [[0], [], [4, 8, 9]]
    assert sorted(bars[2].pitches) == [2]  # 62, 38 and 50 share pitch class 2
    assert sorted(bars_of(notes, drums=True)[2].pitches) == [38, 50, 62]
    assert piece_structure(notes)["judged"] == 1
    assert len(bars_of(notes, max_bars=2)) == 2 and bars_of([]) == []


def _rows(pieces: dict[str, list[list[Note]]]) -> list[dict]:
    return [{"set": name, "piece": i, "family": f"f{i}", **piece_structure(p)}
            for name, chosen in pieces.items() for i, p in enumerate(chosen)]


def test_lags_within_and_beyond_the_window():
    assert window_bands(5.3) == {"within_window": [1, 2, 3, 4, 5], "beyond_window": list(range(6, 17))}
    assert window_bands(20.0) == {"within_window": list(range(1, 17)), "beyond_window": []}
    assert window_bands(math.nan) == {"within_window": [], "beyond_window": []}


def test_samples_that_keep_the_structure_and_samples_that_lose_it_within_the_window():
    window = window_rows("g", [repeating(16, 4)], max_len=160)[0]["window_bars"]  # 17 tokens a bar: 9.4 bars
    assert 9 < window < 10
    kept = structure_rows("g", _rows({"heldout": [repeating(16, 4)] * 3, "samples": [repeating(16, 4)] * 4}), window)
    by_measure = {(r["measure"], r["lag"]): r for r in kept}
    assert by_measure["similarity", "16"]["verdict"] == "NA"  # 16 bars have no two bars 16 apart
    assert {r["verdict"] for r in kept if r["lag"] != "16"} == {"kept"}
    assert ("similarity_within_window", "1-9") in by_measure and ("similarity_beyond_window", "10-16") in by_measure
    assert math.isnan(lost_at_lag(kept)) and window_explains(kept) == "kept"
    lost = structure_rows("g", _rows({"heldout": [repeating(16, 4)] * 3, "samples": [never_repeating()] * 4}),
                          window)
    onset = next(r for r in lost if r["measure"] == "onset_repeat")
    assert (onset["heldout"], onset["samples"], onset["verdict"]) == (0.8, 0.0, "less")
    assert onset["heldout_pieces"] == 3 and onset["heldout_units"] == 45
    assert lost_at_lag(lost) == 4.0 and window_explains(lost) == "within"
    assert window_explains(structure_rows("g", _rows({"heldout": [repeating(16, 4)], "samples": []}))) == "NA"
    as_read = [{**r, "window_bars": str(r["window_bars"])} for r in window_rows("g", [repeating(16, 4)], 160)]
    summary = summary_columns("g", lost + [{**r, "genre": "h"} for r in kept], as_read, "event")
    assert summary["window_bars"] == round(window, 2) and summary["structure_lost_at_lag"] == 4
    assert (summary["onset_repeat_heldout"], summary["onset_repeat_samples"], summary["onset_repeat_kept"]) == (
        0.8, 0.0, "less")
    assert summary["structure_loss_vs_window"] == "within"
    assert summary["structure_note"] == "too few held-out families"  # 3 held-out pieces, 3 families
    many = structure_rows("g", _rows({"heldout": [repeating(16, 4)] * 12, "samples": [never_repeating()] * 4}), window)
    assert summary_columns("g", many, as_read, "event")["structure_note"] == ""
    assert summary_columns("other", lost, as_read, "event")["onset_repeat_kept"] == "NA"


def test_structure_beyond_the_window_is_lost_beyond_it():
    dense = [Note(36 + (k + b) % 12, 16 * b + k, 16 * b + k + 1) for b in range(12) for k in range(16)]
    heldout = [[Note(n.pitch, n.start + 192 * r, n.end + 192 * r) for r in range(2) for n in dense]] * 3  # period 12
    window = window_rows("g", heldout[:1], max_len=256)[0]["window_bars"]  # 48 event tokens a bar: 5.3 bars
    assert window == pytest.approx(256 / 48, abs=1e-3)
    rows = structure_rows("g", _rows({"heldout": heldout, "samples": [never_repeating(24)] * 4}), window)
    by_measure = {r["measure"]: r for r in rows if r["measure"] != "similarity"}
    assert by_measure["similarity_within_window"]["verdict"] == "kept"  # no bar alike within 5 bars in either set
    assert by_measure["similarity_beyond_window"]["verdict"] == "less"
    assert lost_at_lag(rows) == 12.0 and window_explains(rows) == "beyond"
    periodic = structure_rows("g", _rows({"heldout": heldout, "samples": [repeating(24, 5)] * 4}), window)
    by_lag = {int(r["lag"]): r for r in periodic if r["measure"] == "similarity"}
    assert by_lag[12]["verdict"] == "less" and by_lag[10]["verdict"] == "more" and by_lag[3]["verdict"] == "kept"


def test_the_difference_of_two_independent_ratios_has_an_interval():
    diff, low, high = ratio_difference_interval([1, 2, 3, 4], [4, 4, 4, 4], [3, 3, 4, 2], [4, 4, 4, 4])
    assert diff == pytest.approx(10 / 16 - 12 / 16)
    assert low < diff < high
    assert math.isnan(ratio_difference_interval([1], [2], [1, 2], [2, 2])[1])
    assert all(math.isnan(v) for v in ratio_difference_interval([0, 0], [0, 0], [1, 2], [2, 2]))


def test_the_rules_measure_pieces_and_samples_and_gather_every_genre(tmp_path):
    tok = make_tokenizer("event")
    heldout = [repeating(32, 4), never_repeating(32)]
    samples = [repeating(10, 4), repeating(12, 4)]
    np.save(tmp_path / "g.val.npy", np.concatenate([tok.encode(p) for p in heldout]))
    np.save(tmp_path / "g.samples.npy", np.concatenate([tok.encode(p) for p in samples]))
    write_table([{"piece_id": f"p{i}", "family": f"f{i}", "split": "val", "tokens": 0, "notes": 0, "steps": 0}
                 for i in range(2)], PIECE_COLUMNS, tmp_path / "g.pieces.tsv")
    paths = {"val_paths": [str(tmp_path / "g.val.npy")], "pieces_paths": [str(tmp_path / "g.pieces.tsv")],
             "samples_path": str(tmp_path / "g.samples.npy")}
    cut = {"sample_seconds": 22.0, "tempo": 120.0}  # 176 steps: 11 whole bars, then a cut-off twelfth
    assert sample_bars(22.0, 120.0) == 11 and sample_bars(30.0, 90.0) == 11
    rows = measure_structure(genre="g", table_path=str(tmp_path / "g.tsv"), **paths, **cut)
    assert [(r["set"], r["bars"]) for r in rows] == [("heldout", 11), ("heldout", 11), ("samples", 10),
                                                     ("samples", 11)]  # every piece over the samples' whole bars
    assert [r["piece"] for r in read_table(tmp_path / "g.tsv")][:2] == ["p0", "p1"]
    two_folds = {**paths, "val_paths": paths["val_paths"] * 2, "pieces_paths": paths["pieces_paths"] * 2}
    assert [r["piece"] for r in measure_structure(genre="g", table_path=str(tmp_path / "f.tsv"), **two_folds, **cut)
            if r["set"] == "heldout"] == ["p0", "p1", "p0", "p1"]  # every fold's held-out pieces
    write_table(window_rows("g", heldout, max_len=256), WINDOW_COLUMNS, tmp_path / "w.tsv")
    out = aggregate_structure(genres=["g"], titles={"g": "G"}, tables={"g": [str(tmp_path / "g.tsv")] * 2},
                              window_paths=[str(tmp_path / "w.tsv")], tokenizer="event",
                              table_path=tmp_path / "structure.tsv", figure_path=tmp_path / "structure.png")
    onset = next(r for r in out if r["measure"] == "onset_repeat")
    assert onset["samples_pieces"] == 4 and onset["heldout_pieces"] == 2  # samples of both seeds, held-out once
    assert onset["heldout_families"] == 2
    assert [r["measure"] for r in read_table(tmp_path / "structure.tsv")][-2:] == [
        "similarity", "similarity_within_window"]  # a window of over 16 bars leaves no lag beyond it
    assert (tmp_path / "structure.png").stat().st_size > 10_000
    write_table(rows[:2], list(rows[0]), tmp_path / "short.tsv")
    with pytest.raises(ValueError, match="lists 2 validation pieces but .* holds 3"):
        np.save(tmp_path / "g.val.npy", np.concatenate([tok.encode(p) for p in [*heldout, heldout[0]]]))
        measure_structure(genre="g", table_path=str(tmp_path / "g.tsv"), **paths, **cut)
