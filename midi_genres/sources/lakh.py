"""A genre from the Lakh MIDI Dataset (LMD-matched) by the genre labels of its Million Song Dataset tracks.

LMD-matched as distributed: ``<lmd>/<c>/<d>/<e>/<track id>/<md5>.mid`` (``c d e``: the track id's 3rd to 5th
characters; each file named by the MD5 checksum of its bytes) and ``match_scores.json`` (track id -> {md5:
score}). A label file gives MSD tracks their genres: the tagtraum annotations (CD1, CD2, CD2C) and the MSD
Allmusic files (MAGD, Top-MAGD) all hold lines of a track id and one or two tab-separated genre names (the first
the majority's), with ``#`` comments.

A genre's songs (``select_songs``): the tracks whose label is the asked one (``label_rank: first``, or ``any`` of
the two), each with its best-scoring file. A file chosen by several labelled tracks (the same MIDI matched to
several recordings) belongs to the track of its best match alone, so it counts for that track's label only and
appears once: the others are recorded as skipped, naming it. The songs are taken in a seeded order (a hash of
the seed and the track id: the same on every run, and a track keeps its place when others come or go) and read
by ``midi_dir.read_midi_files`` up to ``max_pieces`` usable ones, into the MIDI folder, manifest (with each
song's track id, md5, match score and labels) and notes cache every source writes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from midi_genres.core.constants import CORPUS_TEMPO_BPM
from midi_genres.sources.midi_dir import DEFAULT_MIN_NOTES, read_midi_files
from midi_genres.sources.midi_folder import Skipped, write_midi_folder

log = logging.getLogger(__name__)

LABEL_RANKS = ("first", "any")
LAKH_COLUMNS = ["track_id", "md5", "match_score", "label"]
TRACK_ID = re.compile(r"TR[A-Z0-9]{16}")
MD5 = re.compile(r"[0-9a-f]{32}")


class LakhConfigError(ValueError):
    """A Lakh source that cannot be read: a missing folder or file, a file of another shape, a label no track has."""


@dataclass(frozen=True)
class Song:
    """One song of a Lakh genre: its MSD track, the chosen file (its md5 and match score), the track's labels,
    and, where that file belongs to another track, that track (the song is then skipped)."""

    track_id: str
    md5: str
    score: float
    labels: tuple[str, ...]
    owner: str | None = None

    @property
    def source(self) -> str:
        """The file's path inside the LMD-matched folder."""
        return lmd_path(self.track_id, self.md5)


def lmd_path(track_id: str, md5: str) -> str:
    """A file's path inside LMD-matched: ``<c>/<d>/<e>/<track id>/<md5>.mid`` (c, d, e: the id's 3rd-5th chars)."""
    return f"{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}/{md5}.mid"


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def read_labels(path: str | os.PathLike, key: str = "labels") -> dict[str, tuple[str, ...]]:
    """A label file: track id -> its one or two genre labels (the majority's first).

    Raises ``LakhConfigError`` naming ``key`` and the path for a missing file or one of another shape, quoting its
    first bad line. A CD2-size file (280,000 lines) is read in about half a second (shared 2-core AMD EPYC).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise LakhConfigError(f"{key}: label file {str(path)!r} does not exist")
    return _read_labels(*_stamp(path), key)


LABEL_LINE = re.compile(r"^(TR[A-Z0-9]{16})\t([^\t\r\n]+)(?:\t([^\t\r\n]+))?[ \t\r]*$", re.M)
CONTENT_LINE = re.compile(r"^(?!#)[^\S\n]*\S", re.M)  # a line that is neither blank nor a comment


@functools.lru_cache(maxsize=8)
def _read_labels(path: str, size: int, mtime_ns: int, key: str) -> dict[str, tuple[str, ...]]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    found = LABEL_LINE.findall(text)
    lines = text.count("\n") + (not text.endswith("\n"))
    if len(found) != lines - text.count("\n#") - text.startswith("#") - text.count("\n\n"):
        for number, line in enumerate(text.splitlines(), start=1):  # a line of another shape? the first
            if CONTENT_LINE.match(line) and not LABEL_LINE.fullmatch(line):
                raise LakhConfigError(
                    f"{key}: {path!r} is not a genre label file (lines of an MSD track id and one or two "
                    f"tab-separated genre names, '#' comments): line {number} is {line[:200]!r}")
    if not found:
        raise LakhConfigError(f"{key}: label file {path!r} holds no label (only comments or blank lines)")
    return {track: (first, second) if second else (first,) for track, first, second in found}


def read_match_scores(path: str | os.PathLike, key: str = "match_scores") -> dict[str, dict[str, float]]:
    """``match_scores.json``: track id -> {md5: match score}. Raises ``LakhConfigError`` naming ``key`` and the
    path for a missing file or one of another shape."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LakhConfigError(f"{key}: match scores file {str(path)!r} does not exist")
    return _read_match_scores(*_stamp(path), key)


@functools.lru_cache(maxsize=4)
def _read_match_scores(path: str, size: int, mtime_ns: int, key: str) -> dict[str, dict[str, float]]:
    shape = "a JSON object of MSD track id -> {md5: match score}"
    try:
        scores = json.loads(Path(path).read_bytes())
    except ValueError as exc:
        raise LakhConfigError(f"{key}: {path!r} is not JSON ({exc}); expected {shape}") from None
    if not isinstance(scores, dict):
        raise LakhConfigError(f"{key}: {path!r} is not {shape} (it holds a {type(scores).__name__})")
    for track, matches in scores.items():
        if not (TRACK_ID.fullmatch(track) and isinstance(matches, dict) and matches
                and all(MD5.fullmatch(m) and isinstance(s, (int, float)) for m, s in matches.items())):
            raise LakhConfigError(f"{key}: {path!r} is not {shape}: entry {track!r}: {str(matches)[:200]}")
    return scores


def has_label(labels: tuple[str, ...], label: str, label_rank: str) -> bool:
    """Whether a track's labels give it ``label``: as its first (majority) label, or as ``any`` of them."""
    return labels[0] == label if label_rank == "first" else label in labels


def label_counts(labels: dict[str, tuple[str, ...]], scores: dict[str, dict[str, float]],
                 label_rank: str = "first") -> Counter:
    """How many tracks of LMD-matched (those in the match scores) have each label, at ``label_rank``."""
    counts: Counter = Counter()
    for track in scores.keys() & labels.keys():
        counts.update(labels[track][:1] if label_rank == "first" else labels[track])
    return counts


def _order_key(seed: int, track_id: str) -> bytes:
    return hashlib.sha256(f"{seed}:{track_id}".encode()).digest()


def select_songs(labels: dict[str, tuple[str, ...]], scores: dict[str, dict[str, float]], label: str,
                 label_rank: str = "first", seed: int = 0) -> list[Song]:
    """The songs of one label, in the seeded order: every labelled track of LMD-matched with ``label`` (at
    ``label_rank``) and its best-scoring file (ties: the smaller md5).

    A file that is the best match of several labelled tracks (of any label) belongs to the one with the highest
    score (ties: the smaller track id); the songs of the others carry it as ``owner``, to be skipped.
    """
    if label_rank not in LABEL_RANKS:
        raise ValueError(f"label_rank must be one of {', '.join(LABEL_RANKS)}, got {label_rank!r}")
    best: dict[str, tuple[str, float]] = {}
    owner: dict[str, tuple[float, str]] = {}  # md5 -> (score, track) of its best match among labelled tracks
    for track in scores.keys() & labels.keys():
        md5, score = min(scores[track].items(), key=lambda item: (-item[1], item[0]))
        best[track] = md5, score
        if md5 not in owner or (-score, track) < (-owner[md5][0], owner[md5][1]):
            owner[md5] = score, track
    songs = []
    for track, (md5, score) in best.items():
        if has_label(labels[track], label, label_rank):
            first = owner[md5][1]
            songs.append(Song(track, md5, float(score), labels[track], None if first == track else first))
    songs.sort(key=lambda song: _order_key(seed, song.track_id))
    return songs


def check_lakh_source(source: dict, where: str) -> None:
    """Check a ``kind: lakh`` source before any job: the LMD folder, the match scores and the label file exist
    and have their shapes, and some track has the label. Raises ``LakhConfigError`` beginning with ``where``
    (e.g. ``genre 'lakh_rock' (kind: lakh)``) and naming the key and the path."""
    try:
        lmd = Path(source["lmd"]).expanduser()
        if not lmd.is_dir():
            raise LakhConfigError(f"lmd: LMD-matched folder {str(lmd)!r} does not exist (or is not a folder)")
        scores = read_match_scores(match_scores_path(source), "match_scores")
        labels = read_labels(source["labels"], "labels")
        rank = source.get("label_rank", "first")
        counts = label_counts(labels, scores, rank)
        if not counts[source["label"]]:
            listed = ", ".join(f"{name} {count:,}" for name, count in counts.most_common()) or "none"
            raise LakhConfigError(
                f"label: no track of LMD-matched ({str(match_scores_path(source))!r}) has the label "
                f"{source['label']!r} in {str(source['labels'])!r} (label_rank: {rank}); the labels there, "
                f"with their tracks: {listed}")
    except LakhConfigError as exc:
        raise LakhConfigError(f"{where}: {exc}") from None


def match_scores_path(source: dict) -> Path:
    """A Lakh source's match scores: its ``match_scores``, else ``match_scores.json`` beside the ``lmd`` folder."""
    if source.get("match_scores"):
        return Path(source["match_scores"]).expanduser()
    return Path(source["lmd"]).expanduser().resolve().parent / "match_scores.json"


def manifest_columns(song: Song) -> dict[str, str]:
    """A song's Lakh columns of the manifest (``LAKH_COLUMNS``)."""
    return {"track_id": song.track_id, "md5": song.md5, "match_score": f"{song.score:.6g}",
            "label": ",".join(song.labels)}


def import_lakh(*, lmd: str | os.PathLike, match_scores: str | os.PathLike, labels: str | os.PathLike,
                label: str, out_dir: str | os.PathLike, manifest_path: str | os.PathLike,
                label_rank: str = "first", seed: int = 0, tracks: str = "all", max_pieces: int | None = None,
                min_notes: int = DEFAULT_MIN_NOTES, workers: int = 1) -> dict[str, int]:
    """The import_lakh rule: the songs of one label (``select_songs``) -> ``data/midi/{genre}/`` + manifest +
    notes cache, up to ``max_pieces`` usable songs; return counts.

    The manifest lists, in the seeded order, every song read (or why it was skipped: unreadable, too short, its
    file another track's) with its track id, md5, match score and labels. ``tracks``: all, pitched or drums
    (written as a drum kit). Raises ``LakhConfigError`` as ``check_lakh_source`` does, and ``ValueError`` when no
    song is usable.
    """
    source = {"lmd": lmd, "match_scores": match_scores, "labels": labels, "label": label, "label_rank": label_rank}
    check_lakh_source(source, f"Lakh genre {label!r}")
    label_map = read_labels(labels)
    songs = select_songs(label_map, read_match_scores(match_scores), label, label_rank, seed)
    root = Path(lmd).expanduser()
    log.info("%s: %d songs labelled %r (label_rank %s, %d of them another track's file), seed %d, "
             "max_pieces %s, %d worker(s)", labels, len(songs), label, label_rank,
             sum(s.owner is not None for s in songs), seed, max_pieces, workers)

    def items():
        read = [(root / song.source, song.track_id, song.source) for song in songs if song.owner is None]
        pieces = read_midi_files(read, tracks, max_pieces, min_notes, workers, encode=True)
        kept = 0
        try:
            for song in songs:
                if max_pieces is not None and kept >= max_pieces:
                    return
                if song.owner is not None:
                    yield Skipped(song.track_id, song.source, f"the same file is the better match of track "
                                  f"{song.owner} ({', '.join(label_map[song.owner])})")
                    continue
                item = next(pieces)
                kept += not isinstance(item, Skipped)
                yield item
        finally:
            pieces.close()

    extra = {song.track_id: manifest_columns(song) for song in songs}
    try:
        return write_midi_folder(items(), out_dir, manifest_path, tempo_bpm=CORPUS_TEMPO_BPM,
                                 drums=tracks == "drums", extra=extra)
    except ValueError as exc:
        if str(exc).startswith("no usable piece"):
            raise ValueError(f"Lakh genre {label!r} ({labels}) has no usable song: every file was skipped "
                             f"(unreadable, fewer than min_notes={min_notes} notes or another track's; see the "
                             f"manifest's reasons in the log)") from exc
        raise
