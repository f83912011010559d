"""Musical statistics of pieces, and how close a model's samples are to its corpus (Yang & Lerch 2018).

Features are computed per piece on canonical note lists in 16th-note steps, on a 4/4 grid: a beat is 4 steps,
a bar 16 (the synthetic genres are 4/4 and the token stream keeps no meter, so corpus pieces in other meters are
measured on the same grid). Pitch-based (tonal) features are meaningless for a drum kit, whose "pitches" are
instrument keys: for drum genres they are not computed (NA).

Two sets of pieces (the training corpus and a model's samples) are compared feature by feature as in Yang &
Lerch, "On the evaluation of generative models in music" (2018): the intra-set distances of the corpus (every
pair of corpus pieces) and the inter-set distances (every corpus piece against every sample) are smoothed by a
Gaussian KDE, and the overlapped area (1 = the samples sit among the corpus pieces like one more corpus piece)
and the KL divergence KL(intra-corpus || inter-set) (0 = the same) of the two densities are reported.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from midi_genres.core.constants import STEPS_PER_BAR, STEPS_PER_BEAT
from midi_genres.core.notes import Note
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.streams import decode_pieces, split_pieces

log = logging.getLogger(__name__)

MAX_INTERVAL = 12  # interval histogram: 0..11 semitones and one bin for an octave or more
MAX_IOI = 16  # inter-onset-interval histogram: 1..16 steps and one bin for longer gaps
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
# The 12 major scales; each natural minor scale has the pitch classes of its relative major, so these cover all 24.
SCALES = np.array([[(pc - root) % 12 in MAJOR_STEPS for pc in range(12)] for root in range(12)])
KDE_GRID = 1024  # points on which the two densities are compared
BANDWIDTH_FLOOR = 0.01  # smallest KDE bandwidth, as a share of the range of the pooled distances (at least 1)


def _pitches(notes: Sequence[Note]) -> np.ndarray:
    return np.array([n.pitch for n in notes], dtype=np.int64)


def _onsets(notes: Sequence[Note]) -> np.ndarray:
    """Distinct onset times, ascending."""
    return np.unique([n.start for n in notes]).astype(np.int64)


def _end(notes: Sequence[Note]) -> int:
    return max(n.end for n in notes)


def _sounding(notes: Sequence[Note]) -> np.ndarray:
    """Number of notes sounding at each step from 0 to the piece's end."""
    delta = np.zeros(_end(notes) + 1, dtype=np.int64)
    np.add.at(delta, [n.start for n in notes], 1)
    np.add.at(delta, [n.end for n in notes], -1)
    return np.cumsum(delta)[:-1]


def pitch_range(notes: Sequence[Note]) -> float:
    """Highest minus lowest pitch, in semitones."""
    p = _pitches(notes)
    return float(p.max() - p.min()) if len(p) else math.nan


def pitch_class_histogram(notes: Sequence[Note]) -> np.ndarray | None:
    """Share of notes on each pitch class C..B (each note counted once)."""
    if not notes:
        return None
    return np.bincount(_pitches(notes) % 12, minlength=12) / len(notes)


def pitch_classes_used(notes: Sequence[Note]) -> float:
    """Number of distinct pitch classes."""
    return float(len(set(_pitches(notes) % 12))) if notes else math.nan


def pitch_class_entropy(notes: Sequence[Note]) -> float:
    """Shannon entropy (bits) of the pitch-class histogram: 0 for one pitch class, log2 12 for all equally."""
    h = pitch_class_histogram(notes)
    if h is None:
        return math.nan
    h = h[h > 0]
    return float(-(h * np.log2(h)).sum()) + 0.0


def scale_consistency(notes: Sequence[Note]) -> float:
    """Largest share of notes that fall in one major (or natural minor) scale."""
    h = pitch_class_histogram(notes)
    return float((SCALES @ h).max()) if h is not None else math.nan


def polyphony(notes: Sequence[Note]) -> float:
    """Mean number of notes sounding together, over the steps where at least one sounds."""
    if not notes:
        return math.nan
    counts = _sounding(notes)
    return float(counts[counts > 0].mean())


def note_density(notes: Sequence[Note]) -> float:
    """Notes per beat over the piece (from step 0 to the last release)."""
    return len(notes) / (_end(notes) / STEPS_PER_BEAT) if notes else math.nan


def empty_beat_rate(notes: Sequence[Note]) -> float:
    """Share of beats (from step 0 to the last release) in which no note sounds."""
    if not notes:
        return math.nan
    counts = _sounding(notes)
    beats = math.ceil(len(counts) / STEPS_PER_BEAT)
    padded = np.zeros(beats * STEPS_PER_BEAT, dtype=np.int64)
    padded[:len(counts)] = counts
    return float((padded.reshape(beats, STEPS_PER_BEAT).max(axis=1) == 0).mean())


def groove_consistency(notes: Sequence[Note]) -> float:
    """1 minus the mean Hamming distance between the onset patterns of consecutive bars (over 16 positions).

    1 when every bar has the same rhythm; NaN with fewer than two bars.
    """
    if not notes:
        return math.nan
    onsets = _onsets(notes)
    bars = int(onsets[-1]) // STEPS_PER_BAR + 1
    if bars < 2:
        return math.nan
    grid = np.zeros(bars * STEPS_PER_BAR, dtype=bool)
    grid[onsets] = True
    grid = grid.reshape(bars, STEPS_PER_BAR)
    return float(1.0 - (grid[1:] != grid[:-1]).mean())


def interval_histogram(notes: Sequence[Note]) -> np.ndarray | None:
    """Shares of melodic intervals 0..11 semitones and >= 12 between successive onsets' highest notes.

    The highest note at each onset (the "skyline") stands for the melody of polyphonic music.
    """
    if not notes:
        return None
    starts, pitches = np.array([n.start for n in notes]), _pitches(notes)
    top = np.array([pitches[starts == t].max() for t in _onsets(notes)])
    if len(top) < 2:
        return None
    steps = np.minimum(np.abs(np.diff(top)), MAX_INTERVAL)
    return np.bincount(steps, minlength=MAX_INTERVAL + 1) / len(steps)


def ioi_histogram(notes: Sequence[Note]) -> np.ndarray | None:
    """Shares of inter-onset intervals of 1..16 steps and longer, between successive distinct onsets."""
    onsets = _onsets(notes) if notes else np.zeros(0)
    if len(onsets) < 2:
        return None
    gaps = np.minimum(np.diff(onsets), MAX_IOI + 1) - 1
    return np.bincount(gaps, minlength=MAX_IOI + 1) / len(gaps)


@dataclass(frozen=True)
class Feature:
    """One per-piece statistic: a number or a histogram (NaN / None where undefined)."""

    name: str
    compute: Callable[[Sequence[Note]], float | np.ndarray | None]
    tonal: bool  # pitch-based: NA for drum genres
    histogram: bool = False


FEATURES = [
    Feature("pitch_range", pitch_range, tonal=True),
    Feature("pitch_classes_used", pitch_classes_used, tonal=True),
    Feature("pitch_class_entropy", pitch_class_entropy, tonal=True),
    Feature("scale_consistency", scale_consistency, tonal=True),
    Feature("polyphony", polyphony, tonal=False),
    Feature("note_density", note_density, tonal=False),
    Feature("empty_beat_rate", empty_beat_rate, tonal=False),
    Feature("groove_consistency", groove_consistency, tonal=False),
    Feature("pitch_class_histogram", pitch_class_histogram, tonal=True, histogram=True),
    Feature("interval_histogram", interval_histogram, tonal=True, histogram=True),
    Feature("ioi_histogram", ioi_histogram, tonal=False, histogram=True),
]


def applies(feature: Feature, drums: bool) -> bool:
    """Whether a feature means anything for this kind of genre."""
    return not (drums and feature.tonal)


def feature_values(pieces: Sequence[Sequence[Note]], feature: Feature) -> np.ndarray:
    """(pieces, dims) matrix of one feature over the pieces where it is defined (scalars have one dim)."""
    rows = []
    for notes in pieces:
        value = feature.compute(notes)
        if value is None or (np.ndim(value) == 0 and math.isnan(value)):
            continue
        rows.append(np.atleast_1d(np.asarray(value, dtype=float)))
    dims = len(rows[0]) if rows else 1
    return np.array(rows, dtype=float).reshape(len(rows), dims)


def intra_set_distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distances between every pair of rows of ``x``."""
    i, j = np.triu_indices(len(x), k=1)
    return np.linalg.norm(x[i] - x[j], axis=1)


def inter_set_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of ``x`` and every row of ``y``."""
    return np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2).ravel()


def _bandwidth(values: np.ndarray, floor: float) -> float:
    """Scott's rule for a 1-D Gaussian KDE (std * n^-1/5), at least ``floor``."""
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return max(std * len(values) ** -0.2, floor)


def _kde(values: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE of ``values`` on the evenly spaced ``grid``, normalised to integrate to 1 there."""
    density = np.zeros_like(grid)
    for chunk in np.array_split(values, max(1, len(values) // 2048)):
        density += np.exp(-0.5 * ((grid[:, None] - chunk[None, :]) / bandwidth) ** 2).sum(axis=1)
    return density / (density.sum() * (grid[1] - grid[0]))


def overlap_and_kl(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Overlapped area and KL(a || b) (nats) of the Gaussian KDEs of two samples of distances."""
    if len(a) == 0 or len(b) == 0:
        return math.nan, math.nan
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    floor = BANDWIDTH_FLOOR * max(hi - lo, 1.0)
    bw_a, bw_b = _bandwidth(a, floor), _bandwidth(b, floor)
    margin = 4 * max(bw_a, bw_b)
    grid = np.linspace(lo - margin, hi + margin, KDE_GRID)
    dx = grid[1] - grid[0]
    p, q = _kde(a, grid, bw_a), _kde(b, grid, bw_b)
    overlap = float(np.minimum(p, q).sum() * dx)
    tiny = 1e-12 * max(p.max(), q.max())
    kl = float((p * np.log(np.maximum(p, tiny) / np.maximum(q, tiny))).sum() * dx)
    return min(overlap, 1.0), max(kl, 0.0)


METRIC_COLUMNS = ["genre", "feature", "applies", "corpus_pieces", "sample_pieces", "corpus_mean", "samples_mean",
                  "corpus_intra", "samples_intra", "inter", "overlap", "kl"]


def compare_feature(corpus: Sequence[Sequence[Note]], samples: Sequence[Sequence[Note]], feature: Feature) -> dict:
    """One feature of two sets: means (scalars), mean intra/inter-set distances, overlapped area and KL."""
    x, y = feature_values(corpus, feature), feature_values(samples, feature)
    intra_x, intra_y, inter = intra_set_distances(x), intra_set_distances(y), inter_set_distances(x, y)
    overlap, kl = overlap_and_kl(intra_x, inter)

    def mean(v):
        return float(v.mean()) if len(v) else math.nan

    scalar = not feature.histogram
    return {"corpus_pieces": len(x), "sample_pieces": len(y),
            "corpus_mean": mean(x) if scalar else math.nan, "samples_mean": mean(y) if scalar else math.nan,
            "corpus_intra": mean(intra_x), "samples_intra": mean(intra_y), "inter": mean(inter),
            "overlap": overlap, "kl": kl}


def compare_sets(genre: str, corpus: Sequence[Sequence[Note]], samples: Sequence[Sequence[Note]],
                 drums: bool) -> list[dict]:
    """Rows of ``METRIC_COLUMNS``: every feature of the corpus against the samples (NA where it does not apply)."""
    rows = []
    for feature in FEATURES:
        row = {"genre": genre, "feature": feature.name, "applies": "yes" if applies(feature, drums) else "no"}
        if applies(feature, drums):
            row.update({k: round(v, 4) if isinstance(v, float) else v
                        for k, v in compare_feature(corpus, samples, feature).items()})
        rows.append({c: cell(row.get(c, math.nan)) for c in METRIC_COLUMNS})
    return rows


def evenly_spaced(items: Sequence, limit: int) -> list:
    """At most ``limit`` items, evenly spaced through the sequence (deterministic)."""
    if len(items) <= limit:
        return list(items)
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))]


def musical_metrics(*, genre: str, train_path: str | os.PathLike, samples_path: str | os.PathLike, drums: bool,
                    corpus_pieces: int, table_path: str | os.PathLike, tokenizer: str = "event") -> list[dict]:
    """The musical_metrics rule: training pieces vs a model's sample batch, feature by feature, as a table."""
    tok = make_tokenizer(tokenizer)
    corpus = [tok.decode_with_report(piece)[0]  # only the chosen pieces are decoded: a folder may hold thousands
              for piece in evenly_spaced(split_pieces(np.load(train_path)), corpus_pieces)]
    samples = [notes for notes, _ in decode_pieces(np.load(samples_path), tok)]
    log.info("%s: %d corpus pieces vs %d samples (drums: %s)", genre, len(corpus), len(samples), drums)
    rows = compare_sets(genre, corpus, samples, drums)
    for row in rows:
        log.info("%s", row)
    write_table(rows, METRIC_COLUMNS, table_path)
    return rows


def aggregate_metrics(*, genres: Sequence[str], titles: dict, table_paths: Sequence[str], table_path: str | os.PathLike,
                      figure_path: str | os.PathLike) -> list[dict]:
    """The aggregate_metrics rule: every genre's feature table in one, and the overlap / KL heatmaps."""
    rows = [row for path in table_paths for row in read_table(path)]
    write_table(rows, METRIC_COLUMNS, table_path)
    names = [f.name for f in FEATURES]
    grids = {key: np.full((len(genres), len(names)), np.nan) for key in ("overlap", "kl")}
    for row in rows:
        if row["genre"] in genres and row["feature"] in names:
            for key, grid in grids.items():
                grid[list(genres).index(row["genre"]), names.index(row["feature"])] = number(row[key])
    labels = [titles.get(g, g) for g in genres]
    render_heatmaps([
        Heatmap(grids["overlap"], labels, names, title="Overlapped area (1 = samples look like the corpus)",
                colorbar="overlapped area", vmin=0.0, vmax=1.0),
        Heatmap(grids["kl"], labels, names, title="KL(intra-corpus || corpus-vs-samples), nats (0 = same)",
                colorbar="KL divergence (nats)", cmap="magma_r", vmin=0.0),
    ], figure_path, title="Musical statistics: each model's samples against its training corpus (NA: drums)")
    return rows
