"""Memorisation: how much of a model's samples is copied verbatim from its training set.

A piece is read as its notes in onset order (pitch, and the onset gap to the previous note in 16ths). An
*n-gram* is n consecutive notes: their n pitches and the n-1 gaps between them (the gap before the first note is
not part of it, so the same figure matches wherever it occurs). For each sample we report the share of its 8- and
16-grams found anywhere in the training set and the longest copied span (the most consecutive notes found
verbatim, by binary search on the span length). Held-out validation pieces, which the model never saw, get the
same numbers: a baseline for how much any new piece of the genre shares with the training set (formulaic
genres share a lot). Matching compares 64-bit polynomial hashes of the n-grams, vectorised over the whole
training set; a false match needs a hash collision (about 1e-19 per pair of n-grams here).
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.core.tables import write_table
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.streams import decode_pieces, split_pieces

log = logging.getLogger(__name__)

NGRAMS = (8, 16)
MAX_GAP = 4095  # onset gaps are clipped here (256 bars of 16ths)
PITCHES = 128
SEPARATOR = 1 << 40  # between training pieces: no note has this value, so no n-gram spans two pieces
CACHED_LENGTHS = 16  # hash tables of this many n-gram lengths are kept (besides NGRAMS), most recent first
_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_BASE_INV = pow(_BASE, -1, 1 << 64)

MEMORISATION_COLUMNS = ["genre", "set", "piece", "notes", "ngrams8", "copied8", "ngrams16", "copied16",
                        "longest_copy"]


def note_codes(notes: Sequence[Note]) -> tuple[np.ndarray, np.ndarray]:
    """(codes, gaps) of a note list in onset order: code = pitch + 128 * gap to the previous onset (0 first)."""
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    starts = np.array([n.start for n in ordered], dtype=np.int64)
    gaps = np.minimum(np.diff(starts, prepend=starts[:1]), MAX_GAP).astype(np.uint64)
    pitches = np.array([n.pitch for n in ordered], dtype=np.uint64)
    return pitches + np.uint64(PITCHES) * gaps, gaps


def _powers(base: int, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    return np.cumprod(out, dtype=np.uint64)


def ngram_hashes(codes: np.ndarray, gaps: np.ndarray, n: int) -> np.ndarray:
    """Hash of every n-gram (first note's gap left out) of a code sequence, modulo 2**64."""
    count = len(codes) - n + 1
    if n < 1 or count < 1:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        power = _powers(_BASE, len(codes) + 1)
        prefix = np.concatenate([[np.uint64(0)], np.cumsum(codes * _powers(_BASE_INV, len(codes)), dtype=np.uint64)])
        i = np.arange(count)
        window = (prefix[i + n] - prefix[i]) * power[i + n - 1]  # sum of codes[j] * base**(i+n-1-j)
        return window - np.uint64(PITCHES) * gaps[:count] * power[n - 1]


class TrainingIndex:
    """The training pieces' n-gram hashes, sorted, built once per n (a few recent lengths are kept).

    With ``queries`` (the pieces that will be looked up), the tables of n-grams of 8 notes or more keep only the
    training positions whose 8-gram occurs in some query: no other position can match one of them, so the answers
    for those queries are the same and each table is built from a small share of the training set.
    """

    def __init__(self, pieces: Iterable[Sequence[Note]], queries: Sequence[Sequence[Note]] | None = None):
        codes, gaps = [], []
        for notes in pieces:
            c, g = note_codes(notes)
            codes += [c, np.array([SEPARATOR], dtype=np.uint64)]
            gaps += [g, np.zeros(1, dtype=np.uint64)]
        self.codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint64)
        self.gaps = np.concatenate(gaps) if gaps else np.zeros(0, dtype=np.uint64)
        self._sorted: OrderedDict[int, np.ndarray] = OrderedDict()
        self._starts = None  # training positions where a query's n-gram (n >= 8) can match; None = all
        if queries is not None:
            n = NGRAMS[0]
            wanted = [ngram_hashes(*note_codes(q), n) for q in queries]
            wanted = np.concatenate(wanted) if wanted else np.zeros(0, dtype=np.uint64)
            self._starts = np.flatnonzero(np.isin(ngram_hashes(self.codes, self.gaps, n), wanted))

    def hashes(self, n: int) -> np.ndarray:
        """Sorted distinct hashes of every training n-gram (at the positions queries can match)."""
        if n not in self._sorted:
            table = ngram_hashes(self.codes, self.gaps, n)
            if self._starts is not None and n >= NGRAMS[0]:
                table = table[self._starts[self._starts < len(table)]]
            self._sorted[n] = np.unique(table)
            evictable = [k for k in self._sorted if k not in NGRAMS]
            if len(evictable) > CACHED_LENGTHS:
                del self._sorted[evictable[0]]
        self._sorted.move_to_end(n)
        return self._sorted[n]

    def found(self, hashes: np.ndarray, n: int) -> np.ndarray:
        """Which of these n-gram hashes occur in the training set."""
        table = self.hashes(n)
        if len(table) == 0:
            return np.zeros(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(table, hashes), len(table) - 1)
        return table[at] == hashes

    def copied(self, notes: Sequence[Note], n: int) -> tuple[int, int]:
        """(n-grams in the piece, how many of them occur in the training set)."""
        hashes = ngram_hashes(*note_codes(notes), n)
        return len(hashes), int(self.found(hashes, n).sum())

    def longest_copy(self, notes: Sequence[Note]) -> int:
        """The most consecutive notes of the piece found verbatim in one training piece.

        A copied span of L >= n notes holds L - n + 1 consecutive copied n-grams, which bounds the binary search.
        """
        codes, gaps = note_codes(notes)
        n = NGRAMS[0]
        found = self.found(ngram_hashes(codes, gaps, n), n)
        if found.any():
            lo, hi = n, longest_run(found) + n - 1  # a span of lo notes is copied; none of hi + 1 notes is
        else:
            lo, hi = 0, min(n - 1, len(codes))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.found(ngram_hashes(codes, gaps, mid), mid).any():
                lo = mid
            else:
                hi = mid - 1
        return lo


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True values."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max(initial=0))


def piece_row(genre: str, kind: str, index: int, notes: Sequence[Note], train: TrainingIndex) -> dict:
    """One piece's memorisation numbers (a row of ``MEMORISATION_COLUMNS``)."""
    row = {"genre": genre, "set": kind, "piece": index, "notes": len(notes)}
    for n in NGRAMS:
        row[f"ngrams{n}"], row[f"copied{n}"] = train.copied(notes, n)
    row["longest_copy"] = train.longest_copy(notes)
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
    queries = {kind: [notes for notes, _ in decode_pieces(np.load(path), tok)]
               for kind, path in (("sample", samples_path), ("heldout", val_path))}
    train = TrainingIndex((tok.decode_with_report(piece)[0] for piece in split_pieces(np.load(train_path))),
                          queries=queries["sample"] + queries["heldout"])  # decoded piece by piece, not kept
    rows = [piece_row(genre, kind, i, notes, train) for kind, pieces in queries.items()
            for i, notes in enumerate(pieces)]
    for kind in ("sample", "heldout"):
        chosen = [r for r in rows if r["set"] == kind]
        log.info("%s %s: %d pieces, copied 8-grams %.3f, 16-grams %.3f, longest copy %d notes", genre, kind,
                 len(chosen), copied_share(chosen, 8), copied_share(chosen, 16),
                 max((r["longest_copy"] for r in chosen), default=0))
    write_table(rows, MEMORISATION_COLUMNS, table_path)
    return rows
