"""Notes <-> MIDI files: the only place that reads or writes MIDI.

Reading is symusic's (fast), giving exactly the notes pretty_midi gives (tests compare them on real and awkward
files); the files where the two would pair note-ons and note-offs differently are read event by event with
pretty_midi's pairing, and pretty_midi itself reads what neither copies (SMPTE timing, zero tempos, odd bytes). Writing
produces exactly the bytes pretty_midi wrote, about 50x faster."""

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


def _varlen(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _chunk(kind: bytes, body: bytes | bytearray) -> bytes:
    return kind + len(body).to_bytes(4, "big") + bytes(body)


def midi_bytes(notes: Iterable[Note], tempo_bpm: float, drums: bool = False, canonical: bool = False) -> bytes:
    """The bytes ``pretty_midi`` writes for ``normalize(notes)`` as one track at ``tempo_bpm`` (velocity 80).

    Same header, conductor track (tempo, 4/4), program change, event order, tick rounding and running status as
    ``pretty_midi.PrettyMIDI.write`` through mido, byte for byte (tests compare them), about 50x faster.
    ``canonical``: the notes are canonical already (skips ``normalize``).
    """
    import numpy as np

    if not tempo_bpm > 0:
        raise ValueError(f"tempo must be positive, got {tempo_bpm}")
    tick_scale = 60.0 / (float(tempo_bpm) * MIDI_RESOLUTION)
    tempo = int(6e7 / (60.0 / (tick_scale * MIDI_RESOLUTION)))
    if not 0 <= tempo <= 0xFFFFFF:
        raise ValueError(f"tempo {tempo_bpm} bpm is outside what a MIDI file can hold")
    conductor = (b"\x00\xff\x51\x03" + tempo.to_bytes(3, "big") + b"\x00\xff\x58\x04\x04\x02\x18\x08"
                 + b"\x01\xff\x2f\x00")
    channel = 9 if drums else 0
    array = np.array(list(notes if canonical else normalize(notes)), dtype=np.int64).reshape(-1, 3)
    n = len(array)
    # onsets (velocity 80) and releases (velocity 0) at pretty_midi's ticks: its time_to_tick past a one-entry
    # tick table, round((seconds - 0) / tick_scale) half to even, in the same float operations
    seconds = np.concatenate([array[:, 1], array[:, 2]]) * steps_to_seconds(1, tempo_bpm)
    ticks = np.round((seconds - 0) / tick_scale).astype(np.int64)
    pitch = np.concatenate([array[:, 0], array[:, 0]])
    velocity = np.repeat(np.array([80, 0], dtype=np.int64), n)
    order = np.concatenate([2 * np.arange(n), 2 * np.arange(n) + 1])  # insertion order breaks ties (stable sort)
    # pretty_midi sorts by tick, then note * 256 + velocity: a release before an onset of its pitch
    idx = np.lexsort((order, (pitch << 8) + velocity, ticks))
    ticks, pitch, velocity = ticks[idx], pitch[idx], velocity[idx]
    delta = np.diff(ticks, prepend=0)
    width = 1 + (delta >= 1 << 7) + (delta >= 1 << 14) + (delta >= 1 << 21)  # variable-length quantity bytes
    table = np.zeros((2 * n, 7), dtype=np.uint8)
    keep = np.zeros((2 * n, 7), dtype=bool)
    for col in range(4):
        shift = 7 * np.maximum(width - 1 - col, 0)
        table[:, col] = ((delta >> shift) & 0x7F) | np.where(col < width - 1, 0x80, 0)
        keep[:, col] = col < width
    table[:, 4], keep[:1, 4] = 0x90 | channel, True  # running status: the status byte once
    table[:, 5], table[:, 6], keep[:, 5:] = pitch, velocity, True
    body = bytes([0, 0xC0 | channel, DRUM_PROGRAM if drums else PIANO_PROGRAM]) + table[keep].tobytes()
    body += _varlen(1) + b"\xff\x2f\x00"
    header = _chunk(b"MThd", (1).to_bytes(2, "big") + (2).to_bytes(2, "big") + MIDI_RESOLUTION.to_bytes(2, "big"))
    return header + _chunk(b"MTrk", conductor) + _chunk(b"MTrk", body)


def write_midi(path: str | os.PathLike, notes: Iterable[Note], tempo_bpm: float, drums: bool = False) -> None:
    """Write notes as a one-track MIDI file (a drum track on channel 10 when ``drums``), atomically."""
    data = midi_bytes(notes, tempo_bpm, drums)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


MAX_TICK = 10_000_000  # pretty_midi's limit on a file's last tick (larger is taken for corrupt)


def _check_chunks(data: bytes) -> None:
    """Raise ``EOFError``/``OSError`` where mido would refuse the file's chunk layout (truncated, no MTrk...)."""
    if len(data) < 8:
        raise EOFError("")
    if data[:4] != b"MThd":
        raise OSError("MThd not found. Probably not a MIDI file")
    size = int.from_bytes(data[4:8], "big")
    if len(data) < 8 + max(size, 6) or size < 6:
        raise EOFError("")
    n_tracks, pos = int.from_bytes(data[10:12], "big", signed=True), 8 + size
    if n_tracks <= 0:
        raise ValueError("max() arg is an empty sequence")  # pretty_midi needs an event in every track
    for _ in range(n_tracks):
        if pos + 8 > len(data):
            raise EOFError("")
        if data[pos:pos + 4] != b"MTrk":
            raise OSError("no MTrk header at start of track")
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        pos += 8 + length
        if pos > len(data):
            raise EOFError("")
        if length == 0:
            raise ValueError("max() arg is an empty sequence")


def _pairing_is_ambiguous(score) -> bool:
    """True where readers may pair note-ons and note-offs differently: a pitch struck again while sounding.

    symusic pairs first-in-first-out, pretty_midi closes every open note of the pitch at the next note-off; such
    files are read with ``_pretty_midi_pairing``.
    """
    import numpy as np

    groups: dict[tuple[str, bool], list] = {}  # the channels of one MIDI track share its name
    for track in score.tracks:
        groups.setdefault((track.name, track.is_drum), []).append(track.notes.numpy())
    for arrays in groups.values():
        time = np.concatenate([a["time"] for a in arrays])
        end = time + np.concatenate([a["duration"] for a in arrays])
        pitch = np.concatenate([a["pitch"] for a in arrays])
        order = np.lexsort((time, pitch))
        time, end, pitch = time[order], end[order], pitch[order]
        if np.any((pitch[1:] == pitch[:-1]) & (time[1:] < end[:-1])):
            return True
    return False


class _LeftToPrettyMidi(Exception):
    """A byte sequence whose reading by mido the event reader does not copy (``read_midi`` asks pretty_midi)."""


_META_SIZES = {0x00: (0, 2), 0x20: (1,), 0x21: (1,), 0x51: (3,), 0x54: (5,), 0x58: (4,), 0x59: (2,)}  # mido decodes


def _varlen_at(data: bytes, pos: int) -> tuple[int, int]:
    """The variable-length quantity at ``pos`` and the position after it."""
    value = 0
    while True:
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos


def _check_meta(kind: int, payload: bytes) -> None:
    """Raise ``_LeftToPrettyMidi`` for a meta event mido would decode differently than its usual size/values."""
    sizes = _META_SIZES.get(kind)
    if sizes is None:
        return
    if len(payload) not in sizes:
        raise _LeftToPrettyMidi
    if kind == 0x51 and int.from_bytes(payload, "big") == 0:  # zero tempo: pretty_midi's tick times collapse
        raise _LeftToPrettyMidi
    if kind == 0x54 and payload[0] >> 5 > 3:
        raise _LeftToPrettyMidi
    if kind == 0x59 and not (-7 <= (payload[0] ^ 0x80) - 0x80 <= 7 and payload[1] in (0, 1)):
        raise _LeftToPrettyMidi


def _pretty_midi_pairing(data: bytes, keep_drums: bool, drums_only: bool = False
                         ) -> tuple[list[int], list[int], list[int]]:
    """(pitches, start ticks, end ticks) of the notes pretty_midi makes of a standard MIDI file's bytes.

    A direct reading of the track chunks (as mido reads them) with pretty_midi's pairing: per track, channel and
    pitch, a note-off closes every open note that started before its tick and keeps the ones started on it; drums
    are channel 10. About 5x faster than pretty_midi on a multi-track song. Raises ``_LeftToPrettyMidi`` on
    anything unusual (running status after a system message, data bytes above 127, odd meta events, an event
    running past its chunk), and ``ValueError`` past pretty_midi's largest tick (as pretty_midi does).
    """
    n_tracks = int.from_bytes(data[10:12], "big")
    pos = 8 + int.from_bytes(data[4:8], "big")
    pitches: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    last_tick = 0
    for _ in range(n_tracks):
        end = pos + 8 + int.from_bytes(data[pos + 4:pos + 8], "big")
        pos += 8
        tick, status = 0, None
        sounding: dict[int, list[int]] = {}  # (channel << 7 | pitch) -> start ticks of its open notes
        while pos < end:
            delta, pos = _varlen_at(data, pos)
            tick += delta
            byte = data[pos]
            if byte < 0x80:  # running status: the previous channel message's status byte
                if status is None or status >= 0xF0:
                    raise _LeftToPrettyMidi
                byte = status
            else:
                pos += 1
                if byte != 0xFF:
                    status = byte
            if byte == 0xFF:
                kind = data[pos]
                size, pos = _varlen_at(data, pos + 1)
                _check_meta(kind, data[pos:pos + size])
                pos += size
            elif byte in (0xF0, 0xF7):
                size, pos = _varlen_at(data, pos)
                payload = data[pos:pos + size]
                pos += size
                if payload[:1] == b"\xf0":
                    payload = payload[1:]
                if payload[-1:] == b"\xf7":
                    payload = payload[:-1]
                if any(b > 127 for b in payload):
                    raise _LeftToPrettyMidi
            elif byte >= 0xF0:
                raise _LeftToPrettyMidi
            else:
                kind = byte >> 4
                if kind in (0xC, 0xD):
                    if data[pos] > 127:
                        raise _LeftToPrettyMidi
                    pos += 1
                    continue
                pitch, velocity = data[pos], data[pos + 1]
                pos += 2
                if pitch > 127 or velocity > 127:
                    raise _LeftToPrettyMidi
                if kind != 0x8 and kind != 0x9:
                    continue
                key = ((byte & 0x0F) << 7) | pitch
                if kind == 0x9 and velocity:
                    sounding.setdefault(key, []).append(tick)
                elif key in sounding:
                    opened = sounding[key]
                    closed = [start for start in opened if start != tick]
                    if _wanted(byte & 0x0F == 9, keep_drums, drums_only):
                        pitches.extend([pitch] * len(closed))
                        starts.extend(closed)
                        ends.extend([tick] * len(closed))
                    if closed and len(closed) < len(opened):
                        sounding[key] = [start for start in opened if start == tick]
                    else:
                        del sounding[key]
        if pos != end:
            raise _LeftToPrettyMidi
        last_tick = max(last_tick, tick)
    if last_tick + 1 > MAX_TICK:
        raise ValueError(f"MIDI file has a largest tick of {last_tick + 1}, it is likely corrupt")
    return pitches, starts, ends


def _wanted(is_drum: bool, keep_drums: bool, drums_only: bool) -> bool:
    """Whether a track (drum or not) is read: the drum tracks alone with ``drums_only``, else all but the drums
    unless ``keep_drums``."""
    return is_drum if drums_only else keep_drums or not is_drum


def _notes_pretty_midi(path: Path, keep_drums: bool, max_notes: int, drums_only: bool = False) -> list[Note]:
    """The notes through pretty_midi: used where symusic's note pairing may differ (see ``read_midi``)."""
    import pretty_midi

    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many types (OSError, EOFError, KeyError, ValueError...)
        raise MidiReadError(f"{path}: not a readable MIDI file ({type(exc).__name__}: {exc})") from exc
    count = sum(len(inst.notes) for inst in pm.instruments if _wanted(inst.is_drum, keep_drums, drums_only))
    if count > max_notes:
        raise MidiReadError(f"{path}: {count} notes exceeds the limit of {max_notes} notes for one MIDI file")
    ticks_per_step = pm.resolution / STEPS_PER_QUARTER
    notes = []
    for inst in pm.instruments:
        if not _wanted(inst.is_drum, keep_drums, drums_only):
            continue
        for n in inst.notes:
            start = math.floor(pm.time_to_tick(n.start) / ticks_per_step + 0.5)
            end = max(math.floor(pm.time_to_tick(n.end) / ticks_per_step + 0.5), start + 1)
            notes.append(Note(n.pitch, start, end))
    return normalize(notes)


def read_midi(path: str | os.PathLike, keep_drums: bool = True, max_bytes: int = MAX_MIDI_BYTES,
              max_notes: int = MAX_MIDI_NOTES, drums_only: bool = False) -> list[Note]:
    """Read every note of every track of a MIDI file as a canonical note list.

    Times follow the file's tempo map in musical time (quarter notes), quantised to 16ths, so tempo
    changes do not distort rhythm. Drum tracks are kept unless ``keep_drums`` is False; ``drums_only`` reads
    the drum tracks alone.
    Raises ``MidiReadError`` naming the file for anything that is not a readable, reasonably sized MIDI file.
    Parsed with symusic, giving pretty_midi's notes: files where the two pair note-ons and note-offs
    differently (a pitch struck again while sounding) are read by ``_pretty_midi_pairing``; SMPTE timing, zero
    tempos and bytes that reader leaves alone go to pretty_midi.
    """
    import numpy as np
    import symusic

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
        data = path.read_bytes()
        _check_chunks(data)
        if data[12] & 0x80:  # SMPTE time division
            return _notes_pretty_midi(path, keep_drums, max_notes, drums_only)
        score = symusic.Score.from_midi(data, ttype="tick")
        if score.end() + 1 > MAX_TICK:
            raise ValueError(f"MIDI file has a largest tick of {score.end() + 1}, it is likely corrupt")
    except Exception as exc:  # symusic raises RuntimeError
        raise MidiReadError(f"{path}: not a readable MIDI file ({type(exc).__name__}: {exc})") from exc
    if any(t.mspq <= 0 for t in score.tempos):  # zero tempos: pretty_midi's tick times collapse
        return _notes_pretty_midi(path, keep_drums, max_notes, drums_only)
    if _pairing_is_ambiguous(score):
        try:
            columns = _pretty_midi_pairing(data, keep_drums, drums_only)
            pitch, time, end = (np.array(column, dtype=np.int64) for column in columns)
        except (_LeftToPrettyMidi, IndexError):
            return _notes_pretty_midi(path, keep_drums, max_notes, drums_only)
        except ValueError as exc:
            raise MidiReadError(f"{path}: not a readable MIDI file (ValueError: {exc})") from exc
    else:
        arrays = [t.notes.numpy() for t in score.tracks if _wanted(t.is_drum, keep_drums, drums_only)]
        if not arrays:
            return []
        time = np.concatenate([a["time"] for a in arrays]).astype(np.int64)
        end = time + np.concatenate([a["duration"] for a in arrays])
        pitch = np.concatenate([a["pitch"] for a in arrays])
    sounding = end > time  # pretty_midi drops notes released on the tick they start
    count = int(sounding.sum())
    if count > max_notes:
        raise MidiReadError(f"{path}: {count} notes exceeds the limit of {max_notes} notes for one MIDI file")
    ticks_per_step = score.ticks_per_quarter / STEPS_PER_QUARTER
    start_steps = np.floor(time[sounding] / ticks_per_step + 0.5).astype(np.int64)
    end_steps = np.maximum(np.floor(end[sounding] / ticks_per_step + 0.5).astype(np.int64), start_steps + 1)
    return normalize(map(Note._make, zip(pitch[sounding].tolist(), start_steps.tolist(), end_steps.tolist())))
