"""A genre from your own MIDI files: a folder searched recursively for ``.mid`` / ``.midi`` files.

Each file becomes one piece (id: its path inside the folder, without the extension), read with
``notes.read_midi``: every track merged into one canonical note list in 16th-note steps, following the file's
tempo map (``tracks``: all of them, the pitched ones or the drum tracks alone). Files that cannot be read, or have
fewer than ``min_notes`` notes, are skipped with the reason. ``read_midi_files`` reads any list of files this way
(the Lakh source's selection too).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from midi_genres.core.constants import CORPUS_TEMPO_BPM
from midi_genres.core.midi import MidiReadError, midi_bytes, read_midi
from midi_genres.sources.midi_folder import EncodedPiece, Piece, Skipped, notes_array, write_midi_folder

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


TRACKS = ("all", "pitched", "drums")
"""Which tracks of a song a genre takes: every track, the pitched ones (no drum track), or the drum tracks alone."""

FileJob = tuple[Path, str, str]  # (path, piece id, source: the path as the manifest names it)


def track_selection(source: dict, where: str = "source") -> str:
    """The ``tracks`` of a ``midi_dir`` or ``lakh`` source: ``tracks`` itself, else the older ``keep_drums``
    (true is ``all``, false is ``pitched``), else ``all``. Raises ``ValueError`` naming ``where`` when the two
    disagree."""
    tracks = source.get("tracks")
    if "keep_drums" in source:
        alias = "all" if source["keep_drums"] else "pitched"
        if tracks is not None and tracks != alias:
            raise ValueError(f"{where}: tracks: {tracks} and keep_drums: {str(source['keep_drums']).lower()} "
                             f"disagree (keep_drums is an alias: true is tracks: all, false is tracks: pitched)")
        tracks = alias
    tracks = tracks or "all"
    if tracks not in TRACKS:
        raise ValueError(f"{where}: tracks must be one of {', '.join(TRACKS)}, got {tracks!r}")
    return tracks


def _read_piece(job: tuple[Path, str, str, str, int, bool]) -> Piece | EncodedPiece | Skipped:
    """One file -> its piece (encoded for writing when ``encode``) or why it is skipped; runs in the workers."""
    path, pid, source, tracks, min_notes, encode = job
    try:
        notes = read_midi(path, keep_drums=tracks != "pitched", drums_only=tracks == "drums")
    except MidiReadError as exc:
        return Skipped(pid, source, str(exc).replace(str(path), source))
    if len(notes) < min_notes:
        which = {"all": "", "pitched": " in its pitched tracks", "drums": " in its drum tracks"}[tracks]
        return Skipped(pid, source, f"{len(notes)} notes{which}, fewer than min_notes={min_notes}")
    if encode:
        return EncodedPiece(pid, source, notes_array(notes),
                            midi_bytes(notes, CORPUS_TEMPO_BPM, tracks == "drums", canonical=True))
    return Piece(pid, source, notes)


def read_midi_files(files: list[FileJob], tracks: str = "all", max_pieces: int | None = None,
                    min_notes: int = DEFAULT_MIN_NOTES, workers: int = 1,
                    encode: bool = False) -> Iterator[Piece | EncodedPiece | Skipped]:
    """The pieces of MIDI files in the given order (``Skipped`` for unreadable or too short files), up to
    ``max_pieces`` pieces; ``tracks`` is one of ``TRACKS`` (``drums`` pieces are encoded as a drum kit).

    Files are read by ``workers`` processes, results coming back in the given order, a batch at a time so
    that few pieces wait in memory. ``encode`` gives ``EncodedPiece``s (notes array and the MIDI file bytes at
    the corpus tempo), moving that work to the workers too.
    """
    if tracks not in TRACKS:
        raise ValueError(f"tracks must be one of {', '.join(TRACKS)}, got {tracks!r}")
    jobs = [(path, pid, source, tracks, min_notes, encode) for path, pid, source in files]
    # fork: the workers need no re-import of __main__ (a Snakemake script runs its work at the top level).
    # ProcessPoolExecutor, not multiprocessing.Pool: Pool.terminate() can deadlock against its own task thread
    # (seen about once in 50 runs of the pool test); the executor's shutdown waits only for running reads.
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    pool = ProcessPoolExecutor(workers, mp_context=context) if workers > 1 and len(files) > 1 else None
    batch = 64 * workers
    kept = 0
    try:
        for first in range(0, len(jobs), batch):
            chunk = jobs[first:first + batch]
            results = pool.map(_read_piece, chunk, chunksize=4) if pool else map(_read_piece, chunk)
            for i, item in enumerate(results, start=first):
                if max_pieces is not None and kept >= max_pieces:
                    log.info("stopped at max_pieces=%d (%d files not read)", max_pieces, len(files) - i)
                    return
                kept += not isinstance(item, Skipped)
                yield item
    finally:
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)


def read_midi_dir(folder: str | os.PathLike, tracks: str = "all", max_pieces: int | None = None,
                  min_notes: int = DEFAULT_MIN_NOTES, workers: int = 1,
                  encode: bool = False) -> Iterator[Piece | EncodedPiece | Skipped]:
    """The pieces of a MIDI folder in sorted path order, read by ``read_midi_files``.

    Raises ``ValueError`` naming the folder when it holds no MIDI file at all.
    """
    root = Path(folder).expanduser()
    files = find_midi_files(root)
    if not files:
        raise ValueError(f"MIDI folder {str(folder)!r} holds no .mid or .midi file (searched recursively)")
    log.info("%s: %d MIDI files, %d worker(s)", folder, len(files), workers)
    jobs = [(path, piece_id(path, root), path.relative_to(root).as_posix()) for path in files]
    return read_midi_files(jobs, tracks, max_pieces, min_notes, workers, encode)


def import_midi_dir(*, folder: str | os.PathLike, out_dir: str | os.PathLike, manifest_path: str | os.PathLike,
                    tracks: str = "all", max_pieces: int | None = None,
                    min_notes: int = DEFAULT_MIN_NOTES, workers: int = 1) -> dict[str, int]:
    """The import_midi_dir rule: a folder of MIDI files -> ``data/midi/{genre}/`` + manifest + notes cache; return
    counts. ``workers`` processes read the files; ``tracks`` as in ``read_midi_files``.

    Raises ``ValueError`` naming the folder when it has no MIDI file or no usable one.
    """
    try:
        items = read_midi_dir(folder, tracks, max_pieces, min_notes, workers=workers, encode=True)
        return write_midi_folder(items, out_dir, manifest_path, tempo_bpm=CORPUS_TEMPO_BPM)
    except ValueError as exc:
        if str(exc).startswith("no usable piece"):
            raise ValueError(f"MIDI folder {str(folder)!r} has no usable piece: every file was skipped "
                             f"(unreadable or fewer than min_notes={min_notes} notes; see the log)") from exc
        raise
