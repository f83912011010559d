"""Memorisation: how much of a model's samples is copied verbatim from its training set.

A piece is read as its notes in onset order (pitch, and the onset gap to the previous note in 16ths). An
*n-gram* is n consecutive notes: their n pitches and the n-1 gaps between them (the gap before the first note is
not part of it, so the same figure matches wherever it occurs). For each sample we report the share of its 8- and
16-grams found anywhere in the training set and the longest copied span (the most consecutive notes found
verbatim, by binary search on the span length). Held-out validation pieces, which the model never saw, get the
same numbers: a baseline for how much any new piece of the genre shares with the training set (formulaic
genres share a lot). Matching compares 64-bit polynomial hashes of the n-grams, vectorised over the training set
a chunk at a time; a false match needs a hash collision (about 1e-19 per pair of n-grams here).
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
    """Hash of every n-gram of a code sequence (its first note's gap left out), modulo 2**64."""
    count = len(codes) - n + 1
    if n < 1 or count < 1:
        return np.zeros(0, dtype=np.uint64)
    codes = codes.astype(np.uint64)
    with np.errstate(over="ignore"):
        power = _powers(_BASE, len(codes) + 1)
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * _powers(_BASE_INV, len(codes)), dtype=np.uint64)])
        i = np.arange(count)
        window = (prefix[i + n] - prefix[i]) * power[i + n - 1]  # sum of codes[j] * base**(i+n-1-j)
        first = codes[:count]
        first_gap = np.where(first == SEPARATOR, np.uint64(0), first >> np.uint64(7))
        return window - np.uint64(PITCHES) * first_gap * power[n - 1]


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
    so memory stays small for a folder of any size. A copied span of n > 8 notes lies inside a run of training
    notes covered by 8-grams that also occur in a query (``candidates``, usually a small share of the training
    set) and consists of query n-grams whose inner 8-grams were all found: each such query n-gram is checked only
    at the training positions of its rarest inner 8-gram, by comparing n-gram hashes read off prefix sums.
    Shorter n-grams (n < 8) are looked up by one scan of the whole training set per n.
    """

    def __init__(self, training: Iterable[np.ndarray], queries: Sequence[np.ndarray]):
        codes = []
        for piece in training:
            codes += [piece, np.array([SEPARATOR])]
        self.codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint32)
        self.queries = list(queries)
        self._tables: dict[int, np.ndarray] = {}  # n <= 8 -> the query n-gram hashes found in training, sorted
        self._found8 = [self.found(i, NGRAMS[0]) for i in range(len(self.queries))]
        self.candidates = _matching_runs(self.codes, NGRAMS[0], self.table(NGRAMS[0]))
        n = NGRAMS[0]
        grams = np.concatenate([h for _, h in _chunked_hashes(self.candidates, n)] + [np.zeros(0, np.uint64)])
        order = np.argsort(grams, kind="stable")
        self._grams, self._at = grams[order], order.astype(np.uint32)  # candidates' 8-grams, sorted; positions
        del grams, order
        self._prefix, self._power = _prefix_sums(self.candidates)

    def table(self, n: int) -> np.ndarray:
        """The query n-gram hashes (n <= 8) that occur in the training set, sorted: one scan per n."""
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
        if n <= NGRAMS[0]:
            return _member(self.table(n), ngram_hashes(self.queries[i], n))[1]
        query, width = self.queries[i], n - NGRAMS[0] + 1  # width: inner 8-grams of an n-gram
        wanted = ngram_hashes(query, n)
        out = np.zeros(len(wanted), dtype=bool)
        inner = np.concatenate([[0], np.cumsum(self._found8[i])])
        viable = np.flatnonzero(inner[width:] - inner[:-width] == width)  # every inner 8-gram was found
        if len(viable) == 0:
            return out
        grams = ngram_hashes(query, NGRAMS[0])
        first = np.searchsorted(self._grams, grams, "left")
        count = np.searchsorted(self._grams, grams, "right") - first  # training occurrences of each 8-gram
        offset = np.lib.stride_tricks.sliding_window_view(count, width)[viable].argmin(axis=1)
        anchor = viable + offset  # the rarest inner 8-gram of each viable n-gram
        for part in np.array_split(np.arange(len(viable)), int(count[anchor].sum()) // CHUNK + 1):
            occurrences = count[anchor[part]]
            owner = np.repeat(part, occurrences)  # a row per (viable n-gram, occurrence of its anchor)
            rank = np.arange(len(owner)) - np.repeat(np.cumsum(occurrences) - occurrences, occurrences)
            start = self._at[first[anchor[owner]] + rank].astype(np.int64) - offset[owner]
            ok = (start >= 0) & (start + n <= len(self.candidates))
            owner, start = owner[ok], start[ok]
            hit = self._hash_at(start, n) == wanted[viable[owner]]
            out[viable[np.unique(owner[hit])]] = True
        return out

    def _hash_at(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Hashes of the candidates' n-grams at these positions (as ``ngram_hashes`` gives them)."""
        with np.errstate(over="ignore"):
            window = (self._prefix[starts + n] - self._prefix[starts]) * self._power[starts + n - 1]
            first = self.candidates[starts].astype(np.uint64)
            first_gap = np.where(first == SEPARATOR, np.uint64(0), first >> np.uint64(7))
            return window - np.uint64(PITCHES) * first_gap * self._power[n - 1]

    def copied(self, i: int, n: int) -> tuple[int, int]:
        """(n-grams in query ``i``, how many of them occur in the training set)."""
        found = self.found(i, n)
        return len(found), int(found.sum())

    def longest_copy(self, i: int) -> int:
        """The most consecutive notes of query ``i`` found verbatim in one training piece.

        A copied span of L >= 8 notes holds L - 7 consecutive copied 8-grams, which bounds the search; the bound
        itself is tried first (a run of copied 8-grams is usually one copy), then a binary search.
        """
        n, found = NGRAMS[0], self._found8[i]
        if found.any():
            lo, hi = n, longest_run(found) + n - 1  # a span of lo notes is copied; none of hi + 1 notes is
            if hi > lo and self.found(i, hi).any():
                return hi
        else:
            lo, hi = 0, min(n - 1, len(self.queries[i]))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.found(i, mid).any():
                lo = mid
            else:
                hi = mid - 1
        return lo


def _prefix_sums(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(prefix, power) of a code sequence, modulo 2**64: prefix[j] = sum of codes[k] * base**-k for k < j and
    power[j] = base**j, so an n-gram's hash is read off at any position (``TrainingIndex._hash_at``).
    Built ``CHUNK`` codes at a time."""
    prefix, power = np.zeros(len(codes) + 1, dtype=np.uint64), np.empty(len(codes) + 1, dtype=np.uint64)
    step, step_inv = _powers(_BASE, CHUNK), _powers(_BASE_INV, CHUNK)
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


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True values."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max(initial=0))


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
