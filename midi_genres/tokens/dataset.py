"""A genre's MIDI folder -> token streams: training stream, held-out validation stream (whole tune families),
statistics and a table of every piece's family and split."""

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
from midi_genres.core.tables import read_table, write_table
from midi_genres.sources.families import SIGNATURE_LENGTH, melodic_signature, tune_families, validation_families
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


PIECE_COLUMNS = ["piece_id", "family", "split", "tokens", "notes", "steps"]


def cap_pieces(piece_lengths: Sequence[int], piece_ids: Sequence[str], max_tokens: int | None) -> list[int]:
    """Indices (in original order) of the pieces kept under a cap of ``max_tokens`` tokens.

    ``None``, or a total already within the cap, keeps every piece. Otherwise pieces are taken in SHA-1
    order of their ids, each one that still fits added (whole pieces only), so the kept total is
    ``<= max_tokens`` and the choice depends only on the ids and lengths. At least one piece is kept: if
    none fits, the shortest (ties by SHA-1) is kept alone, the only case where the total exceeds the cap.
    Raises ``ValueError`` (naming ``corpus.train_tokens``) for a negative cap or mismatched inputs.
    """
    if len(piece_lengths) != len(piece_ids):
        raise ValueError(f"{len(piece_lengths)} piece lengths but {len(piece_ids)} piece ids")
    if max_tokens is not None and max_tokens < 0:
        raise ValueError(f"corpus.train_tokens must be a non-negative number of tokens or null, got {max_tokens}")
    if any(length < 0 for length in piece_lengths):
        raise ValueError("piece lengths must be non-negative")
    n = len(piece_lengths)
    if max_tokens is None or sum(piece_lengths) <= max_tokens:
        return list(range(n))
    order = sorted(range(n), key=lambda i: (hashlib.sha1(piece_ids[i].encode()).hexdigest(), i))
    kept: list[int] = []
    total = 0
    for i in order:
        if total + piece_lengths[i] <= max_tokens:
            kept.append(i)
            total += piece_lengths[i]
    if not kept:
        kept = [min(order, key=lambda i: piece_lengths[i])]  # order is SHA-1 order, and min keeps the first
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


def tokenize_folder(midi_dir: str | os.PathLike, manifest_path: str | os.PathLike, val_fraction: float,
                    tokenizer: Tokenizer | None = None,
                    train_tokens: int | None = None) -> tuple[np.ndarray, np.ndarray, TokenStats, list[dict]]:
    """Tokenize every usable piece listed in the manifest into (train stream, validation stream, stats, pieces).

    Pieces are grouped into tune families (``sources.families``: the same tune in another setting, key, variant
    or section), and whole families are held out, so no validation piece has a relative in training. With
    ``train_tokens`` the training stream keeps only whole pieces up to that many tokens (``cap_pieces``); the
    left-out pieces are marked ``unused``. Each piece is BOS ... EOS; pieces keep manifest order. ``pieces`` are
    the rows of the pieces table (``PIECE_COLUMNS``): training pieces, then validation, then unused pieces, each
    split in stream order.
    """
    tokenizer = tokenizer or make_tokenizer()
    pieces, skipped = read_pieces(midi_dir, manifest_path)
    families = tune_families((pid, _opening(notes), source) for pid, source, notes in pieces)
    try:
        held_out = validation_families(families, val_fraction)
    except ValueError as exc:
        raise ValueError(f"{midi_dir}: {exc}: its {len(pieces)} pieces are all variants of one tune (the same "
                         "opening melody, transposed or in another rhythm), so none can be held out as unseen "
                         "music; add pieces of other tunes") from None
    encoded = [(pid, len(notes), int(notes[:, 2].max()), tokenizer.encode(_as_notes(notes)))
               for pid, _, notes in pieces]
    train_all = [p for p in encoded if p[0] not in held_out]
    kept = set(cap_pieces([len(p[3]) for p in train_all], [p[0] for p in train_all], train_tokens))
    splits = {"train": [p for i, p in enumerate(train_all) if i in kept],
              "val": [p for p in encoded if p[0] in held_out],
              "unused": [p for i, p in enumerate(train_all) if i not in kept]}
    rows = [{"piece_id": pid, "family": families[pid], "split": split, "tokens": len(tokens), "notes": notes,
             "steps": steps} for split, chosen in splits.items() for pid, notes, steps, tokens in chosen]
    train, val = (np.concatenate([p[3] for p in splits[k]]).astype(np.uint16, copy=False) for k in ("train", "val"))
    stats = TokenStats(len(splits["train"]), len(splits["val"]), len(train), len(val),
                       sum(p[1] for p in splits["train"]), sum(p[1] for p in splits["val"]),
                       sum(p[2] for p in splits["val"]), skipped, families=len(set(families.values())),
                       pieces_unused=len(splits["unused"]), tokens_train_uncapped=sum(len(p[3]) for p in train_all))
    log.info("tokenized %d pieces in %d tune families: %s", len(pieces), stats.families, stats)
    return train, val, stats, rows


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


def tokenize_genre(*, midi_dir: str, manifest_path: str, val_fraction: float, train_path: str, val_path: str,
                   stats_path: str, pieces_path: str, tokenizer: str = "event",
                   train_tokens: int | None = None) -> TokenStats:
    """The tokenize rule: a MIDI folder -> training/validation ``.npy`` streams (of the named tokenizer), stats
    and the pieces table (each piece's tune family and split)."""
    train, val, stats, rows = tokenize_folder(midi_dir, manifest_path, val_fraction, make_tokenizer(tokenizer),
                                              train_tokens)
    save_tokens(train, val, stats, train_path, val_path, stats_path)
    write_table(rows, PIECE_COLUMNS, pieces_path)
    return stats
