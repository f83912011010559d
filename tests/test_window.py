"""What the window holds: tokens per bar and the bars a context covers, exact on hand-made pieces."""

from __future__ import annotations

import numpy as np
import pytest

from midi_genres.analysis.window import measure_window, piece_bars, window_row, window_rows
from midi_genres.core.notes import Note
from midi_genres.core.tables import read_table, write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.dataset import PIECE_COLUMNS
from midi_genres.tokens.event import TIME_SHIFT_BASE
from midi_genres.tokens.remi import BAR

# Four bars of quarter notes, one voice: per bar 4 NOTE_ON + 4 NOTE_OFF + 4 TIME_SHIFT_4 = 12 event tokens,
# and BAR + 4 x (POSITION, PITCH, DURATION) = 13 REMI tokens.
QUARTERS = [Note(60 + i % 5, 4 * i, 4 * i + 4) for i in range(16)]
# Two bars: a chord held for a bar and a half, then a note in bar 1 that rings into bar 2 (steps 16-40: 3 bars).
HELD = [Note(48, 0, 24), Note(55, 0, 24), Note(64, 0, 24), Note(67, 28, 40)]


def test_bars_of_a_hand_made_piece_agree_with_each_tokenizers_clock():
    event, remi = make_tokenizer("event"), make_tokenizer("remi")
    for notes, bars in ((QUARTERS, 4), (HELD, 3)):
        assert piece_bars(notes) == bars
        shifts = event.encode(notes)
        assert -(-event.elapsed_steps(shifts) // 16) == bars  # the time shifts reach the end of the last note
        assert sum(event.shift_steps[t] for t in shifts if t >= TIME_SHIFT_BASE) == max(n.end for n in notes)
    assert list(remi.encode(QUARTERS)).count(BAR) == 4
    assert list(remi.encode(HELD)).count(BAR) == 2  # REMI marks bars up to the last onset; the ring-over is a third


def test_tokens_per_bar_and_window_bars_are_exact_for_both_tokenizers():
    rows = {r["tokenizer"]: r for r in window_rows("hand", [QUARTERS, QUARTERS], max_len=256)}
    assert rows["event"]["tokens_per_bar"] == 12.0
    assert rows["remi"]["tokens_per_bar"] == 13.0
    assert rows["event"]["window_bars"] == pytest.approx(256 / 12, abs=1e-3)
    assert rows["remi"]["window_bars"] == pytest.approx(256 / 13, abs=1e-3)
    assert rows["event"]["pieces"] == 2 and rows["event"]["bars"] == 8
    assert rows["event"]["pieces_within_window"] == 1.0
    # HELD: event BOS, 3 ON, SHIFT_24, 3 OFF, SHIFT_4, ON, SHIFT_12, OFF, EOS = 11 tokens inside the frame, 3 bars
    assert len(make_tokenizer("event").encode(HELD)) == 13
    assert window_rows("held", [HELD], max_len=30)[0]["window_bars"] == pytest.approx(30 / (11 / 3), abs=1e-3)


def test_quartiles_come_from_the_pieces_and_the_window_falls_as_the_density_rises():
    # tokens per bar 10, 20, 30, 40, 50 (BOS and EOS are not counted)
    row = window_row("g", "event", [12, 22, 32, 42, 52], [1, 1, 1, 1, 1], max_len=100)
    assert (row["tokens_per_bar_q1"], row["tokens_per_bar"], row["tokens_per_bar_q3"]) == (20.0, 30.0, 40.0)
    assert (row["window_bars_q1"], row["window_bars"], row["window_bars_q3"]) == (2.5, 3.333, 5.0)
    assert row["pieces_within_window"] == 1.0
    empty = window_row("g", "event", [2], [0], max_len=100)
    assert empty["pieces"] == 0 and empty["window_bars"] == "NA"


def _token_folder(tmp_path, train, val):
    tok = make_tokenizer("event")
    np.save(tmp_path / "g.npy", np.concatenate([tok.encode(p) for p in train]))
    np.save(tmp_path / "g.val.npy", np.concatenate([tok.encode(p) for p in val]))
    rows = [{"piece_id": f"{split}{i}", "family": f"f{split}{i}", "split": split, "tokens": len(tok.encode(p)),
             "notes": len(p), "steps": max(n.end for n in p)}
            for split, pieces in (("train", train), ("val", val)) for i, p in enumerate(pieces)]
    write_table(rows, PIECE_COLUMNS, tmp_path / "g.pieces.tsv")
    return {"train_path": str(tmp_path / "g.npy"), "val_path": str(tmp_path / "g.val.npy"),
            "pieces_path": str(tmp_path / "g.pieces.tsv")}


def test_the_rule_reads_the_token_streams_and_checks_them_against_the_pieces_table(tmp_path):
    paths = _token_folder(tmp_path, [QUARTERS, QUARTERS], [QUARTERS])
    rows = measure_window(genre="g", max_len=256, table_path=str(tmp_path / "w.tsv"), **paths)
    written = read_table(tmp_path / "w.tsv")
    assert [r["tokenizer"] for r in written] == ["event", "remi"]
    assert written[0]["pieces"] == "3" and float(written[1]["tokens_per_bar"]) == 13.0
    assert rows[0]["window_bars"] == pytest.approx(21.333)
    bad = _token_folder(tmp_path, [QUARTERS], [QUARTERS, HELD])
    write_table([r for r in read_table(bad["pieces_path"]) if r["piece_id"] != "val1"], PIECE_COLUMNS,
                bad["pieces_path"])
    with pytest.raises(ValueError, match="lists 1 val pieces but .* holds 2"):
        measure_window(genre="g", max_len=256, table_path=str(tmp_path / "w.tsv"), **bad)
