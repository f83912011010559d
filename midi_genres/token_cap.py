"""A cap on a genre's training tokens, by whole pieces chosen deterministically."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


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
