"""Structure above the bar, for every genre and without its generator: do bars repeat, and how alike are bars a
given number of bars apart, in held-out pieces and in a model's samples?

Bars are 4/4 bars of 16 sixteenth-note steps from step 0 (``core.constants.STEPS_PER_BAR``, the grid every piece is
quantised to; ``analysis.window`` uses the same bars). A bar is described by the notes that start in it: its *onset
pattern* (the set of positions 0-15 where notes start), its *pitch-class set* (the pitch classes of those notes; for
a drum genre the drum keys, whose pitch classes would mix instruments) and its *events* (the set of (position,
pitch class) pairs). Per piece:

- ``onset_repeats`` / ``pitch_class_repeats``: how many of its judged bars (every bar after the first with at least
  one onset) have the onset pattern / pitch-class set of one of the ``LOOKBACK_BARS`` bars before them;
- ``sim_L`` / ``pairs_L`` for lags L = 1 .. ``MAX_LAG``: the summed similarity of the bar pairs (b - L, b) in which
  at least one bar has an onset, and how many such pairs there are. The similarity of two bars is the Jaccard index
  of their events: 1 for a bar repeated (up to octaves), 0 for bars without a note at the same place.

Samples are cut where ``sample.seconds`` ends, mostly inside a bar, and held-out pieces are often longer: both sets
are measured over the whole bars before that cut only (``sample_bars``), so they are measured at the same places of a
piece and no sample's cut-off last bar counts as a bar unlike the others. Each measure of a set is a ratio of sums
over its pieces (repeats / judged bars, similarity / pairs) with a 95% bootstrap interval: over held-out tune
families (a family's pieces resampled together) and over samples; the samples' value minus the held-out pieces' has
an interval from resampling both sets independently. Besides each lag, the similarity is pooled over the lags the
model's context holds (``analysis.window``'s bars) and over those beyond it: samples less alike than held-out
pieces within the window lost what the model could see; alike within it and less alike only beyond it, what it
never saw together (``window_explains``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from midi_genres.analysis.bootstrap import family_totals, ratio_difference_interval, ratio_interval
from midi_genres.analysis.heldout import MIN_RANKED_FAMILIES
from midi_genres.core.constants import STEPS_PER_BAR
from midi_genres.core.notes import Note, seconds_to_steps
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import ProfilePanel, render_structure_profiles
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.dataset import load_pieces
from midi_genres.tokens.streams import decode_pieces

log = logging.getLogger(__name__)

LOOKBACK_BARS = 8  # a bar repeats when one of this many bars before it has the same pattern
MAX_LAG = 16  # the self-similarity profile runs over lags 1 .. MAX_LAG bars
SETS = ("heldout", "samples")
LAGS = range(1, MAX_LAG + 1)
PIECE_COLUMNS = ["set", "piece", "family", "bars", "judged", "onset_repeats", "pitch_class_repeats",
                 *(f"sim_{lag}" for lag in LAGS), *(f"pairs_{lag}" for lag in LAGS)]
STRUCTURE_COLUMNS = ["genre", "measure", "lag", "heldout_pieces", "heldout_families", "heldout_units", "heldout",
                     "heldout_low", "heldout_high", "samples_pieces", "samples_units", "samples", "samples_low",
                     "samples_high", "difference", "difference_low", "difference_high", "verdict"]
REPEATS = {"onset_repeat": "onset_repeats", "pitch_class_repeat": "pitch_class_repeats"}


@dataclass(frozen=True)
class Bar:
    """What starts in one bar: onset positions, pitch classes (drum keys for a drum genre), (position, class)."""

    onsets: frozenset
    pitches: frozenset
    events: frozenset


def bars_of(notes: Sequence[Note], drums: bool = False, max_bars: int | None = None) -> list[Bar]:
    """The bars of a piece from bar 0 to the one holding its last onset (at most ``max_bars`` of them)."""
    if not notes:
        return []
    n_bars = max(n.start for n in notes) // STEPS_PER_BAR + 1
    if max_bars is not None:
        n_bars = min(n_bars, max_bars)
    events: list[set] = [set() for _ in range(n_bars)]
    for n in notes:
        bar, position = divmod(n.start, STEPS_PER_BAR)
        if bar < n_bars:
            events[bar].add((position, n.pitch if drums else n.pitch % 12))
    return [Bar(frozenset(p for p, _ in e), frozenset(k for _, k in e), frozenset(e)) for e in events]


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b)


def piece_structure(notes: Sequence[Note], drums: bool = False, max_bars: int | None = None) -> dict:
    """One piece's counts (the ``PIECE_COLUMNS`` after ``family``): bars, judged bars, repeats of the onset
    pattern and of the pitch-class set among the previous ``LOOKBACK_BARS`` bars, and per lag the summed
    similarity and number of bar pairs."""
    bars = bars_of(notes, drums, max_bars)
    judged = [b for b in range(1, len(bars)) if bars[b].onsets]
    row = {"bars": len(bars), "judged": len(judged)}
    for column, field in (("onset_repeats", "onsets"), ("pitch_class_repeats", "pitches")):
        row[column] = sum(any(getattr(bars[b], field) == getattr(bars[p], field)
                              for p in range(max(0, b - LOOKBACK_BARS), b) if bars[p].onsets) for b in judged)
    for lag in LAGS:
        pairs = [(bars[b - lag].events, bars[b].events) for b in range(lag, len(bars))
                 if bars[b].events or bars[b - lag].events]
        row[f"sim_{lag}"] = round(sum(_jaccard(a, b) for a, b in pairs), 6)
        row[f"pairs_{lag}"] = len(pairs)
    return row


def sample_bars(seconds: float, tempo: float) -> int:
    """The whole bars of music before a sample of ``seconds`` at ``tempo`` bpm is cut (``sample.seconds``)."""
    return seconds_to_steps(seconds, tempo) // STEPS_PER_BAR


def measure_structure(*, genre: str, val_paths: Sequence[str], pieces_paths: Sequence[str],
                      samples_path: str | os.PathLike, table_path: str | os.PathLike, sample_seconds: float,
                      tempo: float, drums: bool = False, tokenizer: str = "event") -> list[dict]:
    """The measure_structure rule: ``PIECE_COLUMNS`` for every held-out piece (of every fold: ``val_paths`` and
    their ``pieces_paths``) and every sample of one seeded model, each over its first
    ``sample_bars(sample_seconds, tempo)`` bars (the samples' whole bars)."""
    tok = make_tokenizer(tokenizer)
    bars = sample_bars(sample_seconds, tempo)
    samples = [notes for notes, _ in decode_pieces(np.load(samples_path), tok)]
    rows = []
    for val_path, pieces_path in zip(val_paths, pieces_paths, strict=True):
        heldout = [notes for notes, _ in decode_pieces(np.load(val_path), tok)]
        table = load_pieces(pieces_path, "val")
        if len(table) != len(heldout):
            raise ValueError(f"{pieces_path} lists {len(table)} validation pieces but {val_path} holds "
                             f"{len(heldout)}")
        rows += [{"set": "heldout", "piece": r["piece_id"], "family": r["family"], **piece_structure(n, drums, bars)}
                 for r, n in zip(table, heldout)]
    rows += [{"set": "samples", "piece": i, "family": "NA", **piece_structure(n, drums, bars)}
             for i, n in enumerate(samples)]
    write_table(rows, PIECE_COLUMNS, table_path)
    for name in SETS:
        chosen = [r for r in rows if r["set"] == name]
        judged = sum(r["judged"] for r in chosen)
        log.info("%s %s: %d pieces, %d judged bars, onset patterns repeated in %d, pitch-class sets in %d", genre,
                 name, len(chosen), judged, sum(r["onset_repeats"] for r in chosen),
                 sum(r["pitch_class_repeats"] for r in chosen))
    return rows


def window_bands(window_bars: float) -> dict[str, list[int]]:
    """The lags a context of ``window_bars`` bars holds (1 .. its whole bars) and those beyond it (up to
    ``MAX_LAG``); both empty when the window is not known."""
    if math.isnan(window_bars):
        return {"within_window": [], "beyond_window": []}
    inside = min(int(window_bars), MAX_LAG)
    return {"within_window": list(range(1, inside + 1)), "beyond_window": list(range(inside + 1, MAX_LAG + 1))}


def _measures(window_bars: float) -> list[tuple[str, str, list[str], list[str]]]:
    """(measure, lag, numerator columns, denominator columns) of every row of the structure table: the repeat
    shares, the similarity at each lag and over the lags within and beyond the window."""
    bands = [(f"similarity_{band}", f"{lags[0]}-{lags[-1]}", [f"sim_{lag}" for lag in lags],
              [f"pairs_{lag}" for lag in lags]) for band, lags in window_bands(window_bars).items() if lags]
    return ([(m, "", [column], ["judged"]) for m, column in REPEATS.items()]
            + [("similarity", str(lag), [f"sim_{lag}"], [f"pairs_{lag}"]) for lag in LAGS] + bands)


def _verdict(low: float, high: float) -> str:
    if math.isnan(low):
        return "NA"
    return "less" if high < 0 else "more" if low > 0 else "kept"


def structure_rows(genre: str, pieces: Sequence[dict], window_bars: float = math.nan) -> list[dict]:
    """The ``STRUCTURE_COLUMNS`` rows of one genre from its per-piece rows (read back as strings or as written):
    each measure for held-out pieces and samples with intervals, their difference and its verdict (``less`` /
    ``more`` when the samples' interval of the difference lies below / above 0, ``kept`` when it reaches 0). With
    the bars the window holds, also the similarity pooled over the lags within it and over those beyond it."""
    sets = {name: [r for r in pieces if r["set"] == name] for name in SETS}
    groups = {"heldout": [r["family"] for r in sets["heldout"]], "samples": list(range(len(sets["samples"])))}
    out = []
    for measure, lag, nums, dens in _measures(window_bars):
        totals = {}
        row = {"genre": genre, "measure": measure, "lag": lag, "heldout_families": len(set(groups["heldout"]))}
        for name, rows in sets.items():
            n = family_totals([sum(float(r[c]) for c in nums) for r in rows], groups[name])
            d = family_totals([sum(float(r[c]) for c in dens) for r in rows], groups[name])
            totals[name] = (n, d)
            value = n.sum() / d.sum() if d.sum() > 0 else math.nan
            low, high = ratio_interval(n, d)
            row.update({f"{name}_pieces": len(rows), f"{name}_units": int(d.sum()), name: cell(float(value), 4),
                        f"{name}_low": cell(low, 4), f"{name}_high": cell(high, 4)})
        diff, low, high = ratio_difference_interval(*totals["samples"], *totals["heldout"])
        row.update({"difference": cell(diff, 4), "difference_low": cell(low, 4), "difference_high": cell(high, 4),
                    "verdict": _verdict(low, high)})
        out.append(row)
    return out


def lost_at_lag(rows: Sequence[dict]) -> float:
    """The smallest lag (bars) at which a genre's samples are less self-similar than its held-out pieces (the
    verdict ``less``); NaN when they are not at any measured lag. One lag of sixteen can be ``less`` by chance:
    ``window_explains`` judges the lags within and beyond the window pooled."""
    lags = [int(r["lag"]) for r in rows if r["measure"] == "similarity" and r["verdict"] == "less"]
    return float(min(lags)) if lags else math.nan


def window_explains(rows: Sequence[dict]) -> str:
    """Whether the context can be why a genre's samples lose its structure, from the similarity pooled over the
    lags the window holds and over those beyond it: ``within`` (less alike than held-out pieces within the window:
    the model saw such bars together and still did not keep their likeness), ``beyond`` (alike within the window,
    less alike only beyond it: bars that far apart never sat in one context), ``kept`` (neither), ``NA`` (no
    lag measured either side)."""
    verdicts = {r["measure"]: r["verdict"] for r in rows}
    within = verdicts.get("similarity_within_window", "NA")
    beyond = verdicts.get("similarity_beyond_window", "NA")
    if within == "less":
        return "within"
    if beyond == "less":
        return "beyond"
    return "NA" if within == beyond == "NA" else "kept"


def _note(rows: Sequence[dict]) -> str:
    """``too few held-out families`` where fewer than ``MIN_RANKED_FAMILIES`` were measured (the verdicts stand on
    them), else empty."""
    return "too few held-out families" if int(rows[0]["heldout_families"]) < MIN_RANKED_FAMILIES else ""


def window_bars_of(window_rows: Sequence[dict], tokenizer: str) -> float:
    """The median bars the context covers, for ``tokenizer``, from a genre's window table."""
    found = [number(r["window_bars"]) for r in window_rows if r["tokenizer"] == tokenizer]
    return found[0] if found else math.nan


def aggregate_structure(*, genres: Sequence[str], titles: Mapping[str, str], tables: Mapping[str, Sequence[str]],
                        window_paths: Sequence[str], tokenizer: str, table_path: str | os.PathLike,
                        figure_path: str | os.PathLike) -> list[dict]:
    """The aggregate_structure rule: every genre's structure measures (``tables`` maps a genre to its per-piece
    tables, one per seeded model: held-out pieces from the first, samples from all) with intervals in one table,
    and a figure of the self-similarity profiles beside the bars the window (of ``tokenizer``) holds."""
    rows, panels = [], []
    for genre, window_path in zip(genres, window_paths):
        paths = tables[genre]
        pieces = [r for r in read_table(paths[0]) if r["set"] == "heldout"]
        pieces += [r for path in paths for r in read_table(path) if r["set"] == "samples"]
        window = window_bars_of(read_table(window_path), tokenizer)
        genre_rows = structure_rows(genre, pieces, window)
        rows += genre_rows
        log.info("%s: the window holds %.1f bars; samples first less alike than held-out pieces at lag %s; lost "
                 "structure: %s", genre, window, lost_at_lag(genre_rows), window_explains(genre_rows))
        title = titles.get(genre, genre) + (f" ({_note(genre_rows)})" if _note(genre_rows) else "")
        panels.append(_panel(title, genre_rows, window))
    write_table(rows, STRUCTURE_COLUMNS, table_path)
    render_structure_profiles(panels, figure_path, title="Structure above the bar: how alike are bars L bars apart; "
                              f"how often a bar repeats one of the {LOOKBACK_BARS} before it (held-out \u2192 samples)")
    return rows


def _panel(title: str, rows: Sequence[dict], window_bars: float) -> ProfilePanel:
    profile = [r for r in rows if r["measure"] == "similarity"]
    repeats = {r["measure"]: r for r in rows if r["measure"] in REPEATS}

    def series(name: str, suffix: str = "") -> list[float]:
        return [number(str(r[f"{name}{suffix}"])) for r in profile]

    shares = "repeats: " + ", ".join(
        f"{label} {number(str(repeats[m]['heldout'])):.2f}\u2192{number(str(repeats[m]['samples'])):.2f}"
        for m, label in (("onset_repeat", "rhythm"), ("pitch_class_repeat", "pitch")))
    return ProfilePanel(title=title, lags=[int(r["lag"]) for r in profile],
                        series={name: (series(name), series(name, "_low"), series(name, "_high")) for name in SETS},
                        window=window_bars, subtitle=shares)


SUMMARY_COLUMNS = ["window_bars", "onset_repeat_heldout", "onset_repeat_samples", "onset_repeat_kept",
                   "pitch_class_repeat_heldout", "pitch_class_repeat_samples", "pitch_class_repeat_kept",
                   "structure_lost_at_lag", "structure_loss_vs_window", "structure_note"]


def summary_columns(genre: str, structure: Sequence[dict], window: Sequence[dict], tokenizer: str) -> dict:
    """A genre's ``SUMMARY_COLUMNS`` from the rows of the structure table and the window table (every genre's rows
    may be given; the genre's are picked): the bars the context of ``tokenizer`` covers, the repeat shares of
    held-out pieces and samples with the verdict of their difference, the lag at which samples lose bar similarity
    and whether structure is lost ``within`` or ``beyond`` the window (``window_explains``), flagged where too few
    tune families were held out for the verdicts to stand on."""
    rows = [r for r in structure if r["genre"] == genre]
    bars = window_bars_of([r for r in window if r["genre"] == genre], tokenizer)
    out = {"window_bars": cell(bars, 2)}
    if rows:
        lost = lost_at_lag(rows)
        out.update({"structure_lost_at_lag": "NA" if math.isnan(lost) else int(lost),
                    "structure_loss_vs_window": window_explains(rows), "structure_note": _note(rows)})
    for r in rows:
        if r["measure"] in REPEATS:
            out.update({f"{r['measure']}_heldout": r["heldout"], f"{r['measure']}_samples": r["samples"],
                        f"{r['measure']}_kept": r["verdict"]})
    return {c: out.get(c, "NA") for c in SUMMARY_COLUMNS}
