"""Import + tokenize of a MIDI folder (symusic reader, worker pool, notes cache): files/s and peak memory.

    python benchmarks/midi_folder.py [--songs 600] [--workers 2]
    python benchmarks/midi_folder.py --songs 20000     # Lakh scale

Writes a Lakh-like folder (make_midi_folder.py), then times each stage of this checkout in a fresh process and
prints files/s and peak RSS (job process, and the largest worker). The path before (pretty_midi at 9eb4543, one
process, tokenize re-reading the files) was measured against it when the reader changed: docs/performance.md.
Not part of the tests.
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

from harness import REPO, Run, script_output


def cpu_name() -> str:
    """lscpu's model name, and whether the CPU has AMX (amx_bf16)."""
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(
        ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    amx = "amx_bf16" in Path("/proc/cpuinfo").read_text()
    return f"{model}, {os.cpu_count()} CPUs, AMX {'yes' if amx else 'no'}"


def stage(name: str, folder: str, out: str, workers: int) -> dict:
    """Run one stage here (in the child process) and return its time and peak RSS."""
    from midi_genres.sources.midi_dir import import_midi_dir
    from midi_genres.tokens.dataset import tokenize_folder

    t = time.perf_counter()
    if name == "import":
        kw = {"workers": workers} if workers > 1 else {}
        counts = import_midi_dir(folder=folder, out_dir=f"{out}/g", manifest_path=f"{out}/g.manifest.tsv", **kw)
    else:
        fold = tokenize_folder(f"{out}/g", f"{out}/g.manifest.tsv", 0.1)[0]
        counts = {"tokens": int(len(fold.train) + len(fold.val)),
                  "pieces": fold.stats.pieces_train + fold.stats.pieces_val}
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "counts": counts,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run_stage(name: str, folder: Path, out: Path, workers: int) -> dict:
    """``stage`` in a fresh Python process."""
    cmd = [sys.executable, __file__, "--stage", name, "--folder", str(folder), "--out", str(out),
           "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
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
        from make_midi_folder import make_midi_folder

        make_midi_folder(songs, args.songs, args.seed, workers=args.workers)
    out = work / "out"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    rows = {name: run_stage(name, songs, out, args.workers) for name in ("import", "tokenize")}
    seconds = sum(row["seconds"] for row in rows.values())
    print(f"MIDI folder: {args.songs} Lakh-like files (seed {args.seed}); CPU: {cpu_name()}; {args.workers} workers")
    print("| stage | seconds | files/s | peak RSS MiB (job / largest worker) |")
    print("|---|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['seconds']:.1f} | {args.songs / row['seconds']:.1f} | "
              f"{row['rss_mib']:.0f} / {row['worker_rss_mib']:.0f} |")
    print(f"| both | {seconds:.1f} | {args.songs / seconds:.1f} | |")
    print(f"tokens: {rows['tokenize']['counts']}; import: {rows['import']['counts']}")


def section(run: Run) -> None:
    """600 songs (skipped in a quick run: minutes)."""
    if run.quick:
        return
    run.heading("MIDI folder import + tokenize (benchmarks/midi_folder.py)")
    for line in script_output("midi_folder.py"):
        run.emit(line)


if __name__ == "__main__":
    main()
