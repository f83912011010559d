"""Cross-genre prompting: prompt cutting, the pull measure, and the outputs of the tiny workflow run."""

import math

import numpy as np
import pytest

from midi_genres.core.notes import Note, continuation_notes, split_at
from midi_genres.experiments.crossprompt import (
    PAIR_COLUMNS,
    SUMMARY_COLUMNS,
    choose_prompt_piece,
    compare_with_corpora,
    pull,
    summarise,
)
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer()


def test_split_at_cuts_sounding_notes_at_the_bar_line_and_shifts_the_rest():
    notes = [Note(60, 0, 4), Note(64, 12, 20), Note(67, 16, 18), Note(72, 30, 31)]
    head, tail = split_at(notes, 16)
    assert head == [Note(60, 0, 4), Note(64, 12, 16)]
    assert tail == [Note(67, 0, 2), Note(72, 14, 15)]
    generated = [Note(67, 16, 18), Note(72, 30, 31)]
    assert continuation_notes(head + generated, head, 16) == tail


def test_prompt_piece_is_the_first_long_enough_else_the_longest():
    short, long_, longer = [Note(60, 0, 8)], [Note(62, 0, 70)], [Note(64, 0, 90)]
    stream = np.concatenate([TOK.encode(short), TOK.encode(long_), TOK.encode(longer)])
    assert choose_prompt_piece(stream, TOK, bars=4) == (1, long_)
    assert choose_prompt_piece(stream, TOK, bars=8) == (2, longer)
    with pytest.raises(ValueError, match="no piece"):
        choose_prompt_piece(TOK.encode([]), TOK, bars=4)


def test_pull_is_one_at_the_model_corpus_zero_at_the_prompt_corpus():
    assert pull(0.0, 3.0) == 1.0 and pull(3.0, 0.0) == 0.0 and pull(1.0, 1.0) == 0.5 and pull(0.0, 0.0) == 0.5
    assert math.isnan(pull(math.nan, 1.0))


def _piece(low: int, step: int, bars: int = 4) -> list[Note]:
    """A scale-wise line starting at ``low``, one note every ``step`` 16ths, plus a held chord tone."""
    line = [Note(low + (i * 2) % 12, i * step, i * step + step) for i in range(bars * 16 // step)]
    return sorted(line + [Note(low - 12, 0, bars * 16)], key=lambda n: (n.start, n.pitch, n.end))


def test_continuations_like_the_model_corpus_pull_towards_it():
    dense_high = [_piece(72 + k, 1) for k in range(4)]  # the model's genre: high, dense
    sparse_low = [_piece(40 + k, 4) for k in range(4)]  # the prompt's genre: low, sparse
    rows = compare_with_corpora("hi", "lo", [_piece(73, 1), _piece(75, 1)], _piece(41, 4), dense_high, sparse_low,
                                drums=False)
    assert [r["feature"] for r in rows][:2] == ["pitch_range", "pitch_classes_used"] and set(rows[0]) == set(
        PAIR_COLUMNS)
    by = {r["feature"]: r for r in rows}
    assert by["note_density"]["pull"] > 0.9 and by["note_density"]["true_pull"] < 0.1
    summary = summarise(rows)
    assert summary["pull"] > 0.5 > summary["true_pull"] and summary["features"] == len(rows)
    drum_rows = compare_with_corpora("hi", "lo", [_piece(73, 1)], [], dense_high, sparse_low, drums=True)
    assert "pitch_range" not in {r["feature"] for r in drum_rows}
    assert all(math.isnan(r["true_pull"]) for r in drum_rows)


@pytest.mark.slow
def test_workflow_continues_held_out_prompts_and_tabulates_the_pull(run):
    from midi_genres.core.midi import read_midi
    from midi_genres.core.tables import read_table

    summary = read_table(run / "results/crossprompt.tsv")
    assert [(r["model"], r["prompt"]) for r in summary] == [("atonal", "bach"), ("bach", "atonal")]
    assert list(summary[0]) == SUMMARY_COLUMNS
    assert all(0 <= float(r["pull"]) <= 1 and int(r["features"]) == 11 for r in summary)
    assert (run / "results/crossprompt.png").read_bytes()[:4] == b"\x89PNG"
    for model, prompt in (("atonal", "bach"), ("bach", "atonal")):
        stem = run / f"results/crossprompt/{model}__from__{prompt}"
        assert stem.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
        assert [r["feature"] for r in read_table(stem.with_suffix(".tsv"))][0] == "pitch_range"
        # the MIDI file starts with the first 4 bars of the prompt genre's first long-enough held-out piece
        _, piece = choose_prompt_piece(np.load(run / f"data/tokens/{prompt}.val.npy"), TOK, bars=4)
        head, _ = split_at(piece, 64)
        played = read_midi(stem.with_suffix(".mid"))
        assert split_at(played, max(n.end for n in head))[0] == head and len(played) > len(head)
        assert "continuation 4/4" in (run / f"logs/sample_crossprompt/{model}__from__{prompt}.log").read_text()
        assert "pull" in (run / f"logs/measure_crossprompt/{model}__from__{prompt}.log").read_text()
