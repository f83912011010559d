"""A genre's MIDI folder -> token streams: per fold, a training stream, a held-out validation stream (whole tune
families), optionally a dev stream (whole families of the training side, for choosing a checkpoint), statistics
and a table of every piece's family, split and fold."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from midi_genres.core.atomic import atomic_path
from midi_genres.core.midi import MidiReadError, read_midi
from midi_genres.core.notes import Note
from midi_genres.core.tables import NA, read_table, write_table
from midi_genres.sources.families import (
    SIGNATURE_LENGTH,
    fold_families,
    melodic_signature,
    tune_families,
    validation_families,
)
from midi_genres.sources.midi_folder import notes_array, read_manifest, read_notes_cache
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import Tokenizer
from midi_genres.tokens.streams import save_stream

log = logging.getLogger(__name__)


@dataclass
class TokenStats:
    """What a genre's token files hold."""

    pieces_train: int
    pieces_val: int
    tokens_train: int
    tokens_val: int
    notes_train: int
    notes_val: int
    steps_val: int  # 16th-note steps of music in the validation split
    skipped: int
    families: int = 0  # tune families among the pieces (whole families are held out)
    pieces_unused: int = 0  # training pieces left out by the cap corpus.train_tokens
    tokens_train_uncapped: int = 0  # training tokens before the cap (= tokens_train when nothing was left out)
    fold: int = 1  # which of the split.folds folds these streams are
    pieces_dev: int = 0  # training-side pieces held out as the dev set (split.dev_fraction), never trained on
    tokens_dev: int = 0


PIECE_COLUMNS = ["piece_id", "family", "split", "fold", "tokens", "notes", "steps"]


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def cap_pieces(piece_lengths: Sequence[int], piece_ids: Sequence[str], max_tokens: int | None,
               families: Sequence[str] | None = None) -> list[int]:
    """Indices (in original order) of the pieces kept under a cap of ``max_tokens`` tokens.

    ``None``, or a total already within the cap, keeps every piece. Otherwise whole tune families (``families``:
    each piece's; by default every piece its own) are taken in SHA-1 order of the family id, as long as the next
    whole family still fits, and the fill stops at the first that does not. Pieces of every length are kept alike
    (a fill that skipped what does not fit would end on short pieces), the kept total is ``<= max_tokens``, and the
    caps are nested: a smaller cap keeps a subset of a larger cap's pieces. If not even the first family fits, the
    longest run of its pieces (in SHA-1 order of their ids) that fits is kept, and at least its first piece, the
    only case where the total exceeds the cap. Raises ``ValueError`` (naming ``corpus.train_tokens``) for a
    negative cap or mismatched inputs.
    """
    families = list(piece_ids) if families is None else list(families)
    if not len(piece_lengths) == len(piece_ids) == len(families):
        raise ValueError(f"{len(piece_lengths)} piece lengths, {len(piece_ids)} piece ids, {len(families)} families")
    if max_tokens is not None and max_tokens < 0:
        raise ValueError(f"corpus.train_tokens must be a non-negative number of tokens or null, got {max_tokens}")
    if any(length < 0 for length in piece_lengths):
        raise ValueError("piece lengths must be non-negative")
    n = len(piece_lengths)
    if max_tokens is None or sum(piece_lengths) <= max_tokens:
        return list(range(n))
    members: dict[str, list[int]] = {}
    for i in sorted(range(n), key=lambda i: (_sha1(piece_ids[i]), i)):
        members.setdefault(families[i], []).append(i)
    kept: list[int] = []
    total = 0
    for family in sorted(members, key=_sha1):
        size = sum(piece_lengths[i] for i in members[family])
        if total + size > max_tokens:
            break
        kept += members[family]
        total += size
    if not kept:  # the first family alone is over the cap: as many of its pieces as fit, at least one
        first = members[min(members, key=_sha1)]
        kept = [first[0]]
        for i in first[1:]:
            if total + piece_lengths[kept[-1]] + piece_lengths[i] > max_tokens:
                break
            total += piece_lengths[kept[-1]]
            kept.append(i)
    return sorted(kept)


def read_pieces(midi_dir: str | os.PathLike,
                manifest_path: str | os.PathLike) -> tuple[list[tuple[str, str, np.ndarray]], int]:
    """(piece id, source, notes as an (n, 3) pitch/start/end array) of every usable piece listed in the manifest,
    in manifest order, and how many files could not be read (skipped with a warning).

    The notes come from the notes cache beside the manifest where it matches (and the file is unchanged since),
    else from the MIDI file: no file is parsed twice. Arrays take 12 bytes a note, so a folder of thousands of
    long files fits in memory until it is tokenized piece by piece.
    """
    rows = [r for r in read_manifest(manifest_path) if r["status"] == "ok"]
    cached = read_notes_cache(manifest_path, midi_dir) or [None] * len(rows)
    log.info("%d of %d pieces from the notes cache", sum(c is not None for c in cached), len(rows))
    pieces, skipped = [], 0
    for row, notes in zip(rows, cached):
        if notes is None:
            try:
                notes = notes_array(read_midi(Path(midi_dir) / row["file"]))
            except MidiReadError as exc:
                log.warning("skipping %s: %s", row["piece_id"], exc)
                skipped += 1
                continue
        if len(notes):
            pieces.append((row["piece_id"], row["source"], notes))
    return pieces, skipped


def _as_notes(array: np.ndarray) -> list[Note]:
    return list(map(Note._make, array.tolist()))


def _opening(array: np.ndarray, onsets: int = 2 * SIGNATURE_LENGTH) -> list[Note]:
    """The notes of a piece's first ``onsets`` onsets, enough for its melodic signature (else the whole piece,
    where held high notes hide so many onsets that the top line needs more)."""
    starts = np.unique(array[:, 1])
    if len(starts) <= onsets:
        return _as_notes(array)
    head = _as_notes(array[array[:, 1] <= starts[onsets - 1]])
    return head if melodic_signature(head) is not None else _as_notes(array)


@dataclass
class FoldTokens:
    """One fold's token streams (``dev`` empty without a dev set) and statistics, and the rows of its pieces table."""

    train: np.ndarray
    val: np.ndarray
    dev: np.ndarray
    stats: TokenStats
    rows: list[dict]


def held_out_folds(families: dict[str, str], folds: int, val_fraction: float) -> dict[str, int]:
    """The fold (1..``folds``) that holds out each held-out piece id: with one fold, ``val_fraction`` of the pieces
    as whole families (``validation_families``); with more, every piece, the folds partitioning the families
    (``fold_families``)."""
    if folds == 1:
        return dict.fromkeys(validation_families(families, val_fraction), 1)
    return fold_families(families, folds)


def tokenize_folder(midi_dir: str | os.PathLike, manifest_path: str | os.PathLike, val_fraction: float,
                    tokenizer: Tokenizer | None = None, train_tokens: int | None = None, folds: int = 1,
                    dev_fraction: float = 0.0) -> list[FoldTokens]:
    """Tokenize every usable piece listed in the manifest into each fold's streams, stats and pieces table.

    Pieces are grouped into tune families (``sources.families``: the same tune in another setting, key, variant
    or section), and whole families are held out, so no held-out piece has a relative in training: with
    ``folds`` 1, ``val_fraction`` of the pieces; with K folds, fold k holds out the k-th of K parts of the families,
    so every piece is held out once. With ``dev_fraction``, that share of each fold's training-side pieces (whole
    families again) becomes its dev set, never trained on. With ``train_tokens`` the training stream keeps whole
    families up to that many tokens (``cap_pieces``); the left-out pieces are marked ``unused``. Each piece is
    BOS ... EOS, pieces in manifest order; the pieces table (``PIECE_COLUMNS``) lists training, validation, dev and
    unused pieces, each split in stream order, with the fold that holds each piece out.
    """
    tokenizer = tokenizer or make_tokenizer()
    pieces, skipped = read_pieces(midi_dir, manifest_path)
    families = tune_families((pid, _opening(notes), source) for pid, source, notes in pieces)
    try:
        fold_of = held_out_folds(families, folds, val_fraction)
    except ValueError as exc:
        if folds > 1:
            raise ValueError(f"{midi_dir}: {exc} among its {len(pieces)} pieces, so they cannot be held out in "
                             f"{folds} folds of whole families; lower split.folds") from None
        raise ValueError(f"{midi_dir}: {exc}: its {len(pieces)} pieces are all variants of one tune (the same "
                         "opening melody, transposed or in another rhythm), so none can be held out as unseen "
                         "music; add pieces of other tunes") from None
    encoded = [(pid, len(notes), int(notes[:, 2].max()), tokenizer.encode(_as_notes(notes)))
               for pid, _, notes in pieces]
    n_families = len(set(families.values()))
    return [_fold_split(k, encoded, families, fold_of, train_tokens, dev_fraction, skipped, n_families)
            for k in range(1, folds + 1)]


def _fold_split(fold: int, encoded: list, families: dict[str, str], fold_of: dict[str, int],
                train_tokens: int | None, dev_fraction: float, skipped: int, n_families: int) -> FoldTokens:
    """Fold ``fold``'s streams from the encoded pieces (id, notes, steps, tokens)."""
    training_side = {p[0]: families[p[0]] for p in encoded if fold_of.get(p[0]) != fold}
    dev_ids = validation_families(training_side, dev_fraction, salt="dev:") if dev_fraction > 0 else set()
    train_all = [p for p in encoded if p[0] in training_side and p[0] not in dev_ids]
    kept = set(cap_pieces([len(p[3]) for p in train_all], [p[0] for p in train_all], train_tokens,
                          [families[p[0]] for p in train_all]))
    splits = {"train": [p for i, p in enumerate(train_all) if i in kept],
              "val": [p for p in encoded if fold_of.get(p[0]) == fold],
              "dev": [p for p in encoded if p[0] in dev_ids],
              "unused": [p for i, p in enumerate(train_all) if i not in kept]}
    rows = [{"piece_id": pid, "family": families[pid], "split": split, "fold": fold_of.get(pid, NA), "tokens":
             len(tokens), "notes": notes, "steps": steps} for split, chosen in splits.items()
            for pid, notes, steps, tokens in chosen]
    train, val, dev = (np.concatenate([p[3] for p in splits[k]] or [np.zeros(0, np.uint16)]).astype(np.uint16,
                                                                                                 copy=False)
                       for k in ("train", "val", "dev"))
    stats = TokenStats(len(splits["train"]), len(splits["val"]), len(train), len(val),
                       sum(p[1] for p in splits["train"]), sum(p[1] for p in splits["val"]),
                       sum(p[2] for p in splits["val"]), skipped, families=n_families,
                       pieces_unused=len(splits["unused"]), tokens_train_uncapped=sum(len(p[3]) for p in train_all),
                       fold=fold, pieces_dev=len(splits["dev"]), tokens_dev=len(dev))
    log.info("fold %d: %d pieces in %d tune families: %s", fold, len(encoded), n_families, stats)
    return FoldTokens(train, val, dev, stats, rows)


def save_tokens(train: np.ndarray, val: np.ndarray, stats: TokenStats, train_path: str | os.PathLike,
                val_path: str | os.PathLike, stats_path: str | os.PathLike) -> None:
    """Write the two uint16 ``.npy`` streams and the JSON statistics, each atomically."""
    save_stream(train, train_path)
    save_stream(val, val_path)
    with atomic_path(stats_path) as tmp:
        Path(tmp).write_text(json.dumps(asdict(stats), indent=2) + "\n")


def load_stats(stats_path: str | os.PathLike) -> TokenStats:
    """Read statistics written by ``save_tokens``."""
    return TokenStats(**json.loads(Path(stats_path).read_text()))


def load_pieces(pieces_path: str | os.PathLike, split: str) -> list[dict]:
    """The rows of one split (``train``, ``val`` or ``unused``) of a pieces table, in stream order, numbers parsed."""
    return [{**r, **{k: int(r[k]) for k in ("tokens", "notes", "steps")}} for r in read_table(pieces_path)
            if r["split"] == split]


def tokenize_genre(*, genre: str, midi_dir: str, manifest_path: str, val_fraction: float, train_paths: Sequence[str],
                   val_paths: Sequence[str], stats_paths: Sequence[str], pieces_paths: Sequence[str],
                   dev_paths: Sequence[str] = (), tokenizer: str = "event", train_tokens: int | None = None,
                   dev_fraction: float = 0.0) -> list[TokenStats]:
    """The tokenize rule: a MIDI folder -> for each fold (as many as ``train_paths``), training/validation (and,
    with ``dev_paths``, dev) ``.npy`` streams of the named tokenizer, stats and the pieces table (each piece's tune
    family, split and the fold that holds it out). Too few families for the folds is an error naming the genre."""
    folds = len(train_paths)
    try:
        split = tokenize_folder(midi_dir, manifest_path, val_fraction, make_tokenizer(tokenizer), train_tokens, folds,
                                dev_fraction)
    except ValueError as exc:
        raise ValueError(f"genre {genre!r}: {exc}") from None
    for k, fold in enumerate(split):
        save_tokens(fold.train, fold.val, fold.stats, train_paths[k], val_paths[k], stats_paths[k])
        if dev_paths:
            save_stream(fold.dev, dev_paths[k])
        write_table(fold.rows, PIECE_COLUMNS, pieces_paths[k])
    return [fold.stats for fold in split]
