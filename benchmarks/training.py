"""Training sections: the matmul peak, a step's time of every variant, the path before and after the attention
kernels, the candidates for a faster step, two genres at once."""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from harness import BATCH, BLOCK, VOCAB, Run
from torch import nn
from variants import AttentionOf, FusedHeadCrossEntropy, ReferenceTransformer, fused_adam_for

from midi_genres.model import fused_attention
from midi_genres.model.runtime import reuse_freed_memory
from midi_genres.model.transformer import ModelConfig, MusicTransformer


def step_time(variant: str, threads: int, steps: int) -> float | tuple[float, float]:
    """Median seconds per training step (batch 16 x 256 tokens) of one variant (plus compile seconds if compiled).

    Variants: "reference"; "ours" with "fp32"/"bf16", "nodrop" (dropout 0), "sdpa" (SDPA's attention), "before"
    (the full-matrix attention and foreach Adam this package trained with until the blocked kernel), "blocked" (the
    blocked attention kernel, the default until the fused kernel), "compiled" (torch.compile), "opaque" (the
    blocked kernel as one custom op), "fusedce" (``FusedHeadCrossEntropy``), "bf16weights" (weights and Adam in
    bf16: no casts left, an upper bound of what fewer casts can give, not a training this package would do). Every
    other bf16 variant's attention is the fused kernel where it runs."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dropout = 0.0 if "nodrop" in variant else 0.1
    cfg = ModelConfig(dropout=dropout)
    model = ReferenceTransformer(cfg) if variant == "reference" else MusicTransformer(cfg)
    if "bf16weights" in variant:
        model = model.to(torch.bfloat16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused_adam_for(variant))
    x = torch.randint(0, VOCAB, (BATCH, BLOCK + 1))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled="bf16" in variant)
    head = model.head
    if "fusedce" in variant:
        model.head = nn.Identity()

    def loss_of(x):
        with autocast:
            out, _ = model(x[:, :-1])
        if "fusedce" in variant:
            hidden = out.reshape(-1, out.shape[-1]).to(torch.bfloat16)
            return FusedHeadCrossEntropy.apply(hidden, head.weight, head.bias, x[:, 1:].reshape(-1))
        return F.cross_entropy(out.float().reshape(-1, VOCAB), x[:, 1:].reshape(-1))

    if "compiled" in variant:
        loss_of = torch.compile(loss_of)

    def one_step():
        loss = loss_of(x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with AttentionOf(variant):
        t = time.perf_counter()
        one_step()
        first = time.perf_counter() - t
        for _ in range(2):
            one_step()
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            one_step()
            times.append(time.perf_counter() - t)
    median = statistics.median(times)
    return (median, first - median) if "compiled" in variant else median


def _parallel_worker(args):
    variant, steps = args
    if "before" not in variant:  # what train() does first; glibc-wide, so each variant gets its own process
        reuse_freed_memory()
    return step_time(variant, 1, steps)


def fresh_step_time(variant: str, steps: int, inductor_cache: str | None = None) -> float | tuple[float, float]:
    """``step_time`` at 1 thread in a fresh process, set up as ``train`` sets itself up (the "before" variants
    without ``reuse_freed_memory``, which arrived with the blocked kernel); compiled variants with their inductor
    cache in ``inductor_cache``."""
    if inductor_cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = inductor_cache
    try:
        with mp.get_context("spawn").Pool(1) as pool:
            return pool.apply(_parallel_worker, ((variant, steps),))
    finally:
        os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)


CANDIDATES = (("", "default: eager, fused attention kernel, fused Adam"),
              (" fusedce", "output layer and cross-entropy fused, 1024 tokens at a time"),
              (" bf16weights", "weights and Adam in bf16, no casts left (upper bound; not trained so)"),
              (" compiled", "torch.compile, whole model"),
              (" compiled opaque", "torch.compile, the blocked attention as one op (no graph break)"))


def candidate_times(fast: str, steps: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Per candidate of ``CANDIDATES``: seconds per step of every round (fresh processes, interleaved) and, for the
    compiled ones, the extra seconds of the first step with an empty inductor cache ("cold": a fresh machine or
    cluster node) and with the cache the previous job left ("warm": every later job of a run sharing it)."""
    times = {suffix: {"step": [], "cold": [], "warm": []} for suffix, _ in CANDIDATES}
    for _ in range(rounds):
        for suffix, _ in CANDIDATES:
            if "compiled" not in suffix:
                times[suffix]["step"].append(fresh_step_time(fast + suffix, steps))
                continue
            with tempfile.TemporaryDirectory() as cache:
                for kind in ("cold", "warm"):
                    sec, compile_s = fresh_step_time(fast + suffix, steps, cache)
                    times[suffix]["step"].append(sec)
                    times[suffix][kind].append(compile_s)
    return times


def parallel_throughput(variant: str, steps: int) -> float:
    """Tokens/s of two 1-thread training processes running at once (two genre jobs on two cores)."""
    with mp.get_context("spawn").Pool(2) as pool:
        per_step = pool.map(_parallel_worker, [(variant, steps)] * 2)
    return sum(BATCH * BLOCK / s for s in per_step)


def matmul_peak_section(run: Run) -> None:
    """The ceiling a training step is held against."""
    run.table("Matmul peak (2048x2048, median)", "| threads | fp32 GFLOP/s | bf16 GFLOP/s |",
              [f"| {t} | {run.peaks[t, torch.float32] / 1e9:.0f} | {run.peaks[t, torch.bfloat16] / 1e9:.0f} |"
               for t in (1, 2)])


def throughput_section(run: Run) -> None:
    """Every training variant at 2 and 1 threads, against the reference and the matmul peak."""
    rows = []
    for threads in (2, 1):
        ref_rate = None
        for variant in ("reference", "ours fp32", "ours fp32 nodrop", "ours bf16 nodrop sdpa",
                        "ours bf16 nodrop before", "ours bf16 nodrop blocked", "ours bf16 nodrop"):
            sec = step_time(variant, threads, run.reps)
            rate = BATCH * BLOCK / sec
            ref_rate = ref_rate or rate
            achieved = rate * run.flops
            rows.append(f"| {variant} | {threads} | {sec * 1000:.0f} | {rate:,.0f} | {rate / ref_rate:.2f}x | "
                        f"{100 * achieved / run.peaks[threads, torch.float32]:.0f}% | "
                        f"{100 * achieved / run.peaks[threads, torch.bfloat16]:.0f}% |")
    run.table(f"Training throughput (batch {BATCH} x {BLOCK} tokens, median of {run.reps} steps; "
              f"{run.flops / 1e6:.2f} MFLOP/token)",
              "| variant | threads | ms/step | tokens/s | vs reference | % fp32 peak | % bf16 peak |", rows)


def before_after_section(run: Run) -> None:
    """The workflow's training before the attention kernels, with the blocked one and today's, fresh processes."""
    fast = run.fast
    rounds = 3 if run.quick else 7
    steps = {v: [] for v in (f"{fast} before", f"{fast} blocked", fast)}
    for _ in range(rounds):  # interleaved, so that a slow minute of the machine hits every variant alike
        for variant in steps:
            steps[variant].append(fresh_step_time(variant, run.reps))
    before = statistics.median(steps[f"{fast} before"])
    rows = []
    for variant, label in ((f"{fast} before", "before: full-matrix attention, foreach Adam"),
                           (f"{fast} blocked", "blocked attention, fused Adam, freed-memory reuse (the default "
                                               "until the fused kernel)"),
                           (fast, "after: fused attention kernel, fused Adam, freed-memory reuse (the default"
                                  + ("" if fused_attention.kernel() else "; here the blocked kernel") + ")")):
        sec = statistics.median(steps[variant])
        rows.append(f"| {label} | {sec * 1000:.1f} | {BATCH * BLOCK / sec:,.0f} | {before / sec:.2f}x | "
                    f"{100 * BATCH * BLOCK / sec * run.flops / run.peaks[1, torch.bfloat16]:.0f}% |")
    run.table(f"Training before and after the attention kernels, fused Adam and freed-memory reuse ({fast}, "
              f"1 thread, each a fresh process; median of {rounds} interleaved rounds of {run.reps} steps)",
              "| path | ms/step | tokens/s | vs before | % bf16 matmul peak |", rows)


def candidates_section(run: Run) -> None:
    """The usual ideas for a faster step (skipped in a quick run: each compiled one compiles twice a round)."""
    if run.quick:
        return
    rounds = 3
    times = candidate_times(run.fast, run.reps, rounds)
    default = statistics.median(times[""]["step"])
    rows = []
    for suffix, label in CANDIDATES:
        sec = statistics.median(times[suffix]["step"])
        cold, warm = (statistics.median(times[suffix][k]) if times[suffix][k] else 0.0 for k in ("cold", "warm"))
        rows.append(f"| {label} | {sec * 1000:.1f} | {default / sec:.2f}x | {cold:.1f} | {warm:.1f} | "
                    f"{1200 * sec + warm:.0f} |")
    run.table(f"Training: candidates measured ({run.fast}, 1 thread, each a fresh process; median of {rounds} "
              f"interleaved rounds of {run.reps} steps)",
              "| candidate | ms/step | vs default | first step extra s, empty cache | first step extra s, warm "
              "cache | one genre's 1200 steps s |", rows)


def two_genres_section(run: Run) -> None:
    """One 2-thread training job against two 1-thread jobs side by side."""
    single = BATCH * BLOCK / step_time(run.fast, 2, run.reps)
    double = parallel_throughput(run.fast, run.reps)
    run.table(f"Two genres at once ({run.fast}): one 2-thread job vs two 1-thread jobs in parallel",
              "| layout | total tokens/s | ratio |",
              [f"| 1 job x 2 threads | {single:,.0f} | 1.00x |",
               f"| 2 jobs x 1 thread | {double:,.0f} | {double / single:.2f}x |"])
