import numpy as np
import pytest

from midi_genres.core.notes import Note
from midi_genres.tokens.base import BOS, EOS, PAD
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer()


def test_vocabulary_has_291_tokens_in_the_documented_order():
    assert TOK.size == 291
    assert TOK.names[:3] == ["PAD", "BOS", "EOS"]
    assert (TOK.token_id("NOTE_ON_0"), TOK.token_id("NOTE_ON_127")) == (3, 130)
    assert (TOK.token_id("NOTE_OFF_0"), TOK.token_id("NOTE_OFF_127")) == (131, 258)
    assert (TOK.token_id("TIME_SHIFT_1"), TOK.token_id("TIME_SHIFT_32")) == (259, 290)
    with pytest.raises(KeyError, match="NOTE_ON_128"):
        TOK.token_id("NOTE_ON_128")


def test_canonical_order_keeps_a_repeated_note_whole():
    notes = [Note(60, 0, 4), Note(60, 4, 8), Note(64, 4, 6)]
    names = [TOK.names[i] for i in TOK.encode(notes)]
    assert names == ["BOS", "NOTE_ON_60", "TIME_SHIFT_4", "NOTE_OFF_60", "NOTE_ON_60", "NOTE_ON_64",
                     "TIME_SHIFT_2", "NOTE_OFF_64", "TIME_SHIFT_2", "NOTE_OFF_60", "EOS"]


def test_long_gaps_become_several_shifts():
    ids = TOK.encode([Note(60, 70, 71)], bos=False, eos=False)
    assert [TOK.names[i] for i in ids] == ["TIME_SHIFT_32", "TIME_SHIFT_32", "TIME_SHIFT_6", "NOTE_ON_60",
                                           "TIME_SHIFT_1", "NOTE_OFF_60"]
    assert ids.dtype == np.uint16


def test_decoder_repairs_malformed_sequences():
    on, off, shift = TOK.token_id("NOTE_ON_60"), TOK.token_id("NOTE_OFF_60"), TOK.token_id("TIME_SHIFT_2")
    orphan = TOK.token_id("NOTE_OFF_61")
    notes, report = TOK.decode_with_report([BOS, orphan, on, shift, on, shift, PAD, TOK.token_id("NOTE_ON_62")])
    assert notes == [Note(60, 0, 2), Note(60, 2, 4), Note(62, 4, 5)]
    assert (report.orphan_note_offs, report.retriggered_notes, report.unclosed_notes, report.special_tokens) == \
           (1, 1, 2, 1)
    assert TOK.decode([on, off, shift, EOS, on]) == []  # empty note dropped, decoding stops at EOS


