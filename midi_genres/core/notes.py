"""The one internal form of music: notes with integer 16th-note times.

A note is ``Note(pitch, start, end)`` with ``start < end`` in 16th-note steps. A *canonical* note list
is sorted by (start, pitch, end), has no exact duplicates and no two notes of one pitch sounding at
once (a note may start exactly where the previous note of its pitch ends). ``normalize`` makes any
list canonical; the tokenizer round-trips every canonical list exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from midi_genres.core.constants import STEPS_PER_QUARTER


class Note(NamedTuple):
    """One note: MIDI pitch 0-127, onset and release in 16th-note steps (``start < end``)."""

    pitch: int
    start: int
    end: int


def to_steps(quarters: float) -> int:
    """Quantise a time in quarter notes to the nearest 16th-note step (halves round up)."""
    return math.floor(float(quarters) * STEPS_PER_QUARTER + 0.5)


def quantize(pitch: int, onset_quarters: float, duration_quarters: float) -> Note:
    """Quantise one note given in quarter notes; a note never shrinks below one step."""
    start = to_steps(onset_quarters)
    end = max(to_steps(onset_quarters + duration_quarters), start + 1)
    return Note(int(pitch), start, end)


TIE_KEY_TICKS = 960  # tied notes are matched on onset/release times rounded to 1/960 of a quarter
TIES_ON = ("start", "continue")  # the tie types that carry a note on into the next one of its pitch

Sounding = tuple[float, float, list[tuple[int, str | None]]]  # onset, duration (quarters), (pitch, tie type) pairs


def _tick(quarters: float) -> int:
    return round(float(quarters) * TIE_KEY_TICKS)


def tied_notes(events: Iterable[Sounding]) -> list[Note]:
    """Quantised notes of one voice's events, given in onset order, with tied notes merged.

    Each event is (onset, duration, [(pitch, tie)]) in quarter notes from the start of the piece; a chord is one
    event with several pitches. A pitch tied ("start"/"continue") to a later event of the same pitch that starts
    where it ends is merged with it; a tie that finds no continuation ends where its note ends.
    """
    out: list[Note] = []
    pending: dict[tuple[int, int], tuple[float, float]] = {}  # (pitch, release tick) -> (start, release)
    for onset, duration, sounding in events:
        release = onset + duration
        for pitch, tie in sounding:
            start = pending.pop((pitch, _tick(onset)), (onset, onset))[0]
            if tie in TIES_ON:
                key = (pitch, _tick(release))
                pending[key] = (min(start, pending.get(key, (start,))[0]), release)
            else:
                out.append(quantize(pitch, start, release - start))
    for (pitch, _), (start, release) in pending.items():
        out.append(quantize(pitch, start, release - start))
    return out


def normalize(notes: Iterable[Note]) -> list[Note]:
    """Return the canonical form of ``notes``.

    Out-of-range pitches and empty notes are dropped, exact duplicates removed, and where two notes of
    one pitch overlap the earlier one is cut where the later one starts (their union is kept).
    """
    by_pitch: dict[int, list[Note]] = {}
    for n in notes:
        if 0 <= n.pitch <= 127 and n.end > n.start >= 0:
            by_pitch.setdefault(int(n.pitch), []).append(Note(int(n.pitch), int(n.start), int(n.end)))
    out: list[Note] = []
    for pitch, group in by_pitch.items():
        group.sort(key=lambda n: (n.start, -n.end))
        kept: list[Note] = []
        for n in group:
            if kept and n.start < kept[-1].end:
                prev = kept[-1]
                if n.start == prev.start:  # same onset: keep the longer note only
                    continue
                kept[-1] = Note(pitch, prev.start, n.start)
                n = Note(pitch, n.start, max(n.end, prev.end))
            kept.append(n)
        out.extend(kept)
    out.sort(key=lambda n: (n.start, n.pitch, n.end))
    return out


def split_at(notes: Sequence[Note], steps: int) -> tuple[list[Note], list[Note]]:
    """The notes before ``steps`` (cut there) and the notes starting at or after it (shifted to start at 0)."""
    head = normalize(Note(n.pitch, n.start, min(n.end, steps)) for n in notes if n.start < steps)
    tail = [Note(n.pitch, n.start - steps, n.end - steps) for n in notes if n.start >= steps]
    return head, tail


def continuation_notes(notes: Sequence[Note], prompt: Sequence[Note], origin: int) -> list[Note]:
    """The generated notes of a prompted piece (those not in the prompt, from ``origin`` on), shifted to start at 0.

    ``origin`` is where generation began: the time the prompt's tokens reach on the tokenizer's clock.
    """
    given = set(prompt)
    return [Note(n.pitch, n.start - origin, n.end - origin) for n in notes if n not in given and n.start >= origin]


def steps_to_seconds(steps: float, tempo_bpm: float) -> float:
    """Duration of ``steps`` 16th notes at ``tempo_bpm`` quarter notes per minute."""
    return steps * 60.0 / tempo_bpm / STEPS_PER_QUARTER


def seconds_to_steps(seconds: float, tempo_bpm: float) -> int:
    """Number of whole 16th-note steps in ``seconds`` at ``tempo_bpm``."""
    return int(round(seconds * tempo_bpm / 60.0 * STEPS_PER_QUARTER))
