"""Memorisation: how much of a model's samples is copied verbatim from its training set.

A piece is read as its notes in onset order (pitch, and the onset gap to the previous note in 16ths). An
*n-gram* is n consecutive notes: their n pitches and the n-1 gaps between them (the gap before the first note is
not part of it, so the same figure matches wherever it occurs). For each sample we report the share of its 8- and
16-grams found anywhere in the training set and the longest copied span (the most consecutive notes found
verbatim in one training piece). Held-out validation pieces, which the model never saw, get the same numbers: a
baseline for how much any new piece of the genre shares with the training set (formulaic genres share a lot).
Matching compares 64-bit polynomial hashes of the n-grams, a chunk of the training set at a time; a false match
needs a hash collision (about 1e-19 per pair of n-grams here). Spans of 8 notes or more are measured once for
every position of every piece by sorting the suffixes of the pieces together with those of the training runs
they can match (``match_lengths``), so a folder of 20,000 songs is indexed in minutes and well under 2 GiB.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from midi_genres.core.joblog import progress_text
from midi_genres.core.notes import Note
from midi_genres.core.tables import write_table
from midi_genres.tokens import Tokenizer, make_tokenizer
from midi_genres.tokens.streams import split_pieces

log = logging.getLogger(__name__)

NGRAMS = (8, 16)
MAX_GAP = 4095  # onset gaps are clipped here (256 bars of 16ths)
PITCHES = 128
SEPARATOR = np.uint32(0xFFFFFFFF)  # between training pieces: no note has this code, so no n-gram spans two pieces
FIRST_SEPARATOR = np.uint32(1 << 20)  # codes from here up are separators (notes stay below 128 * 4096)
CHUNK = 1 << 20  # training n-grams are hashed this many at a time (bounded memory for folders of any size)
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_BASE_INV = pow(_BASE, -1, 1 << 64)

MEMORISATION_COLUMNS = ["genre", "set", "piece", "notes", "ngrams8", "copied8", "ngrams16", "copied16",
                        "longest_copy"]


def note_codes(notes: Sequence[Note]) -> np.ndarray:
    """Codes of a note list in onset order: pitch + 128 * onset gap to the previous note (0 first), uint32."""
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    starts = np.array([n.start for n in ordered], dtype=np.int64)
    gaps = np.minimum(np.diff(starts, prepend=starts[:1]), MAX_GAP)
    return (np.array([n.pitch for n in ordered], dtype=np.int64) + PITCHES * gaps).astype(np.uint32)


def _powers(base: int, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)


def ngram_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram of a code sequence (its first note's gap left out), modulo 2**64: the sum of
    codes[j] * base**(i+n-1-j) over the n-gram starting at i, less its first gap's part."""
    count = len(codes) - n + 1
    if n < 1 or count < 1:
        return np.zeros(0, dtype=np.uint64)
    return _hash_at(codes, *_prefix_sums(codes), np.arange(count), n)


def _gap(codes: np.ndarray) -> np.ndarray:
    """The onset gap in each (uint64) code, 0 for separators (an n-gram leaves its first note's gap out)."""
    return np.where(codes >= FIRST_SEPARATOR, np.uint64(0), codes >> np.uint64(7))


def _chunked_hashes(codes: np.ndarray, n: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first position, hashes) of every n-gram of ``codes``, ``CHUNK`` n-grams at a time."""
    for at in range(0, max(len(codes) - n + 1, 0), CHUNK):
        yield at, ngram_hashes(codes[at:at + CHUNK + n - 1], n)


def _member(table: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(where each value would sit in the sorted ``table``, whether it is there)."""
    if len(table) == 0:
        return np.zeros(len(values), dtype=np.intp), np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(table, values), len(table) - 1)
    return at, table[at] == values


class TrainingIndex:
    """Which n-grams of the query pieces (samples, held-out pieces) occur anywhere in the training set.

    Pieces are given as their ``note_codes`` (one uint32 per note); queries are then named by their position in
    ``queries``. The training set's 8-grams are hashed a chunk at a time and compared with the queries' 8-grams,
    so memory stays small for a folder of any size. A copied span of n >= 8 notes lies inside a run of training
    notes covered by 8-grams that some query also has (``candidates``, usually a small share of the training set):
    for every query position the longest span found there is read off once (``match_lengths``), which answers
    every n >= 8 and the longest copy. Shorter n-grams (n < 8) are looked up by one scan of the training set per n.
    """

    def __init__(self, training: Iterable[np.ndarray], queries: Sequence[np.ndarray]):
        codes = []
        for piece in training:
            codes += [piece, np.array([SEPARATOR])]
        self.codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint32)
        self.queries = list(queries)
        self._tables: dict[int, np.ndarray] = {}  # n <= 8 -> the query n-gram hashes found in training, sorted
        found8 = self.table(NGRAMS[0])
        self.candidates = _matching_runs(self.codes, NGRAMS[0], found8)
        copying = [i for i, q in enumerate(self.queries) if _member(found8, ngram_hashes(q, NGRAMS[0]))[1].any()]
        self._lengths = dict(zip(copying, match_lengths(self.candidates, [self.queries[i] for i in copying])))

    def table(self, n: int) -> np.ndarray:
        """The query n-gram hashes that occur in the training set, sorted: one scan of the training set."""
        if n not in self._tables:
            wanted = np.unique(np.concatenate([ngram_hashes(q, n) for q in self.queries] + [np.zeros(0, np.uint64)]))
            seen = np.zeros(len(wanted), dtype=bool)
            for _, hashes in _chunked_hashes(self.codes, n):
                at, hit = _member(wanted, hashes)
                seen[at[hit]] = True
            self._tables[n] = wanted[seen]
        return self._tables[n]

    def found(self, i: int, n: int) -> np.ndarray:
        """For each n-gram of query ``i``, whether it occurs in the training set."""
        count = max(len(self.queries[i]) - n + 1, 0)
        if n < NGRAMS[0]:
            return _member(self.table(n), ngram_hashes(self.queries[i], n))[1]
        if i not in self._lengths:  # not even an 8-gram of it occurs
            return np.zeros(count, dtype=bool)
        return self._lengths[i][:count] >= n

    def copied(self, i: int, n: int) -> tuple[int, int]:
        """(n-grams in query ``i``, how many of them occur in the training set)."""
        found = self.found(i, n)
        return len(found), int(found.sum())

    def longest_copy(self, i: int) -> int:
        """The most consecutive notes of query ``i`` found verbatim in one training piece."""
        if i in self._lengths:
            return int(self._lengths[i].max())
        lo, hi = 0, min(NGRAMS[0] - 1, len(self.queries[i]))  # binary search below 8 notes
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.found(i, mid).any():
                lo = mid
            else:
                hi = mid - 1
        return lo


def match_lengths(training: np.ndarray, queries: Sequence[np.ndarray]) -> list[np.ndarray]:
    """For each position of each query, the most notes from there that occur verbatim in ``training`` (codes with
    ``SEPARATOR`` between pieces; the first note's gap is not compared, as in ``ngram_hashes``; no span crosses a
    separator). Matching statistics: every suffix of the training codes and the queries is sorted together
    (prefix doubling, ``log2`` of the longest query rounds of one sort each); a query suffix shares its longest
    prefix with one of the two nearest training suffixes in that order, measured by binary search on hashes."""
    if not queries:
        return []
    text, starts = _joined(training, queries)
    size, horizon = len(text), max(len(q) for q in queries) + 1
    rank = np.unique(text, return_inverse=True)[1].astype(np.int32)  # suffixes ranked by their first note
    width = 1
    while width < horizon and rank.max() < size - 1:  # ranks by the first 2 * width notes
        key = rank.astype(np.int64) * (size + 1)
        key[:-width] += rank[width:] + 1
        order = np.argsort(key)
        key = key[order]
        rank[order] = np.cumsum(np.concatenate([[False], key[1:] != key[:-1]]), dtype=np.int32)
        del key, order
        width *= 2
    key = np.where(text >= FIRST_SEPARATOR, text, text & np.uint32(PITCHES - 1)).astype(np.int64) * (size + 1)
    key[:-1] += rank[1:] + 1  # the first note by its pitch alone, then the rest of the suffix
    del rank
    order = np.argsort(key).astype(np.int32)  # every suffix, in order
    del key
    training_at = np.where(order < len(training), np.arange(size, dtype=np.int32), np.int32(-1))
    asked = np.flatnonzero((order >= len(training)) & (text[order] < FIRST_SEPARATOR))  # query notes' suffixes
    before = np.maximum.accumulate(training_at)[asked]  # the nearest training suffix before each
    training_at[training_at < 0] = size
    after = np.minimum.accumulate(training_at[::-1])[::-1][asked]  # and after
    del training_at
    prefix, power = _prefix_sums(text)
    here = order[asked].astype(np.int64)
    best = np.zeros(len(here), dtype=np.int64)
    for nearest in (before, after):
        for at in range(0, len(here), CHUNK):  # bounded temporaries
            part = slice(at, at + CHUNK)
            ok = (nearest[part] >= 0) & (nearest[part] < size)
            other = order[nearest[part][ok]].astype(np.int64)
            best[part][ok] = np.maximum(best[part][ok], _common_length(text, prefix, power, here[part][ok], other,
                                                                       horizon))
    lengths = np.zeros(size - len(training), dtype=np.int64)  # by place among the queries
    lengths[here - len(training)] = best
    return [lengths[start - len(training):start - len(training) + len(q)] for start, q in zip(starts, queries)]


def _joined(training: np.ndarray, queries: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The training codes and every query, each followed by a separator, every separator a code of its own (so no
    match runs across one); and where each query starts."""
    text = np.concatenate([training] + [part for q in queries for part in (q, np.array([SEPARATOR]))])
    ends = np.flatnonzero(text == SEPARATOR)
    text[ends] = FIRST_SEPARATOR + np.arange(len(ends), dtype=np.uint32)
    lengths = np.array([len(q) + 1 for q in queries])
    return text, len(training) + np.cumsum(lengths) - lengths


def _common_length(text: np.ndarray, prefix: np.ndarray, power: np.ndarray, a: np.ndarray, b: np.ndarray,
                   limit: int) -> np.ndarray:
    """For each pair of positions, the longest m <= ``limit`` whose m-grams there have the same hash."""
    lo = np.zeros(len(a), dtype=np.int64)
    hi = np.minimum(limit, len(text) - np.maximum(a, b))
    active = np.flatnonzero(lo < hi)
    while len(active):
        mid = (lo[active] + hi[active] + 1) // 2
        same = (_hash_at(text, prefix, power, a[active], mid) == _hash_at(text, prefix, power, b[active], mid))
        lo[active] = np.where(same, mid, lo[active])
        hi[active] = np.where(same, hi[active], mid - 1)
        active = active[lo[active] < hi[active]]
    return lo


def _hash_at(text: np.ndarray, prefix: np.ndarray, power: np.ndarray, starts: np.ndarray,
             lengths: np.ndarray | int) -> np.ndarray:
    """Hashes of the n-grams of ``text`` at these positions and lengths (n >= 1), from its ``_prefix_sums``."""
    with np.errstate(over="ignore"):
        window = (prefix[starts + lengths] - prefix[starts]) * power[starts + lengths - 1]
        first = text[starts].astype(np.uint64)
        return window - np.uint64(PITCHES) * _gap(first) * power[lengths - 1]


def _prefix_sums(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prefix, power) of a code sequence, modulo 2**64: prefix[j] = sum of codes[k] * base**-k for k < j and
    power[j] = base**j, so any n-gram's hash is read off in a few operations (``_hash_at``). Built ``CHUNK``
    codes at a time."""
    prefix, power = np.zeros(len(codes) + 1, dtype=np.uint64), np.empty(len(codes) + 1, dtype=np.uint64)
    step, step_inv = _powers(_BASE, min(CHUNK, len(codes))), _powers(_BASE_INV, min(CHUNK, len(codes)))
    scale, scale_inv = 1, 1  # base**at and base**-at as Python integers modulo 2**64
    with np.errstate(over="ignore"):
        for at in range(0, len(codes), CHUNK):
            part = codes[at:at + CHUNK].astype(np.uint64)
            power[at:at + len(part)] = step[:len(part)] * np.uint64(scale)
            sums = np.cumsum(part * step_inv[:len(part)] * np.uint64(scale_inv), dtype=np.uint64)
            prefix[at + 1:at + len(part) + 1] = sums + prefix[at]
            scale = scale * pow(_BASE, len(part), 1 << 64) % (1 << 64)
            scale_inv = scale_inv * pow(_BASE_INV, len(part), 1 << 64) % (1 << 64)
    power[-1] = scale
    return prefix, power


def _matching_runs(codes: np.ndarray, n: int, wanted: np.ndarray) -> np.ndarray:
    """The notes of ``codes`` covered by an n-gram whose hash is ``wanted``, runs separated by ``SEPARATOR``."""
    covered = np.zeros(len(codes), dtype=bool)
    for at, hashes in _chunked_hashes(codes, n):
        hits = at + np.flatnonzero(_member(wanted, hashes)[1])
        for k in range(n):
            covered[hits + k] = True
    kept = np.where(covered, codes, SEPARATOR)
    after_a_note = np.concatenate([[False], kept[:-1] != SEPARATOR])
    return kept[covered | after_a_note]  # the covered notes and one separator after each run


def stream_codes(stream: np.ndarray, tokenizer: Tokenizer) -> Iterator[np.ndarray]:
    """The ``note_codes`` of each piece of a token stream, decoded one piece at a time (no notes are kept)."""
    for piece in split_pieces(stream):
        yield note_codes(tokenizer.decode_with_report(piece)[0])


def piece_row(genre: str, kind: str, index: int, train: TrainingIndex, query: int) -> dict:
    """The memorisation numbers of ``train``'s query ``query`` (a row of ``MEMORISATION_COLUMNS``)."""
    row = {"genre": genre, "set": kind, "piece": index, "notes": len(train.queries[query])}
    for n in NGRAMS:
        row[f"ngrams{n}"], row[f"copied{n}"] = train.copied(query, n)
    row["longest_copy"] = train.longest_copy(query)
    return row


def copied_share(rows: Sequence[dict], n: int) -> float:
    """Share of all n-grams of these rows found in the training set (NaN when there are none)."""
    total = sum(int(r[f"ngrams{n}"]) for r in rows)
    return sum(int(r[f"copied{n}"]) for r in rows) / total if total else float("nan")


def memorisation(*, genre: str, train_path: str | os.PathLike, val_path: str | os.PathLike,
                 samples_path: str | os.PathLike, table_path: str | os.PathLike,
                 tokenizer: str = "event") -> list[dict]:
    """The memorisation rule: each sample and each held-out piece against the training set, as a table."""
    tok = make_tokenizer(tokenizer)
    queries = {kind: list(stream_codes(np.load(path), tok)) for kind, path in (("sample", samples_path),
                                                                                 ("heldout", val_path))}
    labels = [(kind, i) for kind, pieces in queries.items() for i in range(len(pieces))]
    started = time.perf_counter()
    train = TrainingIndex(stream_codes(np.load(train_path), tok), queries=queries["sample"] + queries["heldout"])
    log.info("%s: %d training notes indexed for %d pieces, %d of them in runs an 8-gram of a piece matches | %.1f s",
             genre, len(train.codes), len(labels), len(train.candidates), time.perf_counter() - started)
    rows, started = [], time.perf_counter()
    for query, (kind, i) in enumerate(labels, start=1):
        rows.append(piece_row(genre, kind, i, train, query - 1))
        if query % max(1, len(labels) // 10) == 0 or query == len(labels):
            log.info("%d/%d pieces | %s", query, len(labels),
                     progress_text(time.perf_counter() - started, query, len(labels)))
    for kind in ("sample", "heldout"):
        chosen = [r for r in rows if r["set"] == kind]
        log.info("%s %s: %d pieces, copied 8-grams %.3f, 16-grams %.3f, longest copy %d notes", genre, kind,
                 len(chosen), copied_share(chosen, 8), copied_share(chosen, 16),
                 max((r["longest_copy"] for r in chosen), default=0))
    write_table(rows, MEMORISATION_COLUMNS, table_path)
    return rows
