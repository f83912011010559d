"""What each model learned, in one line per genre: the analysis columns of the summary table."""

from __future__ import annotations

import math
from collections.abc import Sequence

from midi_genres.memorisation import copied_share
from midi_genres.metrics import number

ANALYSIS_COLUMNS = ["bits_per_token", "bits_per_note", "bits_per_second", "feature_overlap", "copied_8grams",
                    "copied_16grams", "heldout_copied_16grams", "longest_copy_notes", "memorised", "malformed_rate"]


def _round(value: float, digits: int = 4):
    return "NA" if math.isnan(value) else round(value, digits)


def is_memorised(copied16: float, heldout16: float, threshold: float) -> bool:
    """Samples copy more than ``threshold`` of their 16-grams, and more than unseen pieces of the genre do."""
    return copied16 > threshold and (math.isnan(heldout16) or copied16 > heldout16)


def analysis_row(genre: str, eval_path: str, metrics_path: str, memorisation_path: str, batch_path: str,
                 memorised_share: float) -> dict:
    """One genre's analysis columns (``ANALYSIS_COLUMNS``) from its analysis tables."""
    from midi_genres.summary import read_table

    own = next(r for r in read_table(eval_path) if r["data"] == genre)
    overlaps = [number(r["overlap"]) for r in read_table(metrics_path) if r["applies"] == "yes"]
    overlaps = [v for v in overlaps if not math.isnan(v)]
    copies = read_table(memorisation_path)
    samples = [r for r in copies if r["set"] == "sample"]
    heldout = [r for r in copies if r["set"] == "heldout"]
    batch = read_table(batch_path)
    copied16, heldout16 = copied_share(samples, 16), copied_share(heldout, 16)
    tokens = sum(int(r["tokens"]) - 1 for r in batch)
    return {"bits_per_token": number(own["bits_per_token"]), "bits_per_note": number(own["bits_per_note"]),
            "bits_per_second": number(own["bits_per_second"]),
            "feature_overlap": _round(sum(overlaps) / len(overlaps) if overlaps else math.nan),
            "copied_8grams": _round(copied_share(samples, 8)), "copied_16grams": _round(copied16),
            "heldout_copied_16grams": _round(heldout16),
            "longest_copy_notes": max((int(r["longest_copy"]) for r in samples), default=0),
            "memorised": "yes" if is_memorised(copied16, heldout16, memorised_share) else "no",
            "malformed_rate": _round(sum(int(r["malformed"]) for r in batch) / max(1, tokens), 5)}


def analysis_rows(genres: Sequence[str], evals: Sequence[str], metrics: Sequence[str], memorisation: Sequence[str],
                  batches: Sequence[str], memorised_share: float) -> list[dict]:
    """``analysis_row`` for every genre, in order."""
    return [analysis_row(g, *paths, memorised_share)
            for g, *paths in zip(genres, evals, metrics, memorisation, batches)]
