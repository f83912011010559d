"""Attention of one layer: the fused kernel against the blocked kernel, forward with backward and forward alone,
and the seconds to compile the fused kernel."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from harness import BATCH, BLOCK, Run
from variants import AttentionOf

from midi_genres.model import fused_attention
from midi_genres.model.transformer import causal_attention


def attention_layer_times(reps: int) -> dict[str, float]:
    """One layer's attention of a training batch (16 x 4 heads x 256 x 32, bf16, 1 thread), median seconds of the
    forward pass with the backward pass and of the forward pass alone, fused kernel and blocked kernel, each from
    the projections' layout as the model calls it; and the seconds to compile the kernel (empty cache)."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    qkv = torch.randn(BATCH, BLOCK, 3, 4, 32).to(torch.bfloat16)
    grad = torch.randn(BATCH, 4, BLOCK, 32).to(torch.bfloat16)

    def blocked(x):
        with AttentionOf("blocked"):
            return causal_attention(*x.permute(2, 0, 3, 1, 4))

    def timed(attention, backward: bool) -> float:
        times = []
        for rep in range(reps + 3):
            x = qkv.clone().requires_grad_(backward)
            t = time.perf_counter()
            with torch.set_grad_enabled(backward):
                out = attention(x)
                if backward:
                    out.backward(grad)
            if rep >= 3:
                times.append(time.perf_counter() - t)
        return statistics.median(times)

    result = {}
    if fused_attention.kernel() is not None:
        result["fused"] = timed(fused_attention.projections_attention, True)
        result["fused forward"] = timed(fused_attention.projections_attention, False)
        with tempfile.TemporaryDirectory() as cache:
            t = time.perf_counter()
            fused_attention.build(os.environ.get("CXX", "c++"), Path(cache) / "kernel.so")
            result["compile"] = time.perf_counter() - t
    result["blocked"] = timed(blocked, True)
    result["blocked forward"] = timed(blocked, False)
    return result


def section(run: Run) -> None:
    """The table of ``attention_layer_times``, with GFLOP/s of the matmuls at or below the diagonal."""
    layer = attention_layer_times(run.reps)
    pairs = BATCH * 4 * BLOCK * (BLOCK + 1) // 2  # query-key pairs at or below the diagonal
    flops = {"": 3 * 2 * 2 * pairs * 32, " forward": 2 * 2 * pairs * 32}  # backward: twice the forward
    rows = [f"| {kernel} | {layer[kernel] * 1000:.2f} | {flops[''] / layer[kernel] / 1e9:.0f} | "
            f"{layer[kernel + ' forward'] * 1000:.2f} | {flops[' forward'] / layer[kernel + ' forward'] / 1e9:.0f} |"
            for kernel in ("blocked", "fused") if kernel in layer]
    if "fused" in layer:
        rows.append(f"| ratio | {layer['blocked'] / layer['fused']:.2f}x | | "
                    f"{layer['blocked forward'] / layer['fused forward']:.2f}x | |")
    run.table(f"Attention of one layer ({BATCH} x 4 heads x {BLOCK} x 32, bf16, 1 thread, median of {run.reps}; "
              "GFLOP/s of the matmuls at or below the diagonal)",
              "| kernel | forward and backward ms | GFLOP/s | forward only ms | GFLOP/s |", rows)
    if "fused" in layer:
        run.emit(f"\nCompiling the fused kernel on an empty cache: {layer['compile']:.1f} s (once per machine or "
                 "cluster home; every later job loads it).")
    else:
        reason = fused_attention.unavailable_reason() or "it did not compile"
        run.emit(f"\nThe fused kernel does not run here: {reason}.")
