"""The plain **kern reader gives exactly music21's notes, and hands everything else to music21."""

from __future__ import annotations

import pytest

pytest.importorskip("music21")

from music21 import converter  # noqa: E402

from midi_genres.core.notes import Note  # noqa: E402
from midi_genres.sources import music21_corpus as corpus  # noqa: E402
from midi_genres.sources.kern import UnsupportedKern, read_kern, read_kern_file  # noqa: E402
from midi_genres.sources.midi_folder import Piece  # noqa: E402


def _music21_notes(text: str) -> list[Note]:
    return corpus.notes_from_score(converter.parseData(text, format="humdrum"))


def _kern(*rows: str, spines: int = 2) -> str:
    head = "!!!COM: test\n" + "\t".join(["**kern"] * spines) + "\n"
    return head + "".join(row + "\n" for row in rows) + "\t".join(["*-"] * spines) + "\n"


PLAIN = {
    "ties_over_barlines": _kern("*M4/4\t*M4/4", "=1\t=1", "2c\t[1C", "[2e\t.", "=2\t=2", "4e]\t1C]",
                                "[4g\t.", "2g_\t.", "=3\t=3", "1g]\t1r"),
    "breve_longa_dots": _kern("0c\t00.C", "0.d\t.", "1r\t.", "2.e\t.", "4..f\t.", "16g\t.", "0r\t0r"),
    "accidentals_and_octaves": _kern("*k[b-]\t*k[f#]", "*clefG2\t*clefF4", "4cc#\t4CC-", "4ccc##\t4CCC--",
                                     "4bn\t4B-", "4b#\t4c-", "4ddd\t4AAA"),
    "triplets_and_quintuplets": _kern("3c\t2C", "3d\t.", "3e\t2D", "6f\t.", "6g\t.", "20a\t.", "20b\t.",
                                      "20cc\t.", "20dd\t.", "20ee\t."),
    "comments_and_meta": _kern("!! a global comment", "*Icant\t*Ibass", "*MM80\t*MM80", "*G:mix\t*G:mix",
                               "!cantus\t!bassus", "*met(C|)\t*met(C|)", "4c\t4C", "=\t=", "==\t==",
                               "!!!END: reference record"),
    "rest_with_tie_and_one_spine": _kern("[1r", "1r]", "[2c", "2c_", "2c]", spines=1),
}

UNSUPPORTED = {
    "spine_split": _kern("4c\t4C", "*^\t*", "4d\t4e\t4D", "*v\t*v\t*"),
    "chord": _kern("4c 4e\t4C"),
    "grace_note": _kern("8cq\t4C", "4d\t."),
    "dotted_tuplet": _kern("6.c\t4C"),
    "transposing_instrument": _kern("*ITrd-1c-2\t*", "4c\t4C"),
    "section_expansion": _kern("*>A\t*>A", "4c\t4C"),
    "other_spine_type": "**kern\t**dynam\n4c\tf\n*-\t*-\n",
    "slur_and_beam_marks": _kern("(8cL\t4C", "8d)J\t."),
    "field_count": _kern("4c\t4C", "4d"),
    "unended": "**kern\n4c\n",
    "two_pieces": _kern("4c\t4C") + _kern("4d\t4D"),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_documents_give_music21s_notes(name):
    notes = read_kern(PLAIN[name])
    assert notes and notes == _music21_notes(PLAIN[name])


def test_ties_are_merged_and_times_are_exact():
    notes = read_kern(PLAIN["ties_over_barlines"])
    # upper: c half, e half tied to a quarter, g quarter tied on (continue) to a half and a whole (steps of a 16th)
    assert Note(60, 0, 8) in notes and Note(64, 8, 20) in notes and Note(67, 20, 48) in notes
    assert Note(48, 0, 32) in notes  # the lower whole tied over the barline to another whole
    triplets = read_kern(PLAIN["triplets_and_quintuplets"])
    assert [n.start for n in triplets if n.pitch in (60, 62, 64)] == [0, 5, 11]  # 0, 4/3, 8/3 quarters


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_anything_else_is_refused_and_music21_reads_the_file(name, tmp_path, monkeypatch):
    with pytest.raises(UnsupportedKern):
        read_kern(UNSUPPORTED[name])
    path = tmp_path / f"{name}.krn"
    path.write_text(UNSUPPORTED[name])
    items = corpus.extract_file(path, f"x/{name}.krn")
    assert items  # pieces, or a Skipped with music21's reason
    monkeypatch.setattr(corpus, "_plain_kern_notes", lambda path: None)  # music21 only, as before the reader
    assert corpus.extract_file(path, f"x/{name}.krn") == items


def test_palestrina_files_give_music21s_notes():
    files, _ = corpus.list_corpus_files("palestrina")
    for path in files[::100]:  # 14 of 1,318 files (every file was compared once: docs/performance.md)
        assert read_kern_file(path) == _music21_notes(path.read_text(encoding="utf-8")), path.name


def test_palestrina_extraction_does_not_use_music21s_parser(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("music21's parser was called")

    monkeypatch.setattr(converter, "parse", parse)
    items = list(corpus.extract_collection("palestrina", max_pieces=3))
    assert [type(item) for item in items] == [Piece] * 3 and all(item.notes for item in items)
