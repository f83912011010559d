"""Plain Humdrum ``**kern`` files read straight into notes, without music21's score objects.

music21's Humdrum parser builds a full score (measures, clefs, beams, tuplet groups) before a note can be read:
about 0.1 s per Palestrina movement, 2 minutes for the collection, the longest extraction of the default run.
This reader computes the notes directly from the spines, in about 3 ms a file, and reads only a plain subset of
the format, which every file of music21's Palestrina collection keeps to:

- one ``**kern`` exclusive interpretation per spine, no other spine types, no spine splits, joins or exchanges,
  every spine ended by ``*-``, nothing but comments after that;
- data tokens of one note or rest: optional ``[`` (tie start), a duration (``0``/``00``/``000`` breve/longa/
  maxima, or 1, 2, 4 ... with dots; a tuplet number such as 3 or 6 without dots), a pitch (a letter repeated
  for the octave, then ``#``/``-``/``n``) or ``r``, optional ``]`` or ``_`` (tie end, tie continue);
- tandem interpretations that do not change a sounding note (clefs, keys, meters, instruments, tempi).

Anything else raises ``UnsupportedKern`` and the caller parses the file with music21 as before. On the files it
reads, the notes are exactly music21's: pitches as written (kern spells every accidental; no transposition),
onsets the sum of the spine's durations, ties merged as ``notes_from_score`` merges them.
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction
from pathlib import Path

from midi_genres.core.notes import Note, Sounding, normalize, tied_notes

_TOKEN = re.compile(r"(\[?)(0{1,3}|[1-9]\d*)(\.*)(?:(r)|([a-gA-G])(\5*)(#{1,3}|-{1,3}|n)?)([\]_]?)")
_STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_BREVES = {"0": 8, "00": 16, "000": 32}  # quarter notes of a breve, longa, maxima
_TIES = {"[": "start", "_": "continue", "]": "stop"}
# Times are counted in integer ticks: exact for every duration down to 2048ths, and for tuplets of 3, 5, 7, 9, 11
# and 13 (and their products with powers of 2). A quarter's worth of ticks is converted to quarters only at the end.
TICKS_PER_QUARTER = 2 ** 10 * 3 ** 2 * 5 * 7 * 11 * 13
# Tandem interpretations that cannot change a sounding note: clef, key signature, key, meter, instrument
# (*I..., but not the transposing *ITr...), tempo, and the null interpretation.
_HARMLESS = re.compile(r"\*(clef\S*|k\[[a-g#\-n]*\]|[a-gA-G?][#\-]?:\S*|M\S*|MM\S*|met\S*|I(?!Tr)\S*)?")


class UnsupportedKern(ValueError):
    """The file uses more of Humdrum than this reader handles; parse it with music21."""


def _duration(number: str, dots: str) -> int:
    """Ticks of a duration; raises ``UnsupportedKern`` for a dotted tuplet or one finer than ``TICKS_PER_QUARTER``."""
    if number in _BREVES:
        ticks = Fraction(_BREVES[number] * TICKS_PER_QUARTER)
    else:
        n = int(number)
        if n & (n - 1) and dots:
            raise UnsupportedKern(f"dotted tuplet duration {number}{dots}")
        ticks = Fraction(4 * TICKS_PER_QUARTER, n)
    ticks *= 2 - Fraction(1, 2 ** len(dots))
    if ticks.denominator != 1:
        raise UnsupportedKern(f"duration {number}{dots} is not a whole number of ticks")
    return int(ticks)


@functools.lru_cache(maxsize=4096)
def _token(token: str) -> tuple[int, int | None, str | None]:
    """(duration in ticks, MIDI pitch or None for a rest, tie type or None) of one data token."""
    m = _TOKEN.fullmatch(token)
    if m is None:
        raise UnsupportedKern(f"token {token!r}")
    tie_open, number, dots, rest, letter, repeats, accidental, tie_close = m.groups()
    length = _duration(number, dots)
    if rest:
        return length, None, None
    octave = 4 + len(repeats) if letter.islower() else 3 - len(repeats)
    alter = 0 if not accidental or accidental == "n" else len(accidental) * (1 if accidental[0] == "#" else -1)
    return length, 12 * (octave + 1) + _STEPS[letter.lower()] + alter, _TIES.get(tie_open) or _TIES.get(tie_close)


def read_kern(text: str) -> list[Note]:
    """Canonical notes of a plain ``**kern`` document (see the module docstring); raises ``UnsupportedKern``."""
    spines: list[list[Sounding]] | None = None
    onsets: list[int] = []
    ended = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("!"):
            continue
        if ended:
            raise UnsupportedKern(f"line {number}: data after the end of the spines")
        fields = line.split("\t")
        if spines is None:
            if any(field != "**kern" for field in fields):
                raise UnsupportedKern(f"line {number}: spines {line!r}, not only **kern")
            spines, onsets = [[] for _ in fields], [0] * len(fields)
            continue
        if len(fields) != len(spines):
            raise UnsupportedKern(f"line {number}: {len(fields)} fields for {len(spines)} spines")
        if line.startswith("*"):
            if all(field == "*-" for field in fields):
                ended = True
            elif not all(_HARMLESS.fullmatch(field) for field in fields):
                raise UnsupportedKern(f"line {number}: interpretation {line!r}")
        elif line.startswith("="):
            if not all(field.startswith("=") for field in fields):
                raise UnsupportedKern(f"line {number}: barline record {line!r}")
        else:
            for i, field in enumerate(fields):
                if field == ".":
                    continue
                length, pitch, tie = _token(field)
                if pitch is not None:
                    spines[i].append((onsets[i] / TICKS_PER_QUARTER, length / TICKS_PER_QUARTER, [(pitch, tie)]))
                onsets[i] += length
    if spines is None or not ended:
        raise UnsupportedKern("no **kern spines, or spines not ended by *-")
    return normalize(note for spine in spines for note in tied_notes(spine))


def read_kern_file(path: str | Path) -> list[Note]:
    """``read_kern`` of a file (UTF-8, else Latin-1); raises ``UnsupportedKern`` or ``OSError``."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return read_kern(text)
