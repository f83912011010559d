import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from midi_genres.analysis import ngram as ngram_module
from midi_genres.analysis.ngram import FALLBACK_DISCOUNTS, NGramModel, kn_discounts

# bigram counts: (1,2) x4, (2,1) x3, (3,3) x2, (2,3) x1, (3,4) x1 -> n1..n4 = 2, 1, 1, 1
TOY = [1, 2, 1, 2, 1, 2, 1, 2, 3, 3, 3, 4]


def random_stream(n, vocab, seed):
    """A stream with structure (a few repeated motifs plus noise), ids in 1..vocab-1."""
    rng = np.random.default_rng(seed)
    motifs = [rng.integers(1, vocab, size=rng.integers(2, 6)) for _ in range(5)]
    parts = [motifs[rng.integers(5)] if rng.random() < 0.7 else rng.integers(1, vocab, size=2) for _ in range(n)]
    return np.concatenate(parts)[:n].astype(np.uint16)


def reference_probabilities(stream, vocab, order, context):
    """Interpolated modified Kneser-Ney from the definitions, with dicts (for small streams)."""
    s = [int(t) for t in stream]
    levels = []
    for k in range(1, order + 1):
        grams = [tuple(s[j:j + k]) for j in range(len(s) - k + 1)]
        if k == order:
            counts = Counter(grams)
        else:
            preds = defaultdict(set)
            for j, g in enumerate(grams):
                preds[g].add(s[j - 1] if j > 0 else "start")
            counts = {g: len(p) for g, p in preds.items()}
        n = Counter(counts.values())
        try:
            y = n[1] / (n[1] + 2 * n[2])
            d = [r - (r + 1) * y * n[r + 1] / n[r] for r in (1, 2, 3)]
            if not all(0 < x <= r for r, x in zip((1, 2, 3), d)):
                raise ZeroDivisionError
        except ZeroDivisionError:
            d = list(FALLBACK_DISCOUNTS)
        levels.append((counts, d))
    ctx = tuple(int(t) for t in context)[max(len(context) - (order - 1), 0):]
    p = {w: 1 / vocab for w in range(vocab)}
    for k in range(1, len(ctx) + 2):
        counts, d = levels[k - 1]
        h = ctx[len(ctx) - (k - 1):]
        followers = {g[-1]: c for g, c in counts.items() if g[:-1] == h}
        total = sum(followers.values())
        if total == 0:
            continue
        gamma = sum(d[min(c, 3) - 1] for c in followers.values()) / total
        p = {w: max(followers.get(w, 0) - d[min(followers.get(w, 0), 3) - 1], 0) / total + gamma * p[w]
             for w in range(vocab)}
    return np.array([p[w] for w in range(vocab)])


def test_kn_discounts_chen_goodman_and_fallback():
    # n1..n4 = 2, 1, 1, 1: Y = 2 / (2 + 2) = 1/2; D1 = 1 - 2 Y 1/2 = 1/2, D2 = 2 - 3 Y 1/1 = 1/2, D3 = 3 - 4 Y = 1
    assert kn_discounts(np.array([4, 3, 2, 1, 1])) == pytest.approx((0.5, 0.5, 1.0))
    assert kn_discounts(np.array([1, 1, 2])) == FALLBACK_DISCOUNTS  # n3 = 0: D3 undefined
    assert kn_discounts(np.array([], dtype=np.int64)) == FALLBACK_DISCOUNTS


def test_order2_by_hand():
    vocab = 5
    m = NGramModel.fit(TOY, vocab, order=2)
    # order 1, continuation counts (distinct predecessors, the stream start counting as one):
    # 1 <- {start, 2}: 2, 2 <- {1}: 1, 3 <- {2, 3}: 2, 4 <- {3}: 1; n1 = n2 = 2, n3 = 0 -> fallback discounts
    uni = m.levels[0]
    assert dict(zip(uni.keys.tolist(), uni.counts.tolist())) == {1: 2, 2: 1, 3: 2, 4: 1}
    assert uni.discounts == FALLBACK_DISCOUNTS
    # P1(w) = max(c - D, 0) / 6 + gamma / 5, gamma = (0.5 + 1 + 0.5 + 1) / 6 = 1/2
    p1 = np.array([0, 1, 0.5, 1, 0.5]) / 6 + 0.5 / 5
    np.testing.assert_allclose(m.probabilities([]), p1, rtol=1e-12)
    # order 2, raw counts: discounts 1/2, 1/2, 1 (see test_kn_discounts_chen_goodman_and_fallback)
    big = m.levels[1]
    assert big.discounts == pytest.approx((0.5, 0.5, 1.0))
    assert sorted(big.counts.tolist()) == [1, 1, 2, 3, 4]
    # after 2: (2,1) x3, (2,3) x1 -> total 4, gamma = (D3 + D1) / 4 = 1.5 / 4
    expect = 1.5 / 4 * p1
    expect[1] += (3 - 1.0) / 4
    expect[3] += (1 - 0.5) / 4
    np.testing.assert_allclose(m.probabilities([2]), expect, rtol=1e-12)
    # after 1: (1,2) x4 -> total 4, gamma = D3 / 4
    after1 = 1.0 / 4 * p1
    after1[2] += (4 - 1.0) / 4
    np.testing.assert_allclose(m.probabilities([3, 1]), after1, rtol=1e-12)  # only the last token is context
    # 4 is never followed (end of stream) and 0 never occurs: back to order 1
    np.testing.assert_allclose(m.probabilities([4]), p1, rtol=1e-12)
    np.testing.assert_allclose(m.probabilities([0]), p1, rtol=1e-12)
    # token_nll of [1, 2, 0]: P(2 | 1), P(0 | 2)
    np.testing.assert_allclose(m.token_nll([1, 2, 0]), -np.log([after1[2], expect[0]]), rtol=1e-12)


def test_order1_is_raw_unigram_interpolated_with_uniform():
    vocab = 5
    m = NGramModel.fit(TOY, vocab, order=1)
    # raw counts 1: 4, 2: 4, 3: 3, 4: 1 -> n1 = 1, n2 = 0 -> fallback; gamma = (1.5 + 1.5 + 1.5 + 0.5) / 12
    p = np.array([0, 2.5, 2.5, 1.5, 0.5]) / 12 + 5 / 12 / vocab
    np.testing.assert_allclose(m.probabilities([3, 3]), p, rtol=1e-12)
    np.testing.assert_allclose(m.token_nll([1, 2, 0, 4]), -np.log(p[[2, 0, 4]]), rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_reference_implementation(order):
    vocab = 9
    stream = random_stream(300, vocab, seed=order)
    m = NGramModel.fit(stream, vocab, order=order)
    rng = np.random.default_rng(0)
    contexts = [stream[j - rng.integers(0, 5):j] for j in rng.integers(5, len(stream), size=25)]
    contexts += [rng.integers(0, vocab, size=3)]  # mostly unseen
    for ctx in contexts:
        np.testing.assert_allclose(m.probabilities(ctx), reference_probabilities(stream, vocab, order, ctx),
                                   rtol=1e-12, atol=0)


@pytest.mark.parametrize("order", range(1, 9))
def test_probabilities_sum_to_one(order):
    vocab = 40
    stream = random_stream(5000, vocab, seed=order)
    m = NGramModel.fit(stream, vocab, order=order)
    rng = np.random.default_rng(order)
    for j in rng.integers(0, len(stream), size=30):
        for ctx in (stream[max(j - order, 0):j], rng.integers(0, vocab, size=rng.integers(0, 9))):
            p = m.probabilities(ctx)
            assert (p > 0).all()
            assert abs(p.sum() - 1) < 1e-9


@pytest.mark.parametrize("order", [1, 3, 8])
def test_token_nll_matches_probabilities_one_position_at_a_time(order):
    vocab = 12
    train = random_stream(2000, vocab, seed=1)
    val = np.concatenate([random_stream(150, vocab, seed=2), [0, 11, 0, 3]]).astype(np.uint16)
    m = NGramModel.fit(train, vocab, order=order)
    nll = m.token_nll(val)
    assert nll.shape == (len(val) - 1,)
    expect = [-math.log(m.probabilities(val[max(i - order + 1, 0):i])[val[i]]) for i in range(1, len(val))]
    np.testing.assert_allclose(nll, expect, rtol=1e-12)
    np.testing.assert_allclose(m.token_nll(train[:300]),
                               [-math.log(m.probabilities(train[:i])[train[i]]) for i in range(1, 300)], rtol=1e-12)


@pytest.mark.parametrize("chunk", [1, 2, 7, 64])
def test_token_nll_scored_in_chunks_is_the_same_to_the_last_bit(monkeypatch, chunk):
    vocab = 12
    m = NGramModel.fit(random_stream(2000, vocab, seed=1), vocab, order=5)
    val = random_stream(300, vocab, seed=2)
    whole = m.token_nll(val)
    monkeypatch.setattr(ngram_module, "SCORE_CHUNK", chunk)
    assert np.array_equal(m.token_nll(val), whole) and len(whole) == 299
    assert len(m.token_nll(val[:1])) == 0 and len(m.token_nll(val[:2])) == 1


def test_deterministic():
    stream = random_stream(3000, 30, seed=3)
    a = NGramModel.fit(stream, 30).token_nll(stream[:500])
    b = NGramModel.fit(stream.copy(), 30).token_nll(stream[:500])
    assert np.array_equal(a, b)


def test_fitted_stream_beats_shuffled():
    stream = random_stream(5000, 50, seed=4)
    m = NGramModel.fit(stream, 50)
    shuffled = np.random.default_rng(0).permutation(stream)
    assert m.token_nll(stream).mean() < 0.5 * m.token_nll(shuffled).mean()


def test_unseen_tokens_have_finite_nll():
    m = NGramModel.fit([1, 2, 3, 1, 2, 3, 2], 291)
    nll = m.token_nll([1, 2, 200, 290, 0, 2, 3])
    assert np.isfinite(nll).all() and (nll > 0).all()
    assert nll[1] > nll[0]  # 200 never seen: costlier than the seen 2 after 1
    empty = NGramModel.fit([], 10, order=3)
    np.testing.assert_allclose(empty.token_nll([1, 2, 3]), [math.log(10)] * 2)


def test_short_streams_and_validation():
    m = NGramModel.fit([5], 8, order=8)
    assert m.token_nll([5]).shape == (0,)
    assert abs(m.probabilities([5, 5, 5]).sum() - 1) < 1e-12
    with pytest.raises(ValueError):
        NGramModel.fit([1, 9], 8)
    with pytest.raises(ValueError):
        m.token_nll([1, 8])
    with pytest.raises(ValueError):
        NGramModel.fit([1, 2], 8, order=0)


def test_tables_do_not_depend_on_vocab_size():
    # the keys are exact (token * number of shorter grams + id), whatever the vocabulary; > 2**16 sorts as int64
    stream = random_stream(2000, 40, seed=5)
    a, b = NGramModel.fit(stream, 41, order=5), NGramModel.fit(stream, 70_000, order=5)
    for la, lb in zip(a.levels, b.levels):
        assert np.array_equal(la.keys, lb.keys) and np.array_equal(la.counts, lb.counts)
    grams = Counter(tuple(stream[j:j + 5].tolist()) for j in range(len(stream) - 4))
    assert sorted(a.levels[-1].counts.tolist()) == sorted(grams.values())  # top order: raw counts, no collisions


def test_whole_pieces_prefix_keeps_only_whole_pieces_up_to_the_cap():
    from midi_genres.analysis.ngram import whole_pieces_prefix
    from midi_genres.tokens.base import BOS, EOS

    pieces = [[BOS, 5, 6, EOS], [BOS, 7, 8, 9, 10, EOS], [BOS, 11, EOS]]
    stream = np.array([t for p in pieces for t in p], dtype=np.uint16)
    assert whole_pieces_prefix(stream, 100) is stream
    assert whole_pieces_prefix(stream, 12).tolist() == pieces[0] + pieces[1]  # 13 tokens in all
    assert whole_pieces_prefix(stream, 10).tolist() == pieces[0] + pieces[1]
    assert whole_pieces_prefix(stream, 9).tolist() == pieces[0]
    assert whole_pieces_prefix(stream, 4).tolist() == pieces[0]
    assert whole_pieces_prefix(stream, 2).tolist() == pieces[0][:2]  # the first piece alone is longer: cut


def test_ngram_floor_rule_fits_on_the_capped_prefix(tmp_path):
    from midi_genres.analysis.ngram import ngram_floor
    from midi_genres.core.tables import read_table, write_table
    from midi_genres.tokens.base import BOS, EOS
    from midi_genres.tokens.dataset import PIECE_COLUMNS

    rng = np.random.default_rng(0)
    piece = lambda: [BOS] + [int(t) for t in rng.choice([3, 130, 260, 261], 60)] + [EOS]  # noqa: E731
    train = np.array([t for _ in range(50) for t in piece()], dtype=np.uint16)
    val = np.array([t for _ in range(4) for t in piece()], dtype=np.uint16)
    np.save(tmp_path / "t.npy", train)
    np.save(tmp_path / "v.npy", val)
    rows = [{"piece_id": f"v{i}", "family": f"v{i}", "split": "val", "tokens": 62, "notes": 30, "steps": 64}
            for i in range(4)]
    write_table(rows, PIECE_COLUMNS, tmp_path / "p.tsv")
    bits = {}
    for cap in (None, 200, 10**9):
        ngram_floor(genre="g", train_path=str(tmp_path / "t.npy"), val_path=str(tmp_path / "v.npy"),
                    pieces_path=str(tmp_path / "p.tsv"), tempo=100.0, order=3, table_path=tmp_path / f"{cap}.tsv",
                    pieces_table_path=tmp_path / f"{cap}.pieces.tsv", max_tokens=cap)
        bits[cap] = float(read_table(tmp_path / f"{cap}.tsv")[0]["bits_per_token"])
    assert bits[None] == bits[10**9]
    assert bits[200] > bits[None]  # fitted on 3 pieces instead of 50: a weaker floor
