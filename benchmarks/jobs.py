"""Workflow jobs: per rule, the wall time and peak memory of a workflow directory's last run, from its benchmark
files and job logs."""

from __future__ import annotations

import csv
import glob
import os
import re
from pathlib import Path

from harness import REPO, Run


def job_benchmarks(workdir: Path = REPO) -> tuple[dict[str, list[tuple[str, float, float, float]]], float]:
    """Per rule: (genre, wall seconds, sampled peak RSS MiB, exact peak MiB) from a workflow directory's benchmark
    files and job logs (the exact peak is the one each job logs at exit: its own or its largest child's, NaN for
    logs without it); and the run's wall seconds from the first benchmarked job's start to the last one's end (each
    file is written as its job ends)."""
    stages: dict[str, list] = {}
    starts, ends = [], []
    for path in sorted(glob.glob(str(workdir / "logs/*/*.benchmark.tsv"))):
        rule, genre = Path(path).parent.name, Path(path).name.split(".")[0]
        with open(path) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        rss = float(row["max_rss"]) if row["max_rss"] not in ("-", "NA", "") else float("nan")
        log = Path(path.replace(".benchmark.tsv", ".log"))
        peaks = re.findall(r"peak memory: ([\d.]+) MiB \(largest child process: ([\d.]+) MiB\)",
                           log.read_text(errors="replace") if log.exists() else "")
        exact = max(map(float, peaks[-1])) if peaks else float("nan")
        stages.setdefault(rule, []).append((genre, float(row["s"]), rss, exact))
        ends.append(os.path.getmtime(path))
        starts.append(ends[-1] - float(row["s"]))
    return stages, (max(ends) - min(starts) if ends else 0.0)


def _largest(values) -> float:
    """The largest of these numbers, NaNs left out (NaN if nothing is left)."""
    return max((v for v in values if v == v), default=float("nan"))


def job_table(workdir: Path) -> list[str]:
    """The "workflow jobs" section (markdown lines) of a workflow directory's last run; none without one."""
    stages, wall = job_benchmarks(workdir)
    if not stages:
        return []
    lines = ["", f"## Workflow jobs (from logs/*/*.benchmark.tsv of the last run: {wall / 60:.1f} min from the first "
             "job's start to the last one's end; peak memory as Snakemake's benchmark sampled it, and as each job "
             "logged it at exit)", "| rule | jobs | total s | max s | max sampled peak MiB | max logged peak MiB |",
             "|---|---|---|---|---|---|"]
    for rule, rows in stages.items():
        lines.append(f"| {rule} | {len(rows)} | {sum(r[1] for r in rows):.0f} | {max(r[1] for r in rows):.0f} | "
                     f"{_largest(r[2] for r in rows):.0f} | {_largest(r[3] for r in rows):.0f} |")
    return lines


def section(run: Run) -> None:
    """The table of this checkout's last workflow run (none without one)."""
    for line in job_table(REPO):
        run.emit(line)
