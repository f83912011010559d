"""Write a Lakh-like folder of MIDI files, deterministically from a seed (a benchmark and test fixture).

    python benchmarks/make_midi_folder.py OUT_DIR [--songs 600] [--seed 0] [--workers 1]

Each song: 3-5 pitched instruments plus a drum track, about 2,300 notes over about 3 minutes, a few tempo
changes, assorted resolutions, note-offs as ``note_off`` or velocity-0 ``note_on``. Some songs are format 0,
some put several tracks on one channel, a few hold overlapping same-pitch notes or notes never released. About
one file in fifty is awkward or broken: truncated, zero bytes, not MIDI at all, or written with running status.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
from pathlib import Path

import mido

RESOLUTIONS = (96, 120, 192, 220, 384, 480, 960)
PROGRAMS = (0, 4, 24, 25, 32, 33, 40, 48, 56, 61, 65, 73, 80, 81, 88)
BROKEN_KINDS = ("truncated", "zero_bytes", "not_midi", "running_status", "header_only")


def _song_events(rng: random.Random, tpq: int) -> tuple[list[list[tuple[int, mido.Message]]], int]:
    """Per track (absolute tick, message) lists of one song: a conductor track, instruments, drums."""
    quarters = rng.randint(300, 420)
    end = quarters * tpq
    tempo = rng.uniform(80, 160)
    conductor = [(0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo))),
                 (0, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    for _ in range(rng.randint(1, 4)):
        conductor.append((rng.randrange(0, end), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(
            max(30.0, tempo + rng.uniform(-30, 30))))))
    tracks = [conductor]
    vel0 = rng.random() < 0.5  # note-offs as velocity-0 note-ons (common in the wild)
    shared_channel = rng.random() < 0.15  # several tracks on one channel
    n_inst = rng.randint(3, 5)
    budget = rng.randint(700, 900)  # note onsets (chords make about 1,250 pitched notes); drums about 1,100
    for i in range(n_inst):
        channel = 0 if shared_channel and i < 2 else i
        program = rng.choice(PROGRAMS)
        events = [(0, mido.MetaMessage("track_name", name=f"inst{i}")),
                  (0, mido.Message("program_change", channel=channel, program=program))]
        low = rng.randint(36, 60)
        n = budget // n_inst
        grid = tpq // rng.choice((1, 2, 4))
        t = rng.randrange(0, 4) * grid
        sounding: dict[int, int] = {}  # pitch -> release tick: a pitch restarts only once released
        for _ in range(n):
            if t >= end:
                break
            chord = rng.choice((1, 1, 1, 2, 3))
            length = grid * rng.choice((1, 1, 2, 3)) + rng.choice((0, 0, -1, 1, tpq // 7))
            length = max(1, length)
            jitter = rng.choice((0, 0, 0, 1, -1, tpq // 11))
            on = max(0, t + jitter)
            for p in rng.sample(range(low, low + 24), chord):
                if sounding.get(p, -1) > on:
                    continue
                sounding[p] = on + length
                events.append((on, mido.Message("note_on", channel=channel, note=p, velocity=rng.randint(40, 120))))
                events.append((on + length, _off(channel, p, vel0)))
            t += grid * rng.choice((1, 1, 2))
            if rng.random() < 0.01:
                t += rng.randint(1, tpq)  # off-grid drift
        if i == 0 and rng.random() < 0.03:  # a pitch struck again while sounding (readers pair these differently)
            p, t = low + 30, rng.randrange(0, end - 4 * grid)
            events += [(t, mido.Message("note_on", channel=channel, note=p, velocity=70)),
                       (t + grid, mido.Message("note_on", channel=channel, note=p, velocity=70)),
                       (t + 2 * grid, _off(channel, p, vel0)), (t + 3 * grid, _off(channel, p, vel0))]
        if rng.random() < 0.05:  # a note never released
            events.append((end - tpq, mido.Message("note_on", channel=channel, note=low + 31, velocity=90)))
        tracks.append(events)
    drums = [(0, mido.MetaMessage("track_name", name="drums"))]
    for q in range(quarters * 2):
        t = q * tpq // 2
        pitches = [42] + ([36] if q % 4 == 0 else []) + ([38] if q % 4 == 2 else [])
        if rng.random() < 0.05:
            pitches.append(rng.choice((49, 51, 45, 47)))
        for p in pitches:
            drums.append((t, mido.Message("note_on", channel=9, note=p, velocity=rng.randint(60, 127))))
            drums.append((t + tpq // 8, _off(9, p, vel0)))
    tracks.append(drums)
    return tracks, end


def _off(channel: int, pitch: int, vel0: bool) -> mido.Message:
    if vel0:
        return mido.Message("note_on", channel=channel, note=pitch, velocity=0)
    return mido.Message("note_off", channel=channel, note=pitch, velocity=64)


def _midi_file(tracks: list[list[tuple[int, mido.Message]]], tpq: int, fmt: int) -> mido.MidiFile:
    """A mido file from absolute-tick tracks (merged into one track for format 0); stable event order."""
    if fmt == 0:
        tracks = [[e for tr in tracks for e in tr]]
    mf = mido.MidiFile(type=fmt, ticks_per_beat=tpq)
    for events in tracks:
        # note-offs before note-ons at one tick, as sequencers write them
        events = sorted(events, key=lambda e: (e[0], e[1].type == "note_on" and e[1].velocity > 0))
        track, last = mido.MidiTrack(), 0
        for t, msg in events:
            track.append(msg.copy(time=t - last))
            last = t
        mf.tracks.append(track)
    return mf


def _running_status_bytes(rng: random.Random) -> bytes:
    """A small valid format-0 file whose note events use running status (hand-encoded)."""
    body = bytearray(b"\x00\xff\x51\x03\x07\xa1\x20")  # tempo 120
    body += b"\x00\x90"
    first = True
    for _ in range(48):
        pitch = 60 + rng.randrange(12)
        if not first:
            body += b"\x00"
        first = False
        body += bytes([pitch, 80, 48, pitch, 0])  # on, then (delta 48) velocity-0 on, status byte omitted
    body += b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x00\x00\x01\x00\x60"
    return header + b"MTrk" + len(body).to_bytes(4, "big") + body


def write_song(path: Path, seed: int) -> None:
    """One song (or, one time in fifty, an awkward file) from ``seed``."""
    rng = random.Random(seed)
    broken = rng.random() < 0.02
    kind = rng.choice(BROKEN_KINDS) if broken else ""
    if kind == "zero_bytes":
        path.write_bytes(b"")
        return
    if kind == "not_midi":
        path.write_bytes(b"this is a text file that happens to end in .mid\n" * rng.randint(1, 50))
        return
    if kind == "running_status":
        path.write_bytes(_running_status_bytes(rng))
        return
    tpq = rng.choice(RESOLUTIONS)
    tracks, _ = _song_events(rng, tpq)
    mf = _midi_file(tracks, tpq, 0 if rng.random() < 0.1 else 1)
    mf.save(str(path))
    if kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(14, len(data) - 1)])
    elif kind == "header_only":
        path.write_bytes(path.read_bytes()[:14])


def _write_song_args(args: tuple[Path, int]) -> None:
    write_song(*args)


def make_midi_folder(out_dir: str | Path, songs: int = 600, seed: int = 0, workers: int = 1) -> list[Path]:
    """Write ``songs`` files into ``out_dir`` (a few in sub-folders, one ``.MIDI``); return their paths.

    Each song depends only on ``seed`` and its index, so ``workers`` processes write the same files."""
    out = Path(out_dir)
    jobs = []
    for i in range(songs):
        sub = out / f"artist{i % 7}" if i % 5 == 0 else out
        sub.mkdir(parents=True, exist_ok=True)
        jobs.append((sub / (f"song{i:05d}.MIDI" if i % 97 == 3 else f"song{i:05d}.mid"), seed * 1_000_003 + i))
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            pool.map(_write_song_args, jobs, chunksize=64)
    else:
        for job in jobs:
            _write_song_args(job)
    return [path for path, _ in jobs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--songs", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes writing songs (same files)")
    args = parser.parse_args()
    paths = make_midi_folder(args.out_dir, args.songs, args.seed, args.workers)
    print(f"wrote {len(paths)} MIDI files to {args.out_dir}")


if __name__ == "__main__":
    main()
