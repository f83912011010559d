"""A training run's loss history as a small TSV table (no torch needed to read it)."""

from __future__ import annotations

import csv
import os

from midi_genres.atomic import atomic_path

HISTORY_COLUMNS = ["step", "lr", "train_loss", "val_loss", "tokens", "elapsed_s", "parameters"]


def write_history(history: list[dict], parameters: int, path: str | os.PathLike) -> None:
    """Write the loss history as a TSV table (one row per evaluation), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HISTORY_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({**row, "parameters": parameters})


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a history table written by ``write_history``, with numbers parsed."""
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh, delimiter="\t")]
