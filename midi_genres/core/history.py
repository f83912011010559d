"""A training run's loss history as a small TSV table (no torch needed to read it)."""

from __future__ import annotations

import os

from midi_genres.core.tables import read_table, write_table

HISTORY_COLUMNS = ["step", "lr", "train_loss", "val_loss", "tokens", "elapsed_s", "parameters"]
DEV_COLUMN = "dev_loss"  # after val_loss, where the training had a dev set


def write_history(history: list[dict], parameters: int, path: str | os.PathLike) -> None:
    """Write the loss history as a TSV table (one row per evaluation), atomically; with a ``dev_loss`` column where
    the training had a dev set."""
    columns = list(HISTORY_COLUMNS)
    if history and DEV_COLUMN in history[0]:
        columns.insert(columns.index("val_loss") + 1, DEV_COLUMN)
    write_table([{**row, "parameters": parameters} for row in history], columns, path)


def best_dev_step(history: list[dict]) -> int | None:
    """The step of the lowest dev loss (the first of equals), the checkpoint ``train.select: best_dev`` keeps; None
    without a dev set."""
    scored = [row for row in history if DEV_COLUMN in row]
    return int(min(scored, key=lambda row: row[DEV_COLUMN])["step"]) if scored else None


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a history table written by ``write_history``, with numbers parsed."""
    return [{k: float(v) for k, v in row.items()} for row in read_table(path)]
