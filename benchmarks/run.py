"""Performance benchmark of midi-genres: prints one table of absolute numbers and ratios, measured side by side.

    python benchmarks/run.py                # everything (several minutes)
    python benchmarks/run.py --quick        # fewer repetitions, no quality run, no corpus extraction
    python benchmarks/run.py --only attention sampling --output /tmp/results.md   # some sections, elsewhere
    python benchmarks/run.py --jobs-of DIR  # only the per-rule time and peak memory of DIR's last workflow run

Writes the table to benchmarks/results.md (or ``--output``) with a description of the machine, followed by the
results measured on other machines (benchmarks/elsewhere/*.md: a lent GPU, the other kind of CPU), kept as they
are. Each section is a module of this folder over the shared harness (``harness.py``); this script only picks
them. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import attention
import evaluation
import extraction
import jobs
import midi_folder
import overhead
import quality
import sampling
import training
from harness import REPO, Run, machine

SECTIONS = {  # in the order of the report
    "matmul": training.matmul_peak_section,
    "throughput": training.throughput_section,
    "before-after": training.before_after_section,
    "attention": attention.section,
    "candidates": training.candidates_section,
    "two-genres": training.two_genres_section,
    "quality": quality.section,
    "sampling": sampling.section,
    "evaluation": evaluation.section,
    "extraction": extraction.section,
    "midi-folder": midi_folder.section,
    "overhead": overhead.section,
    "jobs": jobs.section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; skip quality and extraction")
    parser.add_argument("--quality-genre", default="bach")
    parser.add_argument("--quality-steps", type=int, default=1200)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"only these sections, of: {', '.join(SECTIONS)}")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results.md",
                        help="where the report is written (default: benchmarks/results.md)")
    parser.add_argument("--jobs-of", type=Path, metavar="WORKDIR",
                        help="only print the workflow jobs table of that workflow directory's last run (no measuring)")
    args = parser.parse_args()
    if args.jobs_of:
        table = jobs.job_table(args.jobs_of)
        if not table:
            parser.error(f"--jobs-of {args.jobs_of}: no logs/*/*.benchmark.tsv there (not a workflow run directory)")
        print(f"Machine: {machine()}\n" + "\n".join(table))
        return
    run = Run(quick=args.quick, quality_genre=args.quality_genre, quality_steps=args.quality_steps)
    for name, section in SECTIONS.items():
        if args.only is None or name in args.only:
            section(run)
    run.write(args.output)
    print(json.dumps({"written": str(args.output)}))


if __name__ == "__main__":
    main()
