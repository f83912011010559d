"""Held-out bits per note: per piece, split by part, with their uncertainty over held-out pieces (a bootstrap) and
over seeds (the spread). Torch-free: the scoring itself is in ``likelihood`` (the Transformer) and ``ngram``.

Every number comes from the per-piece tables (``PIECE_COLUMNS``) the scoring writes: one per trained model (one
per seed) or per n-gram floor. The pieces of one genre are the same for every model, so two
models are compared piece by piece (a paired bootstrap of their difference), and several seeds of one model are
averaged piece by piece before the bootstrap, while their spread is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from midi_genres.analysis.bootstrap import ratio_interval
from midi_genres.core.tables import read_table
from midi_genres.tokens.base import BOS, PARTS, Tokenizer

PART_COLUMNS = [f"{part}_bits_per_note" for part in PARTS]
EVAL_COLUMNS = ["model", "data", "tokens", "notes", "seconds", "bits", "bits_per_token", "bits_per_note",
                "bits_per_note_low", "bits_per_note_high", "bits_per_second", *PART_COLUMNS]
PIECE_COLUMNS = ["model", "data", "piece", "tokens", "notes", "bits", *(f"bits_{part}" for part in PARTS)]


def piece_bits(stream: np.ndarray, nll: np.ndarray, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, bits) of every piece of a stream: ``tokens[j]`` targets scored, ``bits[j, 0]`` their total bits and
    ``bits[j, 1:]`` the bits of each part (``PARTS``, by ``parts[target token]``), which add up to the total.

    ``nll[i]`` is the cost (nats) of token ``i + 1``; a piece runs from its BOS up to the next piece's BOS (that
    BOS, predicted after an EOS, belongs to the next piece; the stream's first token is never a target).
    """
    stream = np.asarray(stream, dtype=np.int64)
    starts = np.flatnonzero(stream == BOS)
    if len(starts) == 0 or starts[0] != 0:
        starts = np.concatenate([[0], starts])
    first_target = np.maximum(starts, 1) - 1  # index into nll of each piece's first target
    bits_by_part = np.zeros((len(nll), len(PARTS)))
    bits_by_part[np.arange(len(nll)), parts[stream[1:]]] = nll / math.log(2)
    per_part = np.add.reduceat(bits_by_part, first_target, axis=0) if len(nll) else np.zeros((len(starts), 4))
    tokens = np.diff(np.append(first_target, len(nll)))
    return tokens, np.column_stack([per_part.sum(axis=1), per_part])


def likelihood_tables(model_name: str, data: str, stream: np.ndarray, nll: np.ndarray, tokenizer: Tokenizer,
                      piece_notes: Sequence[int], seconds: float) -> tuple[dict, list[dict]]:
    """The ``EVAL_COLUMNS`` row of a scored stream (its per-token costs ``nll``) and its ``PIECE_COLUMNS`` rows.

    ``piece_notes`` are the notes of each piece of the stream, in order. Bits per note come with a bootstrap
    interval over pieces and split into parts (pitch / timing / duration / structure) that add up to the total.
    """
    tokens, bits = piece_bits(stream, nll, tokenizer.token_parts())
    notes = np.asarray(piece_notes, dtype=np.int64)
    if len(notes) != len(tokens):
        raise ValueError(f"{data}: the stream holds {len(tokens)} pieces but {len(notes)} note counts were given")
    total, n_notes = float(bits[:, 0].sum()), int(notes.sum())

    def per(x, value=total):
        return round(value / x, 4) if x else math.nan

    low, high = ratio_interval(bits[:, 0], notes)
    row = {"model": model_name, "data": data, "tokens": len(nll), "notes": n_notes, "seconds": round(seconds, 3),
           "bits": round(total, 1), "bits_per_token": per(len(nll)), "bits_per_note": per(n_notes),
           "bits_per_note_low": round(low, 4), "bits_per_note_high": round(high, 4), "bits_per_second": per(seconds),
           **{column: per(n_notes, float(bits[:, k + 1].sum())) for k, column in enumerate(PART_COLUMNS)}}
    pieces = [{"model": model_name, "data": data, "piece": j, "tokens": int(tokens[j]), "notes": int(notes[j]),
               **{c: round(float(v), 6) for c, v in zip(PIECE_COLUMNS[5:], bits[j])}} for j in range(len(tokens))]
    return row, pieces


BIT_COLUMNS = PIECE_COLUMNS[5:]  # bits, then bits of each part


@dataclass
class PieceBits:
    """One model (all its seeds) on one genre's held-out pieces: ``bits[seed, piece, k]`` for ``BIT_COLUMNS``."""

    bits: np.ndarray
    notes: np.ndarray

    @property
    def seeds(self) -> int:
        return self.bits.shape[0]

    def per_note(self, column: str = "bits") -> float:
        """Bits per note, averaged over the seeds (total bits of the seed-mean pieces / notes)."""
        return float(self.bits[:, :, BIT_COLUMNS.index(column)].mean(axis=0).sum() / self.notes.sum())

    def interval(self) -> tuple[float, float]:
        """95% bootstrap interval of bits per note over pieces (of the seed-mean bits of each piece)."""
        return ratio_interval(self.bits[:, :, 0].mean(axis=0), self.notes)

    def seed_sd(self) -> float:
        """Standard deviation across seeds of bits per note (NaN with one seed)."""
        per_seed = self.bits[:, :, 0].sum(axis=1) / self.notes.sum()
        return float(per_seed.std(ddof=1)) if self.seeds > 1 else math.nan


def difference(a: PieceBits, b: PieceBits) -> tuple[float, float, float]:
    """``a - b`` in bits per note on the same pieces, with its paired 95% bootstrap interval."""
    if len(a.notes) != len(b.notes) or not np.array_equal(a.notes, b.notes):
        raise ValueError("the two models were not scored on the same pieces")
    per_piece = a.bits[:, :, 0].mean(axis=0) - b.bits[:, :, 0].mean(axis=0)
    low, high = ratio_interval(per_piece, a.notes)
    return float(per_piece.sum() / a.notes.sum()), low, high


def verdict(low: float, high: float) -> str:
    """``lower`` / ``higher`` when the whole interval of a difference lies below / above 0, else ``tie``."""
    return "lower" if high < 0 else "higher" if low > 0 else "tie"


def load_piece_bits(paths: Sequence[str]) -> dict[tuple[str, str], PieceBits]:
    """Per (model, data): every seed's per-piece bits, from the per-piece tables of those seeds (one file each)."""
    runs: dict[tuple[str, str], list[list[dict]]] = {}
    for path in paths:
        by_pair: dict[tuple[str, str], list[dict]] = {}
        for row in read_table(path):
            by_pair.setdefault((row["model"], row["data"]), []).append(row)
        for pair, rows in by_pair.items():
            runs.setdefault(pair, []).append(rows)
    out = {}
    for pair, seeds in runs.items():
        notes = np.array([int(r["notes"]) for r in seeds[0]])
        bits = np.array([[[float(r[c]) for c in BIT_COLUMNS] for r in rows] for rows in seeds])
        out[pair] = PieceBits(bits, notes)
    return out
