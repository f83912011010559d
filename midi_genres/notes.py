"""The one internal form of music: notes with integer 16th-note times; MIDI read/write.

A note is ``Note(pitch, start, end)`` with ``start < end`` in 16th-note steps. A *canonical* note list
is sorted by (start, pitch, end), has no exact duplicates and no two notes of one pitch sounding at
once (a note may start exactly where the previous note of its pitch ends). ``normalize`` makes any
list canonical; the tokenizer round-trips every canonical list exactly.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from midi_genres.atomic import atomic_path

STEPS_PER_QUARTER = 4
MIDI_RESOLUTION = 480  # ticks per quarter note in the files we write (a 16th is 120 ticks)
MAX_MIDI_BYTES = 8 * 1024 * 1024
MAX_MIDI_NOTES = 200_000
DRUM_PROGRAM = 0
PIANO_PROGRAM = 0


class Note(NamedTuple):
    """One note: MIDI pitch 0-127, onset and release in 16th-note steps (``start < end``)."""

    pitch: int
    start: int
    end: int


class MidiReadError(ValueError):
    """A MIDI file could not be read (not MIDI, truncated, empty or too large)."""


def to_steps(quarters: float) -> int:
    """Quantise a time in quarter notes to the nearest 16th-note step (halves round up)."""
    return math.floor(float(quarters) * STEPS_PER_QUARTER + 0.5)


def quantize(pitch: int, onset_quarters: float, duration_quarters: float) -> Note:
    """Quantise one note given in quarter notes; a note never shrinks below one step."""
    start = to_steps(onset_quarters)
    end = max(to_steps(onset_quarters + duration_quarters), start + 1)
    return Note(int(pitch), start, end)


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


def steps_to_seconds(steps: float, tempo_bpm: float) -> float:
    """Duration of ``steps`` 16th notes at ``tempo_bpm`` quarter notes per minute."""
    return steps * 60.0 / tempo_bpm / STEPS_PER_QUARTER


def seconds_to_steps(seconds: float, tempo_bpm: float) -> int:
    """Number of whole 16th-note steps in ``seconds`` at ``tempo_bpm``."""
    return int(round(seconds * tempo_bpm / 60.0 * STEPS_PER_QUARTER))


def write_midi(path: str | os.PathLike, notes: Iterable[Note], tempo_bpm: float, drums: bool = False) -> None:
    """Write notes as a one-track MIDI file (a drum track on channel 10 when ``drums``), atomically."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION, initial_tempo=float(tempo_bpm))
    track = pretty_midi.Instrument(program=DRUM_PROGRAM if drums else PIANO_PROGRAM, is_drum=drums)
    step = steps_to_seconds(1, tempo_bpm)
    track.notes = [pretty_midi.Note(velocity=80, pitch=n.pitch, start=n.start * step, end=n.end * step)
                   for n in normalize(notes)]
    pm.instruments.append(track)
    with atomic_path(path) as tmp:
        pm.write(str(tmp))


def read_midi(path: str | os.PathLike, keep_drums: bool = True, max_bytes: int = MAX_MIDI_BYTES,
              max_notes: int = MAX_MIDI_NOTES) -> list[Note]:
    """Read every note of every track of a MIDI file as a canonical note list.

    Times follow the file's tempo map in musical time (quarter notes), quantised to 16ths, so tempo
    changes do not distort rhythm. Drum tracks are kept unless ``keep_drums`` is False.
    Raises ``MidiReadError`` naming the file for anything that is not a readable, reasonably sized MIDI file.
    """
    import pretty_midi

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MidiReadError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    if size == 0:
        raise MidiReadError(f"{path}: empty file")
    if size > max_bytes:
        raise MidiReadError(f"{path}: {size} bytes exceeds the limit of {max_bytes} bytes for one MIDI file")
    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many types (OSError, EOFError, KeyError, ValueError...)
        raise MidiReadError(f"{path}: not a readable MIDI file ({type(exc).__name__}: {exc})") from exc
    count = sum(len(inst.notes) for inst in pm.instruments if keep_drums or not inst.is_drum)
    if count > max_notes:
        raise MidiReadError(f"{path}: {count} notes exceeds the limit of {max_notes} notes for one MIDI file")
    ticks_per_step = pm.resolution / STEPS_PER_QUARTER
    notes = []
    for inst in pm.instruments:
        if inst.is_drum and not keep_drums:
            continue
        for n in inst.notes:
            start = math.floor(pm.time_to_tick(n.start) / ticks_per_step + 0.5)
            end = max(math.floor(pm.time_to_tick(n.end) / ticks_per_step + 0.5), start + 1)
            notes.append(Note(n.pitch, start, end))
    return normalize(notes)
