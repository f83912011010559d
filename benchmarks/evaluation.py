"""One evaluate_model job's scoring, attention through the fused kernel, the blocked kernel or SDPA, side by side.

    python benchmarks/evaluation.py [--genre bach] [--rounds 3]

Scores every genre's validation stream (data/tokens/*.val.npy) with results/checkpoints/GENRE.pt, as one
evaluate_model job does (``token_nll``, 1 thread), each variant in a fresh process, in interleaved rounds; prints
the median seconds, the ratio to the job as it was before (bf16, SDPA, freed memory handed back to the system) and
the summed negative log-likelihood, which says how far the variants' numbers are apart. Needs a finished
workflow run in this checkout. Not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from harness import REPO, Run, script_output

VARIANTS = {  # name: (precision, attention forward only, freed memory kept for reuse)
    "before": ("bf16", "sdpa", False),
    "bf16 sdpa": ("bf16", "sdpa", True),
    "bf16 blocked": ("bf16", "blocked", True),
    "bf16 fused": ("bf16", "fused", True),
    "fp32 sdpa": ("fp32", "sdpa", True),
    "fp32 blocked": ("fp32", "blocked", True),
}


def score(genre: str, variant: str) -> dict:
    """In this (fresh) process: seconds to score every validation stream with ``genre``'s model, and the nll sum."""
    import numpy as np
    import torch

    import midi_genres.model.checkpoint as checkpoint
    import midi_genres.model.transformer as transformer
    from midi_genres.analysis.likelihood import token_nll
    from midi_genres.model import fused_attention

    precision, attention, reuse = VARIANTS[variant]
    if not reuse:
        checkpoint.reuse_freed_memory = lambda: False
    transformer.BLOCKED_INFERENCE_DTYPES = (torch.bfloat16, torch.float32) if attention != "sdpa" else ()
    if attention != "fused":
        fused_attention.supports = lambda q: False
    model, _, _ = checkpoint.load_for_inference(REPO / f"results/checkpoints/{genre}.pt")
    streams = [np.load(path) for path in sorted((REPO / "data/tokens").glob("*.val.npy"))]
    started = time.perf_counter()
    total = sum(float(np.nansum(token_nll(model, stream, precision=precision))) for stream in streams)
    return {"seconds": time.perf_counter() - started, "nll": total, "tokens": sum(len(s) for s in streams)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genre", default="bach")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(score(args.genre, args.child)))
        return
    if not (REPO / f"results/checkpoints/{args.genre}.pt").exists():
        parser.error(f"--genre {args.genre}: no results/checkpoints/{args.genre}.pt (run the workflow first)")
    runs = {variant: [] for variant in VARIANTS}
    for _ in range(args.rounds):  # interleaved, so that a slow minute of the machine hits every variant alike
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--genre", args.genre, "--child", variant],
                                 capture_output=True, text=True, check=True, cwd=REPO).stdout
            runs[variant].append(json.loads(out))
    before = statistics.median(r["seconds"] for r in runs["before"])
    tokens = runs["before"][0]["tokens"]
    print(f"| variant ({args.genre} model, {tokens:,} tokens, 1 thread) | s | vs before | nll sum (nats) |")
    print("|---|---|---|---|")
    for variant, (precision, attention, _) in VARIANTS.items():
        sec = statistics.median(r["seconds"] for r in runs[variant])
        label = ("before: bf16, SDPA, freed memory returned" if variant == "before"
                 else f"{precision}, {dict(sdpa='SDPA').get(attention, attention + ' kernel')}")
        print(f"| {label} | {sec:.2f} | {before / sec:.2f}x | {runs[variant][0]['nll']:,.1f} |")


def section(run: Run) -> None:
    """Skipped in a quick run and without a finished workflow run."""
    if run.quick or not list((REPO / "results/checkpoints").glob("*.pt")):
        return
    run.heading("One evaluate_model job's scoring (benchmarks/evaluation.py; each variant a fresh process, median of 3 "
                "interleaved rounds)")
    for line in script_output("evaluation.py"):
        run.emit(line)


if __name__ == "__main__":
    main()
