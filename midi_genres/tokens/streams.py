"""Token streams: pieces concatenated as ``BOS ... EOS``, stored as uint16 ``.npy`` files."""

from __future__ import annotations

import os

import numpy as np

from midi_genres.core.atomic import atomic_path
from midi_genres.core.notes import Note
from midi_genres.tokens.base import BOS, DecodeReport, Tokenizer


def save_stream(array: np.ndarray, path: str | os.PathLike) -> None:
    """Write a token stream as a uint16 ``.npy`` file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.asarray(array).astype(np.uint16))


def split_pieces(stream: np.ndarray) -> list[np.ndarray]:
    """The pieces of a token stream (each starts with BOS, as written by tokenize and sample_batch)."""
    stream = np.asarray(stream)
    starts = np.flatnonzero(stream == BOS)
    if len(starts) == 0 or starts[0] != 0:
        starts = np.concatenate([[0], starts])
    return [p for p in np.split(stream, starts[1:]) if len(p)]


def decode_pieces(stream: np.ndarray, tokenizer: Tokenizer) -> list[tuple[list[Note], DecodeReport]]:
    """Notes and grammar report of every piece of a token stream."""
    return [tokenizer.decode_with_report(p) for p in split_pieces(stream)]
