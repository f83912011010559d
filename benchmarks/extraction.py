"""Corpus extraction: each music21 collection read from a cold process with 2 workers."""

from __future__ import annotations

import subprocess
import sys
import time

from harness import Run


def extraction() -> list[tuple[str, float, int]]:
    """Wall seconds and pieces for extracting each music21 collection with 2 workers (cold process each); for
    Palestrina also as before the plain **kern reader (every file through music21's Humdrum parser)."""
    from midi_genres.sources.music21_corpus import COLLECTIONS

    variants = [(name, name, "") for name in COLLECTIONS]
    variants.insert(COLLECTIONS.index("palestrina") + 1, (
        "palestrina, music21's parser only (before)", "palestrina", "corpus._plain_kern_notes = lambda path: None; "))
    rows = []
    for label, name, patch in variants:
        code = ("import midi_genres.sources.music21_corpus as corpus; "
                "from midi_genres.sources.midi_folder import Piece; " + patch +
                f"print(sum(isinstance(p, Piece) for p in corpus.extract_collection({name!r}, workers=2)))")
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        rows.append((label, time.perf_counter() - t, int(out.split()[-1])))
    return rows


def section(run: Run) -> None:
    """Skipped in a quick run (minutes)."""
    if run.quick:
        return
    rows = extraction()
    every = [row for row in rows if "before" not in row[0]]
    run.table("Corpus extraction (cold process, 2 workers)", "| collection | pieces | wall s |",
              [f"| {name} | {n} | {sec:.1f} |" for name, sec, n in rows]
              + [f"| all {len(every)} (sequential) | {sum(r[2] for r in every)} | {sum(r[1] for r in every):.1f} |"])
    before, after = (next(r[1] for r in rows if r[0].startswith("palestrina") and ("before" in r[0]) == b)
                     for b in (True, False))
    run.emit(f"Palestrina: {before / after:.1f}x faster with the plain **kern reader (wall, incl. process start)")
