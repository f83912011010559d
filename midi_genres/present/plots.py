"""Piano rolls of sampled music and the grouped comparison figure.

Everything is drawn on plain ``matplotlib.figure.Figure`` objects with the Agg canvas, so nothing here touches
pyplot's global state or needs a display. matplotlib is imported lazily inside the functions.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from midi_genres.core.atomic import atomic_path
from midi_genres.core.midi import read_midi
from midi_genres.core.notes import Note, steps_to_seconds
from midi_genres.core.tables import number, read_table

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.collections import PolyCollection

PITCHED_COLOR = "tab:blue"
DRUM_COLOR = "tab:orange"
BAR_HEIGHT = 0.8  # of one semitone
PITCH_MARGIN = 2  # semitones of space above and below the highest and lowest note
MIN_PITCH_SPAN = 12  # a narrow piece is still shown over at least an octave
DEFAULT_PITCH_RANGE = (21, 108)  # piano keyboard, shown when there is nothing to fit
DEFAULT_DRUM_RANGE = (35, 81)  # General MIDI percussion key map

ROLL_SIZE_PX = (1000, 400)  # render_pianoroll: 10 x 4 in at 100 dpi
PANEL_SIZE_PX = (450, 260)  # render_comparison: one panel
HEADER_PX = 60  # render_comparison: room for the figure title
DPI = 100


@dataclass
class Panel:
    """One genre's piano roll in the comparison figure."""

    genre: str
    title: str
    notes: list[Note]
    tempo_bpm: float
    drums: bool = False
    subtitle: str = ""


@dataclass
class ComparisonLayout:
    """What ``render_comparison`` actually drew, read back from the figure: the grid and each row's panels."""

    nrows: int
    ncols: int
    size_px: tuple[int, int]  # (width, height) of the saved PNG
    group_titles: list[str]
    panel_titles: list[list[str]] = field(default_factory=list)  # titles of the visible axes, row by row
    hidden: int = 0  # unused grid cells whose axes are hidden

    @property
    def visible(self) -> int:
        """Number of visible panels."""
        return sum(len(row) for row in self.panel_titles)


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _new_figure(size_px: tuple[int, int], **kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size_px[0] / DPI, size_px[1] / DPI), dpi=DPI, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def _pitch_limits(lo: int, hi: int) -> tuple[float, float]:
    lo, hi = lo - PITCH_MARGIN, hi + PITCH_MARGIN
    if hi - lo < MIN_PITCH_SPAN:
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_PITCH_SPAN / 2, mid + MIN_PITCH_SPAN / 2
    return lo - 0.5, hi + 0.5


def draw_pianoroll(ax: Axes, notes: Iterable[Note], tempo_bpm: float, seconds: float = 30.0,
                   title: str | None = None, drums: bool = False) -> PolyCollection | None:
    """Draw the first ``seconds`` of ``notes`` on ``ax`` as horizontal bars (time in s by MIDI pitch).

    Notes starting at or after ``seconds`` are left out and notes sounding past it are cut there. All bars
    form one ``PolyCollection``, which is returned (``None`` when nothing falls in the window, in which case
    the axes say so in text).
    """
    import numpy as np
    from matplotlib.collections import PolyCollection

    tempo_bpm = _check_positive("tempo_bpm", tempo_bpm)
    seconds = _check_positive("seconds", seconds)
    notes = list(notes)
    step = steps_to_seconds(1, tempo_bpm)
    arr = np.array([(n.pitch, n.start, n.end) for n in notes], dtype=float).reshape(-1, 3)
    arr = arr[arr[:, 1] * step < seconds]
    pitch, start, end = arr[:, 0], arr[:, 1] * step, np.minimum(arr[:, 2] * step, seconds)

    ax.set_xlim(0.0, seconds)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("GM drum pitch" if drums else "MIDI pitch")
    ax.grid(True, axis="both", alpha=0.25, linewidth=0.5)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)

    if len(arr) == 0:
        ax.set_ylim(*(DEFAULT_DRUM_RANGE if drums else DEFAULT_PITCH_RANGE))
        message = "no notes" if not notes else f"no notes in the first {seconds:g} s"
        ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")
        return None

    low, high = pitch - BAR_HEIGHT / 2, pitch + BAR_HEIGHT / 2
    verts = np.stack([np.column_stack(corner) for corner in
                      ((start, low), (start, high), (end, high), (end, low))], axis=1)
    bars = PolyCollection(verts, facecolors=DRUM_COLOR if drums else PITCHED_COLOR, edgecolors="none",
                          linewidths=0)
    ax.add_collection(bars)
    ax.set_ylim(*_pitch_limits(int(pitch.min()), int(pitch.max())))
    return bars


def render_pianoroll(notes: Iterable[Note], path: str | os.PathLike, tempo_bpm: float, title: str,
                     seconds: float = 30.0, drums: bool = False, marks: Sequence[tuple[float, str]] = ()) -> None:
    """Save the piano roll of the first ``seconds`` of ``notes`` as one titled PNG (1000 x 400 px), atomically.

    ``marks`` are ``(seconds, label)`` pairs drawn as labelled vertical lines (e.g. where a prompt ends).
    """
    fig = _new_figure(ROLL_SIZE_PX, layout="constrained")
    ax = fig.add_subplot()
    draw_pianoroll(ax, notes, tempo_bpm, seconds=seconds, title=title, drums=drums)
    for at, label in marks:
        ax.axvline(at, color="tab:red", linestyle="--", linewidth=1.2)
        ax.text(at, 1.0, f" {label}", transform=ax.get_xaxis_transform(), color="tab:red", va="top", fontsize=8)
    _save_png(fig, path)


CURVES_SIZE_PX = (800, 400)  # render_genre_training_curves: one genre
TRAINING_CURVES_SIZE_PX = (1300, 480)  # render_all_training_curves: train and validation panels, legend at the right
LOSS_LABEL = "cross-entropy (nats/token)"


def draw_curves(ax: Axes, history: Sequence[dict], title: str | None = None) -> None:
    """Draw one model's train and validation loss against the training step (rows of ``history.read_history``)."""
    if not history:
        raise ValueError("draw_curves needs at least one history row")
    steps = [row["step"] for row in history]
    ax.plot(steps, [row["train_loss"] for row in history], marker="o", markersize=3, label="train")
    ax.plot(steps, [row["val_loss"] for row in history], marker="o", markersize=3, linestyle="--", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel(LOSS_LABEL)
    ax.grid(True, alpha=0.25, linewidth=0.5)
    ax.legend()
    if title:
        ax.set_title(title)


def render_curves(history: Sequence[dict], path: str | os.PathLike, title: str) -> None:
    """Save one genre's training curves as a titled PNG (800 x 400 px), atomically."""
    fig = _new_figure(CURVES_SIZE_PX, layout="constrained")
    draw_curves(fig.add_subplot(), history, title=title)
    _save_png(fig, path)


def render_training_curves(curves: Sequence[tuple[str, Sequence[dict]]], path: str | os.PathLike,
                           title: str = "Training curves of every genre's model") -> None:
    """Save every genre's train loss (left) and validation loss (right) in one PNG, one line per genre, atomically.

    ``curves`` is ``[(genre_title, history_rows), ...]``, in legend order.
    """
    import matplotlib

    if not curves:
        raise ValueError("render_all_training_curves needs at least one genre")
    colors = matplotlib.colormaps["tab20" if len(curves) > 10 else "tab10"].colors
    fig = _new_figure(TRAINING_CURVES_SIZE_PX, layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, column, name in zip(axes, ("train_loss", "val_loss"), ("train", "validation")):
        for (label, history), color in zip(curves, colors * (len(curves) // len(colors) + 1)):
            ax.plot([row["step"] for row in history], [row[column] for row in history], color=color, label=label)
        ax.set_title(f"{name} loss")
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.25, linewidth=0.5)
    axes[0].set_ylabel(LOSS_LABEL)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center", fontsize=8)
    _save_png(fig, path)


def load_panel(midi_path: str | os.PathLike, genre: str, title: str, tempo_bpm: float, drums: bool = False,
               subtitle: str = "") -> Panel:
    """Read a MIDI file into a ``Panel`` for ``render_comparison``."""
    return Panel(genre=genre, title=title, notes=read_midi(midi_path), tempo_bpm=tempo_bpm, drums=drums,
                 subtitle=subtitle)


def render_comparison(panels: Iterable[tuple[str, Sequence[Panel]]], path: str | os.PathLike,
                      seconds: float = 30.0, title: str | None = None) -> ComparisonLayout:
    """Save every panel's piano roll in one PNG, one row per group, atomically; return the layout drawn.

    ``panels`` is ``[(group_title, [Panel, ...]), ...]``. The grid has one row per group and as many columns as
    the largest group; each row carries its group title above it, and grid cells a shorter group leaves
    unused are hidden. ``title`` defaults to a line naming the ``seconds`` shown.
    """
    import matplotlib

    groups = [(str(name), list(members)) for name, members in panels]
    if not any(members for _, members in groups):
        raise ValueError("render_comparison needs at least one panel")
    seconds = _check_positive("seconds", seconds)
    if title is None:
        title = f"What each model learned: the first {seconds:g} s of one sample per genre"
    nrows, ncols = len(groups), max(len(members) for _, members in groups)
    size_px = (PANEL_SIZE_PX[0] * ncols, HEADER_PX + PANEL_SIZE_PX[1] * nrows)

    with matplotlib.rc_context({"font.size": 8, "axes.titlesize": 9}):
        fig = _new_figure(size_px, layout="constrained")
        fig.suptitle(title, fontsize=12, fontweight="bold")
        rows = fig.subfigures(nrows, 1, squeeze=False)[:, 0]
        for row, (group_title, members) in zip(rows, groups):
            row.suptitle(group_title, x=0.005, ha="left", fontsize=10, fontweight="bold")
            axes = row.subplots(1, ncols, squeeze=False)[0]
            for ax, panel in zip(axes, members):
                heading = panel.title or panel.genre
                if panel.subtitle:
                    heading = f"{heading}\n{panel.subtitle}"
                draw_pianoroll(ax, panel.notes, panel.tempo_bpm, seconds=seconds, title=heading, drums=panel.drums)
            for ax in axes[len(members):]:
                ax.set_visible(False)
        _save_png(fig, path)

    layout = ComparisonLayout(nrows=nrows, ncols=ncols, size_px=size_px,
                              group_titles=[row.get_suptitle() for row in rows])
    for row in rows:
        layout.panel_titles.append([ax.get_title() for ax in row.axes if ax.get_visible()])
        layout.hidden += sum(not ax.get_visible() for ax in row.axes)
    return layout


@dataclass
class Heatmap:
    """One annotated matrix for ``render_heatmaps``; NaN cells are drawn grey and annotated NA."""

    values: Sequence[Sequence[float]]
    row_labels: Sequence[str]
    col_labels: Sequence[str]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    colorbar: str = ""
    fmt: str = "{:.2f}"
    cmap: str = "viridis"
    log_scale: bool = False
    vmin: float | None = None
    vmax: float | None = None
    mark_diagonal: bool = False  # outline the cells (i, i)
    marked: Sequence[Sequence[bool]] | None = None  # cells outlined dashed (e.g. not told apart from the best)
    marked_label: str = ""  # what a dashed outline means, written under the matrix


HEATMAP_CELL_PX = (62, 34)  # render_heatmaps: one cell
HEATMAP_MARGIN_PX = (260, 200)  # render_heatmaps: labels, colour bar and titles around one matrix
HEATMAP_MIN_WIDTH_PX = 700  # room for the figure title above a small matrix
HEATMAP_MAX_ROW_PX = 1200  # render_heatmaps: matrices side by side up to this width (the gallery's), else a new row


def draw_heatmap(ax: Axes, heatmap: Heatmap):
    """Draw one annotated heatmap on ``ax``; return its image (for a colour bar)."""
    import matplotlib
    import numpy as np
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Rectangle

    values = np.asarray(heatmap.values, dtype=float)
    finite = values[np.isfinite(values) & ((values > 0) | (not heatmap.log_scale))]
    lo = heatmap.vmin if heatmap.vmin is not None else (finite.min() if finite.size else 0.0)
    hi = heatmap.vmax if heatmap.vmax is not None else (finite.max() if finite.size else 1.0)
    hi = max(hi, lo * 1.01 if heatmap.log_scale else lo + 1e-9)
    norm = LogNorm(lo, hi) if heatmap.log_scale and lo > 0 else Normalize(lo, hi)
    cmap = matplotlib.colormaps[heatmap.cmap].with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    for (i, j), v in np.ndenumerate(values):
        if not np.isfinite(v):
            ax.text(j, i, "NA", ha="center", va="center", fontsize=7, color="0.4")
            continue
        r, g, b, _ = cmap(norm(v))
        ax.text(j, i, heatmap.fmt.format(v), ha="center", va="center", fontsize=7,
                color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")
    if heatmap.mark_diagonal:
        for i in range(min(values.shape)):
            ax.add_patch(Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    if heatmap.marked is not None:
        for (i, j), mark in np.ndenumerate(np.asarray(heatmap.marked, dtype=bool)):
            if mark:
                ax.add_patch(Rectangle((j - 0.42, i - 0.42), 0.84, 0.84, fill=False, edgecolor="orange",
                                       linewidth=1.5, linestyle="--"))
    ax.set_xticks(range(values.shape[1]), list(heatmap.col_labels), rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(values.shape[0]), list(heatmap.row_labels))
    # what a dashed outline means goes under the axis label, clear of the tick labels
    marked = heatmap.marked is not None and heatmap.marked_label
    ax.set_xlabel("\n".join(filter(None, [heatmap.xlabel, marked and heatmap.marked_label])))
    ax.set_ylabel(heatmap.ylabel)
    if heatmap.title:
        ax.set_title(heatmap.title)
    return image


def heatmap_rows(widths: Sequence[int], max_width: int = HEATMAP_MAX_ROW_PX) -> list[list[int]]:
    """Indices of the matrices on each row of ``render_heatmaps``: in order, side by side while the row fits in
    ``max_width`` pixels (a matrix wider than that has a row of its own)."""
    rows: list[list[int]] = []
    used = max_width
    for i, width in enumerate(widths):
        if used + width > max_width:
            rows.append([])
            used = 0
        rows[-1].append(i)
        used += width
    return rows


def render_heatmaps(heatmaps: Sequence[Heatmap], path: str | os.PathLike, title: str | None = None) -> None:
    """Save annotated heatmaps (each with its colour bar) as one PNG, atomically: side by side, in rows of at most
    ``HEATMAP_MAX_ROW_PX`` so that a cell's number stays readable at the gallery's width."""
    import matplotlib
    import numpy as np
    from matplotlib.ticker import FuncFormatter

    if not heatmaps:
        raise ValueError("render_heatmaps needs at least one heatmap")
    shapes = [np.shape(h.values) for h in heatmaps]
    widths = [HEATMAP_MARGIN_PX[0] + HEATMAP_CELL_PX[0] * cols for _, cols in shapes]
    rows = heatmap_rows(widths)
    heights = [HEATMAP_MARGIN_PX[1] + HEATMAP_CELL_PX[1] * max(shapes[i][0] for i in row) for row in rows]
    width = max(HEATMAP_MIN_WIDTH_PX, *(sum(widths[i] for i in row) for row in rows))
    with matplotlib.rc_context({"font.size": 8, "axes.titlesize": 9}):
        fig = _new_figure((width, sum(heights)), layout="constrained")
        if title:
            fig.suptitle(title, fontsize=11, fontweight="bold")
        panels = fig.subfigures(len(rows), 1, squeeze=False, height_ratios=heights)[:, 0]
        for panel, row in zip(panels, rows):
            ratios = [widths[i] for i in row]
            if width > sum(ratios):  # a shorter row keeps its matrices' widths: blank space on its right
                ratios.append(width - sum(ratios))
            axes = panel.subplots(1, len(ratios), squeeze=False, width_ratios=ratios)[0]
            for ax in axes[len(row):]:
                ax.set_visible(False)
            for ax, i in zip(axes, row):
                image = draw_heatmap(ax, heatmaps[i])
                bar = panel.colorbar(image, ax=ax, label=heatmaps[i].colorbar, shrink=0.8)
                if heatmaps[i].log_scale:  # plain numbers (20, 30) rather than 2 x 10^1
                    plain = FuncFormatter(lambda v, _: f"{v:g}")
                    bar.ax.yaxis.set_major_formatter(plain)
                    bar.ax.yaxis.set_minor_formatter(plain)
        _save_png(fig, path)


def render_genre_comparison(*, genres: Sequence[str], sources: dict, drums: dict, samples: Sequence[str],
                            figure_path: str | os.PathLike, seconds: float = 30.0) -> None:
    """The render_comparison rule: every genre's sample side by side, grouped by ``sources[genre]["group"]`` in
    order of first appearance."""
    groups: dict[str, list[Panel]] = {}
    for genre, sample in zip(genres, samples):
        src = sources[genre]
        groups.setdefault(src.get("group", "Other"), []).append(
            load_panel(sample, genre, src.get("title", genre), src["tempo"], drums=drums[genre]))
    render_comparison(list(groups.items()), figure_path, seconds=seconds)


BAR_LABEL_CHARS = 11  # render_heldout_bits: genre titles wrapped to lines of this many characters, not rotated


def bar_label(title: str) -> str:
    """A genre's title under its bar: wrapped at spaces to ``BAR_LABEL_CHARS`` a line, never cut by the figure."""
    return textwrap.fill(title, BAR_LABEL_CHARS, break_on_hyphens=False)


PART_COLOURS = {"pitch": "tab:blue", "timing": "tab:orange", "duration": "tab:green", "structure": "0.6"}


def render_heldout_bits(*, summary_path: str | os.PathLike, figure_path: str | os.PathLike) -> None:
    """The render_heldout_parts rule: per genre, its own model's held-out bits per note as a bar stacked by part (pitch,
    timing, duration, structure) with the 95% interval, beside the two floors with their intervals: the n-gram floor
    (a diamond, right of the bar) and the IDyOM-style floor (a square, left of it)."""
    import matplotlib

    rows = read_table(summary_path)
    with matplotlib.rc_context({"font.size": 8}):
        fig = _new_figure((max(700, 70 * len(rows) + 200), 520), layout="constrained")
        ax = fig.subplots()
        x = list(range(len(rows)))
        bottom = [0.0] * len(rows)
        for part, colour in PART_COLOURS.items():
            heights = [number(r.get(f"{part}_bits_per_note")) for r in rows]
            ax.bar(x, heights, 0.6, bottom=bottom, color=colour, label=part)
            bottom = [b + (h if h == h else 0.0) for b, h in zip(bottom, heights)]
        for key, marker, offset, label in (
                ("bits_per_note", "none", 0.0, "Transformer: 95% interval over held-out tune families"),
                ("ngram_bits_per_note", "D", 0.38, "n-gram floor (interpolated Kneser-Ney)"),
                ("ppm_bits_per_note", "s", -0.38, "IDyOM-style floor (PPM*, long- and short-term)")):
            centre = [number(r.get(key)) for r in rows]
            low = [c - number(r.get(f"{key}_low")) for c, r in zip(centre, rows)]
            high = [number(r.get(f"{key}_high")) - c for c, r in zip(centre, rows)]
            ax.errorbar([i + offset for i in x], centre, yerr=[low, high], fmt=marker, color="black", capsize=3,
                        markersize=4, label=label)
        few = [r.get("rank_note") == "too few to rank" for r in rows]
        ax.set_xticks(x, [bar_label(r["title"] + (" *" if f else "")) for r, f in zip(rows, few)])
        if any(few):
            ax.text(0.0, -0.02, "* fewer than 10 held-out tune families: too few to rank", transform=fig.transFigure,
                    fontsize=7, va="bottom")
        ax.set_ylabel("bits per held-out note (own model, mean over seeds)")
        ax.set_title("What each model pays for: bits per note by part, against the two floors")
        ax.legend(fontsize=7)
        _save_png(fig, figure_path)


@dataclass
class ProfilePanel:
    """One genre's self-similarity profile for ``render_structure_profiles``: per set (``heldout``, ``samples``)
    the similarity at each lag with its interval, ``(values, lows, highs)``, and the bars the window holds."""

    title: str
    lags: Sequence[int]
    series: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float]]]
    window: float = math.nan
    subtitle: str = ""


PROFILE_PANEL_PX = (330, 250)  # render_structure_profiles: one genre
PROFILE_STYLES = {"heldout": ("black", "held-out pieces"), "samples": ("tab:red", "samples")}


def _panel_grid(count: int, panel_px: tuple[int, int], title: str, columns: int, **subplots):
    """A figure of ``count`` panels of ``panel_px`` in rows of ``columns`` under ``title``, the unused cells hidden:
    (figure, axes in reading order)."""
    ncols = min(columns, count)
    nrows = math.ceil(count / ncols)
    fig = _new_figure((panel_px[0] * ncols, panel_px[1] * nrows + HEADER_PX), layout="constrained")
    fig.suptitle(title, fontsize=10, fontweight="bold")
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplots).ravel()
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def render_structure_profiles(panels: Sequence[ProfilePanel], path: str | os.PathLike, title: str,
                              columns: int = 4) -> None:
    """One panel per genre: bar similarity against lag (bars) for held-out pieces and samples, each with its 95%
    interval as a band, and a dashed line at the bars the model's context holds; saved as one PNG, atomically."""
    import matplotlib

    if not panels:
        raise ValueError("render_structure_profiles needs at least one genre")
    with matplotlib.rc_context({"font.size": 7, "axes.titlesize": 8}):
        fig, axes = _panel_grid(len(panels), PROFILE_PANEL_PX, title, columns, sharey=True)
        for ax, panel in zip(axes, panels):
            for name, (values, lows, highs) in panel.series.items():
                colour, label = PROFILE_STYLES.get(name, ("tab:blue", name))
                ax.plot(panel.lags, values, color=colour, marker="o", markersize=2.5, label=label)
                ax.fill_between(panel.lags, lows, highs, color=colour, alpha=0.15, linewidth=0)
            if panel.window == panel.window:
                ax.axvline(panel.window, color="tab:blue", linestyle="--", linewidth=1,
                           label=f"context: {panel.window:.1f} bars")
            ax.set_title(f"{panel.title}\n{panel.subtitle}" if panel.subtitle else panel.title)
            ax.set_xlim(0.5, max(panel.lags, default=1) + 0.5)
            ax.set_ylim(0.0, 1.0)
            ax.set_xlabel("lag (bars)")
            ax.set_ylabel("bar similarity")
            ax.legend(fontsize=6, loc="upper right")
        _save_png(fig, path)


@dataclass
class CurvePanel:
    """One genre's learning curve for ``render_learning_curves``: its point rows (``training_notes`` and, per scorer
    ``model``, ``ngram``, ``ppm``, ``<scorer>_bits_per_note`` with ``_low``/``_high``) and its fitted curves by scorer
    (anything with ``fit.predict(notes)``; none where fewer than three sizes were measured)."""

    title: str
    points: Sequence[dict]
    fits: dict = field(default_factory=dict)


CURVE_PANEL_PX = (330, 260)  # render_learning_curves: one genre
CURVE_STYLES = {"model": ("black", "o", "Transformer"), "ngram": ("tab:orange", "D", "n-gram floor"),
                "ppm": ("tab:blue", "s", "IDyOM-style floor")}


def render_learning_curves(panels: Sequence[CurvePanel], path: str | os.PathLike, columns: int = 4) -> None:
    """One log-log panel per genre: held-out bits per note against training notes for the Transformer and both
    floors, each point with its 95% interval over tune families and the fitted a * D^-alpha + c as a line;
    saved as one PNG, atomically."""
    import matplotlib
    import numpy as np

    if not panels:
        raise ValueError("render_learning_curves needs at least one genre")
    with matplotlib.rc_context({"font.size": 7, "axes.titlesize": 8}):
        fig, axes = _panel_grid(len(panels), CURVE_PANEL_PX, "Learning curves: held-out bits per note against training "
                                "notes (95% intervals over tune families; lines: a * D^-alpha + c)", columns)
        for ax, panel in zip(axes, panels):
            notes = [float(p["training_notes"]) for p in panel.points]
            for scorer, (colour, marker, label) in CURVE_STYLES.items():
                centre = [float(p[f"{scorer}_bits_per_note"]) for p in panel.points]
                low = [c - float(p[f"{scorer}_bits_per_note_low"]) for c, p in zip(centre, panel.points)]
                high = [float(p[f"{scorer}_bits_per_note_high"]) - c for c, p in zip(centre, panel.points)]
                ax.errorbar(notes, centre, yerr=[low, high], fmt=marker, color=colour, markersize=3, capsize=2,
                            label=label, linestyle="none")
                if scorer in panel.fits:
                    grid = np.geomspace(min(notes), max(notes), 100)
                    ax.plot(grid, panel.fits[scorer].fit.predict(grid), color=colour, linewidth=1,
                            linestyle="-" if scorer == "model" else "--")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(panel.title)
            ax.set_xlabel("training notes")
            ax.set_ylabel("bits per held-out note")
            ax.legend(fontsize=6, loc="upper right")
        _save_png(fig, path)
