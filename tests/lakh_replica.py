"""A miniature replica of LMD-matched, its match scores and a tagtraum label file, for tests (and archives of them,
as the publishers serve them, for the downloader's tests).

    build_replica(root) -> Replica    # root/lmd_matched/..., root/match_scores.json, root/msd_tagtraum_cd2c.cls

Every case the Lakh source must handle: tracks with no label, labels for tracks not in LMD-matched, a track with
two labels, several files per track (the best score wins), a broken file, one file matched to tracks of
different labels and to two tracks of one label, rap songs with a drum track; a CD2-size label file on request.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pretty_midi


def track_id(name: str) -> str:
    """A valid, stable MSD track id for a name (``TR`` and 16 upper-case hex digits)."""
    return "TR" + hashlib.sha1(name.encode()).hexdigest()[:16].upper()


def song_bytes(key: int, drums: bool = True, bars: int = 4) -> bytes:
    """A small multi-track MIDI song, different for every ``key``: a melody, a bass line and (``drums``) a kit."""
    pm = pretty_midi.PrettyMIDI(resolution=96, initial_tempo=120.0)
    lead = pretty_midi.Instrument(program=30)
    bass = pretty_midi.Instrument(program=33)
    for i in range(8 * bars):  # 8ths at 120 bpm: 0.25 s each
        lead.notes.append(pretty_midi.Note(90, 60 + (key * 5 + i * (key % 4 + 1)) % 17, i * 0.25, i * 0.25 + 0.25))
    for i in range(2 * bars):
        bass.notes.append(pretty_midi.Note(90, 36 + key % 12, i, i + 1))
    pm.instruments += [lead, bass]
    if drums:
        kit = pretty_midi.Instrument(program=0, is_drum=True)
        for i in range(8 * bars):
            pitch = KIT[(i * (key % 3 + 1) + key * (i // 8)) % len(KIT)]  # a pattern of its own per song
            kit.notes.append(pretty_midi.Note(90, pitch, i * 0.25, i * 0.25 + 0.1))
        pm.instruments.append(kit)
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()


KIT = (36, 38, 42, 46, 49)  # General MIDI kick, snare, closed and open hi-hat, crash
BROKEN = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01garbage"

# name: (labels or None for a track without one, [(file key, match score), ...]); file key None: the broken file
TRACKS: dict[str, tuple[tuple[str, ...] | None, list[tuple[int | None, float]]]] = {
    "rock1": (("Rock",), [(1, 0.91), (2, 0.62)]),           # two files: the better one (1) is taken
    "rock2": (("Rock",), [(3, 0.80)]),
    "rock3": (("Rock",), [(4, 0.55), (5, 0.75), (6, 0.70)]),  # three files: 5 is taken
    "rock4": (("Rock",), [(7, 0.66)]),
    "rock5": (("Rock",), [(8, 0.71)]),
    "rock6": (("Rock",), [(9, 0.60)]),
    "rock_broken": (("Rock",), [(None, 0.90), (10, 0.50)]),  # its best file is broken: skipped, named
    "rock_twin": (("Rock",), [(3, 0.70)]),                  # rock2's file, matched worse: skipped in rock
    "pop_rock": (("Pop", "Rock"), [(11, 0.85)]),            # two labels: Pop first, Rock the minority's
    "pop1": (("Pop",), [(12, 0.77)]),
    "pop2": (("Pop",), [(13, 0.64)]),
    "metal1": (("Metal",), [(14, 0.88)]),
    "metal2": (("Metal",), [(15, 0.58)]),
    "metal_twin": (("Metal",), [(1, 0.70), (16, 0.40)]),    # rock1's file (its best), matched worse: rock keeps it
    "rap1": (("Rap",), [(17, 0.81)]),
    "rap2": (("Rap",), [(18, 0.69)]),
    "rap3": (("Rap",), [(19, 0.74)]),
    "unlabelled": (None, [(20, 0.99)]),                     # in LMD-matched, no label
}
ABSENT = {"ghost_rock": ("Rock",), "ghost_metal": ("Metal", "Punk")}  # labelled, not in LMD-matched


@dataclass
class Replica:
    """Where the replica's parts are, and what each track's id and file md5s are."""

    root: Path
    lmd: Path
    match_scores: Path
    labels: Path
    ids: dict[str, str]
    md5s: dict[int | None, str]

    def name(self, track: str) -> str:
        """The replica's name for an MSD track id."""
        return {v: k for k, v in self.ids.items()}[track]


def build_replica(root: str | Path) -> Replica:
    """Write the replica under ``root`` (LMD-matched's layout, ``match_scores.json`` beside it, a CD2C-like
    label file with comments)."""
    root = Path(root)
    lmd = root / "lmd_matched"
    contents = {key: BROKEN if key is None else song_bytes(key)
                for _, files in TRACKS.values() for key, _ in files}
    md5s = {key: hashlib.md5(data).hexdigest() for key, data in contents.items()}
    ids = {name: track_id(name) for name in [*TRACKS, *ABSENT]}
    scores = {}
    for name, (_, files) in TRACKS.items():
        tid = ids[name]
        folder = lmd / tid[2] / tid[3] / tid[4] / tid
        folder.mkdir(parents=True, exist_ok=True)
        for key, _ in files:
            (folder / f"{md5s[key]}.mid").write_bytes(contents[key])
        scores[tid] = {md5s[key]: score for key, score in files}
    (root / "match_scores.json").write_text(json.dumps(scores))
    lines = ["# tagtraum genre annotations (replica)", "# TRACK_ID\tMAJORITY_GENRE\tMINORITY_GENRE"]
    labelled = {**{n: labels for n, (labels, _) in TRACKS.items() if labels}, **ABSENT}
    lines += ["\t".join([ids[name], *labels]) for name, labels in sorted(labelled.items(), key=lambda i: ids[i[0]])]
    (root / "msd_tagtraum_cd2c.cls").write_text("\n".join(lines) + "\n")
    return Replica(root, lmd, root / "match_scores.json", root / "msd_tagtraum_cd2c.cls", ids, md5s)


GENRES = ("Rock", "Pop", "Metal", "Rap", "Punk", "Electronic", "Jazz", "Country", "RnB", "Latin", "Reggae",
          "Blues", "Folk", "World", "New Age")


def write_big_label_file(path: str | Path, lines: int = 280_000) -> None:
    """A CD2-size label file: ``lines`` tracks, about a third of them with a second label."""
    out = ["# a CD2-size replica"]
    for i in range(lines):
        tid = f"TR{i:016X}"
        first, second = GENRES[i % len(GENRES)], GENRES[(i * 7 + 3) % len(GENRES)]
        out.append(f"{tid}\t{first}\t{second}" if i % 3 == 0 and first != second else f"{tid}\t{first}")
    Path(path).write_text("\n".join(out) + "\n")


def pack_replica(replica: Replica, out: str | Path) -> dict[str, Path]:
    """The replica as its publishers serve it: ``lmd_matched.tar.gz`` (the folder), ``match_scores.json``,
    ``msd_tagtraum_cd2c.cls.zip`` (the label file); returns their paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "lmd_matched.tar.gz", "w:gz") as tar:
        tar.add(replica.lmd, arcname="lmd_matched")
    with zipfile.ZipFile(out / "msd_tagtraum_cd2c.cls.zip", "w") as zf:
        zf.write(replica.labels, arcname="msd_tagtraum_cd2c.cls")
    (out / "match_scores.json").write_bytes(replica.match_scores.read_bytes())
    return {"lmd_matched": out / "lmd_matched.tar.gz", "match_scores": out / "match_scores.json",
            "tagtraum_cd2c": out / "msd_tagtraum_cd2c.cls.zip"}
