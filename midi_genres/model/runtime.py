"""Where and in what precision a model runs: the device, bf16 autocast where the hardware computes it natively."""

from __future__ import annotations

import ctypes

import torch

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def reuse_freed_memory() -> bool:
    """Let glibc's malloc keep freed blocks for reuse instead of handing them back to the system: a training step
    allocates and frees the same large buffers each time, and fresh pages from the system cost a page fault each
    (~2,500 a step here; without them a CPU step is ~5% faster, at the same peak memory). True where it applied
    (glibc); elsewhere nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 64 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30))


def resolve_device(name: str) -> torch.device:
    """``auto`` means CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` means bf16 autocast where the hardware computes bf16 natively (AVX-512 BF16/AMX CPUs, bf16 GPUs)."""
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return "bf16" if native else "fp32"


def precision_autocast(precision: str, device: torch.device) -> torch.autocast:
    """The autocast context of a resolved precision: bf16 autocast for ``bf16``, a no-op for ``fp32``."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def trained_precision(checkpoint: dict, device: torch.device) -> str:
    """The precision (fp32 or bf16) a checkpoint's model trained in, its ``train.precision`` resolved here."""
    return resolve_precision(checkpoint.get("train_config", {}).get("precision", "fp32"), device)
