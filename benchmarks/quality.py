"""Quality guard: the validation loss after a full training of one genre, by the reference, the path before the
blocked kernel, the blocked kernel and the default path (a faster step must not learn less)."""

from __future__ import annotations

import numpy as np
import torch
from harness import REPO, Run
from variants import AttentionOf, BeforePath, ReferenceTransformer

from midi_genres.model import fused_attention
from midi_genres.model.train import TrainConfig, train
from midi_genres.model.transformer import ModelConfig


def quality(genre: str, steps: int, threads: int, settings: tuple[dict, dict]) -> dict[str, float]:
    """Final validation loss of the reference, of the path before the blocked kernel, of the blocked kernel and of
    the default fast path (the workflow's model and train ``settings``) after the same steps, same loop, same
    data."""
    from midi_genres.tokens.event import EventTokenizer

    train_tokens = np.load(REPO / f"data/tokens/{genre}.npy")
    val_tokens = np.load(REPO / f"data/tokens/{genre}.val.npy")
    fast_model, fast_train = settings
    settings = {k: v for k, v in fast_train.items() if k in TrainConfig.__dataclass_fields__}  # not train.seeds
    cfg = TrainConfig(**{**settings, "steps": steps, "eval_interval": steps, "log_interval": steps})
    names = EventTokenizer().names
    _, fast = train(train_tokens, val_tokens, ModelConfig(**fast_model), cfg, names, threads=threads)
    with BeforePath():
        _, before = train(train_tokens, val_tokens, ModelConfig(**fast_model), cfg, names, threads=threads)
    with AttentionOf("blocked"):
        _, blocked = train(train_tokens, val_tokens, ModelConfig(**fast_model), cfg, names, threads=threads)
    torch.manual_seed(cfg.seed)
    reference_cfg = TrainConfig(**{**cfg.__dict__, "precision": "fp32"})
    _, ref = train(train_tokens, val_tokens, ModelConfig(), reference_cfg, names, threads=threads,
                   model=ReferenceTransformer(ModelConfig()))
    return {"fast": fast[-1]["val_loss"], "before": before[-1]["val_loss"], "blocked": blocked[-1]["val_loss"],
            "reference": ref[-1]["val_loss"]}


def section(run: Run) -> None:
    """Skipped in a quick run and without the genre's token streams (a finished workflow run)."""
    if run.quick or not (REPO / f"data/tokens/{run.quality_genre}.npy").exists():
        return
    q = quality(run.quality_genre, run.quality_steps, threads=2, settings=run.settings)
    dropout = run.settings[0]["dropout"]
    run.table(f"Quality guard: validation loss after {run.quality_steps} steps on {run.quality_genre}",
              "| path | val loss (nats/token) |",
              [f"| reference (nn.TransformerEncoder, fp32, dropout 0.1) | {q['reference']:.4f} |",
               f"| before the blocked kernel (full-matrix attention, foreach Adam) | {q['before']:.4f} |",
               f"| the blocked kernel (bf16, dropout {dropout}) | {q['blocked']:.4f} |",
               f"| default fast path ({run.precision}, dropout {dropout}, "
               f"{'fused kernel' if fused_attention.kernel() else 'blocked kernel'}) | {q['fast']:.4f} |"])
