"""Import + tokenize of a MIDI folder, before and after (symusic reader, worker pool, notes cache), side by side.

    python benchmarks/midi_folder.py [--songs 600] [--workers 2] [--baseline-rev 9eb4543]
    python benchmarks/midi_folder.py --songs 20000 --no-baseline     # Lakh scale: files/s and peak memory

Writes a Lakh-like folder (make_midi_folder.py), then times each stage in a fresh process: the baseline is
the package as of ``--baseline-rev`` (pretty_midi reader and writer, one process, tokenize re-reads the files),
extracted with ``git archive``; the new path is this checkout. Prints files/s, ratios and peak RSS (job
process, and the largest worker). Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE_REV = "9eb4543"  # last commit before the symusic reader


def cpu_name() -> str:
    """lscpu's model name, and whether the CPU has AMX (amx_bf16)."""
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    amx = "amx_bf16" in Path("/proc/cpuinfo").read_text()
    return f"{model}, {os.cpu_count()} CPUs, AMX {'yes' if amx else 'no'}"


def stage(name: str, folder: str, out: str, workers: int) -> dict:
    """Run one stage here (in the child process) and return its time and peak RSS."""
    import midi_genres

    # the layout of the code on PYTHONPATH decides (an editable install would otherwise fill in missing modules)
    if (Path(midi_genres.__file__).parent / "sources").is_dir():
        from midi_genres.sources.midi_dir import import_midi_dir
        from midi_genres.tokens.dataset import tokenize_folder
    else:  # the baseline revision's flat layout
        from midi_genres.dataset import tokenize_folder
        from midi_genres.midi_dir import import_midi_dir

    t = time.perf_counter()
    if name == "import":
        kw = {"workers": workers} if workers > 1 else {}
        counts = import_midi_dir(folder=folder, out_dir=f"{out}/g", manifest_path=f"{out}/g.manifest.tsv", **kw)
    else:
        train, val, stats = tokenize_folder(f"{out}/g", f"{out}/g.manifest.tsv", 0.1)[:3]
        counts = {"tokens": int(len(train) + len(val)), "pieces": stats.pieces_train + stats.pieces_val}
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "counts": counts,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run_stage(code: Path, name: str, folder: Path, out: Path, workers: int) -> dict:
    """``stage`` in a fresh Python process importing the package from ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, __file__, "--stage", name, "--folder", str(folder), "--out", str(out),
           "--workers", str(workers)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=code)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--no-baseline", action="store_true", help="time only this checkout (Lakh-scale folders)")
    parser.add_argument("--work", help="folder for the songs and outputs (default: a temporary one)")
    parser.add_argument("--stage", choices=["import", "tokenize"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.folder, args.out, args.workers)))
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="midi_folder_bench."))
    songs = work / f"songs{args.songs}_seed{args.seed}"
    if not songs.exists():
        sys.path.insert(0, str(REPO / "benchmarks"))
        from make_midi_folder import make_midi_folder

        make_midi_folder(songs, args.songs, args.seed, workers=args.workers)
    if args.no_baseline:
        out = work / "out_after"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        after = {name: run_stage(REPO, name, songs, out, args.workers) for name in ("import", "tokenize")}
        seconds = sum(row["seconds"] for row in after.values())
        print(f"MIDI folder: {args.songs} Lakh-like files (seed {args.seed}); CPU: {cpu_name()}; "
              f"{args.workers} workers")
        print("| stage | seconds | files/s | peak RSS MiB (job / largest worker) |")
        print("|---|---:|---:|---:|")
        for name, row in after.items():
            print(f"| {name} | {row['seconds']:.1f} | {args.songs / row['seconds']:.1f} | "
                  f"{row['rss_mib']:.0f} / {row['worker_rss_mib']:.0f} |")
        print(f"| both | {seconds:.1f} | {args.songs / seconds:.1f} | |")
        print(f"tokens: {after['tokenize']['counts']}; import: {after['import']['counts']}")
        return
    baseline = work / f"code_{args.baseline_rev}"
    if not baseline.exists():
        baseline.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline_rev, "midi_genres"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
    rows = {}
    for label, code, workers in (("before", baseline, 1), ("after", REPO, args.workers)):
        out = work / f"out_{label}"
        subprocess.run(["rm", "-rf", str(out)], check=True)
        rows[label] = {name: run_stage(code, name, songs, out, workers) for name in ("import", "tokenize")}
    assert rows["before"]["tokenize"]["counts"] == rows["after"]["tokenize"]["counts"], rows
    n = args.songs
    print(f"MIDI folder: {n} Lakh-like files (seed {args.seed}); CPU: {cpu_name()}")
    print(f"before: {args.baseline_rev} (pretty_midi, 1 process); after: symusic, {args.workers} workers, notes cache")
    print("| stage | before files/s | after files/s | ratio | before RSS MiB | after RSS MiB (job / worker) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("import", "tokenize", "both"):
        if name == "both":
            sec = {k: sum(rows[k][s]["seconds"] for s in ("import", "tokenize")) for k in rows}
            rss = {k: max(rows[k][s]["rss_mib"] for s in ("import", "tokenize")) for k in rows}
            wrss = max(rows["after"][s]["worker_rss_mib"] for s in ("import", "tokenize"))
        else:
            sec = {k: rows[k][name]["seconds"] for k in rows}
            rss = {k: rows[k][name]["rss_mib"] for k in rows}
            wrss = rows["after"][name]["worker_rss_mib"]
        print(f"| {name} | {n / sec['before']:.1f} | {n / sec['after']:.1f} | {sec['before'] / sec['after']:.1f}x "
              f"| {rss['before']:.0f} | {rss['after']:.0f} / {wrss:.0f} |")
    print(f"tokens: {rows['after']['tokenize']['counts']}; import: {rows['after']['import']['counts']}")


if __name__ == "__main__":
    main()
