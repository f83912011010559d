import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from midi_genres.analysis import ppm as ppm_module
from midi_genres.analysis.heldout import load_piece_bits
from midi_genres.analysis.ngram import ngram_floor
from midi_genres.analysis.ppm import IDyOMModel, context_starts, ppm_floor
from midi_genres.analysis.summary import floor_columns, floor_names
from midi_genres.core.defaults import defaults
from midi_genres.core.tables import read_table, write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import BOS, EOS
from midi_genres.tokens.dataset import PIECE_COLUMNS as DATASET_PIECE_COLUMNS

SETTINGS = {"max_order": defaults("metrics")["ppm_max_order"], "bias": defaults("metrics")["ppm_bias"]}


def pieces_stream(n_pieces, vocab, seed, length=(5, 30)):
    """BOS ... EOS pieces of tokens 3..vocab-1 built from a few motifs (repeated within and across pieces)."""
    rng = np.random.default_rng(seed)
    motifs = [rng.integers(3, vocab, size=rng.integers(2, 6)) for _ in range(4)]
    out = []
    for _ in range(n_pieces):
        body = []
        while len(body) < rng.integers(*length):
            body.extend(motifs[rng.integers(4)] if rng.random() < 0.7 else rng.integers(3, vocab, size=2))
        out.extend([BOS, *body, EOS])
    return np.array(out, dtype=np.int64)


def blend(table, context, max_order, vocab, escape, raw=None):
    """PPM* with blending as IDyOM's ppm-star.lisp computes it, from dicts: ``table[context tuple]`` is a Counter of
    followers (``raw``: the full counts, used at a selected deterministic order where ``table`` holds update-excluded
    ones). From the selected order down, each order's weight counts only the tokens not seen at the order above."""

    def counts_of(source, ctx):
        return source.get(ctx, Counter())

    limit = len(context) if max_order is None else min(len(context), max_order)
    suffix = [tuple(context[len(context) - k:]) if k else () for k in range(limit + 1)]
    matching = [k for k in range(limit + 1) if sum(counts_of(table, suffix[k]).values()) > 0]
    deterministic = [k for k in matching if k >= 1 and len(counts_of(table, suffix[k])) == 1]
    chosen = min(deterministic) if deterministic else max(matching, default=-1)
    p, left, excluded = np.zeros(vocab), 1.0, Counter()
    for k in range(chosen, -1, -1):
        c = counts_of(raw if raw is not None and deterministic and k == chosen else table, suffix[k])
        node = sum(v for x, v in c.items() if x not in excluded)
        child = len(c) if escape == "C" else sum(1 for v in c.values() if v == 1) + 1
        weight = node / (node + child) if node + child else 0.0
        for x, v in c.items():
            p[x] += left * weight * v / node if node else 0.0
        left *= 1 - weight
        excluded = c
    p += left / (vocab + 1 - len(counts_of(table, ())))
    return p / p.sum()


def reference(train, stream, vocab, max_order, bias):
    """The mixed model's distributions for targets 1..n-1, slowly: LTM counts by brute force, the STM by reading each
    piece token by token with update exclusion as a coder does it (increment from the longest order at which the
    token had been seen after its context upwards; ``raw`` counts every occurrence)."""
    train, stream = [int(t) for t in train], [int(t) for t in stream]
    ltm = defaultdict(Counter)
    for j in range(len(train)):
        for k in range(j + 1):
            ltm[tuple(train[j - k:j])][train[j]] += 1
    out = []
    for i in range(1, len(stream)):
        start = max((j for j in range(i) if stream[j] == BOS), default=0)
        history = stream[start:i]
        stm, raw = defaultdict(Counter), defaultdict(Counter)
        for j in range(start + 1, i):
            ctx, x = stream[start:j], stream[j]
            suffixes = [tuple(ctx[len(ctx) - k:]) if k else () for k in range(len(ctx) + 1)]
            seen = [k for k in range(len(ctx) + 1) if stm[suffixes[k]][x] > 0]
            for k in range(len(ctx) + 1):
                raw[suffixes[k]][x] += 1
                if k >= max(seen, default=0):
                    stm[suffixes[k]][x] += 1
        dists = [blend(ltm, history, max_order, vocab, "C"), blend(stm, history, max_order, vocab, "X", raw)]
        weights = [(-(d * np.log2(d)).sum() / math.log2(vocab)) ** -bias for d in dists]
        log_mix = sum(w * np.log(d) for w, d in zip(weights, dists)) / sum(weights)
        mix = np.exp(log_mix)
        out.append((dists[0], dists[1], mix / mix.sum()))
    return out


def all_components(model, stream):
    ltm, stm, mix = [], [], []
    for (first, lt, st), (first2, logp) in zip(model.components(stream), model.log_distributions(stream)):
        assert first == first2
        ltm.append(lt)
        stm.append(st)
        mix.append(np.exp(logp))
    return np.concatenate(ltm), np.concatenate(stm), np.concatenate(mix)


def test_context_starts():
    s = np.array([BOS, 5, 6, EOS, BOS, 7, EOS, BOS, 8])
    # target i's context runs from the last BOS at or before i - 1: the BOS at 4 is predicted from piece 0
    assert context_starts(s).tolist() == [0, 0, 0, 0, 0, 4, 4, 4, 7]
    assert context_starts(np.array([5, 6, 7])).tolist() == [0, 0, 0]


@pytest.mark.parametrize("max_order,bias,chunk", [(None, 7.0, 1 << 14), (2, 2.0, 1 << 14), (4, 7.0, 9),
                                                  (0, 1.0, 1 << 14)])
def test_matches_reference_implementation(monkeypatch, max_order, bias, chunk):
    monkeypatch.setattr(ppm_module, "CHUNK", chunk)  # small blocks: targets assembled in many pieces
    vocab = 11
    train = pieces_stream(12, vocab, seed=1)
    stream = pieces_stream(6, vocab, seed=2)
    model = IDyOMModel(train, vocab, max_order=max_order, bias=bias)
    ltm, stm, mix = all_components(model, stream)
    expected = reference(train, stream, vocab, max_order, bias)
    assert len(ltm) == len(expected) == len(stream) - 1
    np.testing.assert_allclose(ltm, [e[0] for e in expected], rtol=1e-10, atol=0)
    np.testing.assert_allclose(stm, [e[1] for e in expected], rtol=1e-10, atol=0)
    np.testing.assert_allclose(mix, [e[2] for e in expected], rtol=1e-9, atol=0)
    nll = model.token_nll(stream)
    np.testing.assert_allclose(nll, [-math.log(e[2][x]) for e, x in zip(expected, stream[1:])], rtol=1e-9)


def test_probabilities_sum_to_one_over_the_vocabulary():
    vocab = 40
    model = IDyOMModel(pieces_stream(200, vocab, seed=3), vocab, max_order=None, bias=2.0)
    # held-out pieces with tokens never seen in training and a piece that repeats itself
    rng = np.random.default_rng(4)
    stream = np.concatenate([pieces_stream(30, vocab, seed=5), [BOS, *rng.integers(3, vocab, 50), EOS],
                             [BOS, *([7, 8, 9] * 40), EOS]])
    ltm, stm, mix = all_components(model, stream)
    for dists in (ltm, stm, mix):
        assert dists.shape == (len(stream) - 1, vocab)
        assert (dists > 0).all()
        np.testing.assert_allclose(dists.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_short_term_model_makes_a_repeated_phrase_cheaper():
    vocab = 30
    rng = np.random.default_rng(6)
    model = IDyOMModel(pieces_stream(100, vocab, seed=7), vocab, **SETTINGS)
    phrase = rng.integers(3, vocab, size=12)  # unlikely to occur in training as a whole
    stream = np.array([BOS, *phrase, *phrase, EOS])
    nll = model.token_nll(stream)  # nll[i - 1] is the cost of token i
    first, second = slice(1, 12), slice(13, 24)  # tokens 2..12 and 14..24: the phrase minus its first token
    assert nll[second].sum() < 0.7 * nll[first].sum()
    _, stm, _ = all_components(model, stream)
    stm_nll = -np.log(stm[np.arange(len(stream) - 1), stream[1:]])
    assert stm_nll[second].sum() < 0.3 * stm_nll[first].sum()
    # the second time, each token of the phrase is the STM's most likely next token
    assert (stm[second].argmax(axis=1) == stream[14:25]).all()


def test_deterministic_and_independent_of_block_size(monkeypatch):
    vocab = 25
    train, stream = pieces_stream(150, vocab, seed=8), pieces_stream(40, vocab, seed=9)
    model = IDyOMModel(train, vocab, **SETTINGS)
    once = model.token_nll(stream)
    np.testing.assert_array_equal(once, IDyOMModel(train.copy(), vocab, **SETTINGS).token_nll(stream.copy()))
    monkeypatch.setattr(ppm_module, "CHUNK", 17)
    np.testing.assert_allclose(model.token_nll(stream), once, rtol=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="max_order"):
        IDyOMModel([BOS, 3, EOS], 5, max_order=-1, bias=2.0)
    with pytest.raises(ValueError, match="token ids"):
        IDyOMModel([BOS, 9, EOS], 5, **SETTINGS)
    with pytest.raises(ValueError, match="bias"):
        IDyOMModel([BOS, 3, EOS], 5, max_order=2, bias=-1.0)
    with pytest.raises(ValueError, match="vocab_size"):
        IDyOMModel([0, 0], 1, **SETTINGS)
    with pytest.raises(ValueError, match="empty"):
        IDyOMModel([], 5, **SETTINGS)
    assert IDyOMModel([BOS, 3, EOS], 5, **SETTINGS).token_nll([BOS]).size == 0


def write_genre(folder, train, val):
    """Token files of a genre as the tokenize rule writes them (each validation piece with its note count)."""
    np.save(folder / "g.npy", train.astype(np.uint16))
    np.save(folder / "g.val.npy", val.astype(np.uint16))
    starts = np.flatnonzero(val == BOS)
    lengths = np.diff(np.append(starts, val.size))
    values = [{"piece_id": f"p{j}", "family": f"f{j // 2}", "split": "val", "fold": 1, "tokens": int(n),
               "notes": int(n // 3) + 1, "steps": 16} for j, n in enumerate(lengths)]
    write_table([{c: v[c] for c in DATASET_PIECE_COLUMNS} for v in values], DATASET_PIECE_COLUMNS,
                folder / "g.pieces.tsv")
    return values


def test_ppm_floor_scores_like_the_ngram_floor_and_fills_the_summary(tmp_path):
    vocab = make_tokenizer("event").size
    train, val = pieces_stream(80, vocab, seed=10), pieces_stream(12, vocab, seed=11)
    pieces = write_genre(tmp_path, train, val)
    files = dict(genre="g", train_path=tmp_path / "g.npy", val_path=tmp_path / "g.val.npy",
                 pieces_path=tmp_path / "g.pieces.tsv", tempo=100.0)
    row = ppm_floor(**files, max_order=24, bias=2.0, table_path=tmp_path / "ppm.tsv",
                    pieces_table_path=tmp_path / "ppm.pieces.tsv")
    ngram_floor(**files, order=8, table_path=tmp_path / "ngram.tsv", pieces_table_path=tmp_path / "ngram.pieces.tsv")
    by_piece = read_table(tmp_path / "ppm.pieces.tsv")
    assert len(by_piece) == len(pieces) and [r["tokens"] for r in by_piece] == [
        r["tokens"] for r in read_table(tmp_path / "ngram.pieces.tsv")]
    expected = IDyOMModel(train, vocab, max_order=24, bias=2.0).token_nll(val).sum() / math.log(2)
    assert sum(float(r["bits"]) for r in by_piece) == pytest.approx(expected, rel=1e-6)
    notes = sum(p["notes"] for p in pieces)
    assert row["bits_per_note"] == pytest.approx(expected / notes, abs=1e-4)
    assert read_table(tmp_path / "ppm.tsv")[0]["bits_per_note"] == str(row["bits_per_note"])
    # the summary's columns of the floor, for a "model" that is the n-gram floor
    ngram_bits = load_piece_bits([tmp_path / "ngram.pieces.tsv"])["g", "g"]
    ppm_bits = load_piece_bits([tmp_path / "ppm.pieces.tsv"])["g", "g"]
    columns = floor_columns("ppm", ngram_bits, ppm_bits)
    assert list(columns) == floor_names("ppm")
    assert columns["ppm_bits_per_note"] == pytest.approx(row["bits_per_note"], abs=1e-4)
    assert columns["vs_ppm"] == pytest.approx(ngram_bits.per_note() - ppm_bits.per_note(), abs=1e-4)
    assert columns["vs_ppm_low"] <= columns["vs_ppm"] <= columns["vs_ppm_high"]
    assert columns["beats_ppm"] == {"lower": "yes", "higher": "no", "tie": "tie"}[
        "lower" if columns["vs_ppm_high"] < 0 else "higher" if columns["vs_ppm_low"] > 0 else "tie"]
    assert floor_columns("ppm", ppm_bits, ppm_bits)["beats_ppm"] == "tie"
