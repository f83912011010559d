"""Tab-separated tables, the format of every result table, with one codec for a missing number ("NA")."""

from __future__ import annotations

import csv
import math
import os

from midi_genres.core.atomic import atomic_path

NA = "NA"


def write_table(rows: list[dict], columns: list[str], path: str | os.PathLike) -> None:
    """Write rows as a tab-separated table, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_table(path: str | os.PathLike) -> list[dict]:
    """Rows of a tab-separated table written by ``write_table``, as strings."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def number(text: str | None) -> float:
    """A table cell as a float: NaN for a missing value (``NA``, empty or absent)."""
    return math.nan if text in (None, "", NA) else float(text)


def cell(value, digits: int | None = None):
    """A value as written to a table: ``NA`` for NaN, floats rounded to ``digits`` when given, others as they are."""
    if isinstance(value, float):
        if math.isnan(value):
            return NA
        return round(value, digits) if digits is not None else value
    return value
