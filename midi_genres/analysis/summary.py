"""The experiment at a glance: the per-genre summary table (with the analysis columns) and the cross-genre matrix of
the evaluate_model tables."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.analysis.memorisation import copied_share
from midi_genres.core.history import read_history
from midi_genres.core.midi import read_midi
from midi_genres.core.notes import steps_to_seconds
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.tokens.dataset import load_stats

ANALYSIS_COLUMNS = ["bits_per_token", "bits_per_note", "bits_per_second", "feature_overlap", "copied_8grams",
                    "copied_16grams", "heldout_copied_16grams", "longest_copy_notes", "memorised", "malformed_rate"]


def is_memorised(copied16: float, heldout16: float, threshold: float) -> bool:
    """Samples copy more than ``threshold`` of their 16-grams, and more than unseen pieces of the genre do."""
    return copied16 > threshold and (math.isnan(heldout16) or copied16 > heldout16)


def analysis_row(genre: str, eval_path: str, metrics_path: str, memorisation_path: str, batch_path: str,
                 memorised_share: float) -> dict:
    """One genre's analysis columns (``ANALYSIS_COLUMNS``) from its analysis tables."""
    own = next(r for r in read_table(eval_path) if r["data"] == genre)
    overlaps = [number(r["overlap"]) for r in read_table(metrics_path) if r["applies"] == "yes"]
    overlaps = [v for v in overlaps if not math.isnan(v)]
    copies = read_table(memorisation_path)
    samples = [r for r in copies if r["set"] == "sample"]
    heldout = [r for r in copies if r["set"] == "heldout"]
    batch = read_table(batch_path)
    copied16, heldout16 = copied_share(samples, 16), copied_share(heldout, 16)
    tokens = sum(int(r["tokens"]) - 1 for r in batch)
    return {"bits_per_token": number(own["bits_per_token"]), "bits_per_note": number(own["bits_per_note"]),
            "bits_per_second": number(own["bits_per_second"]),
            "feature_overlap": cell(sum(overlaps) / len(overlaps) if overlaps else math.nan, 4),
            "copied_8grams": cell(copied_share(samples, 8), 4), "copied_16grams": cell(copied16, 4),
            "heldout_copied_16grams": cell(heldout16, 4),
            "longest_copy_notes": max((int(r["longest_copy"]) for r in samples), default=0),
            "memorised": "yes" if is_memorised(copied16, heldout16, memorised_share) else "no",
            "malformed_rate": cell(sum(int(r["malformed"]) for r in batch) / max(1, tokens), 5)}


def analysis_rows(genres: Sequence[str], evals: Sequence[str], metrics: Sequence[str], memorisation: Sequence[str],
                  batches: Sequence[str], memorised_share: float) -> list[dict]:
    """``analysis_row`` for every genre, in order."""
    return [analysis_row(g, *paths, memorised_share)
            for g, *paths in zip(genres, evals, metrics, memorisation, batches)]


SUMMARY_COLUMNS = ["genre", "title", "group", "source", "pieces_train", "pieces_val", "tokens_train", "tokens_val",
                   "parameters", "steps", "final_train_loss", "final_val_loss", "sample_notes", "sample_seconds"]
SUMMARY_COLUMNS += ANALYSIS_COLUMNS  # held-out likelihood, feature overlap, memorisation, grammar

log = logging.getLogger(__name__)


def describe_source(source: dict) -> str:
    """Short text naming where a genre's pieces came from."""
    if source["kind"] == "music21":
        return f"music21:{source['collection']}"
    if source["kind"] == "midi_dir":
        return f"midi_dir:{source['path']}"
    return f"synthetic:{source['generator']}"


def summary_row(genre: str, source: dict, stats_path: str, history_path: str, sample_path: str) -> dict:
    """One genre's line of the summary table."""
    stats = load_stats(stats_path)
    last = read_history(history_path)[-1]
    notes = read_midi(sample_path)
    return {"genre": genre, "title": source.get("title", genre), "group": source.get("group", ""),
            "source": describe_source(source), "pieces_train": stats.pieces_train, "pieces_val": stats.pieces_val,
            "tokens_train": stats.tokens_train, "tokens_val": stats.tokens_val,
            "parameters": int(last["parameters"]), "steps": int(last["step"]),
            "final_train_loss": round(last["train_loss"], 4), "final_val_loss": round(last["val_loss"], 4),
            "sample_notes": len(notes),
            "sample_seconds": round(steps_to_seconds(max((n.end for n in notes), default=0), source["tempo"]), 2)}


def write_summary(*, genres: list[str], sources: dict, stats: list[str], histories: list[str], samples: list[str],
                  summary_path: str, analysis: dict | None = None) -> list[dict]:
    """The summary rule: one row per genre (``SUMMARY_COLUMNS``) from its token statistics, training history,
    sample and analysis tables. ``analysis`` holds the keyword arguments of ``analysis_rows`` but ``genres``."""
    rows = [summary_row(g, sources[g], s, h, m) for g, s, h, m in zip(genres, stats, histories, samples)]
    for row, extra in zip(rows, analysis_rows(genres, **analysis) if analysis else []):
        row.update(extra)
    write_table(rows, SUMMARY_COLUMNS, summary_path)
    return rows


def cross_genre_matrix(genres: Sequence[str], table_paths: Sequence[str], column: str = "bits_per_note") -> np.ndarray:
    """(model, data) matrix of one column of the evaluate_model tables, in ``genres`` order (NaN if missing)."""
    matrix = np.full((len(genres), len(genres)), np.nan)
    where = {g: i for i, g in enumerate(genres)}
    for path in table_paths:
        for row in read_table(path):
            if row["model"] in where and row["data"] in where:
                matrix[where[row["model"]], where[row["data"]]] = float(row[column])
    return matrix


def aggregate_cross_genre(*, genres: Sequence[str], titles: dict, table_paths: Sequence[str],
                          matrix_path: str | os.PathLike, figure_path: str | os.PathLike) -> np.ndarray:
    """The aggregate_cross_genre rule: the bits-per-note matrix (rows = model, columns = data) as TSV + heatmap."""
    matrix = cross_genre_matrix(genres, table_paths)
    rows = [{"model": g, **{d: round(float(v), 4) for d, v in zip(genres, matrix[i])}} for i, g in enumerate(genres)]
    write_table(rows, ["model", *genres], matrix_path)
    labels = [titles.get(g, g) for g in genres]
    render_heatmaps([Heatmap(matrix, labels, labels, title="Bits per note of held-out music (lower = better)",
                             xlabel="validation data of genre", ylabel="model trained on genre",
                             colorbar="bits per note (log scale)", fmt="{:.1f}", cmap="viridis_r", log_scale=True,
                             mark_diagonal=True)], figure_path,
                    title="Cross-genre likelihood: each model on every genre's held-out pieces")
    log.info("cross-genre bits per note:\n%s", matrix.round(2))
    return matrix
