import math

import matplotlib.image
import numpy as np
import pytest

from midi_genres.analysis import features as M
from midi_genres.core.notes import Note
from midi_genres.core.tables import read_table
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer()
C_MAJOR = [Note(p, 4 * i, 4 * i + 4) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71])]  # 7 quarter notes
CHROMATIC = [Note(60 + i, 2 * i, 2 * i + 2) for i in range(12)]
CHORD = [Note(p, 0, 8) for p in (48, 52, 55, 60)]  # a 4-voice chord, one half note


def bar(offset, pitches=(60, 62, 64, 65)):
    """One 4/4 bar of quarter notes starting at step ``offset``."""
    return [Note(p, offset + 4 * i, offset + 4 * i + 4) for i, p in enumerate(pitches)]


def test_c_major_scale():
    assert M.pitch_range(C_MAJOR) == 11
    assert M.pitch_classes_used(C_MAJOR) == 7
    assert M.pitch_class_entropy(C_MAJOR) == pytest.approx(math.log2(7))
    assert M.scale_consistency(C_MAJOR) == 1.0
    assert M.polyphony(C_MAJOR) == 1.0
    assert M.note_density(C_MAJOR) == 1.0  # 7 notes in 7 beats
    assert M.empty_beat_rate(C_MAJOR) == 0.0
    hist = M.interval_histogram(C_MAJOR)  # steps C-D-E-F-G-A-B: five whole tones, one semitone
    assert hist[2] == pytest.approx(5 / 6) and hist[1] == pytest.approx(1 / 6) and hist.sum() == pytest.approx(1)
    np.testing.assert_allclose(M.ioi_histogram(C_MAJOR), np.eye(M.MAX_IOI + 1)[3])  # every gap is 4 steps
    np.testing.assert_allclose(M.pitch_class_histogram(C_MAJOR)[[0, 2, 4, 5, 7, 9, 11]], 1 / 7)


def test_chromatic_and_single_pitch_class_extremes():
    assert M.pitch_class_entropy(CHROMATIC) == pytest.approx(math.log2(12))
    assert M.pitch_classes_used(CHROMATIC) == 12
    assert M.scale_consistency(CHROMATIC) == pytest.approx(7 / 12)
    octaves = [Note(36 + 12 * i, i, i + 1) for i in range(4)]
    assert M.pitch_class_entropy(octaves) == 0.0 and M.scale_consistency(octaves) == 1.0
    assert M.pitch_range(octaves) == 36
    assert M.interval_histogram(octaves)[M.MAX_INTERVAL] == 1.0  # octave leaps land in the last bin


def test_a_minor_melody_fits_its_relative_major_scale():
    a_minor = [Note(p, i, i + 1) for i, p in enumerate([57, 59, 60, 62, 64, 65, 67, 69])]
    assert M.scale_consistency(a_minor) == 1.0
    harmonic = a_minor[:6] + [Note(68, 6, 7)]  # G# leaves every major / natural minor scale
    assert M.scale_consistency(harmonic) == pytest.approx(6 / 7)


def test_chord_polyphony_and_undefined_sequence_features():
    assert M.polyphony(CHORD) == 4.0
    assert M.pitch_range(CHORD) == 12
    assert M.note_density(CHORD) == 2.0  # 4 notes in 2 beats
    assert M.interval_histogram(CHORD) is None and M.ioi_histogram(CHORD) is None  # one onset only
    assert math.isnan(M.groove_consistency(CHORD))  # one bar


def test_polyphony_counts_only_sounding_steps():
    overlap = [Note(60, 0, 4), Note(64, 2, 6), Note(67, 10, 12)]  # 1,1,2,2,1,1 then silence, then 1,1
    assert M.polyphony(overlap) == pytest.approx(10 / 8)


def test_empty_beat_rate_of_a_piece_with_a_rest_bar():
    piece = bar(0) + bar(32) + bar(48)  # bar 1 (steps 16-31) is silent: 4 of 16 beats
    assert M.empty_beat_rate(piece) == 0.25
    short = [Note(60, 0, 1), Note(60, 12, 13)]  # beats 0 and 3 hold a note, 1 and 2 are empty
    assert M.empty_beat_rate(short) == 0.5


def test_groove_consistency():
    assert M.groove_consistency(bar(0) + bar(16, (67, 65, 64, 62)) + bar(32)) == 1.0  # same rhythm, other pitches
    eighths = [Note(60, 16 + 2 * i, 18 + 2 * i) for i in range(8)]  # adds 4 onsets on the off-beats
    assert M.groove_consistency(bar(0) + eighths) == pytest.approx(1 - 4 / 16)


def test_skyline_intervals_and_inter_onset_intervals():
    piece = CHORD + [Note(62, 8, 9), Note(74, 8, 9), Note(71, 9, 10), Note(60, 26, 27)]
    # highest notes per onset: 60, 74, 71, 60 -> |14| (>= 12), 3, 11
    hist = M.interval_histogram(piece)
    assert hist[M.MAX_INTERVAL] == pytest.approx(1 / 3) and hist[3] == pytest.approx(1 / 3)
    assert hist[11] == pytest.approx(1 / 3)
    ioi = M.ioi_histogram(piece)  # gaps 8, 1, 17 (> 16)
    assert ioi[7] == ioi[0] == ioi[M.MAX_IOI] == pytest.approx(1 / 3)


def test_empty_piece_gives_undefined_values():
    for feature in M.FEATURES:
        value = feature.compute([])
        assert value is None or math.isnan(value), feature.name


def test_overlap_and_kl_of_identical_shifted_and_disjoint_distances():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 20000)
    assert M.overlap_and_kl(a, a.copy()) == pytest.approx((1.0, 0.0), abs=1e-9)
    overlap, kl = M.overlap_and_kl(a, rng.normal(1, 1, 20000))  # unit Gaussians one apart: 2 Phi(-1/2), 1/2
    assert overlap == pytest.approx(2 * 0.3085, abs=0.03) and kl == pytest.approx(0.5, abs=0.05)
    overlap, kl = M.overlap_and_kl(a, rng.normal(50, 1, 100))
    assert overlap < 1e-6 and kl > 10
    assert M.overlap_and_kl(np.zeros(5), np.zeros(3)) == pytest.approx((1.0, 0.0))  # degenerate: floor bandwidth
    assert all(math.isnan(v) for v in M.overlap_and_kl(np.zeros(0), a))


def test_intra_and_inter_set_distances():
    x, y = np.array([[0.0], [3.0], [4.0]]), np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(np.sort(M.intra_set_distances(x)), [1, 3, 4])
    np.testing.assert_allclose(M.inter_set_distances(y, y), [0, 5, 5, 0])


def test_compare_sets_like_corpus_scores_high_and_drum_genres_skip_tonal_features():
    corpus = [C_MAJOR, bar(0) + bar(16), [Note(p, 2 * i, 2 * i + 2) for i, p in enumerate((60, 64, 67, 72))]]
    corpus = [[Note(n.pitch + k, n.start, n.end) for n in piece] for k in range(0, 10, 2) for piece in corpus]
    alike = {r["feature"]: r for r in M.compare_sets("g", corpus, corpus[:6], drums=False)}
    unlike = {r["feature"]: r for r in M.compare_sets("g", corpus, [CHROMATIC, CHROMATIC[::2]], drums=False)}
    assert list(alike) == [f.name for f in M.FEATURES]
    assert alike["scale_consistency"]["corpus_mean"] == 1.0
    assert alike["pitch_class_entropy"]["overlap"] > unlike["pitch_class_entropy"]["overlap"]
    assert alike["pitch_class_histogram"]["corpus_mean"] == "NA"  # no single mean for a histogram
    drums = {r["feature"]: r for r in M.compare_sets("rap", corpus, corpus[:6], drums=True)}
    for feature in M.FEATURES:
        row = drums[feature.name]
        assert (row["applies"] == "no") == feature.tonal
        assert (row["overlap"] == "NA") == feature.tonal, feature.name


def test_evenly_spaced_is_deterministic_and_capped():
    assert M.evenly_spaced(list(range(10)), 20) == list(range(10))
    assert M.evenly_spaced(list(range(100)), 5) == [0, 25, 50, 74, 99]


def test_musical_metrics_and_aggregate_write_tables_and_figure(tmp_path):
    corpus = [C_MAJOR, CHORD, bar(0) + bar(16), CHROMATIC]
    np.save(tmp_path / "train.npy", np.concatenate([TOK.encode(p) for p in corpus]))
    np.save(tmp_path / "samples.npy", np.concatenate([TOK.encode(p) for p in corpus[:2]]))
    for genre, drums in (("pop", False), ("rap", True)):
        M.musical_metrics(genre=genre, train_path=tmp_path / "train.npy", samples_path=tmp_path / "samples.npy",
                          drums=drums, corpus_pieces=3, table_path=tmp_path / f"{genre}.tsv")
    rows = read_table(tmp_path / "pop.tsv")
    assert [r["feature"] for r in rows] == [f.name for f in M.FEATURES]
    assert all(r["corpus_pieces"] in ("2", "3") for r in rows)  # capped at 3 pieces, undefined ones left out
    M.aggregate_metrics(genres=["pop", "rap"], titles={"pop": "Pop"},
                        table_paths=[tmp_path / "pop.tsv", tmp_path / "rap.tsv"],
                        table_path=tmp_path / "metrics.tsv", figure_path=tmp_path / "metrics.png")
    assert len(read_table(tmp_path / "metrics.tsv")) == 2 * len(M.FEATURES)
    assert 800 < matplotlib.image.imread(tmp_path / "metrics.png").shape[1] <= 1300  # readable at the page's width
