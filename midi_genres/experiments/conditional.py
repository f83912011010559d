"""One conditional model for every genre: each piece led by a ``GENRE_<name>`` token after its BOS.

The model is the same architecture with one extra token per genre (ids after the base vocabulary, which keeps
its ids). It is trained with the separate models' total budget and sampled per genre from ``[BOS, GENRE_x]``.
Its held-out likelihood on each genre is measured on the same targets as a separate model's (the genre token is
given, not predicted, so its bits are not counted) and compared with that genre's own model.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from midi_genres.analysis.bootstrap import ratio_interval
from midi_genres.analysis.heldout import piece_bits
from midi_genres.analysis.likelihood import token_nll
from midi_genres.core.tables import cell, read_table, write_table
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.runtime import trained_precision
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import BOS, genre_token, genre_tokens
from midi_genres.tokens.dataset import load_pieces
from midi_genres.tokens.streams import save_stream

log = logging.getLogger(__name__)

NAME = "conditional"
LIKELIHOOD_COLUMNS = ["genre", "tokens", "notes", "separate_bits_per_note", "conditional_bits_per_note",
                      "conditional_bits_per_note_low", "conditional_bits_per_note_high", "difference_bits_per_note",
                      "difference_low", "difference_high", "separate_bits_per_token", "conditional_bits_per_token"]


def tag_stream(stream: np.ndarray, token: int) -> np.ndarray:
    """The token stream with ``token`` inserted after every BOS (so every piece is led by it)."""
    stream = np.asarray(stream)
    return np.insert(stream, np.flatnonzero(stream == BOS) + 1, token).astype(stream.dtype)


def tag_streams(*, genres: Sequence[str], train_paths: Sequence[str], val_paths: Sequence[str],
                train_out: str | os.PathLike, val_out: str | os.PathLike, tokenizer: str = "event") -> dict[str, int]:
    """The tag_conditional rule: every genre's train / validation streams, tagged, concatenated in genre order."""
    tokenizer = make_tokenizer(tokenizer, genre_tokens(genres))
    counts = {}
    for paths, out in ((train_paths, train_out), (val_paths, val_out)):
        tagged = [tag_stream(np.load(p), tokenizer.token_id(genre_token(g))) for g, p in zip(genres, paths)]
        merged = np.concatenate(tagged).astype(np.uint16)
        save_stream(merged, out)
        counts[str(out)] = len(merged)
        log.info("%s: %d tokens (%s)", out, len(merged), ", ".join(f"{g} {len(t)}" for g, t in zip(genres, tagged)))
    return counts


def conditional_likelihood(model, stream: np.ndarray, token: int, piece_notes: Sequence[int],
                           precision: str = "fp32") -> dict:
    """Bits of a genre's validation stream under the conditional model, the genre token given (not scored), in
    total and per piece (``piece_bits``, for intervals; ``piece_notes`` are the notes of each piece)."""
    tagged = tag_stream(stream, token)
    nll = token_nll(model, tagged, precision=precision)
    scored = tagged[1:] != token
    _, per_piece = piece_bits(tagged, np.where(scored, nll, 0.0), np.zeros(int(tagged.max()) + 1, dtype=np.int64))
    bits, notes = float(per_piece[:, 0].sum()), int(np.sum(piece_notes))
    return {"tokens": int(scored.sum()), "notes": notes, "bits": bits, "bits_per_token": bits / scored.sum(),
            "bits_per_note": bits / notes if notes else math.nan, "piece_bits": per_piece[:, 0]}


def separate_likelihood(eval_path: str | os.PathLike, genre: str) -> dict:
    """A genre's own model on its validation split, from its ``results/eval/{genre}.tsv`` table and the per-piece
    table beside it (``piece_bits``)."""
    row = next(r for r in read_table(eval_path) if r["model"] == genre and r["data"] == genre)
    pieces = [r for r in read_table(Path(eval_path).with_suffix(".pieces.tsv")) if r["data"] == genre]
    return {**{k: float(row[k]) for k in ("bits_per_token", "bits_per_note")},
            "piece_bits": np.array([float(r["bits"]) for r in pieces])}


def evaluate_conditional(*, checkpoint_path: str | os.PathLike, genres: Sequence[str], titles: dict,
                         val_paths: Sequence[str], pieces_paths: Sequence[str], eval_paths: Sequence[str],
                         table_path: str | os.PathLike, figure_path: str | os.PathLike, threads: int = 1,
                         tokenizer: str = "event") -> list[dict]:
    """The evaluate_conditional rule: per genre, the conditional model's held-out bits vs the genre's own model's."""
    model, tokenizer, checkpoint = load_for_inference(checkpoint_path, tokenizer, genre_tokens(genres), threads)
    precision = trained_precision(checkpoint, next(model.parameters()).device)
    rows = []
    for genre, val_path, pieces_path, eval_path in zip(genres, val_paths, pieces_paths, eval_paths):
        pieces = load_pieces(pieces_path, "val")
        notes, families = np.array([p["notes"] for p in pieces]), [p["family"] for p in pieces]
        cond = conditional_likelihood(model, np.load(val_path), tokenizer.token_id(genre_token(genre)), notes,
                                      precision)
        sep = separate_likelihood(eval_path, genre)
        low, high = ratio_interval(cond["piece_bits"], notes, families)
        diff_low, diff_high = ratio_interval(cond["piece_bits"] - sep["piece_bits"], notes, families)  # paired
        rows.append({"genre": genre, "tokens": cond["tokens"], "notes": cond["notes"],
                     "separate_bits_per_note": round(sep["bits_per_note"], 4),
                     "conditional_bits_per_note": round(cond["bits_per_note"], 4),
                     "conditional_bits_per_note_low": cell(low, 4), "conditional_bits_per_note_high": cell(high, 4),
                     "difference_bits_per_note": round(cond["bits_per_note"] - sep["bits_per_note"], 4),
                     "difference_low": cell(diff_low, 4), "difference_high": cell(diff_high, 4),
                     "separate_bits_per_token": round(sep["bits_per_token"], 4),
                     "conditional_bits_per_token": round(cond["bits_per_token"], 4)})
        log.info("%s", rows[-1])
    write_table(rows, LIKELIHOOD_COLUMNS, table_path)
    render_likelihood(rows, titles, figure_path)
    return rows


def render_likelihood(rows: Sequence[dict], titles: dict, figure_path: str | os.PathLike) -> None:
    """Two heatmaps: bits per note of the separate and the conditional model, and their difference."""
    labels = [titles.get(r["genre"], r["genre"]) for r in rows]
    bits = [[r["separate_bits_per_note"] for r in rows], [r["conditional_bits_per_note"] for r in rows]]
    diff = [[r["difference_bits_per_note"] for r in rows]]
    span = max([abs(d) for d in diff[0]] + [1e-3])
    render_heatmaps([
        Heatmap(bits, ["separate models", "conditional model"], labels, title="Bits per held-out note (lower = better)",
                xlabel="genre", colorbar="bits per note (log scale)", fmt="{:.1f}", cmap="viridis_r", log_scale=True),
        Heatmap(diff, ["conditional \u2212 separate"], labels, title="Difference (< 0: the conditional model wins)",
                xlabel="genre", colorbar="bits per note", fmt="{:+.2f}", cmap="coolwarm", vmin=-span, vmax=span),
    ], figure_path, title="One conditional model vs one model per genre, same total training budget")
