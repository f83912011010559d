"""Learning curves: each genre's held-out bits per note against the training notes it was given (the caps of
``corpus.train_tokens`` as a list, and the run's own corpus), beside its two floors fitted on the same capped
streams, with intervals over the held-out tune families and the fit L(D) = a * D^-alpha + c
(``analysis.learning_curve``). Every cap is scored on the same held-out pieces, so the bootstrap replicates of
all points of a curve come from the same resamples of those families."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.analysis.bootstrap import paired_ratio_replicates
from midi_genres.analysis.heldout import PieceBits, load_piece_bits
from midi_genres.analysis.learning_curve import (
    CurveFit,
    crossing,
    crossing_interval,
    data_limited,
    doubling_gain,
    fit_curve,
    order_swaps,
)
from midi_genres.core.tables import cell, write_table
from midi_genres.present.plots import CurvePanel, render_learning_curves
from midi_genres.tokens.dataset import load_stats

log = logging.getLogger(__name__)

SCORERS = ("model", "ngram", "ppm")  # the Transformer, the Kneser-Ney floor, the IDyOM-style floor
POINT_COLUMNS = ["genre", "cap", "training_notes", "training_tokens", "held_out_families",
                 *(f"{s}_bits_per_note{x}" for s in SCORERS for x in ("", "_low", "_high"))]
FIT_COLUMNS = ["genre", "points", "a", "alpha", "alpha_low", "alpha_high", "alpha_at_bound", "c", "c_low", "c_high",
               "doubling_gain", "doubling_gain_low", "doubling_gain_high", "data_limited",
               "crosses_ngram_at_notes", "crosses_ngram_low", "crosses_ngram_high", "crosses_ngram_share",
               "crosses_ppm_at_notes", "crosses_ppm_low", "crosses_ppm_high", "crosses_ppm_share", "order_swaps"]


def _aligned(scores: PieceBits, ids: np.ndarray) -> np.ndarray:
    """The seed-mean bits of each piece, in the order of ``ids`` (the same held-out pieces at every cap)."""
    where = {pid: k for k, pid in enumerate(scores.ids.tolist())}
    if set(where) != set(ids.tolist()):
        raise ValueError("the points of a learning curve were not scored on the same held-out pieces")
    return scores.bits[:, :, 0].mean(axis=0)[[where[pid] for pid in ids.tolist()]]


def genre_curve(genre: str, points: Sequence[dict]) -> tuple[list[dict], dict[str, CurveFit], dict]:
    """One genre's point rows, its fitted curves (model and floors) and the pieces' replicates of each scorer."""
    scored = {s: [load_piece_bits(p[s])[genre, genre] for p in points] for s in SCORERS}
    first = scored["model"][-1]  # the run's own point: every cap holds the same pieces
    ids, notes, families = first.ids, first.notes, first.families
    bits = {s: np.stack([_aligned(x, ids) for x in scored[s]]) for s in SCORERS}
    replicates = {s: paired_ratio_replicates(bits[s], notes, families) for s in SCORERS}
    rows = []
    for k, point in enumerate(points):
        stats = [load_stats(path) for path in point["stats"]]
        row = {"genre": genre, "cap": "whole" if point["cap"] is None else point["cap"],
               "training_notes": round(float(np.mean([s.notes_train for s in stats])), 1),
               "training_tokens": round(float(np.mean([s.tokens_train for s in stats])), 1),
               "held_out_families": first.n_families}
        for s in SCORERS:
            low, high = np.nanquantile(replicates[s][k], [0.025, 0.975])
            row.update({f"{s}_bits_per_note": float(bits[s][k].sum() / notes.sum()),
                        f"{s}_bits_per_note_low": float(low), f"{s}_bits_per_note_high": float(high)})
        rows.append(row)
    by_notes: dict[float, int] = {}
    for k, row in enumerate(rows):  # caps at or above the corpus's size fall onto its whole-corpus point
        by_notes.setdefault(row["training_notes"], k)
    keep = sorted(by_notes.values())
    d = [rows[k]["training_notes"] for k in keep]
    curves = {}
    if len(keep) >= 3:
        for s in SCORERS:
            curves[s] = fit_curve(d, [rows[k][f"{s}_bits_per_note"] for k in keep], replicates=replicates[s][keep])
    return rows, curves, {s: replicates[s][keep] for s in SCORERS} | {"notes": d}


def _fit_row(genre: str, curves: dict[str, CurveFit], reps: dict, min_gain: float) -> dict:
    curve = curves["model"]
    gain, gain_low, gain_high = doubling_gain(curve)
    row = {"genre": genre, "points": len(curve.notes), "a": curve.fit.a, "alpha": curve.fit.alpha,
           "alpha_at_bound": "yes" if curve.alpha_at_bound else "no", "c": curve.fit.c,
           "doubling_gain": gain, "doubling_gain_low": gain_low, "doubling_gain_high": gain_high,
           "data_limited": data_limited(curve, min_gain)}
    row["alpha_low"], row["alpha_high"] = curve.interval("alpha")
    row["c_low"], row["c_high"] = curve.interval("c")
    for floor in ("ngram", "ppm"):
        share, low, high = crossing_interval(reps["notes"], reps["model"] - reps[floor])
        at = crossing(reps["notes"], [m - f for m, f in zip(np.nanmean(reps["model"], axis=1),
                                                              np.nanmean(reps[floor], axis=1))])
        row.update({f"crosses_{floor}_at_notes": at, f"crosses_{floor}_low": low, f"crosses_{floor}_high": high,
                    f"crosses_{floor}_share": share})
    return row


def learning_curves(*, genres: Sequence[str], titles: dict, points: dict, min_gain: float,
                    table_path: str | os.PathLike, fits_path: str | os.PathLike,
                    figure_path: str | os.PathLike) -> list[dict]:
    """The learning_curves rule: per genre and point (``points``: genre -> the dicts of ``curve_points`` in
    rules/common.smk), held-out bits per note of the model and both floors with family intervals; per genre the fit
    with intervals on alpha and c, whether it is still data-limited at its whole corpus (doubling its notes gains
    more than ``min_gain`` bits per note), where the model crosses each floor, and which genres' order by
    difficulty changes along the curves; and the figure (log-log, one panel per genre)."""
    rows, fits, curves, panels = [], [], {}, []
    for genre in genres:
        point_rows, genre_curves, reps = genre_curve(genre, points[genre])
        rows += point_rows
        if genre_curves:
            curves[genre] = genre_curves["model"]
            fits.append(_fit_row(genre, genre_curves, reps, min_gain))
        panels.append(CurvePanel(titles.get(genre, genre), point_rows, genre_curves))
    swaps = order_swaps(curves)
    for row in fits:
        row["order_swaps"] = "; ".join(
            f"{s.harder if s.harder != row['genre'] else s.easier} at {s.notes:,.0f} notes ({s.support:.0%})"
            for s in swaps if row["genre"] in (s.harder, s.easier)) or "none"
        log.info("%s: alpha %.2f [%.2f, %.2f], c %.2f [%.2f, %.2f], data-limited: %s", row["genre"], row["alpha"],
                 row["alpha_low"], row["alpha_high"], row["c"], row["c_low"], row["c_high"], row["data_limited"])
    write_table([{k: cell(v, 4) for k, v in r.items()} for r in rows], POINT_COLUMNS, table_path)
    write_table([{k: cell(v, 4) for k, v in r.items()} for r in fits], FIT_COLUMNS, fits_path)
    render_learning_curves(panels, figure_path)
    if not fits:
        log.warning("no genre has 3 distinct training sizes: nothing fitted (caps above a corpus's size fall onto "
                    "its whole-corpus point)")
    return rows
