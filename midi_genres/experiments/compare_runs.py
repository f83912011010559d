"""Two (or more) finished runs side by side, e.g. the event tokenizer's ``results/`` and REMI's ``results-remi/``.

Compared per genre from each run's ``summary.tsv``, in units that do not depend on the tokenizer: held-out bits
per note and per second, how much the samples look like the corpus (``feature_overlap``), how often they break
the grammar (``malformed_rate``), how much they copy (``copied_16grams``), and how many tokens the training set
takes (``tokens_train``: the price of the tokenisation in sequence length). Where two runs held out the same pieces (the
split depends on the pieces, not the tokenizer), their bits per note are also compared piece by piece
(``paired_rows``): the difference with a paired 95% interval over tune families.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.analysis.heldout import PieceBits, difference, load_piece_bits, verdict
from midi_genres.analysis.structure import SUMMARY_COLUMNS as STRUCTURE_COLUMNS
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps

log = logging.getLogger(__name__)

COMPARED = ["bits_per_note", "bits_per_note_low", "bits_per_note_high", "ngram_bits_per_note", "ppm_bits_per_note",
            "bits_per_second", "feature_overlap", "malformed_rate", "copied_16grams", "tokens_train",
            *STRUCTURE_COLUMNS]
FIGURE = [("bits_per_note", "Held-out bits per note (lower = better)", "viridis_r", "{:.1f}"),
          ("feature_overlap", "Samples vs corpus: feature overlap (higher = closer)", "viridis", "{:.2f}"),
          ("tokens_train", "Training tokens (thousands)", "cividis", "{:.1f}")]


PAIRED_COLUMNS = ["genre", "run", "against", "held_out_families", "bits_per_note", "against_bits_per_note",
                  "difference", "difference_low", "difference_high", "verdict"]


def piece_tables(run: str | os.PathLike, genre: str, row: dict) -> list[str]:
    """The per-piece tables of a genre's own models in a finished run (every fold and seed, at the checkpoint it
    chose), from its summary row (``folds``, ``seeds``, ``selected``; runs from before those columns: one fold, the
    last checkpoint)."""
    folds = [""] + [f".fold{k}" for k in range(2, int(row.get("folds") or 1) + 1)]
    seeds = [""] + [f".seed{k}" for k in range(1, int(row.get("seeds") or 1))]
    chosen = ".best_dev" if row.get("selected") == "best_dev" else ""
    return [os.path.join(run, "eval", f"{genre}{f}{s}{chosen}.pieces.tsv") for f in folds for s in seeds]


def _reordered(scores: PieceBits, ids: np.ndarray) -> PieceBits | None:
    """``scores`` with its pieces in the order of ``ids``; None where the two runs held out other pieces."""
    where = {pid: k for k, pid in enumerate(scores.ids.tolist())}
    if set(where) != set(ids.tolist()):
        return None
    order = [where[pid] for pid in ids.tolist()]
    return PieceBits(scores.bits[:, order], scores.notes[order], scores.families[order], scores.tokens[order], ids)


def paired_rows(genres: Sequence[str], labels: Sequence[str], runs: Sequence[dict]) -> list[dict]:
    """The last run's own models against every other run's, genre by genre, on the same held-out pieces: the
    difference in bits per note (last minus other) with its paired interval over tune families."""
    rows = []
    for genre in genres:
        own = load_piece_bits(piece_tables(labels[-1], genre, runs[-1][genre]))[genre, genre]
        for label, run in zip(labels[:-1], runs[:-1]):
            try:
                scored = load_piece_bits(piece_tables(label, genre, run[genre]))[genre, genre]
            except (FileNotFoundError, KeyError) as exc:  # a run made before per-piece tables named their pieces
                log.warning("%s: no paired comparison with %s: its per-piece tables are missing or name no pieces "
                            "(%s: %s); rerun it with this version", genre, label, type(exc).__name__, exc)
                continue
            other = _reordered(scored, own.ids)
            if other is None:
                log.warning("%s: %s and %s held out other pieces: no paired comparison", genre, labels[-1], label)
                continue
            diff, low, high = difference(own, other)
            rows.append({"genre": genre, "run": labels[-1], "against": label, "held_out_families": own.n_families,
                         "bits_per_note": cell(own.per_note(), 4), "against_bits_per_note": cell(other.per_note(), 4),
                         "difference": cell(diff, 4), "difference_low": cell(low, 4),
                         "difference_high": cell(high, 4), "verdict": verdict(low, high)})
    return rows


def compare_runs(*, labels: Sequence[str], summary_paths: Sequence[str], table_path: str | os.PathLike,
                 figure_path: str | os.PathLike, paired_path: str | os.PathLike) -> list[dict]:
    """The compare_runs rule: one row per (genre, measure) with each run's value, heatmaps of three measures, and
    the paired comparison of held-out bits per note (``paired_rows``; ``labels`` are the runs' results folders).

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
    write_table(paired_rows(genres, labels, runs), PAIRED_COLUMNS, paired_path)
    return rows
