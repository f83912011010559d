"""A genre's MIDI folder: one MIDI file per piece plus a manifest of what was kept and what was skipped."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from midi_genres.core.atomic import atomic_path
from midi_genres.core.constants import CORPUS_TEMPO_BPM
from midi_genres.core.midi import write_midi
from midi_genres.core.notes import Note
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
class Skipped:
    """A piece (or file) that was not used, and why."""

    piece_id: str
    source: str
    reason: str


def safe_file_stem(piece_id: str) -> str:
    """A file-system-safe stem for a piece id (letters, digits, ``._-``; others become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", piece_id).strip("._") or "piece"


def write_midi_folder(items: Iterable[Piece | Skipped], out_dir: str | os.PathLike, manifest_path: str | os.PathLike,
                      tempo_bpm: float = CORPUS_TEMPO_BPM, drums: bool = False) -> dict[str, int]:
    """Write each ``Piece`` as ``out_dir/<id>.mid`` and every item as a manifest row; return counts.

    The folder and the manifest appear atomically: an interrupted run leaves neither half-written.
    Pieces without notes are recorded as skipped. Raises ``ValueError`` if no piece was written.
    """
    rows = []
    used_stems: set[str] = set()
    counts = {"pieces": 0, "skipped": 0, "notes": 0}
    with atomic_path(out_dir, directory=True) as tmp_dir:
        for item in items:
            if isinstance(item, Piece) and not item.notes:
                item = Skipped(item.piece_id, item.source, "no notes")
            if isinstance(item, Skipped):
                log.warning("skipped %s (%s): %s", item.piece_id, item.source, item.reason)
                rows.append({"piece_id": item.piece_id, "source": item.source, "status": "skipped",
                             "file": "", "notes": 0, "steps": 0, "reason": item.reason})
                counts["skipped"] += 1
                continue
            stem = safe_file_stem(item.piece_id)
            unique, k = stem, 1
            while unique in used_stems:
                k += 1
                unique = f"{stem}_{k}"
            used_stems.add(unique)
            write_midi(Path(tmp_dir) / f"{unique}.mid", item.notes, tempo_bpm, drums=drums)
            rows.append({"piece_id": item.piece_id, "source": item.source, "status": "ok", "file": f"{unique}.mid",
                         "notes": len(item.notes), "steps": max(n.end for n in item.notes), "reason": ""})
            counts["pieces"] += 1
            counts["notes"] += len(item.notes)
        if counts["pieces"] == 0:
            raise ValueError(f"no usable piece for {out_dir} ({counts['skipped']} skipped; see the log)")
        write_table(rows, MANIFEST_COLUMNS, manifest_path)
    return counts


def read_manifest(manifest_path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a manifest written by ``write_midi_folder`` (``MANIFEST_COLUMNS``, as strings)."""
    return read_table(manifest_path)
