"""An IDyOM-style floor over tokens: a long-term and a short-term PPM* model mixed by entropy.

IDyOM (Pearce 2005) predicts each event with two variable-order Markov models over the same alphabet, built with
PPM* (Cleary & Teahan 1997) and blended (interpolated) over orders, and combines their distributions per event:

- the **long-term model** (LTM) is built once from the genre's training stream (IDyOM's defaults: escape method C,
  counts without update exclusion, order unbounded);
- the **short-term model** (STM) is built from the piece being predicted, as it is read, and starts empty at every
  held-out piece (IDyOM's defaults: escape method X, update exclusion, order unbounded);
- the two distributions are combined by a **weighted geometric mean** (Pearce, Conklin & Wiggins 2005), each
  weighted by ``H_rel ** -bias`` where ``H_rel = H(P) / log2(vocab)`` is the distribution's entropy relative to the
  maximum, and the result is normalised. IDyOM's shipped default bias for the LTM-STM combination is 7
  (``*ltm-stm-bias*`` in its ``mvs/params.lisp``; 2 is its bias between viewpoints).

One model, PPM* with blending as IDyOM computes it (``ppm-star.lisp``), for a context ``h`` (the tokens before the
target within its piece, see below): the orders ``k`` whose context (the last ``k`` tokens of ``h``) has been
followed by something in the model's data are the *matching* orders ``0 .. M``. PPM* predicts from the shortest
*deterministic* matching order ``D >= 1`` (a context followed by only one distinct token), or else from the
longest, ``M``; orders above ``max_order`` are not used. From that order ``C`` down to 0, with ``escape = 1`` at
the top::

    m_k = sum of c_k(x) over the tokens x not seen after the order-(k+1) context   (all of them at k = C)
    w_k = m_k / (m_k + e_k);   P(x) += escape * w_k * c_k(x) / m_k for every x seen;   escape *= 1 - w_k

then ``P(x) += escape / (vocab + 1 - t_0)`` for every token and ``P`` is normalised. ``c_k(x)`` is the count of
``x`` after the order-``k`` context and ``e_k`` the escape count: ``t_k``, the number of distinct tokens seen there
(method C, the LTM), or ``t1_k + 1`` with ``t1_k`` the number seen there exactly once (method X, the STM); ``t_0``
is the number of distinct tokens at order 0. Taking the tokens seen at the order above out of ``m_k`` (IDyOM's
exclusion) lowers the weight of an order that adds little: it is worth 0.4 bits per token on Palestrina against
the plain blend ``P_k = (c_k + e_k P_{k-1}) / (n_k + e_k)``. The STM's counts are update-excluded: reading ``x``
after the context increments its count at the orders from the longest one at which ``x`` had already been seen
after the context upwards, which makes ``c_k(x)`` the number of distinct tokens (or the start of the piece) that
came before the order-``k`` context followed by ``x``, as Kneser-Ney's continuation counts; at a deterministic
selected order IDyOM counts every occurrence instead, and so does this model. Unlike IDyOM (which leaves a sum
within 0.001 of 1 as it is) every distribution is normalised.

Context: a target's context is the tokens of its own piece before it, from the piece's BOS; the BOS that opens the
next piece is predicted from the piece before it (the one it follows, its EOS last), and belongs to the next piece
in the per-piece tables, as for the Transformer and the n-gram floor. The STM of a target is built from those same
tokens. ``token_nll`` scores tokens ``1 .. n-1`` of a stream, the targets of ``likelihood.token_nll``.

Implementation (numpy, no loop over tokens): contexts get dense ids order by order, ``id_k = rank(token * N_{k-1}
+ id_{k-1})``, for the held-out contexts only; the training stream's positions are looked up in them with
``searchsorted`` and dropped as soon as their context matches no held-out context still being extended, so an
order costs what its surviving contexts cost. The STM's counts come from the same ids within a piece, by prefix
sums over each context's earlier occurrences. Distributions are assembled in dense blocks of ``CHUNK`` targets.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from midi_genres.analysis.heldout import EVAL_COLUMNS, PIECE_COLUMNS, likelihood_tables
from midi_genres.analysis.ngram import whole_pieces_prefix
from midi_genres.core.notes import steps_to_seconds
from midi_genres.core.tables import write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import BOS
from midi_genres.tokens.dataset import load_pieces

log = logging.getLogger(__name__)

CHUNK = 1 << 14  # targets whose distributions are assembled at a time (two dense CHUNK x vocab float64 blocks)
DENSE_LOOKUP = 1 << 24  # context keys looked up through a dense table (64 MiB) up to this many possible keys

__all__ = ["IDyOMModel", "context_starts", "ppm_floor"]


def context_starts(stream: np.ndarray) -> np.ndarray:
    """``starts[i]``: where the context of target ``i`` begins, the last BOS at or before ``i - 1`` (0 if none)."""
    s = np.asarray(stream)
    at = np.where(s == BOS, np.arange(s.size), 0)
    starts = np.zeros(s.size, dtype=np.int64)
    if s.size > 1:
        starts[1:] = np.maximum.accumulate(at)[:-1]
    return starts


@dataclass
class _Order:
    """The LTM at one order: the targets that use it (sorted), their context's group, and per group the tokens
    that followed it in the training stream (CSR: ``offsets``, ``symbols``, ``counts``) with their total and
    escape count."""

    targets: np.ndarray
    groups: np.ndarray
    offsets: np.ndarray
    symbols: np.ndarray
    counts: np.ndarray
    total: np.ndarray
    escape: np.ndarray


@dataclass
class _Terms:
    """One model's terms of one order for a block of targets: ``rows`` (targets in the block) with the total
    ``n`` of their context's counts, its escape count ``e`` and its number of distinct tokens ``types``, and the
    tokens seen after their context: ``entry_rows``, ``symbols``, ``counts`` (sorted by row, then symbol)."""

    rows: np.ndarray
    n: np.ndarray
    e: np.ndarray
    types: np.ndarray
    entry_rows: np.ndarray
    symbols: np.ndarray
    counts: np.ndarray


def _ranks(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted unique keys, each key's index in them)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, inverse.reshape(-1)


def _find(keys: np.ndarray, queries: np.ndarray, bound: int) -> np.ndarray:
    """Index of each of ``queries`` in the sorted unique ``keys`` (-1 where absent), all in ``[0, bound)``: through
    a dense table while ``bound`` is at most ``DENSE_LOOKUP`` and not much more than the queries, else by binary
    search."""
    if bound <= min(DENSE_LOOKUP, 8 * queries.size + 4096):
        table = np.full(bound, -1, dtype=np.int32)
        table[keys] = np.arange(keys.size)
        return table[queries].astype(np.int64)
    at = np.minimum(np.searchsorted(keys, queries), keys.size - 1)
    return np.where(keys[at] == queries, at, -1)


def _expand(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for every (start, length)."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts - before, lengths) + np.arange(total)


def _exclusive_in_groups(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per element of a sequence cut into runs (``first`` marks each run's first element): the sum of ``values``
    over the earlier elements of its run."""
    total = np.cumsum(values) - values
    return total - total[np.maximum.accumulate(np.where(first, np.arange(values.size), 0))]


class IDyOMModel:
    """The long-term model of a training stream, ready to score held-out streams with the short-term model beside it
    (see the module docstring): ``max_order`` caps the orders (None: unbounded), ``bias`` is b of the mixture (the
    workflow's are ``metrics.ppm_max_order`` and ``metrics.ppm_bias``)."""

    def __init__(self, train, vocab_size: int, *, max_order: int | None, bias: float):
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2, got {vocab_size!r}")
        if max_order is not None and (int(max_order) != max_order or max_order < 0):
            raise ValueError(f"max_order must be a non-negative integer or None, got {max_order!r}")
        if bias < 0:
            raise ValueError(f"bias must be non-negative, got {bias!r}")
        self.vocab_size = int(vocab_size)
        self.max_order = max_order
        self.bias = float(bias)
        self.train = self._tokens(train)
        if self.train.size == 0:
            raise ValueError("the training stream is empty")
        self.unigram = np.bincount(self.train, minlength=self.vocab_size).astype(np.float64)

    def _tokens(self, stream) -> np.ndarray:
        s = np.asarray(stream).astype(np.int64).ravel()
        if s.size and (s.min() < 0 or s.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}), got [{s.min()}, {s.max()}]")
        return s

    def _limits(self, stream: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """Highest order each target (1 .. n-1) may use: its context's length, capped at ``max_order``."""
        lengths = np.arange(1, stream.size) - starts[1:]
        return lengths if self.max_order is None else np.minimum(lengths, self.max_order)

    def _ltm_orders(self, stream: np.ndarray, limits: np.ndarray) -> list[_Order]:
        """The LTM's orders 1, 2, ... for every target of ``stream`` (PPM*: a target stops at its first
        deterministic order, at its last matching one, or at its limit)."""
        train, v = self.train, self.vocab_size
        orders: list[_Order] = []
        active = np.flatnonzero(limits >= 1)  # targets (index t = position - 1) that go on to order k
        ids = np.zeros(active.size, dtype=np.int64)  # their context's id at order k - 1
        positions = np.arange(1, train.size)  # training positions whose context may match one of theirs
        pos_ids = np.zeros(positions.size, dtype=np.int64)
        n_ids = 1
        k = 0
        while active.size:
            k += 1
            unique, ids = _ranks(stream[active + 1 - k] * n_ids + ids)
            keep = positions >= k
            positions, pos_ids = positions[keep], pos_ids[keep]
            at = _find(unique, train[positions - k] * n_ids + pos_ids, v * n_ids)
            hit = at >= 0
            positions, pos_ids = positions[hit], at[hit]
            pairs, counts = np.unique(pos_ids * v + train[positions], return_counts=True)
            group = pairs // v
            total = np.bincount(group, weights=counts, minlength=unique.size)
            types = np.bincount(group, minlength=unique.size)
            n, t = total[ids], types[ids]
            matched = n > 0
            orders.append(_Order(active[matched], ids[matched], np.concatenate([[0], np.cumsum(types)]),
                                 pairs % v, counts.astype(np.float64), total, types.astype(np.float64)))
            going = matched & (t > 1) & (limits[active] > k)
            active, ids = active[going], ids[going]
            live = np.zeros(unique.size, dtype=bool)
            live[ids] = True
            keep = live[pos_ids]
            positions, pos_ids, n_ids = positions[keep], pos_ids[keep], unique.size
        return orders

    @staticmethod
    def _ltm_terms(order: _Order, first: int, last: int) -> _Terms:
        """The terms of one LTM order for the targets ``first .. last - 1``."""
        lo, hi = np.searchsorted(order.targets, [first, last])
        rows, groups = order.targets[lo:hi] - first, order.groups[lo:hi]
        starts, lengths = order.offsets[groups], order.offsets[groups + 1] - order.offsets[groups]
        entries = _expand(starts, lengths)
        return _Terms(rows, order.total[groups], order.escape[groups], order.escape[groups], np.repeat(rows, lengths),
                      order.symbols[entries], order.counts[entries])

    def _stm_terms(self, stream: np.ndarray, starts: np.ndarray, limits: np.ndarray, first: int,
                   last: int) -> list[_Terms]:
        """The STM's terms, order by order from 0, for the targets ``first .. last - 1`` (whole contexts: no
        context starts inside the block and goes on past it)."""
        v = self.vocab_size
        position = np.arange(first, last) + 1
        lengths = position - starts[position]
        limit = limits[first:last]
        _, ids = _ranks(starts[position])  # order 0: the context's piece
        alive = np.arange(position.size)  # rows still in play (as earlier events or as targets)
        going = np.ones(position.size, dtype=bool)  # rows whose target goes on to this order
        terms: list[_Terms] = []
        for k in range(int(limit.max(initial=0)) + 1):
            pos = position[alive]
            longer = lengths[alive] > k
            next_ids = np.full(alive.size, -1, dtype=np.int64)
            if longer.any():
                _, next_ids[longer] = _ranks(ids[longer] * v + stream[pos[longer] - k - 1])
            # update exclusion: an event counts at order k if its order-(k+1) context followed by its token is new
            # (or the context is the whole piece so far)
            order = np.argsort(ids, kind="stable")  # by context, then position
            g, x, row = ids[order], stream[pos[order]], alive[order]
            run = np.ones(g.size, dtype=bool)
            run[1:] = g[1:] != g[:-1]
            pair = g * v + x
            ext = next_ids[order] * v + x
            new_pair = np.zeros(g.size, dtype=bool)
            new_pair[np.unique(pair, return_index=True)[1]] = True
            counted = ~longer[order]
            seen_ext = np.zeros(g.size, dtype=bool)
            seen_ext[np.unique(np.where(counted, -1, ext), return_index=True)[1]] = True
            counted |= seen_ext
            # tokens seen exactly once: +1 at a pair's first counted event, -1 at its second
            by_pair = np.argsort(pair, kind="stable")
            cp = pair[by_pair][counted[by_pair]]
            idx = by_pair[counted[by_pair]]
            second = np.zeros(cp.size, dtype=bool)
            second[1:] = (cp[1:] == cp[:-1]) & np.concatenate([[True], cp[1:-1] != cp[:-2]])
            once = new_pair.astype(np.int64)
            once[idx[second]] -= 1
            n = _exclusive_in_groups(counted.astype(np.int64), run)
            t1 = _exclusive_in_groups(once, run)
            t = _exclusive_in_groups(new_pair.astype(np.int64), run)
            target = going[row]
            matched = target & (n > 0)
            # PPM* stops a target at its first deterministic order, where IDyOM counts every earlier event
            deterministic = matched & (k > 0) & (t == 1)
            raw = _exclusive_in_groups(np.ones(g.size, dtype=np.int64), run)
            n = np.where(deterministic, raw, n)
            t1 = np.where(deterministic, raw == 1, t1)
            # histograms: every pair seen before a matched target of its context
            group_end = np.flatnonzero(np.append(run[1:], True))
            end = group_end[np.cumsum(run) - 1]  # last index of each element's run
            firsts = np.flatnonzero(new_pair)
            later = _expand(firsts + 1, end[firsts] - firsts)
            source = np.repeat(firsts, end[firsts] - firsts)
            use = matched[later]
            later, source = later[use], source[use]
            # count of the pair before the target: its counted events at earlier positions
            cpos = pos[order][idx]  # positions of the counted events, sorted by pair then position
            span = stream.size + 1
            before = np.searchsorted(cp * span + cpos, pair[source] * span + pos[order][later])
            counts = np.where(deterministic[later], raw[later], before - np.searchsorted(cp, pair[source]))
            entries = np.lexsort((x[source], row[later]))
            terms.append(_Terms(row[matched], n[matched].astype(np.float64), (t1[matched] + 1).astype(np.float64),
                                t[matched].astype(np.float64), row[later][entries], x[source][entries],
                                counts[entries].astype(np.float64)))
            # targets that go on: matched, not deterministic, below their limit
            going_row = np.zeros(position.size, dtype=bool)
            going_row[row[matched & ~deterministic & (limit[row] > k)]] = True
            going = going_row
            if not going.any():
                break
            # events that stay: in a context (at order k + 1) shared with a target that goes on
            live = np.zeros(int(next_ids.max()) + 1, dtype=bool)
            live[next_ids[going[alive] & longer]] = True
            keep = longer & live[np.maximum(next_ids, 0)]
            alive, ids = alive[keep], next_ids[keep]
        return terms

    def _blend(self, terms: list[_Terms], rows: int, order0: np.ndarray | None = None) -> np.ndarray:
        """The blended distributions (``rows`` x vocab) of one model from its terms, order 0 first (``order0``: a
        dense order-0 histogram shared by every row instead of ``terms[0]``'s entries), as IDyOM blends them: from
        the selected order down, each order's weight ``w_k = m_k / (m_k + e_k)`` counts only the tokens not seen at
        the order above (``m_k``), its counts are added with ``escape * w_k / m_k``, the escape shrinks by
        ``1 - w_k``, the rest goes to every token as ``1 / (vocab + 1 - t_0)``, and the sum is normalised."""
        v = self.vocab_size
        weight = np.zeros((rows, len(terms)))
        scale = np.zeros((rows, len(terms)))
        for k, term in enumerate(terms):
            node = term.n.astype(np.float64)
            if k + 1 < len(terms) and terms[k + 1].rows.size:  # exclusion: the tokens seen at order k + 1
                above = terms[k + 1]
                if k == 0 and order0 is not None:
                    seen = order0[above.symbols]
                else:
                    keys = term.entry_rows * v + term.symbols
                    seen = term.counts[np.searchsorted(keys, above.entry_rows * v + above.symbols)]
                node -= np.bincount(above.entry_rows, weights=seen, minlength=rows)[term.rows]
            total = node + term.e
            w = np.divide(node, total, out=np.zeros_like(node), where=total > 0)
            weight[term.rows, k] = w
            scale[term.rows, k] = np.divide(w, node, out=np.zeros_like(node), where=node > 0)
        escape = np.cumprod((1 - weight)[:, ::-1], axis=1)[:, ::-1]  # escape[r, k]: what orders >= k left over
        coef = scale
        coef[:, :-1] *= escape[:, 1:]
        types0 = np.zeros(rows)
        types0[terms[0].rows] = terms[0].types
        p = np.repeat((escape[:, 0] / (v + 1 - types0))[:, None], v, axis=1)
        flat = p.reshape(-1)
        for k, term in enumerate(terms):
            if k == 0 and order0 is not None:
                p += coef[:, :1] * order0[None, :]
            else:
                flat[term.entry_rows * v + term.symbols] += coef[term.entry_rows, k] * term.counts
        p /= p.sum(axis=1, keepdims=True)
        return p

    def _mix(self, ltm: np.ndarray, stm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entropy-weighted geometric mean of two blocks of distributions, in logs: ``(mixed, log_z)`` with
        ``mixed - log_z[:, None]`` the normalised log-probabilities (``ltm`` and ``stm`` are overwritten)."""
        max_entropy = math.log(self.vocab_size)
        logs = []
        weights = []
        for dist in (ltm, stm):
            log_p = np.log(dist)
            weights.append((-np.einsum("ij,ij->i", dist, log_p) / max_entropy) ** -self.bias)
            logs.append(log_p)
        total = weights[0] + weights[1]
        mixed = logs[0]
        mixed *= (weights[0] / total)[:, None]
        mixed += (weights[1] / total)[:, None] * logs[1]
        # a weighted mean of log-probabilities lies between their extremes: exp cannot overflow or vanish entirely
        np.exp(mixed, out=ltm)
        return mixed, np.log(ltm.sum(axis=1))

    def log_distributions(self, stream):
        """Yield ``(first, logp)`` per block of targets: ``logp[r]`` is the natural log of the mixed distribution
        over the vocabulary of target ``first + r + 1`` of ``stream`` (the two models' own: ``components``)."""
        for first, ltm, stm in self.components(stream):
            mixed, log_z = self._mix(ltm, stm)
            yield first, mixed - log_z[:, None]

    def components(self, stream):
        """Yield ``(first, ltm, stm)`` per block of targets: the two models' distributions (rows x vocab) of the
        targets ``first + 1 ..`` of ``stream``."""
        s = self._tokens(stream)
        if s.size < 2:
            return
        starts = context_starts(s)
        limits = self._limits(s, starts)
        orders = self._ltm_orders(s, limits)
        cuts = np.flatnonzero(starts[1:] != starts[:-1])  # targets where a new context begins (minus one)
        first = 0
        while first < s.size - 1:
            last = min(first + CHUNK, s.size - 1)
            if last < s.size - 1:
                inside = cuts[(cuts > first) & (cuts <= last)]
                if inside.size:
                    last = int(inside[-1])
                else:
                    following = cuts[cuts > last]
                    last = int(following[0]) if following.size else s.size - 1
            rows = last - first
            types = np.full(rows, float(np.count_nonzero(self.unigram)))
            ltm_terms = [_Terms(np.arange(rows), np.full(rows, self.unigram.sum()), types, types,
                                *(np.zeros(0),) * 3)]
            ltm_terms += [self._ltm_terms(order, first, last) for order in orders]
            ltm = self._blend(ltm_terms, rows, self.unigram)
            stm = self._blend(self._stm_terms(s, starts, limits, first, last), rows)
            yield first, ltm, stm
            first = last

    def token_nll(self, stream) -> np.ndarray:
        """Next-token NLL (nats) of tokens 1..n-1 of ``stream`` under the mixed model."""
        s = self._tokens(stream)
        nll = np.zeros(max(s.size - 1, 0))
        for first, ltm, stm in self.components(s):
            mixed, log_z = self._mix(ltm, stm)
            rows = np.arange(mixed.shape[0])
            nll[first:first + rows.size] = log_z - mixed[rows, s[first + 1 + rows]]
        return nll


def ppm_floor(*, genre: str, train_path: str, val_path: str, pieces_path: str, tempo: float,
              max_order: int | None, bias: float, table_path: str | os.PathLike,
              pieces_table_path: str | os.PathLike, tokenizer: str = "event", max_tokens: int | None = None) -> dict:
    """The ppm_floor rule: the IDyOM-style floor (``analysis.ppm``: LTM of the genre's training tokens + STM of each
    held-out piece, mixed by entropy) scored on the genre's validation stream exactly as the Transformer and the
    n-gram floor are (same targets, bits per note with an interval, parts). With ``max_tokens`` the LTM is built on
    the first whole pieces of the training stream up to that many tokens, as the n-gram floor's."""
    tok = make_tokenizer(tokenizer)
    started = time.perf_counter()
    train = np.load(train_path, mmap_mode="r")
    fitted = train if max_tokens is None else whole_pieces_prefix(train, max_tokens)
    if len(fitted) < len(train):
        log.info("%s: building the long-term model on the first %d of %d training tokens (metrics.ngram_max_tokens)",
                 genre, len(fitted), len(train))
    model = IDyOMModel(fitted, tok.size, max_order=max_order, bias=bias)
    stream = np.load(val_path)
    pieces = load_pieces(pieces_path, "val")
    row, by_piece = likelihood_tables(genre, genre, stream, model.token_nll(stream), tok, pieces,
                                      steps_to_seconds(sum(p["steps"] for p in pieces), tempo))
    log.info("%s, IDyOM-style floor (PPM*, max order %s, bias %g): %.3f bits/note [%.3f, %.3f] (%.1f s)", genre,
             max_order, bias, row["bits_per_note"], row["bits_per_note_low"], row["bits_per_note_high"],
             time.perf_counter() - started)
    write_table([row], EVAL_COLUMNS, table_path)
    write_table(by_piece, PIECE_COLUMNS, pieces_table_path)
    return row
