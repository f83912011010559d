"""A training run's loss history as a small TSV table (no torch needed to read it)."""

from __future__ import annotations

import os

from midi_genres.core.tables import read_table, write_table

HISTORY_COLUMNS = ["step", "lr", "train_loss", "val_loss", "tokens", "elapsed_s", "parameters"]


def write_history(history: list[dict], parameters: int, path: str | os.PathLike) -> None:
    """Write the loss history as a TSV table (one row per evaluation), atomically."""
    write_table([{**row, "parameters": parameters} for row in history], HISTORY_COLUMNS, path)


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a history table written by ``write_history``, with numbers parsed."""
    return [{k: float(v) for k, v in row.items()} for row in read_table(path)]
