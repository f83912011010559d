"""Tune families (melodic signatures + corpus metadata) and the family-level validation split."""

from __future__ import annotations

import hashlib

import pytest

from midi_genres.core.notes import Note, normalize
from midi_genres.sources.families import (
    SIGNATURE_LENGTH,
    melodic_signature,
    metadata_work,
    top_line,
    tune_families,
    validation_families,
)

# A folk-like tune: (pitch, duration in 16ths); 16 notes, so it has a signature.
TUNE = [(67, 2), (72, 4), (72, 2), (74, 2), (76, 4), (76, 4), (74, 2), (72, 2), (74, 4), (67, 4),
        (72, 4), (72, 2), (74, 2), (76, 4), (79, 4), (77, 8)]
OTHER = [(60, 4), (62, 4), (64, 4), (65, 4), (67, 8), (67, 8), (69, 4), (69, 4), (69, 4), (69, 4), (67, 16),
         (65, 4), (65, 4), (65, 4), (65, 4), (64, 8)]


def melody(spec, transpose: int = 0, scale: int = 1, offset: int = 0) -> list[Note]:
    out, t = [], offset
    for pitch, dur in spec:
        out.append(Note(pitch + transpose, t, t + dur * scale))
        t += dur * scale
    return out


def with_bass(notes: list[Note]) -> list[Note]:
    """The melody over a lower voice with its own rhythm (whole notes plus an extra moving line)."""
    bass = [Note(48, t, t + 16) for t in range(0, max(n.end for n in notes), 16)]
    inner = [Note(55, t + 1, t + 2) for t in range(0, max(n.end for n in notes), 8)]
    return normalize(notes + bass + inner)


# ---------------------------------------------------------------------------------------------------------
# signatures


def test_top_line_takes_the_highest_onset_and_skips_onsets_under_a_held_top_note():
    notes = normalize([Note(72, 0, 8), Note(60, 0, 4), Note(62, 4, 8), Note(74, 8, 10), Note(65, 8, 14),
                       Note(67, 10, 12), Note(64, 12, 14), Note(60, 14, 16)])
    # 62 at 4 is under the held 72; 67 at 10 is above the held 65 (74 has ended); 64 at 12 is under 65
    assert top_line(notes) == [Note(72, 0, 8), Note(74, 8, 10), Note(67, 10, 12), Note(60, 14, 16)]
    assert top_line(notes, limit=2) == [Note(72, 0, 8), Note(74, 8, 10)]
    assert top_line([]) == []


def test_signature_is_intervals_and_gcd_normalised_inter_onset_intervals():
    sig = melodic_signature(melody(TUNE), length=4)
    assert sig == ((5, 1), (0, 2), (2, 1), (2, 1))  # IOIs 2, 4, 2, 2 over their gcd 2


def test_transposed_rescaled_shifted_and_harmonised_variants_share_the_signature():
    base = melodic_signature(melody(TUNE))
    assert base is not None and len(base) == SIGNATURE_LENGTH
    assert melodic_signature(melody(TUNE, transpose=-7)) == base
    assert melodic_signature(melody(TUNE, scale=2)) == base  # notated in 8ths instead of 16ths
    assert melodic_signature(melody(TUNE, scale=4, transpose=3)) == base
    assert melodic_signature(melody(TUNE, offset=12)) == base  # a bar of rest first
    assert melodic_signature(with_bass(melody(TUNE))) == base


def test_a_different_ending_keeps_the_signature_and_a_different_opening_does_not():
    base = melodic_signature(melody(TUNE))
    new_ending = TUNE[:SIGNATURE_LENGTH + 1] + [(60, 4), (62, 4), (60, 16)]
    assert melodic_signature(melody(new_ending)) == base
    changed = list(TUNE)
    changed[5] = (77, 4)  # one note of the opening phrase altered
    assert melodic_signature(melody(changed)) != base
    assert melodic_signature(melody(OTHER)) != base
    dotted = list(TUNE)
    dotted[1], dotted[2] = (72, 3), (72, 3)  # same pitches, another rhythm
    assert melodic_signature(melody(dotted)) != base


def test_too_short_a_top_line_has_no_signature():
    assert melodic_signature(melody(TUNE[:SIGNATURE_LENGTH])) is None
    assert melodic_signature(melody(TUNE[:SIGNATURE_LENGTH + 1])) is not None
    assert melodic_signature([]) is None
    chords = normalize([Note(p, 0, 16) for p in (60, 64, 67)] * 1 + [Note(p, 16, 32) for p in (62, 65, 69)])
    assert melodic_signature(chords) is None  # two onsets only
    with pytest.raises(ValueError):
        melodic_signature(melody(TUNE), length=0)


# ---------------------------------------------------------------------------------------------------------
# metadata


@pytest.mark.parametrize("piece_id, source, work", [
    ("bach/bwv18.5-lz", "bach/bwv18.5-lz.mxl", "bach/bwv18.5"),
    ("bach/bwv18.5-w", "bach/bwv18.5-w.mxl", "bach/bwv18.5"),
    ("bach/bwv112.5-sc", "bach/bwv112.5-sc.mxl", "bach/bwv112.5"),
    ("bach/bwv112.5", "bach/bwv112.5.mxl", "bach/bwv112.5"),
    ("bach/bwv248.23-2", "bach/bwv248.23-2.mxl", "bach/bwv248.23"),
    ("bach/bwv248.23-s", "bach/bwv248.23-s.mxl", "bach/bwv248.23"),
    ("bach/bwv13.6", None, "bach/bwv13.6"),  # no source: the id, whose ".6" is no extension
    ("palestrina/Credo_06_a", "palestrina/Credo_06_a.krn", "palestrina/Credo_06"),
    ("palestrina/Credo_06_i", "palestrina/Credo_06_i.krn", "palestrina/Credo_06"),
    ("palestrina/Agnus_I_05", "palestrina/Agnus_I_05.krn", "palestrina/Agnus_I_05"),
    ("palestrina/Agnus_I", "palestrina/Agnus_I.krn", "palestrina/Agnus_I"),
    ("ryansMammoth/CampMeetingJigNo2", "ryansMammoth/CampMeetingJigNo2.abc", "ryansMammoth/CampMeetingJigNo2"),
    ("essenFolksong/han1#12", "essenFolksong/han1.abc", None),
    ("essenFolksong/han1#12-2", "essenFolksong/han1.abc", None),
])
def test_metadata_work(piece_id, source, work):
    assert metadata_work(piece_id, source) == work


# ---------------------------------------------------------------------------------------------------------
# families


def test_families_join_by_signature_or_metadata_and_are_named_by_their_smallest_id():
    pieces = [
        ("x/tune-b", melody(TUNE, transpose=2, scale=2), "x/tune-b.abc"),
        ("x/tune-a", melody(TUNE), "x/tune-a.abc"),
        ("x/other", melody(OTHER), "x/other.abc"),
        ("x/other_b", melody(OTHER[:5]), "x/other_b.krn"),  # no signature, but the same work as x/other
        ("x/short", melody(TUNE[:4]), "x/short.abc"),
        ("book#1", melody(OTHER, transpose=5), "book.abc"),  # a variant of x/other, in another file
        ("book#2", melody(TUNE[:6]), "book.abc"),  # same file, different tune: not joined
    ]
    families = tune_families(pieces)
    assert families == {
        "x/tune-a": "x/tune-a", "x/tune-b": "x/tune-a",
        "x/other": "book#1", "x/other_b": "book#1", "book#1": "book#1",
        "x/short": "x/short", "book#2": "book#2",
    }
    assert tune_families(pieces[::-1]) == families


def test_families_are_transitive():
    # a ~ b by metadata, b ~ c by signature: one family
    pieces = [("w/a_a", melody(OTHER), "w/a_a.krn"), ("w/a_b", melody(TUNE), "w/a_b.krn"),
              ("z/c", melody(TUNE, transpose=1), "z/c.krn")]
    assert set(tune_families(pieces).values()) == {"w/a_a"}


def test_repeated_ids_are_refused():
    with pytest.raises(ValueError, match="repeated"):
        tune_families([("a", melody(TUNE), None), ("a", melody(OTHER), None)])


# ---------------------------------------------------------------------------------------------------------
# family split


def _families(sizes: list[int]) -> dict[str, str]:
    return {f"f{f:03d}/p{i}": f"f{f:03d}/p0" for f, size in enumerate(sizes) for i in range(size)}


@pytest.mark.parametrize("sizes", [[1] * 50, [3, 1, 1, 7, 2, 2, 1, 10, 1, 1, 4, 1, 1, 1, 2, 1, 1, 5] * 3, [2, 2],
                                   [40, 1, 1, 1], [1, 30]])
def test_validation_never_splits_a_family_and_aims_at_the_fraction(sizes):
    families = _families(sizes)
    held = validation_families(families, 0.1)
    n = len(families)
    k = min(n - 1, max(1, round(0.1 * n)))
    assert held and len(held) < n
    by_family: dict[str, set[str]] = {}
    for pid, family in families.items():
        by_family.setdefault(family, set()).add(pid)
    for members in by_family.values():
        assert members <= held or not members & held
    if any(len(m) <= k for m in by_family.values()):
        assert len(held) <= k
    assert validation_families(dict(reversed(list(families.items()))), 0.1) == held


def test_validation_fills_the_target_and_follows_sha1_order_of_families():
    families = _families([1] * 100)
    held = validation_families(families, 0.2)
    ranked = sorted(set(families.values()), key=lambda f: hashlib.sha1(f.encode()).hexdigest())
    assert held == set(ranked[:20])


def test_validation_with_only_big_families_takes_the_smallest_whole():
    families = _families([5, 3, 6])
    assert validation_families(families, 0.1) == {f"f001/p{i}" for i in range(3)}


def test_validation_needs_two_families():
    with pytest.raises(ValueError, match="2 tune families"):
        validation_families(_families([4]), 0.1)


# ---------------------------------------------------------------------------------------------------------
# real corpus pieces

music21 = pytest.importorskip("music21")

from pathlib import Path  # noqa: E402

from midi_genres.sources import music21_corpus as corpus  # noqa: E402

ROOT = Path(music21.common.getCorpusFilePath())


def real(rel: str) -> tuple[str, list[Note], str]:
    """``(piece id, notes, source)`` of a one-piece corpus file, read as the workflow reads it."""
    [piece] = corpus.extract_file(ROOT / rel, rel)
    return piece.piece_id, piece.notes, piece.source


def test_real_variants_in_ryans_mammoth_are_one_family():
    pieces = [real(f"ryansMammoth/{name}.abc") for name in (
        "OldZipCoonReel_A", "OldZipCoonReel_G",  # one reel printed in A and in G
        "BagOfMealThe", "BanishMisfortune",  # one jig under two names
        "DundeeHornpipe", "7thRegimentReel")]  # two different tunes
    families = tune_families(pieces)
    assert families == {
        "ryansMammoth/OldZipCoonReel_A": "ryansMammoth/OldZipCoonReel_A",
        "ryansMammoth/OldZipCoonReel_G": "ryansMammoth/OldZipCoonReel_A",
        "ryansMammoth/BagOfMealThe": "ryansMammoth/BagOfMealThe",
        "ryansMammoth/BanishMisfortune": "ryansMammoth/BagOfMealThe",
        "ryansMammoth/DundeeHornpipe": "ryansMammoth/DundeeHornpipe",
        "ryansMammoth/7thRegimentReel": "ryansMammoth/7thRegimentReel",
    }
    held = validation_families(families, 0.5)
    assert {"ryansMammoth/OldZipCoonReel_A", "ryansMammoth/OldZipCoonReel_G"} <= held or not (
        {"ryansMammoth/OldZipCoonReel_A", "ryansMammoth/OldZipCoonReel_G"} & held)


def test_real_bach_harmonisations_of_one_chorale_are_one_family():
    # the Passion Chorale harmonised in BWV 244 (St Matthew Passion) and as BWV 270; two settings of
    # BWV 18.5 (Leipzig and Weimar versions, joined by metadata at least); and an unrelated chorale
    pieces = [real(f"bach/{name}.mxl") for name in ("bwv244.15", "bwv270", "bwv18.5-lz", "bwv18.5-w", "bwv1.6")]
    families = tune_families(pieces)
    assert families["bach/bwv270"] == families["bach/bwv244.15"] == "bach/bwv244.15"
    assert families["bach/bwv18.5-w"] == families["bach/bwv18.5-lz"] == "bach/bwv18.5-lz"
    assert families["bach/bwv1.6"] == "bach/bwv1.6"
    assert len(set(families.values())) == 3


def essen_tune(name: str, number: int) -> tuple[str, list[Note], str]:
    """Tune ``X:number`` of an Essen ABC file, parsed alone (the whole file takes tens of seconds)."""
    from music21 import abcFormat
    from music21.abcFormat import translate

    rel = f"essenFolksong/{name}.abc"
    lines = (ROOT / rel).read_text(encoding="latin-1").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("X:")]
    ends = dict(zip(starts, starts[1:] + [len(lines)]))
    [start] = [i for i in starts if lines[i].lstrip()[2:].strip() == str(number)]
    text = "".join(lines[:starts[0]] + lines[start:ends[start]])
    score = translate.abcToStreamScore(abcFormat.ABCFile().readstr(text))
    return f"essenFolksong/{name}#{number}", corpus.notes_from_score(score), rel


def test_real_essen_variants_in_different_collections_are_one_family():
    # one song in two anthologies: a major sixth apart, notated in note values twice as long, and
    # diverging after the opening; the tune after boehme10#75 is a different song
    a, b, other = essen_tune("boehme10", 75), essen_tune("zuccal0", 38), essen_tune("boehme10", 76)
    line_a, line_b = top_line(a[1]), top_line(b[1])
    assert line_b[0].pitch - line_a[0].pitch == -9
    assert (line_a[12].start - line_a[0].start) == 2 * (line_b[12].start - line_b[0].start)
    assert [n.pitch for n in line_a] != [n.pitch + 9 for n in line_b]  # not a mere transposition
    assert melodic_signature(a[1]) == melodic_signature(b[1])
    families = tune_families([a, other, b])
    assert families == {a[0]: a[0], b[0]: a[0], other[0]: other[0]}
    held = validation_families(families, 0.5)
    assert held == {other[0]} or held == {a[0], b[0]}
