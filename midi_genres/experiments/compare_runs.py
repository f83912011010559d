"""Two (or more) finished runs side by side, e.g. the event tokenizer's ``results/`` and REMI's ``results-remi/``.

Compared per genre from each run's ``summary.tsv``, in units that do not depend on the tokenizer: held-out bits
per note and per second, how much the samples look like the corpus (``feature_overlap``), how often they break
the grammar (``malformed_rate``), how much they copy (``copied_16grams``), and how many tokens the training set
takes (``tokens_train``: the price of the tokenisation in sequence length).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from midi_genres.core.tables import number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps

log = logging.getLogger(__name__)

COMPARED = ["bits_per_note", "bits_per_note_low", "bits_per_note_high", "ngram_bits_per_note", "bits_per_second",
            "feature_overlap", "malformed_rate", "copied_16grams",
            "tokens_train"]
FIGURE = [("bits_per_note", "Held-out bits per note (lower = better)", "viridis_r", "{:.1f}"),
          ("feature_overlap", "Samples vs corpus: feature overlap (higher = closer)", "viridis", "{:.2f}"),
          ("tokens_train", "Training tokens (thousands)", "cividis", "{:.1f}")]


def compare_runs(*, labels: Sequence[str], summary_paths: Sequence[str], table_path: str | os.PathLike,
                 figure_path: str | os.PathLike) -> list[dict]:
    """The compare_runs rule: one row per (genre, measure) with each run's value, and heatmaps of three measures.

    Genres are those of the last run (the current one) that every run has, in its order.
    """
    runs = [{r["genre"]: r for r in read_table(path)} for path in summary_paths]
    genres = [g for g in runs[-1] if all(g in run for run in runs)]
    missing = sorted(set(runs[-1]) - set(genres))
    if missing:
        log.warning("left out, not in every run: %s", missing)
    rows = [{"genre": g, "measure": m, **{label: run[g].get(m, "NA") for label, run in zip(labels, runs)}}
            for g in genres for m in COMPARED]
    write_table(rows, ["genre", "measure", *labels], table_path)
    heatmaps = []
    for measure, title, cmap, fmt in FIGURE:
        scale = 1e-3 if measure == "tokens_train" else 1.0
        values = [[number(run[g].get(measure)) * scale for g in genres] for run in runs]
        heatmaps.append(Heatmap(values, list(labels), genres, title=title, xlabel="genre", ylabel="run", cmap=cmap,
                                fmt=fmt, colorbar=measure))
    render_heatmaps(heatmaps, figure_path, title=f"Runs compared: {' vs '.join(labels)}")
    return rows
