"""The trained models as a classifier: toy models recover the genre of constructed pieces; continuations are scored
after their prompt only."""

import math

import numpy as np
import pytest

from midi_genres.analysis.fidelity import FIDELITY_COLUMNS, after_prompt, classify, fidelity_rows
from midi_genres.analysis.heldout import piece_bits
from midi_genres.analysis.ngram import NGramModel
from midi_genres.sources.synth import generate_pieces
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import BOS

TOK = make_tokenizer("event")


def stream(genre, n, seed):
    return np.concatenate([TOK.encode(p.notes) for p in generate_pieces(genre, n, seed)])


def test_toy_models_recover_the_genre_of_pieces_they_did_not_see():
    genres = ["pop", "rap", "atonal"]
    models = {g: NGramModel.fit(stream(g, 40, 0), TOK.size, order=4) for g in genres}
    scores = {}
    for truth in genres:
        held_out = stream(truth, 10, 1)
        per_token = {}
        for g, model in models.items():
            tokens, bits = piece_bits(held_out, model.token_nll(held_out), TOK.token_parts())
            per_token[g] = bits[:, 0] / tokens
        assert (classify(per_token) == genres.index(truth)).all(), truth
        scores["validation", truth, truth] = per_token
    mixed = {g: np.array([1.0, 2.0, 3.0]) + (i if g == "rap" else 0) for i, g in enumerate(genres)}
    scores["samples", "rap", "rap"] = mixed  # rap's samples: the pop model finds them likelier
    rows = fidelity_rows(genres, scores)
    assert list(rows[0])[:5] == FIDELITY_COLUMNS
    assert [r["classified_as_expected"] for r in rows] == [1.0, 1.0, 1.0, 0.0]
    assert rows[-1]["pop"] == 1.0 and rows[-1]["rap"] == 0.0


def test_a_continuation_is_scored_after_its_prompt_only():
    pieces = [np.array([BOS, 5, 6, 7, 8, 2]), np.array([BOS, 5, 6, 9, 2])]
    s = np.concatenate(pieces)
    nll = np.arange(1, len(s), dtype=float) * math.log(2)  # token i costs i bits
    tokens, bits = after_prompt(s, nll, prompt_tokens=3)  # BOS 5 6 given
    assert tokens.tolist() == [3, 2]
    assert bits.tolist() == [pytest.approx(3 + 4 + 5), pytest.approx(9 + 10)]
