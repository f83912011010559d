"""A genre from your own MIDI files: a folder searched recursively for ``.mid`` / ``.midi`` files.

Each file becomes one piece (id: its path inside the folder, without the extension), read with
``notes.read_midi``: every track merged into one canonical note list in 16th-note steps, following the file's
tempo map. Files that cannot be read, or have fewer than ``min_notes`` notes, are skipped with the reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from midi_genres.core.midi import MidiReadError, read_midi
from midi_genres.sources.midi_folder import Piece, Skipped, write_midi_folder

log = logging.getLogger(__name__)

MIDI_SUFFIXES = (".mid", ".midi")
DEFAULT_MIN_NOTES = 16


def find_midi_files(folder: str | os.PathLike) -> list[Path]:
    """Every ``.mid`` / ``.midi`` file (any case) under ``folder``, recursively, in sorted path order.

    Hidden files and folders (names starting with ``.``) are ignored. Raises ``FileNotFoundError`` naming a
    missing folder; an existing folder without MIDI files gives an empty list.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"MIDI folder {str(folder)!r} does not exist (or is not a folder)")
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath) / f for f in filenames
                  if not f.startswith(".") and f.lower().endswith(MIDI_SUFFIXES)]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def piece_id(path: Path, root: Path) -> str:
    """A piece's id: its path inside the folder without the extension (``sub/song`` for ``sub/song.mid``)."""
    return path.relative_to(root).with_suffix("").as_posix()


def read_midi_dir(folder: str | os.PathLike, keep_drums: bool = True, max_pieces: int | None = None,
                  min_notes: int = DEFAULT_MIN_NOTES) -> Iterator[Piece | Skipped]:
    """The pieces of a MIDI folder (``Skipped`` for unreadable or too short files), up to ``max_pieces`` pieces.

    Raises ``ValueError`` naming the folder when it holds no MIDI file at all.
    """
    root = Path(folder).expanduser()
    files = find_midi_files(root)
    if not files:
        raise ValueError(f"MIDI folder {str(folder)!r} holds no .mid or .midi file (searched recursively)")
    log.info("%s: %d MIDI files", folder, len(files))
    kept = 0
    for i, path in enumerate(files):
        if max_pieces is not None and kept >= max_pieces:
            log.info("stopped at max_pieces=%d (%d files not read)", max_pieces, len(files) - i)
            return
        pid, source = piece_id(path, root), path.relative_to(root).as_posix()
        try:
            notes = read_midi(path, keep_drums=keep_drums)
        except MidiReadError as exc:
            yield Skipped(pid, source, str(exc).replace(str(path), source))
            continue
        if len(notes) < min_notes:
            yield Skipped(pid, source, f"{len(notes)} notes, fewer than min_notes={min_notes}")
            continue
        kept += 1
        yield Piece(pid, source, notes)


def import_midi_dir(*, folder: str | os.PathLike, out_dir: str | os.PathLike, manifest_path: str | os.PathLike,
                    keep_drums: bool = True, max_pieces: int | None = None,
                    min_notes: int = DEFAULT_MIN_NOTES) -> dict[str, int]:
    """The import_midi_dir rule: a folder of MIDI files -> ``data/midi/{genre}/`` + manifest; return counts.

    Raises ``ValueError`` naming the folder when it has no MIDI file or no usable one.
    """
    try:
        return write_midi_folder(read_midi_dir(folder, keep_drums, max_pieces, min_notes), out_dir, manifest_path)
    except ValueError as exc:
        if str(exc).startswith("no usable piece"):
            raise ValueError(f"MIDI folder {str(folder)!r} has no usable piece: every file was skipped "
                             f"(unreadable or fewer than min_notes={min_notes} notes; see the log)") from exc
        raise
