"""The contract every tokenizer keeps (as MidiTok's tests do), parametrised over every registered tokenizer."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import canonical_note_lists

from midi_genres.core.notes import Note
from midi_genres.model.sample import SampleConfig, generate
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens import TOKENIZERS, make_tokenizer
from midi_genres.tokens.base import BOS, EOS, PAD, Tokenizer
from midi_genres.tokens.streams import decode_pieces, split_pieces

NAMES = sorted(TOKENIZERS)
EVERY = pytest.mark.parametrize("name", NAMES)
ANY = settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])


@EVERY
def test_the_special_ids_come_first_and_extra_tokens_follow_the_base_ids(name):
    tok = make_tokenizer(name)
    assert isinstance(tok, Tokenizer) and tok.name == name
    assert tok.names[:3] == ["PAD", "BOS", "EOS"] and (PAD, BOS, EOS) == (0, 1, 2)
    tagged = make_tokenizer(name, ["GENRE_bach", "GENRE_rap"])
    assert tagged.size == tok.size + 2 and tagged.names[:tok.size] == tok.names
    assert tagged.token_id("GENRE_rap") == tok.size + 1
    with pytest.raises(KeyError, match="NOT_A_TOKEN"):
        tok.token_id("NOT_A_TOKEN")
    with pytest.raises(ValueError, match="duplicate"):
        make_tokenizer(name, ["GENRE_x", "GENRE_x"])


def test_an_unknown_tokenizer_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="midilike.*event, remi"):
        make_tokenizer("midilike")


@EVERY
@ANY
@given(notes=canonical_note_lists())
def test_exact_round_trip_of_any_canonical_note_list(name, notes):
    tok = make_tokenizer(name)
    ids = tok.encode(notes)
    assert ids.dtype == np.uint16 and ids[0] == BOS and ids[-1] == EOS and ids.max() < tok.size
    decoded, report = tok.decode_with_report(ids)
    assert decoded == notes and report.malformed == 0
    assert tok.encode(notes, bos=False, eos=False).tolist() == ids[1:-1].tolist()


@EVERY
@ANY
@given(data=st.data())
def test_any_id_sequence_decodes_to_canonical_notes_that_round_trip(name, data):
    tok = make_tokenizer(name)
    ids = data.draw(st.lists(st.integers(0, tok.size - 1), max_size=300))
    notes = tok.decode(ids)
    assert notes == sorted(notes, key=lambda n: (n.start, n.pitch, n.end))
    assert all(0 <= n.pitch <= 127 and 0 <= n.start < n.end for n in notes)
    ends = {}
    for n in notes:
        assert n.start >= ends.get(n.pitch, 0)  # no two notes of one pitch overlap
        ends[n.pitch] = n.end
    assert tok.decode(tok.encode(notes)) == notes


@EVERY
@ANY
@given(notes=canonical_note_lists())
def test_the_clock_fed_token_by_token_agrees_with_elapsed_steps(name, notes):
    tok = make_tokenizer(name)
    ids = tok.encode(notes, eos=False)
    clock = tok.clock()
    for token in ids:
        clock.feed(int(token))
    assert clock.now == tok.elapsed_steps(ids) <= max((n.end for n in notes), default=0)


@EVERY
def test_real_corpus_pieces_round_trip(name, corpus_pieces):
    tok = make_tokenizer(name)
    for piece in corpus_pieces:
        assert piece.notes and tok.decode(tok.encode(piece.notes)) == piece.notes


@EVERY
def test_a_stream_of_pieces_splits_and_decodes_back_into_them(name):
    tok = make_tokenizer(name)
    pieces = [[Note(60, 0, 4), Note(64, 4, 8)], [Note(36, 0, 1), Note(38, 2, 3), Note(36, 4, 5)], [Note(72, 3, 40)]]
    stream = np.concatenate([tok.encode(p) for p in pieces])
    assert [notes for notes, _ in decode_pieces(stream, tok)] == pieces
    assert all(report.malformed == 0 for _, report in decode_pieces(stream, tok))
    assert len(split_pieces(stream[1:])) == 3  # a stream that does not start with BOS keeps its head


@EVERY
def test_generation_spends_its_time_budget_on_the_tokenizers_clock_and_keeps_a_prompt(name):
    tok = make_tokenizer(name)
    torch.manual_seed(0)
    model = MusicTransformer(ModelConfig(vocab_size=tok.size, max_len=32, d_model=32, n_heads=2, n_layers=1,
                                         d_ff=64)).eval()
    cfg = SampleConfig(seed=1, max_tokens=20000)
    tokens = generate(model, tok, max_steps=40, cfg=cfg)
    assert tok.elapsed_steps(tokens) >= 40 > tok.elapsed_steps(tokens[:-1])
    assert not {PAD, BOS, EOS} & set(tokens[1:])
    prompt = [int(t) for t in tok.encode([Note(60, 20, 24)], eos=False)]
    start = tok.elapsed_steps(prompt)
    more = generate(model, tok, max_steps=40, cfg=cfg, prompt=prompt)
    assert more[:len(prompt)] == prompt and tok.elapsed_steps(more) >= start + 40 > tok.elapsed_steps(more[:-1])
