import random

import matplotlib.image
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from midi_genres.core.midi import write_midi
from midi_genres.core.notes import Note
from midi_genres.present.plots import (
    DRUM_COLOR,
    PITCHED_COLOR,
    Panel,
    draw_pianoroll,
    load_panel,
    render_comparison,
    render_pianoroll,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def new_axes():
    fig = Figure()
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def bar_extents(bars):
    """(x0, x1, y0, y1) of every bar in a PolyCollection."""
    verts = np.array([p.vertices[:4] for p in bars.get_paths()])
    return verts[:, :, 0].min(1), verts[:, :, 0].max(1), verts[:, :, 1].min(1), verts[:, :, 1].max(1)


def assert_png(path, width, height):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert matplotlib.image.imread(path).shape[:2] == (height, width)


def assert_no_temp_files(directory, expected):
    assert sorted(p.name for p in directory.iterdir()) == sorted(expected)


def scale(n, pitches=(60, 64, 67, 72)):
    return [Note(pitches[i % len(pitches)], 2 * i, 2 * i + 2) for i in range(n)]


def test_render_pianoroll_writes_a_png_of_the_figure_size_and_nothing_else(tmp_path):
    out = tmp_path / "bach.png"
    render_pianoroll(scale(40), out, 120, "Bach: sample")
    assert_png(out, 1000, 400)
    render_pianoroll(scale(10), out, 90, "Bach: again", drums=True)  # overwrite in place
    assert_png(out, 1000, 400)
    assert_no_temp_files(tmp_path, ["bach.png"])


def test_empty_piece_renders_with_a_no_notes_message(tmp_path):
    out = tmp_path / "empty.png"
    render_pianoroll([], out, 120, "empty")
    assert_png(out, 1000, 400)
    ax = new_axes()
    assert draw_pianoroll(ax, [], 120) is None
    assert [t.get_text() for t in ax.texts] == ["no notes"]
    lo, hi = ax.get_ylim()
    assert lo < 60 < hi and ax.get_xlim() == (0.0, 30.0)


def test_notes_past_the_window_are_cut_or_left_out():
    # 120 bpm: one 16th is 0.125 s, so 2 s is 16 steps
    notes = [Note(60, 0, 4), Note(62, 10, 30), Note(90, 16, 20), Note(20, 40, 48)]
    ax = new_axes()
    bars = draw_pianoroll(ax, notes, 120, seconds=2.0)
    x0, x1, _, _ = bar_extents(bars)
    assert len(x0) == 2 and len(ax.collections) == 1
    assert x1.max() == pytest.approx(2.0)
    assert sorted(x0) == pytest.approx([0.0, 1.25]) and sorted(x1) == pytest.approx([0.5, 2.0])
    assert ax.get_xlim() == (0.0, 2.0)
    lo, hi = ax.get_ylim()  # fitted to what is shown (60, 62), not to the cut-off 90 and 20
    assert lo < 60 and 62 < hi < 90 and lo > 20


def test_only_notes_after_the_window_gives_a_message_not_bars():
    ax = new_axes()
    assert draw_pianoroll(ax, [Note(60, 400, 404)], 120, seconds=2.0) is None
    assert ax.texts[0].get_text() == "no notes in the first 2 s"


def test_y_limits_fit_the_pitch_range_with_a_small_margin():
    ax = new_axes()
    bars = draw_pianoroll(ax, [Note(30, 0, 4), Note(100, 4, 8), Note(65, 8, 9)], 100)
    lo, hi = ax.get_ylim()
    _, _, y0, y1 = bar_extents(bars)
    assert lo < y0.min() < 30 and 100 < y1.max() < hi
    assert hi - lo <= (100 - 30) + 8
    ax = new_axes()
    draw_pianoroll(ax, [Note(60, 0, 4)], 100)  # one pitch: still a readable range around it
    lo, hi = ax.get_ylim()
    assert lo < 60 < hi and 12 <= hi - lo <= 20


def test_labels_title_and_drum_colour():
    ax = new_axes()
    bars = draw_pianoroll(ax, scale(4), 120, title="Bach")
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("time (s)", "MIDI pitch", "Bach")
    assert tuple(bars.get_facecolor()[0]) == to_rgba(PITCHED_COLOR)
    ax = new_axes()
    drums = draw_pianoroll(ax, [Note(36, 0, 1), Note(42, 2, 3)], 120, drums=True)
    assert ax.get_ylabel() == "GM drum pitch"
    assert tuple(drums.get_facecolor()[0]) == to_rgba(DRUM_COLOR) != to_rgba(PITCHED_COLOR)


def test_thousands_of_notes_are_one_collection(tmp_path):
    rng = random.Random(0)
    notes = [Note(rng.randint(30, 90), s, s + rng.randint(1, 8)) for s in range(5000)]
    ax = new_axes()
    bars = draw_pianoroll(ax, notes, 600, seconds=30.0)  # 600 bpm: 40 steps/s, 1200 steps shown
    assert len(ax.collections) == 1 and not ax.patches
    assert len(bars.get_paths()) == sum(n.start < 1200 for n in notes)
    render_pianoroll(notes, tmp_path / "dense.png", 600, "dense")
    assert_png(tmp_path / "dense.png", 1000, 400)


def test_bad_tempo_or_window_is_refused(tmp_path):
    with pytest.raises(ValueError, match="tempo_bpm"):
        render_pianoroll(scale(3), tmp_path / "x.png", 0, "x")
    with pytest.raises(ValueError, match="seconds"):
        draw_pianoroll(new_axes(), scale(3), 120, seconds=float("nan"))
    assert_no_temp_files(tmp_path, [])


def panel(genre, drums=False, notes=None):
    return Panel(genre=genre, title=genre.title(), notes=scale(30) if notes is None else notes, tempo_bpm=110,
                 drums=drums)


def test_comparison_with_uneven_groups_hides_the_unused_axes(tmp_path):
    out = tmp_path / "comparison.png"
    groups = [("Early", [panel("trecento"), panel("palestrina"), panel("monteverdi", notes=[])]),
              ("Late", [panel("rap", drums=True)])]
    layout = render_comparison(groups, out, seconds=10.0)
    assert (layout.nrows, layout.ncols, layout.visible, layout.hidden) == (2, 3, 4, 2)
    assert layout.group_titles == ["Early", "Late"]
    assert layout.panel_titles == [["Trecento", "Palestrina", "Monteverdi"], ["Rap"]]
    assert_png(out, *layout.size_px)
    assert_no_temp_files(tmp_path, ["comparison.png"])


def test_comparison_of_the_default_twelve_genres(tmp_path):
    groups = [("Pre-baroque polyphony", ["trecento", "palestrina", "monteverdi"]),
              ("Tonal classical / folk", ["bach", "beethoven", "essenFolksong"]),
              ("Pre-modern dance + atonal control", ["ryansMammoth", "atonal"]),
              ("Modern popular", ["metal", "rock", "pop", "rap"])]
    panels = [(name, [panel(g, drums=g == "rap") for g in genres]) for name, genres in groups]
    panels[0][1][0].subtitle = "loss 1.23"
    out = tmp_path / "results" / "comparison.png"
    layout = render_comparison(panels, out)
    assert (layout.nrows, layout.ncols, layout.visible, layout.hidden) == (4, 4, 12, 4)
    assert [len(row) for row in layout.panel_titles] == [3, 3, 2, 4]
    assert layout.panel_titles[0][0] == "Trecento\nloss 1.23"
    assert_png(out, *layout.size_px)
    assert_no_temp_files(out.parent, ["comparison.png"])


def test_comparison_of_one_panel_and_of_nothing(tmp_path):
    layout = render_comparison([("Only", [panel("bach")])], tmp_path / "one.png", title="one")
    assert (layout.nrows, layout.ncols, layout.visible, layout.hidden) == (1, 1, 1, 0)
    assert_png(tmp_path / "one.png", *layout.size_px)
    with pytest.raises(ValueError, match="at least one panel"):
        render_comparison([("Empty", [])], tmp_path / "none.png")
    assert_no_temp_files(tmp_path, ["one.png"])


def test_load_panel_reads_the_midi_file(tmp_path):
    notes = scale(12)
    write_midi(tmp_path / "s.mid", notes, 100, drums=True)
    p = load_panel(tmp_path / "s.mid", "rap", "Rap", 100, drums=True, subtitle="sample")
    assert p == Panel("rap", "Rap", notes, 100, drums=True, subtitle="sample")
