"""Last against best-dev checkpoints: where a dev set chose a checkpoint (``train.select: best_dev``), both were
kept and scored on the same held-out pieces; this table says at which step each genre's model was chosen and what
the choice changed, with paired intervals over tune families. Torch-free."""

from __future__ import annotations

import os
from collections.abc import Sequence

from midi_genres.analysis.heldout import difference, load_piece_bits, verdict
from midi_genres.core.history import best_dev_step, read_history
from midi_genres.core.tables import cell, write_table

CHOICE_COLUMNS = ["genre", "selected", "last_step", "best_dev_step", "held_out_families",
                  "bits_per_note_last", "bits_per_note_last_low", "bits_per_note_last_high",
                  "bits_per_note_best_dev", "bits_per_note_best_dev_low", "bits_per_note_best_dev_high",
                  "best_dev_minus_last", "best_dev_minus_last_low", "best_dev_minus_last_high", "best_dev_vs_last"]


def choice_row(genre: str, selected: str, last_pieces: Sequence[str], best_pieces: Sequence[str],
               histories: Sequence[str]) -> dict:
    """One genre's row of ``CHOICE_COLUMNS``: its own held-out pieces under every fold's and seed's last and best-dev
    checkpoints (``*_pieces``: their per-piece tables), the steps from the first model's loss history (the median
    over ``histories`` of each fold and seed would hide nothing here: the table names the first model's)."""
    last = load_piece_bits(last_pieces)[(genre, genre)]
    best = load_piece_bits(best_pieces)[(genre, genre)]
    history = read_history(histories[0])
    diff, low, high = difference(best, last)
    row = {"genre": genre, "selected": selected, "last_step": int(history[-1]["step"]),
           "best_dev_step": best_dev_step(history), "held_out_families": last.n_families,
           "best_dev_minus_last": diff, "best_dev_minus_last_low": low, "best_dev_minus_last_high": high,
           "best_dev_vs_last": verdict(low, high)}
    for name, bits in (("last", last), ("best_dev", best)):
        row[f"bits_per_note_{name}"] = bits.per_note()
        row[f"bits_per_note_{name}_low"], row[f"bits_per_note_{name}_high"] = bits.interval()
    return {k: cell(v, 4) for k, v in row.items()}


def compare_checkpoints(*, genres: Sequence[str], selected: str, last_pieces: dict, best_pieces: dict,
                        histories: dict, table_path: str | os.PathLike) -> list[dict]:
    """The compare_checkpoints rule: per genre (``*_pieces`` and ``histories``: genre -> paths of every fold and
    seed), the step its best-dev checkpoint was taken at and its held-out bits per note under last and best-dev,
    with the paired difference."""
    rows = [choice_row(g, selected, last_pieces[g], best_pieces[g], histories[g]) for g in genres]
    write_table(rows, CHOICE_COLUMNS, table_path)
    return rows
