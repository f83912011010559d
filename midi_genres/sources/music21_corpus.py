"""music21's built-in corpora as pieces of canonical notes.

Every file of a collection is parsed once, from source (music21's pickle cache is neither read nor
written), and every part of every score becomes notes: chords expanded into their pitches, ties merged,
times quantised to 16ths and the list normalised. Multi-tune ABC files are split into their tunes, each
its own piece (``essenFolksong/han1#12`` is tune ``X:12`` of ``han1.abc``). A file or tune that fails is
reported as ``Skipped``, never raised.

Two purely notational, slow steps of music21's parsers are skipped: beaming and re-barring of ABC
tunes (about 80% of ABC translation time) and placing Humdrum's global comment/reference records
into the score (about 15% of a Palestrina file). Neither changes a note's pitch, onset or (after tie
merging) duration; the notes were checked identical over all ABC files and a sample of Humdrum files.
Plain ``**kern`` files (every Palestrina file but one) do not reach music21's parser at all: ``kern`` reads
their notes directly (about 3 ms a file instead of 0.1 s), identical to music21's on all 1,317 of them.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path, PurePosixPath

from midi_genres.core.joblog import progress_text
from midi_genres.core.notes import Note, Sounding, normalize, tied_notes
from midi_genres.sources.kern import UnsupportedKern, read_kern_file
from midi_genres.sources.midi_folder import Piece, Skipped

log = logging.getLogger(__name__)

COLLECTIONS = ("bach", "palestrina", "trecento", "ryansMammoth", "monteverdi", "beethoven", "essenFolksong",
               "oneills1850", "airdsAirs", "essenChinese")
# Collections that are some files of another: name -> (that collection, the files' names without extension). A run
# with both takes those files for the part alone (``shared_files``).
PARTS_OF = {"essenChinese": ("essenFolksong", ("han1", "han2"))}
# What music21's corpus says of each collection beyond the default genres' (its corpus/license.txt covers all).
LICENSE_NOTES = {
    "oneills1850": "O'Neill's Music of Ireland (1903): 1,850 tunes, public domain; ABC transcriptions by several "
                   "volunteers (named in each tune's Z: field), distributed with music21.",
    "airdsAirs": "James Aird, A Selection of Scotch, English, Irish and Foreign Airs (1778-1803), public domain; ABC "
                 "transcriptions by Jack Campin (2009), distributed with music21.",
    "essenChinese": "The Essen Folksong Collection's Chinese songs (han1, han2): permission for non-commercial "
                    "distribution and use in music21 (music21's corpus/essenFolksong/license.txt); ABC encodings "
                    "by Seymour Schlien.",
}

# Which copy of a work to keep when it exists in several formats (lower is better).
FORMAT_PREFERENCE = {".mxl": 0, ".musicxml": 1, ".xml": 1, ".krn": 2, ".abc": 3}
# Files in a collection that are not scores.
NOT_SCORES = {".rntxt": "roman-numeral analysis (.rntxt), not a score"}

LOG_EVERY_FILES = 100
LOG_EVERY_SECONDS = 15.0


def _corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _check_collection(collection: str) -> None:
    if collection not in COLLECTIONS:
        raise ValueError(f"unknown music21 collection {collection!r}; valid: {', '.join(COLLECTIONS)}")


def _work_key(rel: str) -> str:
    """A file's path relative to the corpus root without its extension: the work it encodes."""
    return str(PurePosixPath(rel).with_suffix(""))


def shared_files(collection: str, run_collections: list[str]) -> list[str]:
    """The files of ``collection`` that another collection of the run holds as a part of its own (``PARTS_OF``),
    as paths inside the corpus: ``essenFolksong``'s ``han1.abc`` and ``han2.abc`` when ``essenChinese`` runs too."""
    return sorted(f"{collection}/{name}.abc" for part, (whole, names) in PARTS_OF.items()
                  if whole == collection and part in run_collections for name in names)


def list_corpus_files(collection: str, left_out: tuple[str, ...] | list[str] = ()
                      ) -> tuple[list[Path], list[Skipped]]:
    """The score files of a music21 collection, sorted by path, one per work, and the files left out.

    A work stored in several formats is kept once (``.mxl`` > ``.musicxml``/``.xml`` > ``.krn`` > ``.abc``);
    the other copies are returned as ``Skipped`` ("duplicate of ..."), as are ``.rntxt`` analyses and the files
    named in ``left_out`` (paths inside the corpus, from ``shared_files``). A part of another collection
    (``PARTS_OF``) is those files of it. Raises ``ValueError`` for a name not in ``COLLECTIONS``.
    """
    _check_collection(collection)
    from music21 import corpus

    whole, names = PARTS_OF.get(collection, (collection, None))
    root = _corpus_root()
    by_work: dict[str, list[tuple[str, Path]]] = {}
    skipped: list[Skipped] = []
    for path in corpus.getComposer(whole):
        path = Path(path)
        rel = _relative(path, root)
        suffix = path.suffix.lower()
        if names is not None and path.stem not in names:
            continue
        if rel in left_out:
            skipped.append(Skipped(_work_key(rel), rel, "taken by its own genre in this run (a part of the "
                                   "collection run as a genre of its own)"))
            continue
        if suffix in NOT_SCORES:
            skipped.append(Skipped(rel, rel, NOT_SCORES[suffix]))
            continue
        by_work.setdefault(_work_key(rel), []).append((rel, path))
    files: list[Path] = []
    for key in sorted(by_work):
        copies = sorted(by_work[key], key=lambda c: (FORMAT_PREFERENCE.get(Path(c[0]).suffix.lower(), 99), c[0]))
        kept_rel, kept_path = copies[0]
        files.append(kept_path)
        skipped.extend(Skipped(rel, rel, f"duplicate of {kept_rel}") for rel, _ in copies[1:])
    files.sort(key=lambda p: _relative(p, root))
    skipped.sort(key=lambda s: s.source)
    return files, skipped


# ---------------------------------------------------------------------------------------------------------
# scores -> notes


def _collect(container, base: float, found: list) -> None:
    """Collect (absolute onset, element) for the pitched notes and chords below ``container``."""
    from music21 import chord, note

    for el in container.elements:
        if el.isStream:
            _collect(el, base + float(container.elementOffset(el)), found)
        elif isinstance(el, (note.Note, chord.Chord)):  # not rests, nor unpitched percussion
            found.append((base + float(container.elementOffset(el)), len(found), el))


def _part_notes(part, base: float, out: list[Note]) -> None:
    """Append the notes of one part (absolute times) to ``out``, merging ties."""
    from music21 import note

    found: list = []
    _collect(part, base, found)
    found.sort(key=lambda f: (f[0], f[1]))
    events: list[Sounding] = []
    for onset, _, el in found:
        duration = el.duration
        if duration.isGrace or duration.quarterLength <= 0:
            continue  # grace notes take no time of their own
        notes = [el] if isinstance(el, note.Note) else el.notes  # a chord's ties are its notes' ties
        events.append((onset, float(duration.quarterLength),
                       [(n.pitch.midi, n.tie.type if n.tie is not None else None) for n in notes]))
    out.extend(tied_notes(events))


def notes_from_score(score) -> list[Note]:
    """Canonical notes of every part of a music21 score (or part, or any stream).

    Chords give one note per pitch; a note tied ('start'/'continue') to a following note of the same
    pitch starting where it ends is merged with it; grace notes, rests and unpitched percussion are
    dropped; times are absolute quarter lengths from the start of the piece quantised to 16ths.
    Pitches are as music21 reads them: an instrument's transposition is not applied (the trecento
    files' octave ``<transpose>`` marks on treble-8 staves are spurious: applying them would put the
    top voice below the tenor).
    """
    from music21 import stream

    parts = list(score.parts) if isinstance(score, stream.Score) else []
    out: list[Note] = []
    if not parts:
        _part_notes(score, 0.0, out)
    for part in parts:
        _part_notes(part, float(score.elementOffset(part)), out)
    return normalize(out)


# ---------------------------------------------------------------------------------------------------------
# files -> pieces


def _skip(*args, **kwargs):
    return None


@contextlib.contextmanager
def _skipping(*targets: tuple[object, str]):
    """Temporarily replace the named methods/functions by no-ops (each only where it exists)."""
    saved = [(obj, name, getattr(obj, name)) for obj, name in targets if callable(getattr(obj, name, None))]
    for obj, name, _ in saved:
        setattr(obj, name, _skip)
    try:
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def _fast_abc():
    """While translating ABC, skip music21's beaming and re-barring (notation only; see the module docstring)."""
    from music21 import stream
    from music21.abcFormat import translate

    return _skipping((translate, "reBar"), (stream.Stream, "makeBeams"))


def _fast_humdrum():
    """While parsing Humdrum, do not place global comments/reference records in the score (no notes)."""
    from music21.humdrum import spineParser

    return _skipping((spineParser.HumdrumDataCollection, "insertGlobalEvents"))


def _error(exc: BaseException) -> str:
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _abc_tunes(text: str) -> list[tuple[str | None, str]]:
    """Split ABC text into tunes: [(reference number or None, the tune's text after the file header)].

    Each tune is tokenised on its own, so that one malformed tune cannot take the whole file with it
    (music21 tokenises a whole file at once); the file header (lines before the first ``X:``) is
    prepended to every tune, as music21's ``splitByReferenceNumber`` does.
    """
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("X:")]
    if not starts:
        return [(None, text)]
    header = "".join(lines[:starts[0]])
    bounds = zip(starts, starts[1:] + [len(lines)])
    return [(lines[a].lstrip()[2:].strip() or None, header + "".join(lines[a:b])) for a, b in bounds]


def _tune_ids(piece_id: str, numbers: list[str | None]) -> list[str]:
    ids, seen = [], set()
    for i, number in enumerate(numbers, start=1):
        tune_id = f"{piece_id}#{number if number else i}"
        k = 1
        while tune_id in seen:
            k += 1
            tune_id = f"{piece_id}#{number if number else i}-{k}"
        seen.add(tune_id)
        ids.append(tune_id)
    return ids


def _iter_abc(path: Path, piece_id: str, source: str) -> Iterator[Piece | Skipped]:
    from music21 import abcFormat
    from music21.abcFormat import translate

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    tunes = _abc_tunes(text)
    ids = [piece_id] if len(tunes) == 1 else _tune_ids(piece_id, [number for number, _ in tunes])
    for tune_id, (_, tune_text) in zip(ids, tunes):
        try:
            handler = abcFormat.ABCFile().readstr(tune_text)
            with _fast_abc():
                score = translate.abcToStreamScore(handler)
            item = Piece(tune_id, source, notes_from_score(score))
        except Exception as exc:  # music21 raises many types on malformed input
            item = Skipped(tune_id, source, _error(exc))
        yield item


def _plain_kern_notes(path: Path) -> list[Note] | None:
    """The notes of a plain **kern file read without music21 (``kern``), or None where it needs music21."""
    try:
        return read_kern_file(path)
    except UnsupportedKern as exc:
        log.debug("%s: parsed by music21 (%s)", path.name, exc)
        return None


def _iter_file(path: Path, rel: str | None) -> Iterator[Piece | Skipped]:
    """The pieces of one file, lazily (a multi-tune file is parsed tune by tune); never raises."""
    path = Path(path)
    source = rel if rel is not None else path.name
    piece_id = _work_key(source)
    try:
        if path.suffix.lower() == ".abc":
            items = _iter_abc(path, piece_id, source)
        elif path.suffix.lower() == ".krn" and (notes := _plain_kern_notes(path)) is not None:
            items = iter([Piece(piece_id, source, notes)])
        else:
            from music21 import converter, stream

            with _fast_humdrum() if path.suffix.lower() == ".krn" else contextlib.nullcontext():
                parsed = converter.parse(path, forceSource=True)
            if isinstance(parsed, stream.Opus):
                scores = list(parsed.scores)
                ids = [piece_id] if len(scores) == 1 else _tune_ids(piece_id, [None] * len(scores))
            else:
                scores, ids = [parsed], [piece_id]
            items = ((score_id, score) for score_id, score in zip(ids, scores))
            items = _scores_to_pieces(items, source)
        yielded = False
        for item in items:
            yielded = True
            yield item
        if not yielded:
            yield Skipped(piece_id, source, "no score in file")
    except Exception as exc:  # music21 raises many types on malformed input
        yield Skipped(piece_id, source, _error(exc))


def _scores_to_pieces(scores, source: str) -> Iterator[Piece | Skipped]:
    for score_id, score in scores:
        try:
            item = Piece(score_id, source, notes_from_score(score))
        except Exception as exc:
            item = Skipped(score_id, source, _error(exc))
        yield item


def extract_file(path: str | Path, rel: str | None = None) -> list[Piece | Skipped]:
    """Parse one corpus file into pieces: one per score, one per tune of a multi-tune file.

    ``rel`` is the file's path relative to the corpus root (default: the file name); the piece id is
    ``rel`` without its extension, plus ``#<tune number>`` for tunes of a multi-tune file. Never raises
    for a bad file: a file (or tune) that cannot be parsed comes back as a ``Skipped`` with the error.
    """
    return list(_iter_file(Path(path), rel))


def _take(items: Iterator[Piece | Skipped], max_pieces: int | None) -> Iterator[Piece | Skipped]:
    """``items`` up to and including the ``max_pieces``-th piece."""
    pieces = 0
    for item in items:
        yield item
        if isinstance(item, Piece):
            pieces += 1
            if max_pieces is not None and pieces >= max_pieces:
                return


Task = tuple[int, str, str, int | None]  # (index in path order, file path, path relative to the corpus, cap)


def _extract_task(task: Task) -> tuple[int, list[Piece | Skipped]]:
    index, path, rel, max_pieces = task
    return index, list(_take(_iter_file(Path(path), rel), max_pieces))


def _file_size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


class _Progress:
    """Logs files done/total, pieces, notes, rate and ETA (by bytes parsed) every so often."""

    def __init__(self, collection: str, tasks: list[Task], left_out: int):
        self.collection = collection
        self.sizes = {task[0]: max(_file_size(task[1]), 1) for task in tasks}
        self.total, self.total_bytes = len(tasks), sum(self.sizes.values())
        self.done = self.done_bytes = self.pieces = self.notes = 0
        self.skipped = left_out
        self.t0 = self.last = time.perf_counter()

    def file_done(self, index: int, items: list[Piece | Skipped]) -> None:
        self.done += 1
        self.done_bytes += self.sizes.get(index, 1)
        for item in items:
            if isinstance(item, Piece):
                self.pieces += 1
                self.notes += len(item.notes)
            else:
                self.skipped += 1
        now = time.perf_counter()
        if self.done == self.total or self.done % LOG_EVERY_FILES == 0 or now - self.last >= LOG_EVERY_SECONDS:
            self.last = now
            elapsed = max(now - self.t0, 1e-9)
            log.info("%s: %d/%d files, %d pieces, %d skipped, %d notes, %s", self.collection, self.done, self.total,
                     self.pieces, self.skipped, self.notes,
                     progress_text(elapsed, self.done_bytes, self.total_bytes, self.done / elapsed, "files"))


def _pooled_results(pool, tasks: list[Task], largest_first: bool,
                    progress: _Progress | None = None) -> Iterator[list[Piece | Skipped]]:
    """Each task's result, in task order, computed by ``pool``.

    With ``largest_first`` the biggest files are parsed first (so that no worker is left with one big
    file at the end) and results are held back until their turn.
    """
    order = list(tasks)
    if largest_first:
        order.sort(key=lambda task: -_file_size(task[1]))
    done: dict[int, list[Piece | Skipped]] = {}
    finished = (future.result() for future in as_completed([pool.submit(_extract_task, task) for task in order]))
    for index, _, _, _ in tasks:
        while index not in done:
            i, result = next(finished)
            done[i] = result
            if progress is not None:
                progress.file_done(i, result)
        yield done.pop(index)


def _init_worker() -> None:
    import music21  # noqa: F401  (import once per worker, before the first task)

    gc.freeze()  # music21's many module-level objects need not be re-scanned by every full collection


@contextlib.contextmanager
def _frozen_gc():
    """Exempt the objects alive now (music21's modules above all) from garbage collection: ~5-10% faster."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _default_start_method() -> str:
    # fork: workers start at once with music21 already imported, and the caller's __main__ is not
    # re-imported in the workers (spawn/forkserver re-run an unguarded script, such as a Snakemake one).
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def extract_collection(collection: str, max_pieces: int | None = None, workers: int = 1, *,
                       start_method: str | None = None, left_out: tuple[str, ...] | list[str] = ()
                       ) -> Iterator[Piece | Skipped]:
    """Yield the pieces of a music21 collection (and what was skipped, with reasons) in a fixed order.

    Files are taken in path order (see ``list_corpus_files``; left-out files come as ``Skipped`` in
    their place), each parsed exactly once; iteration stops as soon as ``max_pieces`` pieces have been
    yielded. With ``workers > 1`` files are parsed in a process pool (``start_method``: default fork
    where available, else spawn; uncapped runs parse the biggest files first) and the output is identical.
    ``left_out``: files (paths inside the corpus) given as ``Skipped`` instead (see ``shared_files``).
    """
    if max_pieces is not None and max_pieces <= 0:
        return
    files, skipped = list_corpus_files(collection, left_out)
    root = _corpus_root()
    plan: list[tuple[str, Path | Skipped]] = [(_relative(p, root), p) for p in files]
    plan += [(s.source, s) for s in skipped]
    plan.sort(key=lambda entry: entry[0])
    tasks: list[Task] = []
    for rel, item in plan:
        if isinstance(item, Path):
            tasks.append((len(tasks), str(item), rel, max_pieces))
    workers = max(1, min(int(workers), len(tasks)))
    log.info("%s: %d files to parse (%d left out), workers=%d, max_pieces=%s",
             collection, len(tasks), len(skipped), workers, max_pieces)
    progress = _Progress(collection, tasks, len(skipped))
    pieces = 0

    with contextlib.ExitStack() as stack:
        if workers > 1:
            ctx = multiprocessing.get_context(start_method or _default_start_method())
            # an executor, not multiprocessing.Pool, whose terminate() can deadlock (see sources/midi_dir.py);
            # leaving early (max_pieces) cancels the files not yet started and waits for the running ones
            pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker)
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
            # uncapped: biggest files first, for an even load; capped: path order, to reach the cap soonest
            results = _pooled_results(pool, tasks, largest_first=max_pieces is None, progress=progress)
        else:  # lazily, so that a small max_pieces parses only the tunes it needs
            stack.enter_context(_frozen_gc())
            results = (_take(_iter_file(Path(path), rel), limit) for _, path, rel, limit in tasks)
        index = 0
        for _, item in plan:
            if isinstance(item, Skipped):
                yield item
                continue
            file_items = []
            for result in next(results):
                file_items.append(result)
                yield result
                if isinstance(result, Piece):
                    pieces += 1
                    if max_pieces is not None and pieces >= max_pieces:
                        log.info("%s: stopped at max_pieces=%d in file %d/%d (%.1f s)", collection, max_pieces,
                                 index + 1, len(tasks), time.perf_counter() - progress.t0)
                        return
            if workers == 1:
                progress.file_done(index, file_items)
            index += 1
