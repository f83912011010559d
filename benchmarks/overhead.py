"""Overhead: a dry run of the workflow on a complete results tree, and which heavy libraries each rule's script
imports (a job should pay only for what it uses)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from harness import REPO, Run


def heavy_imports() -> dict[str, list[str]]:
    """Which heavy libraries each workflow script's imports pull in (a job should pay only for what it uses)."""
    result = {}
    for script in sorted((REPO / "workflow_scripts").glob("*.py")):
        imports = [line for line in script.read_text().splitlines() if line.startswith(("import ", "from "))]
        probe = "import sys; print([m for m in ('torch', 'music21', 'matplotlib') if m in sys.modules])"
        code = "\n".join([*imports, probe])
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        result[script.stem] = eval(out)  # a printed list of strings
    return result


def dry_run_seconds(reps: int = 3) -> float:
    """Median wall seconds of `snakemake -n` on the current results tree."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "-n", "--quiet"], cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def section(run: Run) -> None:
    """The dry run only on a complete results tree."""
    run.heading("Overhead")
    if (REPO / "results/summary.tsv").exists():
        run.emit(f"- `snakemake -n` on the complete results tree: {dry_run_seconds():.2f} s (median of 3)")
    for script, mods in heavy_imports().items():
        run.emit(f"- `{script}` imports: {', '.join(mods) or 'none of torch/music21/matplotlib'}")
