"""What every benchmark section shares: the run's settings, the report it writes, the machine's description, the
workflow's default settings, the matmul peak and the model's FLOPs (the ceiling a training step is held against).
Imports torch only where it is used, so that a section timing a job without torch does not load it."""

from __future__ import annotations

import functools
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

REPO = Path(__file__).resolve().parents[1]
BATCH, BLOCK, VOCAB = 16, 256, 291  # a training batch: 16 windows of 256 tokens of the event vocabulary


def machine() -> str:
    """A one-line description of this machine."""
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    flags = open("/proc/cpuinfo").read()
    isa = [f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return (f"{cpu}, {os.cpu_count()} logical CPUs ({', '.join(isa)}), Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def default_settings() -> tuple[dict, dict]:
    """The model and train sections of the workflow's config: the schema's defaults, updated by config.yaml."""
    import yaml

    from midi_genres.core.defaults import defaults

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    return {**defaults("model"), **cfg.get("model", {})}, {**defaults("train"), **cfg.get("train", {})}


def model_flops_per_token(non_embedding_params: int, n_layers: int, d_model: int, max_len: int) -> float:
    """Training FLOPs per token: 6 x non-embedding parameters + attention 12 x layers x d_model x context."""
    return 6 * non_embedding_params + 12 * n_layers * d_model * max_len


def matmul_peak(threads: int, dtype: torch.dtype, n: int = 2048, reps: int = 9) -> float:
    """Median FLOP/s of a large square matmul."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times)


def script_output(script: str, *args: str) -> list[str]:
    """The lines a benchmark script of this folder prints, run in a fresh process from the repository."""
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout
    return out.strip().splitlines()


@dataclass
class Run:
    """One benchmark run: its settings, and the report every section adds its lines to (printed as they come)."""

    quick: bool = False
    quality_genre: str = "bach"
    quality_steps: int = 1200
    lines: list[str] = field(default_factory=list)

    @property
    def reps(self) -> int:
        """Repetitions of every timed step or call (fewer in a quick run)."""
        return 8 if self.quick else 20

    def emit(self, text: str = "") -> None:
        """Print one line of the report and keep it."""
        print(text, flush=True)
        self.lines.append(text)

    def heading(self, title: str) -> None:
        """A section's title, after a blank line unless it is the first."""
        if self.lines:
            self.emit("")
        self.emit(f"## {title}")

    def table(self, title: str, header: str, rows: list[str]) -> None:
        """A section of the report: its title and a markdown table."""
        self.heading(title)
        self.emit(header)
        self.emit("|" + "---|" * (header.count("|") - 1))
        for row in rows:
            self.emit(row)

    @functools.cached_property
    def peaks(self) -> dict[tuple[int, torch.dtype], float]:
        """The matmul peak at 1 and 2 threads, fp32 and bf16."""
        import torch

        return {(t, d): matmul_peak(t, d) for t in (1, 2) for d in (torch.float32, torch.bfloat16)}

    @functools.cached_property
    def settings(self) -> tuple[dict, dict]:
        """``default_settings()``: the model and train sections of the workflow's config."""
        return default_settings()

    @functools.cached_property
    def precision(self) -> str:
        """The precision the workflow's training runs in on this machine."""
        import torch

        from midi_genres.model.runtime import resolve_precision

        return resolve_precision(self.settings[1]["precision"], torch.device("cpu"))

    @property
    def fast(self) -> str:
        """The training variant the workflow runs here (``ours bf16 nodrop`` on a bf16 CPU with dropout 0)."""
        return f"ours {self.precision}" + (" nodrop" if self.settings[0]["dropout"] == 0 else "")

    @functools.cached_property
    def flops(self) -> float:
        """Training FLOPs per token of the default model."""
        from midi_genres.model.transformer import ModelConfig, MusicTransformer

        cfg = ModelConfig()
        return model_flops_per_token(MusicTransformer(cfg).num_parameters(embeddings=False), cfg.n_layers,
                                     cfg.d_model, cfg.max_len)

    def write(self, path: Path) -> None:
        """The report as ``path`` (markdown), followed by the results measured on other machines
        (benchmarks/elsewhere/*.md: a lent GPU, the other kind of CPU), kept as they are."""
        elsewhere = sorted((REPO / "benchmarks/elsewhere").glob("*.md"))
        extra = "".join("\n" + p.read_text() for p in elsewhere)
        path.write_text("# Benchmark results\n\n" + "\n".join([f"Machine: {machine()}", "", *self.lines]) + "\n"
                        + extra)
