"""A genre's MIDI folder: one MIDI file per piece plus a manifest of what was kept and what was skipped."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from midi_genres.core.atomic import atomic_path
from midi_genres.core.constants import CORPUS_TEMPO_BPM
from midi_genres.core.midi import midi_bytes
from midi_genres.core.notes import Note, normalize
from midi_genres.core.tables import read_table, write_table

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = ["piece_id", "source", "status", "file", "notes", "steps", "reason"]


@dataclass
class Piece:
    """One piece of a genre: a stable id, where it came from, and its canonical notes."""

    piece_id: str
    source: str
    notes: list[Note] = field(default_factory=list)


@dataclass
class EncodedPiece:
    """A piece already in file form (from a worker process): canonical notes as an ``(n, 3)`` int32 array of
    pitch, start, end, and the MIDI file bytes ``midi_bytes`` gives for them."""

    piece_id: str
    source: str
    notes: np.ndarray
    midi: bytes


@dataclass
class Skipped:
    """A piece (or file) that was not used, and why."""

    piece_id: str
    source: str
    reason: str


def safe_file_stem(piece_id: str) -> str:
    """A file-system-safe stem for a piece id (letters, digits, ``._-``; others become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", piece_id).strip("._") or "piece"


def notes_cache_path(manifest_path: str | os.PathLike) -> Path:
    """The notes cache beside a manifest: ``data/midi/{genre}.notes.npz`` for ``data/midi/{genre}.manifest.tsv``."""
    path = Path(manifest_path)
    stem = path.name.removesuffix(".manifest.tsv") if path.name.endswith(".manifest.tsv") else path.name
    return path.with_name(f"{stem}.notes.npz")


def notes_array(notes: Iterable[Note]) -> np.ndarray:
    """Notes as an ``(n, 3)`` int32 array of pitch, start, end."""
    return np.array(list(notes), dtype=np.int32).reshape(-1, 3)


def _write_npy(zf: zipfile.ZipFile, name: str, array_or_raw, shape=None, dtype=None) -> None:
    """One ``.npy`` member of an uncompressed npz; ``array_or_raw`` an array or a raw binary file of ``shape``."""
    with zf.open(name, "w", force_zip64=True) as fh:
        if isinstance(array_or_raw, np.ndarray):
            np.lib.format.write_array(fh, array_or_raw, allow_pickle=False)
            return
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(fh, header)
        array_or_raw.seek(0)
        while block := array_or_raw.read(1 << 22):
            fh.write(block)


def write_midi_folder(items: Iterable[Piece | EncodedPiece | Skipped], out_dir: str | os.PathLike,
                      manifest_path: str | os.PathLike, tempo_bpm: float = CORPUS_TEMPO_BPM,
                      drums: bool = False, extra: dict[str, dict] | None = None) -> dict[str, int]:
    """Write each piece as ``out_dir/<id>.mid``, every item as a manifest row and the notes cache; return counts.

    ``extra``: more manifest columns, by piece id (every entry with the same keys; empty where an item has none),
    e.g. a Lakh song's track id and match score.
    The notes cache (``notes_cache_path``) holds every written piece's canonical notes in manifest order, so
    tokenizing need not parse the files again. Folder, cache and manifest each appear atomically. Pieces without
    notes are recorded as skipped. Raises ``ValueError`` if no piece was written.
    """
    rows = []
    extra = extra or {}
    extra_columns = list(next(iter(extra.values()), {}))
    blank = dict.fromkeys(extra_columns, "")
    used_stems: set[str] = set()
    counts = {"pieces": 0, "skipped": 0, "notes": 0}
    files, offsets, stamps = [], [0], []
    with atomic_path(out_dir, directory=True) as tmp_dir, tempfile.TemporaryFile(dir=tmp_dir) as raw:
        for item in items:
            if isinstance(item, Piece):
                notes = normalize(item.notes)
                item = EncodedPiece(item.piece_id, item.source, notes_array(notes),
                                    midi_bytes(notes, tempo_bpm, drums, canonical=True))
            if isinstance(item, EncodedPiece) and not len(item.notes):
                item = Skipped(item.piece_id, item.source, "no notes")
            if isinstance(item, Skipped):
                log.warning("skipped %s (%s): %s", item.piece_id, item.source, item.reason)
                rows.append({"piece_id": item.piece_id, "source": item.source, "status": "skipped",
                             "file": "", "notes": 0, "steps": 0, "reason": item.reason,
                             **extra.get(item.piece_id, blank)})
                counts["skipped"] += 1
                continue
            stem = safe_file_stem(item.piece_id)
            unique, k = stem, 1
            while unique in used_stems:
                k += 1
                unique = f"{stem}_{k}"
            used_stems.add(unique)
            (Path(tmp_dir) / f"{unique}.mid").write_bytes(item.midi)
            stat = (Path(tmp_dir) / f"{unique}.mid").stat()
            stamps.append((stat.st_size, stat.st_mtime_ns))
            raw.write(np.ascontiguousarray(item.notes, dtype=np.int32).tobytes())
            files.append(f"{unique}.mid")
            offsets.append(offsets[-1] + len(item.notes))
            rows.append({"piece_id": item.piece_id, "source": item.source, "status": "ok", "file": f"{unique}.mid",
                         "notes": len(item.notes), "steps": int(item.notes[:, 2].max()), "reason": "",
                         **extra.get(item.piece_id, blank)})
            counts["pieces"] += 1
            counts["notes"] += len(item.notes)
        if counts["pieces"] == 0:
            raise ValueError(f"no usable piece for {out_dir} ({counts['skipped']} skipped; see the log)")
        with atomic_path(notes_cache_path(manifest_path)) as tmp_cache, zipfile.ZipFile(tmp_cache, "w") as zf:
            _write_npy(zf, "notes.npy", raw, shape=(offsets[-1], 3), dtype=np.int32)
            _write_npy(zf, "offsets.npy", np.array(offsets, dtype=np.int64))
            _write_npy(zf, "files.npy", np.array(files, dtype=str))
            _write_npy(zf, "stamps.npy", np.array(stamps, dtype=np.int64).reshape(-1, 2))
        write_table(rows, MANIFEST_COLUMNS + extra_columns, manifest_path)
    return counts


def read_notes_cache(manifest_path: str | os.PathLike, midi_dir: str | os.PathLike | None = None
                     ) -> list[np.ndarray | None] | None:
    """The notes of the manifest's written pieces from the notes cache, in manifest order, or None where there
    is no cache or it does not match the manifest (other files or note counts). With ``midi_dir``, a piece whose
    file changed since (size or modification time) gets None: read that file instead."""
    path = notes_cache_path(manifest_path)
    if not path.exists():
        return None
    rows = [r for r in read_manifest(manifest_path) if r["status"] == "ok"]
    try:
        with np.load(path, allow_pickle=False) as cache:
            notes, offsets, files, stamps = cache["notes"], cache["offsets"], cache["files"], cache["stamps"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        log.warning("ignoring unreadable notes cache %s: %s", path, exc)
        return None
    counts = np.diff(offsets)
    if files.tolist() != [r["file"] for r in rows] or counts.tolist() != [int(r["notes"]) for r in rows]:
        log.warning("ignoring notes cache %s: it does not match %s", path, manifest_path)
        return None
    pieces: list[np.ndarray | None] = [notes[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    for i, (name, (size, mtime_ns)) in enumerate(zip(files.tolist(), stamps.tolist()) if midi_dir else []):
        try:
            stat = (Path(midi_dir) / name).stat()
        except OSError:
            stat = None
        if stat is None or (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
            pieces[i] = None
    return pieces


def read_manifest(manifest_path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a manifest written by ``write_midi_folder`` (``MANIFEST_COLUMNS`` and any extra ones, as strings)."""
    return read_table(manifest_path)
