"""The fused causal attention kernel (``causal_attention.cpp``, head size 32, bf16, AVX-512 BF16): compiled on first
use into a cache shared by every job, loaded with ctypes, wrapped as an autograd function. Where it cannot run (no
AVX-512 BF16, no C++ compiler, ``MIDI_GENRES_FUSED_ATTENTION=0``, and by default on CPUs with AMX) ``kernel()`` is
None and the model keeps its blocked attention; the reason is logged once. With several threads the sequences are
shared out by OpenMP, each computed whole by one thread, so the numbers do not depend on the thread count; built
with ``-fopenmp``, the kernel uses the OpenMP runtime PyTorch has loaded (the same ``libgomp.so.1``), so its
threads are PyTorch's own and do not compete with them."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

log = logging.getLogger(__name__)

HEAD_SIZE = 32  # the only head size the kernel computes (the experiment's 128 / 4 heads)
SOURCE = Path(__file__).with_name("causal_attention.cpp")
FLAGS = ["-O3", "-shared", "-fPIC", "-fopenmp", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mfma"]
SWITCH = "MIDI_GENRES_FUSED_ATTENTION"  # "0": the blocked kernel everywhere; "1": the fused one on AMX CPUs too


def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$MIDI_GENRES_CACHE`` or ``~/.cache/midi_genres`` (``$XDG_CACHE_HOME``)."""
    if "MIDI_GENRES_CACHE" in os.environ:
        return Path(os.environ["MIDI_GENRES_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "midi_genres"


def unavailable_reason() -> str | None:
    """Why this machine cannot use the kernel, or None where it can (it may still fail to compile)."""
    if os.environ.get(SWITCH, "1") == "0":
        return f"{SWITCH}=0"
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"built for x86-64 Linux only, not {sys.platform} {platform.machine()}"
    if not getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "the CPU has no AVX-512 BF16"
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    if amx and os.environ.get(SWITCH) != "1":  # the blocked kernel's matmuls run on AMX there; not measured yet
        return f"the CPU has AMX, where the blocked kernel's matmuls use it ({SWITCH}=1 tries the fused one)"
    return None


def build(compiler: str, target: Path) -> None:
    """Compile the kernel's source with ``compiler`` into the shared library ``target`` (written under a temporary
    name and renamed, so that jobs building at once are safe)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        subprocess.run([compiler, *FLAGS, str(SOURCE), "-o", str(built)], check=True, capture_output=True, text=True)
        os.replace(built, target)


@functools.cache
def kernel() -> ctypes.CDLL | None:
    """The compiled kernel, built on first use (about a second), or None (reason logged) where it cannot run."""
    reason = unavailable_reason()
    compiler = os.environ.get("CXX", "c++")
    if reason is None and shutil.which(compiler) is None:
        reason = f"no C++ compiler ({compiler}) found"
    if reason is None:
        key = hashlib.sha256(SOURCE.read_bytes() + " ".join([compiler, *FLAGS]).encode()).hexdigest()[:16]
        target = cache_dir() / "kernels" / f"causal_attention-{key}.so"
        try:
            if not target.exists():
                build(compiler, target)
            lib = ctypes.CDLL(str(target))
        except (OSError, subprocess.CalledProcessError) as err:
            reason = f"could not build {target}: {getattr(err, 'stderr', '') or err}"
    if reason is not None:
        log.info("fused causal attention not used (%s); the blocked kernel computes attention", reason)
        return None
    log.info("fused causal attention kernel %s", target)
    ptr, i32, f32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
    lib.causal_attention_forward.argtypes = [ptr] * 6 + [i32] * 4 + [f32, i32]
    lib.causal_attention_backward.argtypes = [ptr] * 9 + [i32] * 3 + [f32, i32]
    return lib


def supports(q: torch.Tensor) -> bool:
    """Whether the kernel computes attention of these queries: bf16 on CPU, head size 32, kernel available."""
    return q.dtype == torch.bfloat16 and q.device.type == "cpu" and q.shape[-1] == HEAD_SIZE and kernel() is not None


def _by_sequences(call, views: list[torch.Tensor], probs: torch.Tensor | None, *sizes) -> None:
    """``call(*views, probs, strides, batch, heads, *sizes, threads)``: the kernel over every (batch, head) sequence
    of ``views`` ((batch, heads, T, 32) bf16 tensors, any strides but 1 along the last dimension) on torch's
    intra-op thread count."""
    for view in views:
        if view.stride(-1) != 1 or view.dtype != torch.bfloat16:
            raise ValueError("fused causal attention needs bf16 tensors with unit stride along the head dimension")
    batch, heads = views[0].shape[:2]
    strides = (ctypes.c_long * (3 * len(views)))(*(st for view in views for st in view.stride()[:3]))
    pointers = [view.data_ptr() for view in views] + [None if probs is None else probs.data_ptr()]
    call(*pointers, strides, batch, heads, *sizes, torch.get_num_threads())


def _padded(length: int) -> int:
    return -(-length // 32) * 32


def _forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, keep: bool):
    """Outputs (batch, heads, Tq, 32), a view of (batch, Tq, heads, 32) memory, and the probabilities if ``keep``."""
    batch, heads, tq, d = q.shape
    tk = k.shape[2]
    out = torch.empty(batch, tq, heads, d, dtype=q.dtype).transpose(1, 2)
    probs = torch.empty(batch * heads, tq, _padded(tk), dtype=q.dtype) if keep else None
    _by_sequences(kernel().causal_attention_forward, [q, k, v, out], probs, tq, tk, d ** -0.5)
    return out, probs


class _FusedCausalAttention(torch.autograd.Function):
    """Attention of the (batch, T, 3, heads, 32) projections straight from the qkv layer, outputs (batch, heads, T,
    32); the gradient comes back in the projections' layout, so no copy into or out of the heads' layout is made.
    Forward keeps each sequence's probabilities (bf16) for the backward pass, which needs nothing else."""

    @staticmethod
    def forward(ctx, qkv: torch.Tensor) -> torch.Tensor:
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        out, probs = _forward(q, k, v, keep=True)
        ctx.save_for_backward(qkv, probs)
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        qkv, probs = ctx.saved_tensors
        grad_out = grad_out.to(qkv.dtype)
        if grad_out.stride(-1) != 1:
            grad_out = grad_out.contiguous()
        grad = torch.empty_like(qkv)
        t, d = qkv.shape[1], qkv.shape[-1]
        _by_sequences(kernel().causal_attention_backward, [*qkv.permute(2, 0, 3, 1, 4), grad_out,
                                                            *grad.permute(2, 0, 3, 1, 4)], probs, t, d ** -0.5)
        return grad


def projections_attention(qkv: torch.Tensor, last: int = 0) -> torch.Tensor:
    """Causal attention (batch, heads, T, 32) of the (batch, T, 3, heads, 32) query, key and value projections, of
    only the last ``last`` queries if ``last`` (forward only); ``supports`` must hold for them."""
    if torch.is_grad_enabled() and qkv.requires_grad:
        if last:
            raise ValueError("causal_attention: gradients need every query, not only the last ones")
        return _FusedCausalAttention.apply(qkv)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    return _forward(q[:, :, -last:] if last else q, k, v, keep=False)[0]


def fused_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention of (batch, heads, Tq, 32) queries that are the last Tq positions of (batch, heads, Tk, 32)
    keys and values (``supports(q)`` must hold); with gradients, Tq must equal Tk."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
        if k.shape[2] != q.shape[2]:
            raise ValueError(f"causal_attention: gradients need as many queries as keys, got {q.shape[2]} and "
                             f"{k.shape[2]}")
        return _FusedCausalAttention.apply(torch.stack([q, k, v]).permute(1, 3, 0, 2, 4))
    return _forward(*(t if t.stride(-1) == 1 else t.contiguous() for t in (q, k, v)), keep=False)[0]
