"""A variable-order n-gram language model over token ids: the floor a genre's Transformer must beat.

Smoothing: interpolated modified Kneser-Ney (Chen & Goodman 1998, three discounts per order), chosen over
IDyOM's PPM-C because it is the stronger standard n-gram smoother and its estimates are closed-form. For the
history ``h`` (the previous ``k - 1`` tokens) of the order-``k`` level::

    P_k(w | h) = max(c(h w) - D(c(h w)), 0) / c(h .) + gamma(h) P_{k-1}(w | h')
    gamma(h)   = (D_1 N_1(h .) + D_2 N_2(h .) + D_3 N_3+(h .)) / c(h .)

with ``h'`` the history without its first token, ``c(h .)`` the sum of ``c(h w)`` over ``w`` and ``N_r(h .)``
the number of ``w`` with ``c(h w) = r`` (``>= r`` for ``3+``). A history never followed by anything in the
training stream (``c(h .) = 0``) gives ``P_k = P_{k-1}``. ``c`` is the raw count at the top order and the
continuation count (number of distinct tokens seen before ``h w``; the start of the stream counts as one such
token) at the orders below. The order-1 level interpolates with the uniform distribution ``P_0 = 1 / vocab``, so
every token of the vocabulary, seen or not, has non-zero probability.

Discounts per order: ``Y = n_1 / (n_1 + 2 n_2)``, ``D_r = r - (r + 1) Y n_{r+1} / n_r`` (``n_r``: number of
n-grams of that order whose count is ``r``). Where an order's estimate is undefined (some ``n_r`` is zero) or
outside ``0 < D_r <= r``, the whole order uses ``FALLBACK_DISCOUNTS`` (0.5, 1, 1.5; KenLM's fallback).

Context: the stream is one sequence (the pieces concatenated, each ``BOS ... EOS``), and the context of token
``i`` is the previous ``min(i, order - 1)`` tokens, across piece boundaries, as the Transformer's windows are.
Token ``i < order - 1`` is therefore predicted from the order-``i + 1`` level down (continuation counts, the
stream's start counted as a distinct predecessor). ``token_nll`` scores tokens ``1 .. n-1``, exactly the targets
of ``midi_genres.analysis.likelihood.token_nll``.

Implementation: every n-gram gets a dense integer id per order by re-ranking, ``id_k = rank(token * N_{k-1} +
id_{k-1})`` over the start positions (``N_{k-1}``: number of distinct (k-1)-grams; the sort is one stable radix
pass over uint16 tokens per order), so keys are exact int64 (no hashing, no collisions) for any stream shorter
than ``2**63 / vocab`` tokens. Scoring looks the evaluated stream's n-grams up with
``np.searchsorted`` one order at a time, vectorised over all positions.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from midi_genres.analysis.heldout import EVAL_COLUMNS, PIECE_COLUMNS, likelihood_tables
from midi_genres.core.notes import steps_to_seconds
from midi_genres.core.tables import write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import BOS
from midi_genres.tokens.dataset import load_pieces

log = logging.getLogger(__name__)

FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
SCORE_CHUNK = 1 << 20  # targets scored at a time (bounded memory for validation streams of any length)

__all__ = ["FALLBACK_DISCOUNTS", "NGramModel", "kn_discounts"]


def kn_discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts ``(D_1, D_2, D_3+)`` from one order's n-gram counts (Chen & Goodman's
    estimate; ``FALLBACK_DISCOUNTS`` where it is undefined or outside ``0 < D_r <= r``)."""
    n = np.bincount(np.asarray(counts, dtype=np.int64), minlength=5)[1:5].astype(np.float64)  # n_1 .. n_4
    with np.errstate(divide="ignore", invalid="ignore"):
        y = n[0] / (n[0] + 2 * n[1])
        d = tuple(float(r - (r + 1) * y * n[r] / n[r - 1]) for r in (1, 2, 3))
    if all(np.isfinite(x) and 0 < x <= r for r, x in zip((1, 2, 3), d)):
        return d
    return FALLBACK_DISCOUNTS


@dataclass
class _Level:
    """One order ``k``: the sorted n-gram keys (``token * radix + history id``, the history being the
    (k-1)-gram before the token and ``radix`` the number of (k-1)-gram ids), their counts and discounted
    counts, and per history id the total count and the numerator of ``gamma``."""

    keys: np.ndarray        # int64, sorted unique
    radix: int              # number of history ids (types of order k - 1)
    counts: np.ndarray      # int64 per key (raw at the top order, continuation below)
    discounted: np.ndarray  # float64 per key: count - D(count)
    total: np.ndarray       # float64 per history id: sum of counts
    backoff: np.ndarray     # float64 per history id: D_1 N_1 + D_2 N_2 + D_3 N_3+
    discounts: tuple[float, float, float]

    @classmethod
    def build(cls, keys: np.ndarray, radix: int, counts: np.ndarray) -> _Level:
        discounts = kn_discounts(counts)
        d = np.asarray(discounts)[np.minimum(counts, 3) - 1] if counts.size else np.zeros(0)
        history = keys % radix
        return cls(keys=keys, radix=radix, counts=counts, discounted=counts - d,
                   total=np.bincount(history, weights=counts.astype(np.float64), minlength=radix),
                   backoff=np.bincount(history, weights=d, minlength=radix), discounts=discounts)


def _tokens(stream, vocab_size: int) -> np.ndarray:
    s = np.asarray(stream).astype(np.int64).ravel()
    if s.size and (s.min() < 0 or s.max() >= vocab_size):
        raise ValueError(f"token ids must lie in [0, {vocab_size}), got [{s.min()}, {s.max()}]")
    return s


def _lookup(keys: np.ndarray, key: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Index of each ``key`` in the sorted ``keys`` (-1 where absent or not ``valid``)."""
    if keys.size == 0:
        return np.full(key.shape, -1, dtype=np.int64)
    idx = np.minimum(np.searchsorted(keys, key), keys.size - 1)
    return np.where(valid & (keys[idx] == key), idx, -1)


def _continuation_counts(ids: np.ndarray, longer: np.ndarray, n_ids: int) -> np.ndarray:
    """Per k-gram id: the number of distinct (k+1)-grams ending in it (``longer``: (k+1)-gram ids by start
    position), plus one for the k-gram at the stream's start."""
    first = np.empty(int(longer.max()) + 1 if longer.size else 0, dtype=np.int64)
    first[longer] = np.arange(longer.size)  # one start position of each (k+1)-gram
    counts = np.bincount(ids[first + 1], minlength=n_ids)
    if n_ids:
        counts[ids[0]] += 1
    return counts


class NGramModel:
    """Interpolated modified Kneser-Ney n-gram model over token ids (see the module docstring)."""

    def __init__(self, vocab_size: int, order: int, levels: list[_Level]):
        self.vocab_size = int(vocab_size)
        self.order = int(order)
        self.levels = levels  # levels[k - 1] is order k

    @classmethod
    def fit(cls, stream, vocab_size: int, order: int = 8) -> NGramModel:
        """Count the n-grams (orders 1..``order``) of a token stream and set the smoothing up."""
        if int(order) != order or order < 1:
            raise ValueError(f"order must be a positive integer, got {order!r}")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be positive, got {vocab_size!r}")
        s, v = _tokens(stream, vocab_size), int(vocab_size)
        n = s.size
        small = s.astype(np.uint16) if v <= 1 << 16 else s  # uint16: numpy's stable argsort is then a radix sort
        ids, n_ids = np.zeros(n + 1, dtype=np.int64), 1  # order 0: the empty gram, at every start position
        keys, radix = np.zeros(1, dtype=np.int64), 0  # the keys of order 0 (one, the empty gram; no history)
        perm = np.arange(n + 1)  # start positions sorted by the id of their gram
        levels: list[_Level] = []
        for k in range(1, order + 1):
            # ids of order k: the rank of the key token * n_ids + (id of the (k-1)-gram at j) of the k-gram starting
            # at j (j = 0 .. n-k). Sorting by key = a stable radix sort by token of the start positions already
            # sorted by the (k-1)-gram ids, and perm stays sorted by id.
            perm = perm[perm <= n - k]
            perm = perm[np.argsort(small[perm + k - 1], kind="stable")]
            key = s[perm + k - 1] * n_ids + ids[perm]
            new = np.ones(key.size, dtype=bool)
            new[1:] = key[1:] != key[:-1]
            next_ids = np.empty(key.size, dtype=np.int64)
            next_ids[perm] = np.cumsum(new) - 1
            if k > 1:  # order k-1 is below the top: continuation counts from the k-gram ids
                levels.append(_Level.build(keys, radix, _continuation_counts(ids, next_ids, n_ids)))
            keys, radix = key[new], n_ids
            ids, n_ids = next_ids, keys.size
        levels.append(_Level.build(keys, radix, np.bincount(ids, minlength=n_ids)))
        return cls(v, order, levels)

    def token_nll(self, stream) -> np.ndarray:
        """Next-token NLL (nats) of tokens 1..n-1 of ``stream``, each predicted from its previous
        ``min(i, order - 1)`` tokens (the targets of ``analysis.likelihood.token_nll``); scored ``SCORE_CHUNK``
        targets at a time, each chunk with the tokens before it that its first targets are predicted from."""
        stream = np.asarray(stream).ravel()
        parts = []
        for first in range(1, max(len(stream), 1), SCORE_CHUNK):  # targets first .. first + SCORE_CHUNK - 1
            start = max(0, first - max(self.order - 1, 1))
            parts.append(self._window_nll(stream[start:first + SCORE_CHUNK])[first - start - 1:])
        return np.concatenate(parts) if parts else np.zeros(0)

    def _window_nll(self, stream) -> np.ndarray:
        """``token_nll`` of one window, in one piece."""
        s, v = _tokens(stream, self.vocab_size), self.vocab_size
        n = s.size
        if n < 2:
            return np.zeros(0)
        p = np.full(n, 1.0 / v)  # p[i]: probability of token i, refined order by order
        hist = np.zeros(n, dtype=np.int64)  # id of the (k-1)-gram starting at j (history of target j + k - 1)
        for k, level in enumerate(self.levels, start=1):
            m = n - k + 1
            if m <= 0 or level.keys.size == 0:
                break
            h = hist[:m]
            seen = h >= 0
            gram = _lookup(level.keys, s[k - 1:] * level.radix + h, seen)
            total = np.where(seen, level.total[np.maximum(h, 0)], 0.0)
            use = total > 0
            if not use.any():
                break
            t, g, hh = total[use], gram[use], h[use]
            alpha = np.where(g >= 0, level.discounted[np.maximum(g, 0)], 0.0) / t
            target = p[k - 1:]
            target[use] = alpha + level.backoff[hh] / t * target[use]
            hist = gram
        return -np.log(p[1:])

    def _history_id(self, tokens: np.ndarray) -> int:
        """Id of the gram ``tokens`` among the grams of its length (0 for the empty gram; -1 if unseen)."""
        gid = 0
        for k, tok in enumerate(tokens, start=1):
            level = self.levels[k - 1]
            found = _lookup(level.keys, np.array([int(tok) * level.radix + gid]), np.array([True]))
            gid = int(found[0])
            if gid < 0:
                return -1
        return gid

    def probabilities(self, context) -> np.ndarray:
        """The model's distribution over the vocabulary for the next token after ``context`` (its last
        ``order - 1`` tokens are used)."""
        ctx = _tokens(context, self.vocab_size)
        ctx = ctx[max(ctx.size - (self.order - 1), 0):]
        v = self.vocab_size
        p = np.full(v, 1.0 / v)
        words = np.arange(v, dtype=np.int64)
        for k in range(1, ctx.size + 2):
            level = self.levels[k - 1]
            h = self._history_id(ctx[ctx.size - (k - 1):])
            if h < 0:
                break
            total = level.total[h]
            if total == 0:
                continue
            gram = _lookup(level.keys, words * level.radix + h, np.ones(v, dtype=bool))
            alpha = np.where(gram >= 0, level.discounted[np.maximum(gram, 0)], 0.0) / total
            p = alpha + level.backoff[h] / total * p
        return p


def whole_pieces_prefix(stream: np.ndarray, max_tokens: int) -> np.ndarray:
    """The longest prefix of a BOS ... EOS stream that holds only whole pieces and at most ``max_tokens`` tokens
    (the first piece alone, cut at ``max_tokens``, if even it is longer)."""
    if len(stream) <= max_tokens:
        return stream
    starts = np.flatnonzero(stream[:max_tokens + 1] == BOS)
    cut = int(starts[-1]) if len(starts) and starts[-1] > 0 else max_tokens
    return stream[:cut]


def ngram_floor(*, genre: str, train_path: str, val_path: str, pieces_path: str, tempo: float, order: int,
                table_path: str | os.PathLike, pieces_table_path: str | os.PathLike,
                tokenizer: str = "event", max_tokens: int | None = None) -> dict:
    """The ngram_floor rule: a variable-order n-gram model (interpolated Kneser-Ney, ``analysis.ngram``) of the
    genre's training tokens, scored on its validation stream exactly as the Transformer is (same targets, bits per
    note with an interval, parts): the floor a Transformer has to beat. With ``max_tokens`` it is fitted on the
    first whole pieces of the training stream up to that many tokens (memory grows ~125 bytes a token)."""
    tok = make_tokenizer(tokenizer)
    started = time.perf_counter()
    train = np.load(train_path, mmap_mode="r")  # only the fitted prefix is read
    fitted = train if max_tokens is None else whole_pieces_prefix(train, max_tokens)
    if len(fitted) < len(train):
        log.info("%s: fitting the n-gram floor on the first %d of %d training tokens (metrics.ngram_max_tokens)",
                 genre, len(fitted), len(train))
    ngram = NGramModel.fit(fitted, tok.size, order)
    stream = np.load(val_path)
    pieces = load_pieces(pieces_path, "val")
    row, by_piece = likelihood_tables(genre, genre, stream, ngram.token_nll(stream), tok, pieces,
                                      steps_to_seconds(sum(p["steps"] for p in pieces), tempo))
    log.info("%s, %d-gram: %.3f bits/note [%.3f, %.3f] (%.1f s)", genre, order, row["bits_per_note"],
             row["bits_per_note_low"], row["bits_per_note_high"], time.perf_counter() - started)
    write_table([row], EVAL_COLUMNS, table_path)
    write_table(by_piece, PIECE_COLUMNS, pieces_table_path)
    return row
