"""music21 built-in corpora -> canonical notes (real corpora, no mocks)."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

pytest.importorskip("music21")

from music21 import chord, meter, note, stream, tie  # noqa: E402

from midi_genres.core.notes import Note, normalize  # noqa: E402
from midi_genres.sources import music21_corpus as corpus  # noqa: E402
from midi_genres.sources.midi_folder import Piece, Skipped  # noqa: E402

ROOT = corpus._corpus_root()


def _file(rel: str) -> list[Piece | Skipped]:
    return corpus.extract_file(ROOT / rel, rel)


def _n(pitch_name: str, quarters: float, tie_type: str | None = None) -> note.Note:
    n = note.Note(pitch_name, quarterLength=quarters)
    if tie_type:
        n.tie = tie.Tie(tie_type)
    return n


def _canonical(notes: list[Note]) -> None:
    assert notes, "no notes"
    assert normalize(notes) == notes
    for n in notes:
        assert all(type(v) is int for v in n)
        assert 0 <= n.pitch <= 127 and 0 <= n.start < n.end


# ---------------------------------------------------------------------------------------------------------
# scores -> notes


def test_bach_chorale_has_all_four_parts():
    from music21 import converter

    [piece] = _file("bach/bwv66.6.mxl")
    assert isinstance(piece, Piece) and piece.piece_id == "bach/bwv66.6" and piece.source == "bach/bwv66.6.mxl"
    _canonical(piece.notes)
    assert all(36 <= n.pitch <= 84 for n in piece.notes)
    onsets = {(n.pitch, n.start) for n in piece.notes}
    score = converter.parse(ROOT / "bach/bwv66.6.mxl", forceSource=True)
    assert len(score.parts) == 4
    lowest, union = [], set()
    for part in score.parts:
        part_notes = corpus.notes_from_score(part)
        assert len(part_notes) > 20
        union |= {(n.pitch, n.start) for n in part_notes}
        lowest.append(min(n.pitch for n in part_notes))
    assert onsets == union  # the piece is exactly its four parts' notes
    assert lowest == sorted(lowest, reverse=True)  # soprano above alto above tenor above bass


def test_ties_chords_triplets_grace_notes_and_measure_offsets():
    part = stream.Part()
    m0 = stream.Measure(number=0)  # a one-beat pickup
    m0.append(_n("G3", 1))
    m1 = stream.Measure(number=1)
    m1.insert(0, meter.TimeSignature("4/4"))
    m1.append(_n("C4", 2))
    m1.append(_n("C4", 2, "start"))  # tied across the barline ...
    m2 = stream.Measure(number=2)
    m2.append(_n("C4", 1, "stop"))  # ... into this note: one C4 of 3 quarters
    m2.append(chord.Chord(["E4", "G4"], quarterLength=1))
    grace = _n("B4", 1).getGrace()
    m2.append(grace)
    for name in ("D4", "E4", "F4"):  # an eighth-note triplet
        m2.append(_n(name, Fraction(1, 3)))
    m2.append(note.Rest(quarterLength=1))
    m3 = stream.Measure(number=3)
    m3.append(_n("A4", 1, "start"))
    m3.append(_n("A4", 1, "continue"))
    m3.append(_n("A4", 2, "stop"))
    for m in (m0, m1, m2, m3):
        part.append(m)  # measures follow each other: m1 starts after the pickup
    bass = stream.Part()
    bass.append(chord.Chord(["C3", "E3"], quarterLength=4))
    bass.append(chord.Chord(["C3", "E3"], quarterLength=4))
    bass.notes[0].tie = tie.Tie("start")
    bass.notes[1].tie = tie.Tie("stop")
    score = stream.Score([part, bass])

    got = corpus.notes_from_score(score)
    assert got == normalize(got)
    assert got == sorted([
        Note(55, 0, 4),  # pickup G3
        Note(60, 4, 12),  # C4 half
        Note(60, 12, 24),  # C4 half tied to a quarter over the barline
        Note(64, 24, 28), Note(67, 24, 28),  # the chord's two pitches
        Note(62, 28, 29), Note(64, 29, 31), Note(65, 31, 32),  # triplet 28, 29.33, 30.67 -> 16ths
        Note(69, 36, 52),  # start/continue/stop chain
        Note(48, 0, 32), Note(52, 0, 32),  # a tied chord in the second part
    ], key=lambda n: (n.start, n.pitch, n.end))


def test_only_the_tied_pitches_of_a_chord_are_merged():
    part = stream.Part()
    first = chord.Chord(["C4", "E4"], quarterLength=2)
    first.notes[0].tie = tie.Tie("start")  # only the C4 is held over
    second = chord.Chord(["C4", "G4"], quarterLength=2)
    second.notes[0].tie = tie.Tie("stop")
    part.append([first, second])
    assert corpus.notes_from_score(part) == [Note(60, 0, 16), Note(64, 0, 8), Note(67, 8, 16)]


def test_tie_without_continuation_and_percussion_are_handled():
    part = stream.Part()
    part.append(_n("C4", 1, "start"))  # tie start but the next C4 does not follow directly
    part.append(note.Rest(quarterLength=1))
    part.append(_n("C4", 1))
    part.append(note.Unpitched(quarterLength=1))
    assert corpus.notes_from_score(part) == [Note(60, 0, 4), Note(60, 8, 12)]


# ---------------------------------------------------------------------------------------------------------
# collections -> files


def test_unknown_collection_is_a_clear_error():
    with pytest.raises(ValueError, match="mozart.*bach.*essenFolksong"):
        corpus.list_corpus_files("mozart")
    with pytest.raises(ValueError, match="mozart"):
        next(corpus.extract_collection("mozart"))


def test_duplicate_formats_are_kept_once_and_analyses_skipped():
    files, skipped = corpus.list_corpus_files("beethoven")
    rels = [p.relative_to(ROOT).as_posix() for p in files]
    assert rels == sorted(rels) and len(rels) == len(set(rels))
    for k in range(1, 5):
        copies = [r for r in rels if r.startswith(f"beethoven/opus18no1/movement{k}.")]
        assert copies == [f"beethoven/opus18no1/movement{k}.mxl"]
        [dup] = [s for s in skipped if s.source == f"beethoven/opus18no1/movement{k}.krn"]
        assert dup.reason == f"duplicate of beethoven/opus18no1/movement{k}.mxl"

    files, skipped = corpus.list_corpus_files("bach")
    assert not [p for p in files if p.suffix == ".rntxt"]
    analyses = [s for s in skipped if s.source.endswith(".rntxt")]
    assert analyses and all("rntxt" in s.reason for s in analyses)
    assert "bach/bwv277.mxl" in {p.relative_to(ROOT).as_posix() for p in files}
    assert "bach/bwv277.krn" in {s.source for s in skipped}


# ---------------------------------------------------------------------------------------------------------
# files -> pieces


def test_multi_tune_abc_file_becomes_one_piece_per_tune():
    items = _file("essenFolksong/teste.abc")
    assert len(items) == 8 and all(isinstance(p, Piece) for p in items)
    ids = [p.piece_id for p in items]
    assert ids[:2] == ["essenFolksong/teste#1", "essenFolksong/teste#2"]
    assert len(set(ids)) == len(ids)
    assert all(p.source == "essenFolksong/teste.abc" for p in items)
    for p in items:
        _canonical(p.notes)
    assert items[0].notes != items[1].notes


def test_max_pieces_stops_early():
    t0 = time.perf_counter()
    items = list(corpus.extract_collection("essenFolksong", max_pieces=3))
    assert time.perf_counter() - t0 < 20  # only the first file (altdeu10.abc) is parsed
    assert [type(x) for x in items] == [Piece] * 3
    assert [x.piece_id for x in items] == ["essenFolksong/altdeu10#1", "essenFolksong/altdeu10#2",
                                           "essenFolksong/altdeu10#3"]


def test_broken_files_are_skipped_not_raised(tmp_path):
    cases = {
        "garbage.krn": "garbage \x00\x01 this is not humdrum\n",
        "garbage.abc": "\x00\x01garbage",
        "bad_length.abc": "X:1\nT:t\nM:4/4\nL:1/0\nK:C\nC D E F|\n",
        "truncated.xml": "<score-partwise><part id='P1'><measure>",
        "not_a_zip.mxl": "not a zip",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        [item] = corpus.extract_file(tmp_path / name, f"broken/{name}")
        assert isinstance(item, Skipped), name
        assert item.source == f"broken/{name}" and item.piece_id == f"broken/{name.rsplit('.', 1)[0]}"
        assert item.reason and ":" in item.reason  # "<ExceptionType>: <message>"
    [missing] = corpus.extract_file(tmp_path / "missing.krn", "broken/missing.krn")
    assert isinstance(missing, Skipped)


def test_a_broken_tune_does_not_take_its_file_with_it(tmp_path):
    tune = "X:{n}\nT:tune {n}\nM:{meter}\nL:1/8\nK:G\nGABc dedB|dedB dedB|\n\n"
    meters = ((1, "4/4"), (2, "0/4"), (3, "2/4"))  # tune 2's metre is broken
    text = "%abc-2.1\nO:header\n\n" + "".join(tune.format(n=n, meter=m) for n, m in meters)
    (tmp_path / "three.abc").write_text(text)
    items = corpus.extract_file(tmp_path / "three.abc", "x/three.abc")
    assert [(type(x), x.piece_id) for x in items] == [
        (Piece, "x/three#1"), (Skipped, "x/three#2"), (Piece, "x/three#3")]
    assert "MeterException" in items[1].reason
    assert items[0].notes == items[2].notes and len(items[0].notes) == 16


def test_ryans_mammoth_tune_file():
    items = list(corpus.extract_collection("ryansMammoth", max_pieces=2))
    assert [type(x) for x in items] == [Piece, Piece]
    assert items[0].piece_id == "ryansMammoth/42dHighlandRegimentStrathspey"
    for p in items:
        _canonical(p.notes)


def test_two_workers_give_the_same_output_as_one():
    one = list(corpus.extract_collection("bach", max_pieces=5, workers=1))
    two = list(corpus.extract_collection("bach", max_pieces=5, workers=2))
    assert len([x for x in one if isinstance(x, Piece)]) == 5
    assert one == two


def test_pool_parsing_biggest_files_first_keeps_path_order():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    files, _ = corpus.list_corpus_files("monteverdi")
    rels = [p.relative_to(ROOT).as_posix() for p in files[:4]]
    tasks = [(i, str(ROOT / rel), rel, None) for i, rel in enumerate(rels)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(corpus._default_start_method())) as pool:
        pooled = list(corpus._pooled_results(pool, tasks, largest_first=True))
    assert pooled == [corpus.extract_file(ROOT / rel, rel) for rel in rels]
