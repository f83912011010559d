"""A genre's MIDI folder -> token streams: training stream, held-out validation stream and statistics."""

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
from midi_genres.sources.midi_folder import read_manifest
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import Tokenizer

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


def validation_ids(piece_ids: list[str], val_fraction: float) -> set[str]:
    """The held-out pieces: the ``round(val_fraction * n)`` ids (at least one) first in SHA-1 order.

    Depends only on the ids, so it is the same on every machine and barely moves when pieces are added.
    """
    if len(piece_ids) < 2:
        raise ValueError(f"need at least 2 pieces to hold one out for validation, got {len(piece_ids)}")
    k = min(len(piece_ids) - 1, max(1, round(val_fraction * len(piece_ids))))
    ranked = sorted(piece_ids, key=lambda pid: hashlib.sha1(pid.encode()).hexdigest())
    return set(ranked[:k])


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


def tokenize_folder(midi_dir: str | os.PathLike, manifest_path: str | os.PathLike, val_fraction: float,
                    tokenizer: Tokenizer | None = None) -> tuple[np.ndarray, np.ndarray, TokenStats]:
    """Tokenize every usable piece listed in the manifest into (train stream, validation stream, stats).

    Each piece is BOS ... EOS; pieces keep manifest order. A file that cannot be read is skipped with a warning.
    """
    tokenizer = tokenizer or make_tokenizer()
    rows = [r for r in read_manifest(manifest_path) if r["status"] == "ok"]
    pieces = []
    skipped = 0
    for row in rows:
        try:
            notes = read_midi(Path(midi_dir) / row["file"])
        except MidiReadError as exc:
            log.warning("skipping %s: %s", row["piece_id"], exc)
            skipped += 1
            continue
        if notes:
            pieces.append((row["piece_id"], notes))
    held_out = validation_ids([pid for pid, _ in pieces], val_fraction)
    streams: dict[bool, list[np.ndarray]] = {False: [], True: []}
    notes_count = {False: 0, True: 0}
    steps_val = 0
    for pid, notes in pieces:
        is_val = pid in held_out
        streams[is_val].append(tokenizer.encode(notes))
        notes_count[is_val] += len(notes)
        if is_val:
            steps_val += max(n.end for n in notes)
    train, val = (np.concatenate(streams[k]).astype(np.uint16) for k in (False, True))
    stats = TokenStats(len(streams[False]), len(streams[True]), len(train), len(val),
                       notes_count[False], notes_count[True], steps_val, skipped)
    log.info("tokenized %d pieces: %s", len(pieces), stats)
    return train, val, stats


def save_tokens(train: np.ndarray, val: np.ndarray, stats: TokenStats, train_path: str | os.PathLike,
                val_path: str | os.PathLike, stats_path: str | os.PathLike) -> None:
    """Write the two uint16 ``.npy`` streams and the JSON statistics, each atomically."""
    for array, path in ((train, train_path), (val, val_path)):
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, array.astype(np.uint16))
    with atomic_path(stats_path) as tmp:
        Path(tmp).write_text(json.dumps(asdict(stats), indent=2) + "\n")


def load_stats(stats_path: str | os.PathLike) -> TokenStats:
    """Read statistics written by ``save_tokens``."""
    return TokenStats(**json.loads(Path(stats_path).read_text()))


def tokenize_genre(*, midi_dir: str, manifest_path: str, val_fraction: float, train_path: str, val_path: str,
                   stats_path: str, tokenizer: str = "event") -> TokenStats:
    """The tokenize rule: a MIDI folder -> training/validation ``.npy`` streams (of the named tokenizer) and stats."""
    train, val, stats = tokenize_folder(midi_dir, manifest_path, val_fraction, make_tokenizer(tokenizer))
    save_tokens(train, val, stats, train_path, val_path, stats_path)
    return stats
