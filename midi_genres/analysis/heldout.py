"""Held-out bits per note: per piece, split by part, with their uncertainty over the held-out tune families (a
cluster bootstrap) and over seeds (the spread). Torch-free: the scoring itself is in ``likelihood`` (the
Transformer), ``ngram`` and ``ppm`` (the floors).

Every number comes from the per-piece tables (``PIECE_COLUMNS``) the scoring writes: one per trained model (one
per seed and fold) or per floor and fold. Each row names its piece (``piece_id``, its tune ``family`` and the
``fold`` that held it out), so the tables of a genre's folds join into every piece of the corpus, each scored by
the model that never saw its family. The pieces of one genre are the same for every model, so two models are
compared piece by piece (a paired bootstrap of their difference, families resampled together), and several seeds
of one model are averaged piece by piece before the bootstrap, while their spread is reported beside it.
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
PIECE_COLUMNS = ["model", "data", "piece_id", "family", "fold", "tokens", "notes", "bits",
                 *(f"bits_{part}" for part in PARTS)]
BIT_COLUMNS = PIECE_COLUMNS[7:]  # bits, then bits of each part
MIN_RANKED_FAMILIES = 10  # fewer held-out families than this: "too few to rank" (the interval is still given)


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
                      pieces: Sequence[dict], seconds: float) -> tuple[dict, list[dict]]:
    """The ``EVAL_COLUMNS`` row of a scored stream (its per-token costs ``nll``) and its ``PIECE_COLUMNS`` rows.

    ``pieces`` are the stream's pieces in order, rows of the tokens' pieces table (``notes``, ``piece_id``,
    ``family``, ``fold``). Bits per note come with a bootstrap interval over the tune families and split into parts
    (pitch / timing / duration / structure) that add up to the total.
    """
    tokens, bits = piece_bits(stream, nll, tokenizer.token_parts())
    notes = np.asarray([p["notes"] for p in pieces], dtype=np.int64)
    if len(notes) != len(tokens):
        raise ValueError(f"{data}: the stream holds {len(tokens)} pieces but {len(notes)} pieces were given")
    total, n_notes = float(bits[:, 0].sum()), int(notes.sum())

    def per(x, value=total):
        return round(value / x, 4) if x else math.nan

    low, high = ratio_interval(bits[:, 0], notes, [p["family"] for p in pieces])
    row = {"model": model_name, "data": data, "tokens": len(nll), "notes": n_notes, "seconds": round(seconds, 3),
           "bits": round(total, 1), "bits_per_token": per(len(nll)), "bits_per_note": per(n_notes),
           "bits_per_note_low": round(low, 4), "bits_per_note_high": round(high, 4), "bits_per_second": per(seconds),
           **{column: per(n_notes, float(bits[:, k + 1].sum())) for k, column in enumerate(PART_COLUMNS)}}
    rows = [{"model": model_name, "data": data, "piece_id": piece["piece_id"], "family": piece["family"],
             "fold": piece.get("fold", 1), "tokens": int(tokens[j]), "notes": int(notes[j]),
             **{c: round(float(v), 6) for c, v in zip(BIT_COLUMNS, bits[j])}} for j, piece in enumerate(pieces)]
    return row, rows


@dataclass
class PieceBits:
    """One model (all its seeds) on one genre's held-out pieces: ``bits[seed, piece, k]`` for ``BIT_COLUMNS``, the
    pieces' notes and tune families (the unit the intervals resample)."""

    bits: np.ndarray
    notes: np.ndarray
    families: np.ndarray | None = None  # None: every piece its own family
    tokens: np.ndarray | None = None  # targets scored per piece
    ids: np.ndarray | None = None  # the pieces' piece_id

    def __post_init__(self):
        if self.families is None:
            self.families = np.arange(len(self.notes))

    @property
    def seeds(self) -> int:
        return self.bits.shape[0]

    def per_note(self, column: str = "bits") -> float:
        """Bits per note, averaged over the seeds (total bits of the seed-mean pieces / notes)."""
        return float(self.bits[:, :, BIT_COLUMNS.index(column)].mean(axis=0).sum() / self.notes.sum())

    @property
    def n_families(self) -> int:
        """Held-out tune families."""
        return len(set(self.families.tolist()))

    def interval(self) -> tuple[float, float]:
        """95% bootstrap interval of bits per note over tune families (of the seed-mean bits of each piece)."""
        return ratio_interval(self.bits[:, :, 0].mean(axis=0), self.notes, self.families)

    def seed_sd(self) -> float:
        """Standard deviation across seeds of bits per note (NaN with one seed)."""
        per_seed = self.bits[:, :, 0].sum(axis=1) / self.notes.sum()
        return float(per_seed.std(ddof=1)) if self.seeds > 1 else math.nan


def difference(a: PieceBits, b: PieceBits) -> tuple[float, float, float]:
    """``a - b`` in bits per note on the same pieces, with its paired 95% bootstrap interval over tune families."""
    if not (np.array_equal(a.notes, b.notes) and np.array_equal(a.families, b.families)):
        raise ValueError("the two models were not scored on the same pieces")
    per_piece = a.bits[:, :, 0].mean(axis=0) - b.bits[:, :, 0].mean(axis=0)
    low, high = ratio_interval(per_piece, a.notes, a.families)
    return float(per_piece.sum() / a.notes.sum()), low, high


def verdict(low: float, high: float) -> str:
    """``lower`` / ``higher`` when the whole interval of a difference lies below / above 0, else ``tie``."""
    return "lower" if high < 0 else "higher" if low > 0 else "tie"


def rank_flag(pieces: PieceBits) -> str:
    """``too few to rank`` where fewer than ``MIN_RANKED_FAMILIES`` tune families were held out, else empty."""
    return "too few to rank" if pieces.n_families < MIN_RANKED_FAMILIES else ""


def load_piece_bits(paths: Sequence[str]) -> dict[tuple[str, str], PieceBits]:
    """Per (model, data): every seed's bits on every held-out piece, from per-piece tables (one file per seeded model
    and fold; the folds of one seed hold different pieces, the seeds the same ones). Pieces keep the order in which
    they first appear; a piece scored in several files is scored once per seed."""
    rows_by_pair: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for path in paths:
        for row in read_table(path):
            rows_by_pair.setdefault((row["model"], row["data"]), {}).setdefault(row["piece_id"], []).append(row)
    out = {}
    for pair, by_piece in rows_by_pair.items():
        seeds = {len(rows) for rows in by_piece.values()}
        if len(seeds) != 1:
            raise ValueError(f"{pair[0]} on {pair[1]}: pieces scored a different number of times ({sorted(seeds)})")
        first = [rows[0] for rows in by_piece.values()]
        bits = np.array([[[float(rows[s][c]) for c in BIT_COLUMNS] for rows in by_piece.values()]
                         for s in range(seeds.pop())])
        out[pair] = PieceBits(bits, np.array([int(r["notes"]) for r in first]), np.array([r["family"] for r in first]),
                              np.array([int(r["tokens"]) for r in first]), np.array([r["piece_id"] for r in first]))
    return out
