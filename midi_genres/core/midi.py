"""Notes <-> MIDI files: the only place that reads or writes MIDI."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

from midi_genres.core.atomic import atomic_path
from midi_genres.core.constants import MIDI_RESOLUTION, STEPS_PER_QUARTER
from midi_genres.core.notes import Note, normalize, steps_to_seconds

MAX_MIDI_BYTES = 8 * 1024 * 1024
MAX_MIDI_NOTES = 200_000
DRUM_PROGRAM = 0
PIANO_PROGRAM = 0


class MidiReadError(ValueError):
    """A MIDI file could not be read (not MIDI, truncated, empty or too large)."""


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
