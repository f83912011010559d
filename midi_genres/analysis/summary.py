"""The experiment at a glance: the per-genre summary table and the cross-genre matrix, each number with its
uncertainty (a bootstrap interval over held-out tune families, the spread over seeds) and beside the floors."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.analysis.heldout import PART_COLUMNS, PieceBits, difference, load_piece_bits, rank_flag, verdict
from midi_genres.analysis.memorisation import copied_share
from midi_genres.analysis.structure import SUMMARY_COLUMNS as STRUCTURE_COLUMNS
from midi_genres.analysis.structure import summary_columns as structure_columns
from midi_genres.core.history import best_dev_step, read_history
from midi_genres.core.midi import read_midi
from midi_genres.core.notes import steps_to_seconds
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.tokens.dataset import load_stats

log = logging.getLogger(__name__)


def floor_names(floor: str) -> list[str]:
    """The summary's columns of one floor (``ngram``: Kneser-Ney, ``ppm``: IDyOM-style): its bits per note with
    their interval, the genre's model minus the floor with its paired interval, and whether the model beats it."""
    return [f"{floor}_bits_per_note", f"{floor}_bits_per_note_low", f"{floor}_bits_per_note_high", f"vs_{floor}",
            f"vs_{floor}_low", f"vs_{floor}_high", f"beats_{floor}"]


LIKELIHOOD_COLUMNS = ["seeds", "held_out_families", "rank_note", "bits_per_token", "bits_per_note",
                      "bits_per_note_low", "bits_per_note_high", "bits_per_note_seed_sd", "bits_per_second",
                      *PART_COLUMNS,
                      *floor_names("ngram"), *floor_names("ppm")]
FIDELITY_COLUMNS = ["heldout_classified_own", "samples_pass_as_own"]
SAMPLE_COLUMNS = ["feature_overlap", "feature_overlap_seed_sd", "copied_8grams", "copied_16grams",
                  "heldout_copied_16grams", "longest_copy_notes", "memorised", "malformed_rate"]
ANALYSIS_COLUMNS = LIKELIHOOD_COLUMNS + SAMPLE_COLUMNS + FIDELITY_COLUMNS
SUMMARY_COLUMNS = ["genre", "title", "group", "source", "families", "pieces_train", "pieces_val", "tokens_train",
                   "tokens_val", "train_data", "parameters", "steps", "folds", "selected", "chosen_step",
                   "final_train_loss", "final_val_loss",
                   "sample_notes", "sample_seconds", *ANALYSIS_COLUMNS, *STRUCTURE_COLUMNS]
BEATS = {"lower": "yes", "higher": "no", "tie": "tie"}  # the Transformer's bits minus the floor's


def is_memorised(copied16: float, heldout16: float, threshold: float) -> bool:
    """Samples copy more than ``threshold`` of their 16-grams, and more than unseen pieces of the genre do."""
    return copied16 > threshold and (math.isnan(heldout16) or copied16 > heldout16)


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def likelihood_columns(genre: str, model: PieceBits, floor: PieceBits, seconds: float) -> dict:
    """A genre's own model (all seeds and folds) on its held-out pieces, with intervals over tune families (flagged
    where too few families were held out to rank it), beside the n-gram floor."""
    low, high = model.interval()
    total_bits = float(model.bits[:, :, 0].mean(axis=0).sum())
    tokens = int(model.tokens.sum())
    return {"seeds": model.seeds, "held_out_families": model.n_families, "rank_note": rank_flag(model),
            "bits_per_token": cell(total_bits / tokens, 4),
            "bits_per_note": cell(model.per_note(), 4), "bits_per_note_low": cell(low, 4),
            "bits_per_note_high": cell(high, 4), "bits_per_note_seed_sd": cell(model.seed_sd(), 4),
            "bits_per_second": cell(total_bits / seconds if seconds else math.nan, 4),
            **{c: cell(model.per_note(f"bits_{c.removesuffix('_bits_per_note')}"), 4) for c in PART_COLUMNS},
            **floor_columns("ngram", model, floor)}


def floor_columns(name: str, model: PieceBits, floor: PieceBits) -> dict:
    """The ``floor_names(name)`` columns: a floor on the genre's held-out pieces with its interval, and the
    genre's model minus the floor, piece by piece, with its paired interval."""
    low, high = floor.interval()
    diff, diff_low, diff_high = difference(model, floor)
    values = [floor.per_note(), low, high, diff, diff_low, diff_high]
    return {**{c: cell(v, 4) for c, v in zip(floor_names(name), values)},
            f"beats_{name}": BEATS[verdict(diff_low, diff_high)]}


def sample_columns(metrics: Sequence[str], memorisation: Sequence[str], batches: Sequence[str],
                   memorised_share: float) -> dict:
    """Feature overlap (mean and spread over seeds), memorisation and grammar of a genre's sample batches (one
    table of each per seed)."""
    overlaps = []
    for path in metrics:
        values = [number(r["overlap"]) for r in read_table(path) if r["applies"] == "yes"]
        values = [v for v in values if not math.isnan(v)]
        overlaps.append(sum(values) / len(values) if values else math.nan)
    overlap, overlap_sd = _mean_sd(overlaps)
    copies = [r for path in memorisation for r in read_table(path)]
    samples = [r for r in copies if r["set"] == "sample"]
    heldout = [r for r in read_table(memorisation[0]) if r["set"] == "heldout"]  # the same pieces for every seed
    batch = [r for path in batches for r in read_table(path)]
    copied16, heldout16 = copied_share(samples, 16), copied_share(heldout, 16)
    tokens = sum(int(r["tokens"]) - 1 for r in batch)
    return {"feature_overlap": cell(overlap, 4), "feature_overlap_seed_sd": cell(overlap_sd, 4),
            "copied_8grams": cell(copied_share(samples, 8), 4), "copied_16grams": cell(copied16, 4),
            "heldout_copied_16grams": cell(heldout16, 4),
            "longest_copy_notes": max((int(r["longest_copy"]) for r in samples), default=0),
            "memorised": "yes" if is_memorised(copied16, heldout16, memorised_share) else "no",
            "malformed_rate": cell(sum(int(r["malformed"]) for r in batch) / max(1, tokens), 5)}


def describe_source(source: dict) -> str:
    """Short text naming where a genre's pieces came from."""
    if source["kind"] == "music21":
        return f"music21:{source['collection']}"
    if source["kind"] == "midi_dir":
        return f"midi_dir:{source['path']}"
    if source["kind"] == "lakh":
        return f"lakh:{source['label']}"
    return f"synthetic:{source['generator']}"


def summary_row(genre: str, source: dict, stats_paths: Sequence[str], history_path: str, sample_path: str,
                selected: str) -> dict:
    """One genre's corpus, training and sample columns of the summary table: the training of fold 1's first model
    (the genre's model) and its chosen checkpoint's step, the held-out pieces of every fold (``stats_paths``)."""
    stats = load_stats(stats_paths[0])
    folds = [load_stats(path) for path in stats_paths]
    history = read_history(history_path)
    last = history[-1]
    notes = read_midi(sample_path)
    capped = stats.pieces_unused > 0
    return {"genre": genre, "title": source.get("title", genre), "group": source.get("group", ""),
            "source": describe_source(source), "families": stats.families, "pieces_train": stats.pieces_train,
            "pieces_val": sum(f.pieces_val for f in folds), "tokens_train": stats.tokens_train,
            "tokens_val": sum(f.tokens_val for f in folds),
            "train_data": (f"capped: {stats.tokens_train} of {stats.tokens_train_uncapped} tokens" if capped
                           else "all"),
            "parameters": int(last["parameters"]), "steps": int(last["step"]), "folds": len(folds),
            "selected": selected,
            "chosen_step": best_dev_step(history) if selected == "best_dev" else int(last["step"]),
            "final_train_loss": round(last["train_loss"], 4), "final_val_loss": round(last["val_loss"], 4),
            "sample_notes": len(notes),
            "sample_seconds": round(steps_to_seconds(max((n.end for n in notes), default=0), source["tempo"]), 2)}


def write_summary(*, genres: list[str], sources: dict, stats: dict, histories: list[str], samples: list[str],
                  eval_pieces: list[str], ngram_pieces: list[str], ppm_pieces: list[str], metrics: dict,
                  memorisation: dict, batches: dict,
                  memorised_share: float, fidelity_path: str, summary_path: str, selected: str = "last",
                  structure_path: str | None = None, window_path: str | None = None,
                  tokenizer: str = "event") -> list[dict]:
    """The summarise_run rule: one row per genre (``SUMMARY_COLUMNS``).

    ``stats`` maps each genre to its folds' token statistics (fold 1 first), ``histories`` are the loss histories
    of each genre's model (fold 1, first seed), ``selected`` the checkpoint chosen (``train.select``);
    ``eval_pieces`` are the per-piece tables of every model, fold and seed, ``ngram_pieces`` those of the n-gram
    floors, ``ppm_pieces`` those of the IDyOM-style floors;
    ``metrics``, ``memorisation`` and ``batches`` map each genre to its tables, one per seed; ``fidelity_path``
    is the classifier's table (``analysis.fidelity``); ``structure_path`` and ``window_path`` the tables of
    structure above the bar and of what the window (of ``tokenizer``) holds (``analysis.structure``; NA without).
    """
    fidelity = {(r["set"], r["source"]): r["classified_as_expected"] for r in read_table(fidelity_path)}
    structure = read_table(structure_path) if structure_path else []
    windows = read_table(window_path) if window_path else []
    scores = load_piece_bits(eval_pieces)
    floors = load_piece_bits(ngram_pieces)
    ppm_floors = load_piece_bits(ppm_pieces)
    rows = []
    for genre, history, sample in zip(genres, histories, samples):
        row = summary_row(genre, sources[genre], stats[genre], history, sample, selected)
        seconds = steps_to_seconds(sum(load_stats(path).steps_val for path in stats[genre]), sources[genre]["tempo"])
        row.update(likelihood_columns(genre, scores[genre, genre], floors[genre, genre], seconds))
        row.update(floor_columns("ppm", scores[genre, genre], ppm_floors[genre, genre]))
        row.update(sample_columns(metrics[genre], memorisation[genre], batches[genre], memorised_share))
        row.update({"heldout_classified_own": fidelity.get(("validation", genre), "NA"),
                    "samples_pass_as_own": fidelity.get(("samples", genre), "NA")})
        row.update(structure_columns(genre, structure, windows, tokenizer))
        rows.append(row)
        log.info("%s: %s bits/note [%s, %s] over %d seed(s); n-gram floor %s: beats it: %s; IDyOM-style floor %s: "
                 "beats it: %s", genre, row["bits_per_note"], row["bits_per_note_low"], row["bits_per_note_high"],
                 row["seeds"], row["ngram_bits_per_note"], row["beats_ngram"], row["ppm_bits_per_note"],
                 row["beats_ppm"])
    write_table(rows, SUMMARY_COLUMNS, summary_path)
    return rows


MATRIX_COLUMNS = ["model", "data", "seeds", "bits_per_note", "bits_per_note_low", "bits_per_note_high",
                  "bits_per_note_seed_sd", *PART_COLUMNS, "best_in_column", "tied_with_best", "vs_best",
                  "vs_best_low", "vs_best_high"]


def cross_genre_rows(genres: Sequence[str], scores: dict[tuple[str, str], PieceBits]) -> list[dict]:
    """Every (model, data) cell with its interval and parts, and whether the column's best model (lowest bits per
    note) can be told apart from it (a paired bootstrap over the column's pieces)."""
    rows = []
    for data in genres:
        cells = {m: scores[m, data] for m in genres if (m, data) in scores}
        if not cells:
            continue
        best = min(cells, key=lambda m: cells[m].per_note())
        for model in genres:
            if model not in cells:
                continue
            s = cells[model]
            low, high = s.interval()
            diff, d_low, d_high = difference(s, cells[best])
            rows.append({"model": model, "data": data, "seeds": s.seeds, "bits_per_note": cell(s.per_note(), 4),
                         "bits_per_note_low": cell(low, 4), "bits_per_note_high": cell(high, 4),
                         "bits_per_note_seed_sd": cell(s.seed_sd(), 4),
                         **{c: cell(s.per_note(f"bits_{c.removesuffix('_bits_per_note')}"), 4) for c in PART_COLUMNS},
                         "best_in_column": "yes" if model == best else "no",
                         "tied_with_best": "yes" if model != best and d_low <= 0 else "no",
                         "vs_best": cell(diff, 4), "vs_best_low": cell(d_low, 4), "vs_best_high": cell(d_high, 4)})
    return rows


def aggregate_cross_genre(*, genres: Sequence[str], titles: dict, piece_tables: Sequence[str],
                          matrix_path: str | os.PathLike, cells_path: str | os.PathLike,
                          figure_path: str | os.PathLike) -> np.ndarray:
    """The aggregate_cross_genre rule: the bits-per-note matrix (rows = model, columns = data, the mean over seeds)
    as a wide TSV, every cell with its interval and parts as a long TSV, and the heatmaps of the total (cells that
    cannot be told apart from their column's best outlined), of pitch alone and of timing alone."""
    rows = cross_genre_rows(genres, load_piece_bits(piece_tables))
    write_table(rows, MATRIX_COLUMNS, cells_path)
    where = {g: i for i, g in enumerate(genres)}
    grids = {c: np.full((len(genres), len(genres)), np.nan)
             for c in ("bits_per_note", "pitch_bits_per_note", "timing_bits_per_note")}
    tied = np.zeros((len(genres), len(genres)), dtype=bool)
    for r in rows:
        i, j = where[r["model"]], where[r["data"]]
        for column, grid in grids.items():
            grid[i, j] = number(str(r[column]))
        tied[i, j] = r["tied_with_best"] == "yes"
    matrix = grids["bits_per_note"]
    write_table([{"model": g, **{d: cell(float(v), 4) for d, v in zip(genres, matrix[i])}}
                 for i, g in enumerate(genres)], ["model", *genres], matrix_path)
    labels = [titles.get(g, g) for g in genres]
    common = dict(xlabel="validation data of genre", ylabel="model trained on genre", fmt="{:.1f}",
                  cmap="viridis_r", log_scale=True, mark_diagonal=True)
    render_heatmaps([
        Heatmap(matrix, labels, labels, title="Bits per note of held-out music (lower = better)",
                colorbar="bits per note (log scale)", marked=tied,
                marked_label="dashed: not told apart from the column's best (95% paired bootstrap)", **common),
        Heatmap(grids["pitch_bits_per_note"], labels, labels, title="... spent on pitch (which notes)",
                colorbar="pitch bits per note (log scale)", **common),
        Heatmap(grids["timing_bits_per_note"], labels, labels, title="... spent on timing (when notes start)",
                colorbar="timing bits per note (log scale)", **common),
    ], figure_path, title="Cross-genre likelihood: each model on every genre's held-out pieces")
    log.info("cross-genre bits per note:\n%s", matrix.round(2))
    return matrix
