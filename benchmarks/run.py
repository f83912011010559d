"""Performance benchmark of midi-genres: prints one table of absolute numbers and ratios, measured side by side.

    python benchmarks/run.py                # everything (several minutes)
    python benchmarks/run.py --quick        # fewer repetitions, no quality run, no corpus extraction
    python benchmarks/run.py --jobs-of DIR  # only the per-rule time and peak memory of DIR's last workflow run

Writes the table to benchmarks/results.md with a description of the machine, followed by the results measured on
other machines (benchmarks/elsewhere/*.md: a lent GPU, the other kind of CPU), kept as they are. Not part of the
tests.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import multiprocessing as mp
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import midi_genres.model.transformer as model_module
from midi_genres.model import fused_attention
from midi_genres.model.runtime import resolve_precision, reuse_freed_memory
from midi_genres.model.train import TrainConfig, train
from midi_genres.model.transformer import ModelConfig, MusicTransformer, causal_attention

REPO = Path(__file__).resolve().parents[1]
BATCH, BLOCK, VOCAB = 16, 256, 291


class ReferenceTransformer(nn.Module):
    """Plain PyTorch reference of identical shape: nn.TransformerEncoder, causal mask, norm-first, dropout 0.1."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, dropout=0.1, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(self, idx):
        T = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T))
        return self.head(self.ln_f(self.encoder(x, mask=mask, is_causal=True))), None


def model_flops_per_token(cfg: ModelConfig, non_embedding_params: int) -> float:
    """Training FLOPs per token: 6 x non-embedding parameters + attention 12 x layers x d_model x context."""
    return 6 * non_embedding_params + 12 * cfg.n_layers * cfg.d_model * cfg.max_len


def matmul_peak(threads: int, dtype: torch.dtype, n: int = 2048, reps: int = 9) -> float:
    """Median FLOP/s of a large square matmul."""
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


def sdpa_causal_attention(q, k, v):
    """What the model computes in training on CPU, through SDPA's flash kernel instead (the "sdpa" variants)."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def full_matrix_causal_attention(q, k, v):
    """The training attention before the blocked kernel (the "before" variants): two batched matmuls over the
    whole T x T matrix, the scale and the causal mask fused into the first (``baddbmm``)."""
    B, H, T, D = q.shape
    mask = torch.full((T, T), float("-inf"), dtype=q.dtype, device=q.device).triu(1)
    scores = torch.baddbmm(mask, q.reshape(B * H, T, D), k.reshape(B * H, T, D).transpose(1, 2), alpha=D**-0.5)
    return torch.bmm(scores.softmax(-1).to(v.dtype), v.reshape(B * H, T, D)).view(B, H, T, D)


class _Saved:
    """Stands in for autograd's ctx, to run ``_CausalAttention``'s forward and backward as plain functions."""

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors


def _block_shapes(q: torch.Tensor) -> list[tuple[int, int, int]]:
    N, T = q.shape[:2]
    tile = model_module.ATTENTION_TILE
    return [(N, min(tile, T - start), min(start + tile, T)) for start in range(0, T, tile)]


@torch.library.custom_op("midi_genres_bench::attention_forward", mutates_args=())
def _opaque_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> list[torch.Tensor]:
    saved = _Saved()
    out = model_module._CausalAttention.forward(saved, q, k, v)
    scaled_q, _, _, *probs = saved.saved_tensors
    return [out, scaled_q, *probs]  # k and v are the inputs themselves: a custom op may not return them


@_opaque_forward.register_fake
def _(q, k, v):
    return [torch.empty_like(q), torch.empty_like(q), *(q.new_empty(shape) for shape in _block_shapes(q))]


@torch.library.custom_op("midi_genres_bench::attention_backward", mutates_args=())
def _opaque_backward(grad: torch.Tensor, scaled_q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     probs: list[torch.Tensor]) -> list[torch.Tensor]:
    ctx = _Saved()
    ctx.saved_tensors, ctx.scale = (scaled_q, k, v, *probs), scaled_q.shape[2] ** -0.5
    return list(model_module._CausalAttention.backward(ctx, grad))


@_opaque_backward.register_fake
def _(grad, scaled_q, k, v, probs):
    return [torch.empty_like(scaled_q), torch.empty_like(k), torch.empty_like(v)]


class _OpaqueAttention(torch.autograd.Function):
    """The package's blocked kernel as two custom ops, which torch.compile calls as they are (one graph, no break)."""

    @staticmethod
    def forward(ctx, q, k, v):
        out, scaled_q, *probs = _opaque_forward(q, k, v)
        ctx.save_for_backward(scaled_q, k, v, *probs)
        return out

    @staticmethod
    def backward(ctx, grad):
        scaled_q, k, v, *probs = ctx.saved_tensors
        return tuple(_opaque_backward(grad.contiguous(), scaled_q, k, v, probs))


def opaque_causal_attention(q, k, v):
    """``causal_attention`` as one opaque op (the "opaque" variants: torch.compile fuses everything around it)."""
    B, H, T, D = q.shape
    with torch.autocast(q.device.type, enabled=False):
        return _OpaqueAttention.apply(*(t.reshape(B * H, T, D) for t in (q, k, v))).view(B, H, T, D)


class FusedHeadCrossEntropy(torch.autograd.Function):
    """The output layer and the cross-entropy in one function, a chunk of tokens at a time (the "fusedce"
    variants): the logits are never stored whole, and the gradients are computed in the forward pass."""

    CHUNK = 1024

    @staticmethod
    def forward(ctx, x, weight, bias, targets):
        w, b, n = weight.to(x.dtype), bias.to(x.dtype), x.shape[0]
        grad_x, grad_w, grad_b = torch.empty_like(x), torch.zeros_like(weight), torch.zeros_like(bias)
        total = x.new_zeros((), dtype=torch.float32)
        for start in range(0, n, FusedHeadCrossEntropy.CHUNK):
            xs, ts = x[start:start + FusedHeadCrossEntropy.CHUNK], targets[start:start + FusedHeadCrossEntropy.CHUNK]
            logits = torch.addmm(b, xs, w.t()).float()
            lse = torch.logsumexp(logits, 1, keepdim=True)
            total += (lse.squeeze(1) - logits.gather(1, ts[:, None]).squeeze(1)).sum()
            grad = logits.sub_(lse).exp_()
            grad[torch.arange(len(ts)), ts] -= 1
            grad_b += grad.sum(0)
            grad = grad.to(x.dtype)
            grad_x[start:start + len(ts)] = grad @ w
            grad_w += (grad.t() @ xs).float()
        ctx.save_for_backward(grad_x, grad_w, grad_b)
        ctx.n = n
        return total / n

    @staticmethod
    def backward(ctx, grad_loss):
        grad_x, grad_w, grad_b = ctx.saved_tensors
        scale = grad_loss / ctx.n
        return (grad_x * scale.to(grad_x.dtype), grad_w * scale, grad_b * scale, None)


def attention_for(variant: str):
    """The attention function a variant trains with where the fused kernel is not used."""
    if "sdpa" in variant:
        return sdpa_causal_attention
    if "opaque" in variant:
        return opaque_causal_attention
    return full_matrix_causal_attention if "before" in variant else causal_attention


def uses_fused_kernel(variant: str) -> bool:
    """Whether a variant's attention is the fused kernel (the package's default where it runs)."""
    return not any(word in variant for word in ("reference", "sdpa", "opaque", "before", "blocked"))


class AttentionOf:
    """Within it, the model computes attention as ``variant`` does: the fused kernel or ``attention_for``."""

    def __init__(self, variant: str):
        self.variant = variant

    def __enter__(self):
        self.supports = fused_attention.supports
        if not uses_fused_kernel(self.variant):
            fused_attention.supports = lambda q: False
        model_module.causal_attention = attention_for(self.variant)

    def __exit__(self, *exc):
        fused_attention.supports = self.supports
        model_module.causal_attention = causal_attention


def fused_adam_for(variant: str) -> bool:
    """Whether a variant's Adam is the fused kernel (the package's default) or PyTorch's default (foreach)."""
    return variant != "reference" and "before" not in variant


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


def parallel_throughput(variant: str, steps: int) -> float:
    """Tokens/s of two 1-thread training processes running at once (two genre jobs on two cores)."""
    with mp.get_context("spawn").Pool(2) as pool:
        per_step = pool.map(_parallel_worker, [(variant, steps)] * 2)
    return sum(BATCH * BLOCK / s for s in per_step)


class _BeforePath(AttentionOf):
    """Within it, ``train`` runs as before the blocked kernel: full-matrix attention and foreach Adam."""

    def __init__(self):
        super().__init__("before")

    def __enter__(self):
        super().__enter__()
        self.adam = torch.optim.Adam
        torch.optim.Adam = lambda params, **kw: self.adam(params, **{**kw, "fused": False})

    def __exit__(self, *exc):
        super().__exit__(*exc)
        torch.optim.Adam = self.adam


def quality(genre: str, steps: int, threads: int) -> dict[str, float]:
    """Final validation loss of the reference, of the path before the blocked kernel, of the blocked kernel and of
    the default fast path after the same steps, same loop, same data."""
    from midi_genres.tokens.event import EventTokenizer

    train_tokens = np.load(REPO / f"data/tokens/{genre}.npy")
    val_tokens = np.load(REPO / f"data/tokens/{genre}.val.npy")
    fast_model, fast_train = default_settings()
    settings = {k: v for k, v in fast_train.items() if k in TrainConfig.__dataclass_fields__}  # not train.seeds
    cfg = TrainConfig(**{**settings, "steps": steps, "eval_interval": steps, "log_interval": steps})
    names = EventTokenizer().names
    _, fast = train(train_tokens, val_tokens, ModelConfig(**fast_model), cfg, names, threads=threads)
    with _BeforePath():
        _, before = train(train_tokens, val_tokens, ModelConfig(**fast_model), cfg, names, threads=threads)
    with AttentionOf("blocked"):
        _, blocked = train(train_tokens, val_tokens, ModelConfig(**fast_model), cfg, names, threads=threads)
    torch.manual_seed(cfg.seed)
    reference_cfg = TrainConfig(**{**cfg.__dict__, "precision": "fp32"})
    _, ref = train(train_tokens, val_tokens, ModelConfig(), reference_cfg, names, threads=threads,
                   model=ReferenceTransformer(ModelConfig()))
    return {"fast": fast[-1]["val_loss"], "before": before[-1]["val_loss"], "blocked": blocked[-1]["val_loss"],
            "reference": ref[-1]["val_loss"]}


def default_settings() -> tuple[dict, dict]:
    """The model and train sections of the workflow's config: the schema's defaults, updated by config.yaml."""
    import yaml

    from midi_genres.core.defaults import defaults

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    return {**defaults("model"), **cfg.get("model", {})}, {**defaults("train"), **cfg.get("train", {})}


def sampling(genres: list[str]) -> list[tuple[str, float, float, int]]:
    """Per genre: seconds to sample 30 s of music with and without the KV cache (same tokens), and the token count."""
    import yaml

    from midi_genres.core.notes import seconds_to_steps
    from midi_genres.model.checkpoint import load_checkpoint
    from midi_genres.model.sample import SampleConfig, generate
    from midi_genres.tokens.event import EventTokenizer

    torch.set_num_threads(1)
    sources = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    tok = EventTokenizer()
    rows = []
    for genre in genres:
        model, _ = load_checkpoint(REPO / f"results/checkpoints/{genre}.pt", vocab=tok.names)
        cfg = SampleConfig()
        steps = seconds_to_steps(cfg.seconds, sources[genre]["tempo"])
        t = time.perf_counter()
        cached = generate(model, tok, steps, cfg, use_cache=True)
        t_cache = time.perf_counter() - t
        t = time.perf_counter()
        plain = generate(model, tok, steps, cfg, use_cache=False)
        t_plain = time.perf_counter() - t
        assert cached == plain, f"{genre}: cached and uncached sampling differ"
        rows.append((genre, t_cache, t_plain, len(cached)))
    return rows


def extraction() -> list[tuple[str, float, int]]:
    """Wall seconds and pieces for extracting each music21 collection with 2 workers (cold process each); for
    Palestrina also as before the plain **kern reader (every file through music21's Humdrum parser)."""
    from midi_genres.sources.music21_corpus import COLLECTIONS

    variants = [(name, name, "") for name in COLLECTIONS]
    variants.insert(COLLECTIONS.index("palestrina") + 1, (
        "palestrina, music21's parser only (before)", "palestrina", "corpus._plain_kern_notes = lambda path: None; "))
    rows = []
    for label, name, patch in variants:
        code = ("import midi_genres.sources.music21_corpus as corpus; "
                "from midi_genres.sources.midi_folder import Piece; " + patch +
                f"print(sum(isinstance(p, Piece) for p in corpus.extract_collection({name!r}, workers=2)))")
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        rows.append((label, time.perf_counter() - t, int(out.split()[-1])))
    return rows


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


def machine() -> str:
    """A one-line description of this machine."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    flags = open("/proc/cpuinfo").read()
    isa = [f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return (f"{cpu}, {os.cpu_count()} logical CPUs ({', '.join(isa)}), Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; skip quality and extraction")
    parser.add_argument("--quality-genre", default="bach")
    parser.add_argument("--quality-steps", type=int, default=1200)
    parser.add_argument("--jobs-of", type=Path, metavar="WORKDIR",
                        help="only print the workflow jobs table of that workflow directory's last run (no measuring)")
    args = parser.parse_args()
    if args.jobs_of:
        table = job_table(args.jobs_of)
        if not table:
            parser.error(f"--jobs-of {args.jobs_of}: no logs/*/*.benchmark.tsv there (not a workflow run directory)")
        print(f"Machine: {machine()}\n" + "\n".join(table))
        return
    reps = 8 if args.quick else 20
    lines = [f"Machine: {machine()}", ""]

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    peaks = {(t, d): matmul_peak(t, d) for t in (1, 2) for d in (torch.float32, torch.bfloat16)}
    emit("## Matmul peak (2048x2048, median)")
    emit("| threads | fp32 GFLOP/s | bf16 GFLOP/s |")
    emit("|---|---|---|")
    for t in (1, 2):
        emit(f"| {t} | {peaks[t, torch.float32] / 1e9:.0f} | {peaks[t, torch.bfloat16] / 1e9:.0f} |")

    cfg = ModelConfig()
    flops = model_flops_per_token(cfg, MusicTransformer(cfg).num_parameters(embeddings=False))
    emit("")
    emit(f"## Training throughput (batch {BATCH} x {BLOCK} tokens, median of {reps} steps; "
         f"{flops / 1e6:.2f} MFLOP/token)")
    emit("| variant | threads | ms/step | tokens/s | vs reference | % fp32 peak | % bf16 peak |")
    emit("|---|---|---|---|---|---|---|")
    variants = ["reference", "ours fp32", "ours fp32 nodrop", "ours bf16 nodrop sdpa", "ours bf16 nodrop before",
                "ours bf16 nodrop blocked", "ours bf16 nodrop"]
    for threads in (2, 1):
        ref_rate = None
        for variant in variants:
            sec = step_time(variant, threads, reps)
            rate = BATCH * BLOCK / sec
            ref_rate = ref_rate or rate
            achieved = rate * flops
            emit(f"| {variant} | {threads} | {sec * 1000:.0f} | {rate:,.0f} | {rate / ref_rate:.2f}x | "
                 f"{100 * achieved / peaks[threads, torch.float32]:.0f}% | "
                 f"{100 * achieved / peaks[threads, torch.bfloat16]:.0f}% |")
    model_cfg, train_cfg = default_settings()
    precision = resolve_precision(train_cfg["precision"], torch.device("cpu"))
    fast = f"ours {precision}" + (" nodrop" if model_cfg["dropout"] == 0 else "")
    rounds = 3 if args.quick else 7
    steps = {v: [] for v in (f"{fast} before", f"{fast} blocked", fast)}
    for _ in range(rounds):  # interleaved, so that a slow minute of the machine hits every variant alike
        for variant in steps:
            steps[variant].append(fresh_step_time(variant, reps))
    emit("")
    emit(f"## Training before and after the attention kernels, fused Adam and freed-memory reuse ({fast}, "
         f"1 thread, each a fresh process; median of {rounds} interleaved rounds of {reps} steps)")
    emit("| path | ms/step | tokens/s | vs before | % bf16 matmul peak |")
    emit("|---|---|---|---|---|")
    before = statistics.median(steps[f"{fast} before"])
    for variant, label in ((f"{fast} before", "before: full-matrix attention, foreach Adam"),
                           (f"{fast} blocked", "blocked attention, fused Adam, freed-memory reuse (the default "
                                               "until the fused kernel)"),
                           (fast, "after: fused attention kernel, fused Adam, freed-memory reuse (the default"
                                  + ("" if fused_attention.kernel() else "; here the blocked kernel") + ")")):
        sec = statistics.median(steps[variant])
        emit(f"| {label} | {sec * 1000:.1f} | {BATCH * BLOCK / sec:,.0f} | {before / sec:.2f}x | "
             f"{100 * BATCH * BLOCK / sec * flops / peaks[1, torch.bfloat16]:.0f}% |")
    layer = attention_layer_times(reps)
    pairs = BATCH * 4 * BLOCK * (BLOCK + 1) // 2  # query-key pairs at or below the diagonal
    attention_flops = {"": 3 * 2 * 2 * pairs * 32, " forward": 2 * 2 * pairs * 32}  # backward: twice the forward
    emit("")
    emit(f"## Attention of one layer ({BATCH} x 4 heads x {BLOCK} x 32, bf16, 1 thread, median of {reps}; GFLOP/s "
         "of the matmuls at or below the diagonal)")
    emit("| kernel | forward and backward ms | GFLOP/s | forward only ms | GFLOP/s |")
    emit("|---|---|---|---|---|")
    for kernel in ("blocked", "fused"):
        if kernel in layer:
            emit(f"| {kernel} | {layer[kernel] * 1000:.2f} | {attention_flops[''] / layer[kernel] / 1e9:.0f} | "
                 f"{layer[kernel + ' forward'] * 1000:.2f} | "
                 f"{attention_flops[' forward'] / layer[kernel + ' forward'] / 1e9:.0f} |")
    if "fused" in layer:
        emit(f"| ratio | {layer['blocked'] / layer['fused']:.2f}x | | "
             f"{layer['blocked forward'] / layer['fused forward']:.2f}x | |")
        emit(f"\nCompiling the fused kernel on an empty cache: {layer['compile']:.1f} s (once per machine or cluster "
             "home; every later job loads it).")
    else:
        emit(f"\nThe fused kernel does not run here: {fused_attention.unavailable_reason() or 'it did not compile'}.")
    if not args.quick:
        candidate_rounds = 3  # each compiled candidate compiles twice a round (an empty cache, then a warm one)
        times = candidate_times(fast, reps, candidate_rounds)
        emit("")
        emit(f"## Training: candidates measured ({fast}, 1 thread, each a fresh process; median of "
             f"{candidate_rounds} interleaved rounds of {reps} steps)")
        emit("| candidate | ms/step | vs default | first step extra s, empty cache | first step extra s, warm "
             "cache | one genre's 1200 steps s |")
        emit("|---|---|---|---|---|---|")
        default = statistics.median(times[""]["step"])
        for suffix, label in CANDIDATES:
            sec = statistics.median(times[suffix]["step"])
            cold, warm = (statistics.median(times[suffix][k]) if times[suffix][k] else 0.0 for k in ("cold", "warm"))
            emit(f"| {label} | {sec * 1000:.1f} | {default / sec:.2f}x | {cold:.1f} | {warm:.1f} | "
                 f"{1200 * sec + warm:.0f} |")
    single = BATCH * BLOCK / step_time(fast, 2, reps)
    double = parallel_throughput(fast, reps)
    emit("")
    emit(f"## Two genres at once ({fast}): one 2-thread job vs two 1-thread jobs in parallel")
    emit("| layout | total tokens/s | ratio |")
    emit("|---|---|---|")
    emit(f"| 1 job x 2 threads | {single:,.0f} | 1.00x |")
    emit(f"| 2 jobs x 1 thread | {double:,.0f} | {double / single:.2f}x |")

    if not args.quick and (REPO / f"data/tokens/{args.quality_genre}.npy").exists():
        q = quality(args.quality_genre, args.quality_steps, threads=2)
        emit("")
        emit(f"## Quality guard: validation loss after {args.quality_steps} steps on {args.quality_genre}")
        emit("| path | val loss (nats/token) |")
        emit("|---|---|")
        emit(f"| reference (nn.TransformerEncoder, fp32, dropout 0.1) | {q['reference']:.4f} |")
        emit(f"| before the blocked kernel (full-matrix attention, foreach Adam) | {q['before']:.4f} |")
        emit(f"| the blocked kernel (bf16, dropout {model_cfg['dropout']}) | {q['blocked']:.4f} |")
        emit(f"| default fast path ({precision}, dropout {model_cfg['dropout']}, "
             f"{'fused kernel' if fused_attention.kernel() else 'blocked kernel'}) | {q['fast']:.4f} |")

    genres = sorted(Path(p).stem for p in glob.glob(str(REPO / "results/checkpoints/*.pt")))
    if genres:
        emit("")
        emit("## Sampling 30 s from [BOS] (1 thread; identical tokens with and without the cache)")
        emit("| genre | tokens | KV cache s | no cache s | speed-up |")
        emit("|---|---|---|---|---|")
        rows = sampling(genres)
        for genre, t_cache, t_plain, n in rows:
            emit(f"| {genre} | {n} | {t_cache:.2f} | {t_plain:.2f} | {t_plain / t_cache:.1f}x |")
        emit(f"| median | | {statistics.median(r[1] for r in rows):.2f} | "
             f"{statistics.median(r[2] for r in rows):.2f} | "
             f"{statistics.median(r[2] / r[1] for r in rows):.1f}x |")

    if genres and not args.quick:
        emit("")
        emit("## One evaluate_model job's scoring (benchmarks/evaluation.py; each variant a fresh process, median of 3 "
             "interleaved rounds)")
        table = subprocess.run([sys.executable, str(REPO / "benchmarks/evaluation.py")], capture_output=True,
                               text=True, check=True, cwd=REPO).stdout
        for line in table.strip().splitlines():
            emit(line)

    if not args.quick:
        emit("")
        emit("## Corpus extraction (cold process, 2 workers)")
        emit("| collection | pieces | wall s |")
        emit("|---|---|---|")
        rows = extraction()
        for name, sec, n in rows:
            emit(f"| {name} | {n} | {sec:.1f} |")
        seven = [row for row in rows if "before" not in row[0]]
        emit(f"| all seven (sequential) | {sum(r[2] for r in seven)} | {sum(r[1] for r in seven):.1f} |")
        before, after = (next(r[1] for r in rows if r[0].startswith("palestrina") and ("before" in r[0]) == b)
                         for b in (True, False))
        emit(f"Palestrina: {before / after:.1f}x faster with the plain **kern reader (wall, incl. process start)")

    if not args.quick:
        emit("")
        emit("## MIDI folder import + tokenize (benchmarks/midi_folder.py)")
        table = subprocess.run([sys.executable, str(REPO / "benchmarks/midi_folder.py")], capture_output=True,
                               text=True, check=True, cwd=REPO).stdout
        for line in table.strip().splitlines():
            emit(line)

    emit("")
    emit("## Overhead")
    if (REPO / "results/summary.tsv").exists():
        emit(f"- `snakemake -n` on the complete results tree: {dry_run_seconds():.2f} s (median of 3)")
    for script, mods in heavy_imports().items():
        emit(f"- `{script}` imports: {', '.join(mods) or 'none of torch/music21/matplotlib'}")

    for line in job_table(REPO):
        emit(line)
    elsewhere = sorted((REPO / "benchmarks/elsewhere").glob("*.md"))  # other machines' results, kept as they are
    extra = "".join("\n" + path.read_text() for path in elsewhere)
    (REPO / "benchmarks/results.md").write_text("# Benchmark results\n\n" + "\n".join(lines) + "\n" + extra)
    print(json.dumps({"written": "benchmarks/results.md"}))


if __name__ == "__main__":
    main()
