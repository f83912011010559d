"""A Lakh genre against a MIDI folder of the same songs: the label file's read, then import + tokenize.

    python benchmarks/lakh.py [--songs 2000] [--workers 2] [--work DIR]

Writes ``--songs`` Lakh-like songs (make_midi_folder.py), lays the same files out as LMD-matched
(``<c>/<d>/<e>/<track id>/<md5>.mid``, hard links) with a ``match_scores.json`` and a CD2-size label file (280,000
lines, tests/lakh_replica.py) in which exactly those tracks have the label Rock, then times, each in this process:
reading the label file (uncached), ``import_midi_dir`` of the folder vs ``import_lakh`` of the label, and the
tokenizing of each result. Prints seconds and files/s. Not part of the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the replica's label file writer

from lakh_replica import GENRES, write_big_label_file  # noqa: E402
from make_midi_folder import make_midi_folder  # noqa: E402
from midi_folder import cpu_name  # noqa: E402

LABEL_LINES = 280_000


def lmd_layout(files: list[Path], work: Path) -> tuple[Path, Path, Path]:
    """The songs as LMD-matched (hard links), their match scores and a CD2-size label file: the track of song ``k``
    is line ``k * len(GENRES)`` of the file, whose first label is Rock."""
    lmd, scores = work / "lmd_matched", {}
    assert GENRES[0] == "Rock"
    for k, path in enumerate(sorted(files)):
        track = f"TR{k * len(GENRES):016X}"
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        target = lmd / track[2] / track[3] / track[4] / track / f"{md5}.mid"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(path, target)
        scores[track] = {md5: 0.7}
    (work / "match_scores.json").write_text(json.dumps(scores))
    write_big_label_file(work / "cd2.cls", max(LABEL_LINES, len(files) * len(GENRES)))
    return lmd, work / "match_scores.json", work / "cd2.cls"


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", help="folder for the songs and outputs (default: a temporary one)")
    args = parser.parse_args()

    from midi_genres.sources.lakh import _read_labels, import_lakh, read_labels
    from midi_genres.sources.midi_dir import import_midi_dir
    from midi_genres.tokens.dataset import tokenize_folder

    work = Path(args.work or tempfile.mkdtemp(prefix="lakh_bench."))
    folder = work / f"songs{args.songs}_seed{args.seed}"
    files = sorted(folder.rglob("*.[mM][iI][dD]*")) if folder.exists() else []
    if len(files) != args.songs:
        files = make_midi_folder(folder, args.songs, args.seed, workers=args.workers)
    lmd, scores, labels = lmd_layout(files, work)

    _read_labels.cache_clear()
    label_seconds, label_map = timed(lambda: read_labels(labels))
    out = work / "out"
    rows = {}
    for name, run in (
        ("MIDI folder", lambda: import_midi_dir(folder=folder, out_dir=out / "dir", manifest_path=out / "dir.tsv",
                                                workers=args.workers)),
        ("Lakh genre", lambda: import_lakh(lmd=lmd, match_scores=scores, labels=labels, label="Rock",
                                           out_dir=out / "lakh", manifest_path=out / "lakh.tsv",
                                           workers=args.workers)),
    ):
        seconds, counts = timed(run)
        stem = "dir" if name == "MIDI folder" else "lakh"
        token_seconds, _ = timed(lambda stem=stem: tokenize_folder(out / stem, out / f"{stem}.tsv", 0.1))
        rows[name] = (seconds, token_seconds, counts)

    print(f"Lakh genre vs MIDI folder: {args.songs} Lakh-like files (seed {args.seed}); CPU: {cpu_name()}; "
          f"{args.workers} workers")
    print(f"label file: {len(label_map):,} tracks ({labels.stat().st_size / 1e6:.1f} MB) read in {label_seconds:.2f} s")
    print("| source | import s | import files/s | tokenize s | tokenize files/s | pieces | skipped | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (seconds, token_seconds, counts) in rows.items():
        print(f"| {name} | {seconds:.1f} | {args.songs / seconds:.1f} | {token_seconds:.1f} | "
              f"{args.songs / token_seconds:.1f} | {counts['pieces']} | {counts['skipped']} | {counts['notes']:,} |")


if __name__ == "__main__":
    main()
