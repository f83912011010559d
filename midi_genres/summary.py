"""The experiment at a glance: the grouped comparison figure, the per-genre summary table and the cross-genre
matrix of the evaluate_model tables."""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.analysis import ANALYSIS_COLUMNS, analysis_rows
from midi_genres.atomic import atomic_path
from midi_genres.dataset import load_stats
from midi_genres.history import read_history
from midi_genres.notes import read_midi, steps_to_seconds

SUMMARY_COLUMNS = ["genre", "title", "group", "source", "pieces_train", "pieces_val", "tokens_train", "tokens_val",
                   "parameters", "steps", "final_train_loss", "final_val_loss", "sample_notes", "sample_seconds"]
SUMMARY_COLUMNS += ANALYSIS_COLUMNS  # held-out likelihood, feature overlap, memorisation, grammar (analysis.py)

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


def write_table(rows: list[dict], columns: list[str], path: str | os.PathLike) -> None:
    """Write rows as a tab-separated table, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_table(path: str | os.PathLike) -> list[dict]:
    """Rows of a tab-separated table written by ``write_table``, as strings."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def aggregate_comparison(genres: list[str], sources: dict, drums: dict, stats: list[str], histories: list[str],
                         samples: list[str], figure_path: str, summary_path: str, seconds: float = 30.0,
                         analysis: dict | None = None) -> None:
    """The aggregate rule: every genre's sample side by side (grouped) and the summary table.

    ``analysis`` holds the keyword arguments of ``analysis.analysis_rows`` but ``genres`` (the analysis columns).
    """
    from midi_genres.plots import load_panel, render_comparison

    groups: dict[str, list] = {}
    for genre, sample in zip(genres, samples):
        src = sources[genre]
        groups.setdefault(src.get("group", "Other"), []).append(
            load_panel(sample, genre, src.get("title", genre), src["tempo"], drums=drums[genre]))
    render_comparison(list(groups.items()), figure_path, seconds=seconds)
    rows = [summary_row(g, sources[g], s, h, m) for g, s, h, m in zip(genres, stats, histories, samples)]
    for row, extra in zip(rows, analysis_rows(genres, **analysis) if analysis else []):
        row.update(extra)
    write_table(rows, SUMMARY_COLUMNS, summary_path)


def cross_genre_matrix(genres: Sequence[str], table_paths: Sequence[str], column: str = "bits_per_note") -> np.ndarray:
    """(model, data) matrix of one column of the evaluate_model tables, in ``genres`` order (NaN if missing)."""
    matrix = np.full((len(genres), len(genres)), np.nan)
    where = {g: i for i, g in enumerate(genres)}
    for path in table_paths:
        for row in read_table(path):
            if row["model"] in where and row["data"] in where:
                matrix[where[row["model"]], where[row["data"]]] = float(row[column])
    return matrix


def aggregate_cross_genre(genres: Sequence[str], titles: dict, table_paths: Sequence[str],
                          matrix_path: str | os.PathLike, figure_path: str | os.PathLike) -> np.ndarray:
    """The aggregate_cross_genre rule: the bits-per-note matrix (rows = model, columns = data) as TSV + heatmap."""
    from midi_genres.plots import Heatmap, render_heatmaps

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
