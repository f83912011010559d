"""Tune families: pieces that are settings or variants of one tune, to be kept on one side of a split.

music21's corpora hold several settings of one tune (Essen's collections repeat songs across
anthologies, Bach harmonised some chorales twice, Ryan's Mammoth prints a reel in two keys), so a split
by piece id puts the same melody in training and validation. Two pieces are in one family when

* their melodic signatures (``melodic_signature``: the opening of the top line as transposition- and
  tempo-invariant (interval, inter-onset interval) pairs) are equal, or
* the corpus metadata says they are one work (``metadata_work``: the same source file stem up to a
  variant suffix),

closed transitively (union-find). ``validation_families`` then holds out whole families.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence

from midi_genres.core.notes import Note

SIGNATURE_LENGTH = 12

Signature = tuple[tuple[int, int], ...]

# A variant suffix at the end of a source file's stem (one is stripped; see ``metadata_work``).
_VARIANT_SUFFIX = re.compile(r"(?:-[A-Za-z0-9]{1,4}|_[a-z])$")
# A file extension (``.mxl``, ``.krn``, ``.abc``, ``.mid``), not a movement number such as ``bwv13.6``.
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,8}$")


def top_line(notes: Sequence[Note], limit: int | None = None) -> list[Note]:
    """The skyline: at each distinct onset the highest note starting there, unless a higher note is still sounding.

    ``notes`` is a canonical list (sorted by start). An onset where only lower voices move under a held
    top note adds nothing, so a chorale's soprano is read as the soprano. Stops after ``limit`` notes.
    """
    line: list[Note] = []
    held: list[Note] = []  # notes started at earlier onsets (pruned once they end)
    i, n = 0, len(notes)
    while i < n and (limit is None or len(line) < limit):
        t = notes[i].start
        j = i
        while j < n and notes[j].start == t:
            j += 1
        top = max(notes[i:j], key=lambda note: note.pitch)
        held = [h for h in held if h.end > t]
        if not held or top.pitch > max(h.pitch for h in held):
            line.append(top)
        held.extend(notes[i:j])
        i = j
    return line


def melodic_signature(notes: Sequence[Note], length: int = SIGNATURE_LENGTH) -> Signature | None:
    """The opening of the top line as ``length`` pairs (pitch interval to the next note, inter-onset interval).

    Intervals make it transposition-invariant. The inter-onset intervals are divided by their greatest
    common divisor, so a uniform time scaling (a tune notated in 8ths instead of 16ths, or in halves) gives
    the same signature (any integer factor does); the gcd rather than the first IOI keeps them exact
    integers whatever the first note's length (a dotted upbeat would give thirds).

    ``length`` 12 (13 notes, about a folk song's first phrase and a half) was chosen on the corpora by
    how alike the top lines of pairs with equal signatures go on afterwards (difflib ratio of their
    following intervals up to the 48th; > 0.6 for 0% of random Essen pairs): Essen pairs equal at 16
    go on alike in 92%; pairs equal at 12 but not 16 still do in 56% (variants differing in a detail,
    which 16 misses); pairs equal at 8 but not 12 only in 34% (mostly tunes sharing a stock opening).
    Returns None when the top line has fewer than ``length + 1`` notes.
    """
    if length < 1:
        raise ValueError(f"signature length must be at least 1, got {length}")
    line = top_line(notes, length + 1)
    if len(line) < length + 1:
        return None
    intervals = [b.pitch - a.pitch for a, b in zip(line, line[1:])]
    iois = [b.start - a.start for a, b in zip(line, line[1:])]
    unit = math.gcd(*iois)
    return tuple((interval, ioi // unit) for interval, ioi in zip(intervals, iois))


def metadata_work(piece_id: str, source: str | None = None) -> str | None:
    """The work a piece belongs to by corpus metadata, or None where the metadata names no shared work.

    Conservative: a tune of a multi-tune file (an id with ``#``, e.g. ``essenFolksong/han1#12``) is None,
    since an ABC opus collects different tunes. Otherwise the work is the source file's path without its
    extension (the piece id if the source names no file, as for the synthetic genres) with one variant suffix
    removed: ``-`` plus 1-4 letters
    or digits (Bach's versions and settings: ``bwv18.5-lz``/``bwv18.5-w``, ``bwv112.5-sc``/``bwv112.5``,
    ``bwv248.23-2``/``bwv248.23-s``), or ``_`` plus one lower-case letter (Palestrina's sections of one
    movement: ``Credo_06_a`` ... ``Credo_06_i``). Numbers after ``_`` (Palestrina's mass numbers
    ``Agnus_I_05``), Roman numerals (``Agnus_I``/``Agnus_II``) and names such as ``CampMeetingJigNo2`` are
    left alone: they name different music.
    """
    if "#" in piece_id:
        return None
    stem = _EXTENSION.sub("", source) if source and _EXTENSION.search(source) else piece_id
    stripped = _VARIANT_SUFFIX.sub("", stem)
    return stripped or stem


class _UnionFind:
    def __init__(self, items: Iterable[str]):
        self.parent = {item: item for item in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the root is always the smallest id of its set


def tune_families(pieces: Iterable[tuple[str, Sequence[Note], str | None]],
                  length: int = SIGNATURE_LENGTH) -> dict[str, str]:
    """Map each piece id to its family id: the smallest piece id of the family (deterministic, stable).

    ``pieces`` are ``(piece_id, canonical notes, source path)``, read once (a generator keeps only one piece's
    notes in memory). Pieces with equal ``melodic_signature`` or equal ``metadata_work`` are joined,
    transitively. A piece without a signature joins others only through metadata. Raises ``ValueError`` on a
    repeated piece id.
    """
    ids: list[str] = []
    joins: list[tuple[str, str]] = []
    first_by_key: dict[tuple[str, object], str] = {}
    for pid, notes, source in pieces:
        ids.append(pid)
        keys: list[tuple[str, object]] = []
        signature = melodic_signature(notes, length)
        if signature is not None:
            keys.append(("signature", signature))
        work = metadata_work(pid, source)
        if work is not None:
            keys.append(("work", work))
        for key in keys:
            if key in first_by_key:
                joins.append((first_by_key[key], pid))
            else:
                first_by_key[key] = pid
    if len(set(ids)) != len(ids):
        dupes = sorted({pid for pid in ids if ids.count(pid) > 1})
        raise ValueError(f"repeated piece ids: {', '.join(dupes[:5])}")
    uf = _UnionFind(ids)
    for a, b in joins:
        uf.union(a, b)
    return {pid: uf.find(pid) for pid in ids}


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def validation_families(families: dict[str, str], val_fraction: float, salt: str = "") -> set[str]:
    """The held-out piece ids: whole families, taken in SHA-1 order of ``salt`` + the family id.

    Aims at ``k = round(val_fraction * n)`` pieces (at least 1, at most n - 1): families are walked in
    SHA-1 order and each is taken if it still fits in ``k``; if none fits, the smallest family (ties by
    SHA-1) is taken. So no family is split, training keeps at least one family, and the choice depends
    only on the ids (another ``salt`` draws another set, e.g. the dev set). Raises ``ValueError`` with fewer
    than two families.
    """
    members: dict[str, list[str]] = {}
    for pid, family in families.items():
        members.setdefault(family, []).append(pid)
    if len(members) < 2:
        raise ValueError(f"need at least 2 tune families to hold one out for validation, got {len(members)}")
    n = len(families)
    k = min(n - 1, max(1, round(val_fraction * n)))
    ranked = sorted(members, key=lambda family: _sha1(salt + family))
    held: set[str] = set()
    for family in ranked:
        if len(held) + len(members[family]) <= k:
            held.update(members[family])
            if len(held) == k:
                break
    if not held:
        smallest = min(ranked, key=lambda family: (len(members[family]), _sha1(salt + family)))
        held.update(members[smallest])
    return held


def fold_families(families: dict[str, str], folds: int) -> dict[str, int]:
    """The fold (1..``folds``) that holds out each piece id: whole families, dealt largest first (ties in SHA-1 order
    of the family id) to the fold with the fewest pieces so far, so the folds partition the families with piece
    counts as even as whole families allow. Depends only on the ids. Raises ``ValueError`` with fewer families
    than folds."""
    members: dict[str, list[str]] = {}
    for pid, family in families.items():
        members.setdefault(family, []).append(pid)
    if len(members) < folds:
        raise ValueError(f"split.folds is {folds} but there are only {len(members)} tune families")
    sizes = [0] * folds
    fold_of: dict[str, int] = {}
    for family in sorted(members, key=lambda f: (-len(members[f]), _sha1(f))):
        k = min(range(folds), key=lambda i: (sizes[i], i))
        sizes[k] += len(members[family])
        fold_of.update((pid, k + 1) for pid in members[family])
    return fold_of
