"""The plain training loop: random windows of the token stream, Adam, linear warmup + cosine decay."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from midi_genres.core.atomic import atomic_path
from midi_genres.core.defaults import defaults
from midi_genres.core.history import write_history
from midi_genres.core.joblog import progress_text
from midi_genres.model.checkpoint import save_checkpoint
from midi_genres.model.runtime import precision_autocast, resolve_device, resolve_precision, reuse_freed_memory
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.dataset import load_stats

log = logging.getLogger(__name__)


_DEFAULTS = defaults("train")


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (defaults: the config schema's, 1200 steps of batch 16)."""

    steps: int = _DEFAULTS["steps"]
    batch_size: int = _DEFAULTS["batch_size"]
    lr: float = _DEFAULTS["lr"]
    min_lr_ratio: float = _DEFAULTS["min_lr_ratio"]
    warmup_steps: int = _DEFAULTS["warmup_steps"]
    grad_clip: float = _DEFAULTS["grad_clip"]
    seed: int = _DEFAULTS["seed"]
    eval_interval: int = _DEFAULTS["eval_interval"]
    eval_windows: int = _DEFAULTS["eval_windows"]
    log_interval: int = 50  # steps between progress lines in the log (not a config key)
    state_interval: int = _DEFAULTS["state_interval"]  # steps between saves of the resumable training state
    precision: str = _DEFAULTS["precision"]  # auto, fp32 or bf16 (autocast; weights and optimiser stay fp32)
    device: str = _DEFAULTS["device"]


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimiser step ``step`` (0-based): linear warmup, then cosine to ``min_lr_ratio * lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def random_windows(stream: np.ndarray, batch_size: int, block: int, generator: torch.Generator):
    """``batch_size`` random windows of ``block + 1`` tokens, split into inputs and next-token targets (int64).
    The stream stays in its file's compact dtype: only the windows are widened."""
    starts = torch.randint(0, len(stream) - block, (batch_size,), generator=generator)
    windows = torch.from_numpy(np.stack([stream[s:s + block + 1] for s in starts.tolist()]).astype(np.int64))
    return windows[:, :-1], windows[:, 1:]


def fixed_windows(stream: torch.Tensor, n: int, block: int) -> torch.Tensor:
    """Up to ``n`` evenly spaced windows of ``block + 1`` tokens covering the stream (deterministic)."""
    block = min(block, len(stream) - 1)
    starts = np.unique(np.linspace(0, len(stream) - block - 1, n).round().astype(int))
    return torch.stack([stream[s:s + block + 1] for s in starts])


@torch.no_grad()
def mean_loss(model: MusicTransformer, windows: torch.Tensor, batch_size: int = 32) -> float:
    """Mean next-token cross-entropy (nats) over the windows, in eval mode."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for i in range(0, len(windows), batch_size):
        w = windows[i:i + batch_size].to(device)
        logits, _ = model(w[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum").item()
        count += w[:, 1:].numel()
    model.train(was_training)
    return total / count


def fingerprint(train_tokens: np.ndarray, val_tokens: np.ndarray, model_cfg: ModelConfig, cfg: TrainConfig,
                dev_tokens: np.ndarray | None = None) -> str:
    """Identity of a training run: data and every setting that changes the result (not logging or device)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([model_cfg.to_dict(), {**asdict(cfg), "log_interval": None, "device": None}],
                             sort_keys=True).encode())
    for array in (train_tokens, val_tokens) + (() if dev_tokens is None else (dev_tokens,)):
        digest.update(np.ascontiguousarray(array, dtype=np.uint16))  # hashed in place: no copy of a uint16 stream
    return digest.hexdigest()


def save_state(path: str | os.PathLike, state: dict) -> None:
    """Write resumable training state atomically (plain data, loadable with ``weights_only=True``)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: str | os.PathLike | None, run_id: str) -> dict | None:
    """The saved state of this very run, or None; a state of another run or an unreadable one is discarded."""
    if path is None or not os.path.exists(path):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: start over rather than fail
        log.warning("discarding unreadable training state %s (%s: %s)", path, type(exc).__name__, exc)
        return None
    if not isinstance(state, dict) or state.get("run_id") != run_id:
        log.warning("discarding training state %s: it belongs to a different config or data", path)
        return None
    return state


def train(train_tokens: np.ndarray, val_tokens: np.ndarray, model_cfg: ModelConfig, cfg: TrainConfig,
          vocab: list[str], threads: int = 1, state_path: str | os.PathLike | None = None,
          model: torch.nn.Module | None = None, dev_tokens: np.ndarray | None = None) -> tuple[dict, list[dict]]:
    """Train a model; return (checkpoint dict, history rows of step/lr/train_loss/val_loss/...).

    ``model`` replaces the default ``MusicTransformer(model_cfg)`` (the benchmark trains its reference this way).

    The validation loss of the history (the held-out pieces, for the curves) never steers anything. With
    ``dev_tokens`` (a dev set of training-side families), the dev loss is measured at every evaluation over the
    same ``cfg.eval_windows`` evenly spaced windows of the dev stream, logged as ``dev_loss``, and the weights of its
    lowest value (the first of equals) are returned as ``checkpoint["best_dev"]`` (``step``, ``dev_loss``,
    ``model_state``): the checkpoint ``train.select: best_dev`` uses.

    With ``state_path``, the complete training state (weights, optimiser, step, history and every RNG state) is
    saved there every ``cfg.state_interval`` steps, and a run with the same data and config resumes from it,
    ending with exactly the weights an uninterrupted run gives. The state file is removed at the end.
    """
    torch.set_num_threads(threads)
    reuse_freed_memory()
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device)
    torch.manual_seed(cfg.seed)
    model = (model or MusicTransformer(model_cfg)).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    log.info("model: %d parameters, device %s, %d threads, %s", parameters, device, torch.get_num_threads(),
             precision)
    stream = np.asarray(train_tokens)
    block = min(model_cfg.max_len, len(stream) - 1)
    if block < 1:
        raise ValueError(f"training stream of {len(stream)} tokens is too short to train on")
    val_windows = fixed_windows(torch.from_numpy(val_tokens.astype(np.int64)), cfg.eval_windows, model_cfg.max_len)
    dev_windows = None
    if dev_tokens is not None:
        if len(dev_tokens) < 2:
            raise ValueError(f"the dev stream of {len(dev_tokens)} tokens is too short to measure a loss on")
        dev_windows = fixed_windows(torch.from_numpy(dev_tokens.astype(np.int64)), cfg.eval_windows, model_cfg.max_len)
    generator = torch.Generator().manual_seed(cfg.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=device.type in ("cpu", "cuda"))
    run_id = fingerprint(train_tokens, val_tokens, model_cfg, cfg, dev_tokens)
    history: list[dict] = []
    recent: list[float] = []
    best: dict | None = None  # step, dev_loss and weights of the lowest dev loss so far
    first_step, elapsed_before = 0, 0.0
    state = load_state(state_path, run_id)
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["window_rng"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        first_step, history, recent, best = state["step"], state["history"], state["recent_losses"], state.get("best")
        elapsed_before = state["elapsed_s"]
        log.info("resuming from step %d of %d (state %s)", first_step, cfg.steps, state_path)
    autocast = precision_autocast(precision, device)
    started = time.perf_counter() - elapsed_before
    model.train()
    for step in range(first_step, cfg.steps):
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = random_windows(stream, cfg.batch_size, block, generator)
        with autocast:
            logits, _ = model(x.to(device))
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        recent.append(loss.item())
        done = step + 1
        elapsed = time.perf_counter() - started
        if done % cfg.log_interval == 0 or done == cfg.steps:
            this_run = max(elapsed - elapsed_before, 1e-9)
            rate = (done - first_step) * cfg.batch_size * block / this_run
            log.info("step %d/%d loss %.4f lr %.2e | %s", done, cfg.steps, loss.item(), lr,
                     progress_text(this_run, done - first_step, cfg.steps - first_step, rate, "tokens"))
        if done % cfg.eval_interval == 0 or done == cfg.steps:
            with autocast:
                val_loss = mean_loss(model, val_windows)
            row = {"step": done, "lr": lr, "train_loss": float(np.mean(recent)), "val_loss": val_loss,
                   "tokens": done * cfg.batch_size * block, "elapsed_s": round(elapsed, 3)}
            if dev_windows is not None:
                with autocast:
                    row["dev_loss"] = mean_loss(model, dev_windows)
                if best is None or row["dev_loss"] < best["dev_loss"]:
                    best = {"step": done, "dev_loss": row["dev_loss"], "model_state": cpu_weights(model)}
            history.append(row)
            recent = []
            log.info("eval step %d: train loss %.4f, val loss %.4f", done, row["train_loss"], row["val_loss"])
        if state_path is not None and done % cfg.state_interval == 0 and done < cfg.steps:
            save_state(state_path, {
                "run_id": run_id, "step": done, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "window_rng": generator.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                "history": history, "recent_losses": recent, "elapsed_s": elapsed, "best": best})
    checkpoint = {
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_config": model_cfg.to_dict(),
        "train_config": asdict(cfg),
        "vocab": list(vocab),
        "history": history,
        "parameters": parameters,
    }
    if best is not None:
        checkpoint["best_dev"] = best
    return checkpoint, history


def cpu_weights(model: torch.nn.Module) -> dict:
    """A copy of the model's weights on the CPU."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


CARD_KEYS = ("genre", "title", "source", "tempo", "drums", "pieces_train", "tokens_train", "families")
PLAIN_TYPES = (str, int, float, bool, type(None))


def plain_data(value, where: str = "card"):
    """``value`` as plain data (str, int, float, bool, None, lists and str-keyed dicts of them), the only kinds a
    checkpoint loaded with ``weights_only=True`` may hold; numpy scalars become Python numbers, tuples lists.
    ``TypeError`` naming the key for anything else."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, (list, tuple)):
        return [plain_data(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{where}: keys must be strings, got {sorted(map(repr, value))}")
        return {k: plain_data(v, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"{where}: {type(value).__name__} is not plain data (str, number, bool, None, list, dict)")


def package_version() -> str:
    """``midi_genres.__version__``. The package root is always imported before any of its modules, so it is read from
    ``sys.modules``: an import statement of the root would count as one of a later stage (tests/test_architecture)."""
    return sys.modules["midi_genres"].__version__


def model_card(card: dict | None, checkpoint: dict, tokenizer: str, train_tokens: int,
               extra_tokens: Sequence[str] = ()) -> dict:
    """The model card stored as ``checkpoint["card"]``: what the caller knows (``CARD_KEYS``, any other plain data)
    plus what training knows, which wins: ``version`` (the package's), ``tokenizer``, ``extra_tokens``, ``seed``,
    ``steps``, ``final_train_loss``, ``final_val_loss``, ``parameters`` and ``tokens_train`` (tokens of the training
    stream)."""
    last = checkpoint["history"][-1] if checkpoint["history"] else {}
    settings = checkpoint["train_config"]
    return plain_data({**(card or {}), "version": package_version(), "tokenizer": tokenizer,
                       "extra_tokens": list(extra_tokens), "seed": settings["seed"], "steps": settings["steps"],
                       "final_train_loss": last.get("train_loss"), "final_val_loss": last.get("val_loss"),
                       "parameters": checkpoint["parameters"], "tokens_train": int(train_tokens)})


def train_genre(*, train_path: str, val_path: str, model_params: dict, train_params: dict, checkpoint_path: str,
                history_path: str, state_path: str | None = None, threads: int = 1,
                extra_tokens: Sequence[str] = (), tokenizer: str = "event", card: dict | None = None,
                stats_path: str | None = None, dev_path: str | None = None,
                best_dev_checkpoint_path: str | None = None) -> None:
    """The train rule: token files -> checkpoint (weights, configs, vocabulary, history, model card) + history table.

    With ``dev_path`` (the dev stream) the lowest-dev-loss weights are written as a second checkpoint at
    ``best_dev_checkpoint_path``, the same in every other respect, its card saying at which step it was taken.

    ``state_path`` (outside the rule's outputs, which Snakemake deletes before a job) holds the resumable state.
    ``tokenizer`` names the vocabulary (``event`` or ``remi``); ``extra_tokens`` extend it (e.g. the conditional
    model's genre tokens).

    ``card`` (plain data) describes the model for the people who play with it (``midi-genres info``), under the keys
    ``CARD_KEYS``: ``genre``, ``title``, ``source`` (where the corpus came from), ``tempo`` (bpm its music is played
    at), ``drums`` (whether its MIDI is a drum track), ``pieces_train``, ``tokens_train`` and ``families`` (tune
    families of the corpus; taken from the token statistics at ``stats_path`` when given). ``model_card`` adds what
    training knows; a model without ``tempo`` plays at 120 bpm.
    """
    card = plain_data(card or {})  # refused before hours of training, not after
    if stats_path is not None:
        stats = load_stats(stats_path)
        card.update(pieces_train=stats.pieces_train, families=stats.families)
    tok = make_tokenizer(tokenizer, extra_tokens)
    train_tokens = np.load(train_path)
    if (dev_path is None) != (best_dev_checkpoint_path is None):
        raise ValueError("a dev stream and a best-dev checkpoint path go together")
    checkpoint, history = train(train_tokens, np.load(val_path),
                                ModelConfig(vocab_size=tok.size, **model_params), TrainConfig(**train_params),
                                tok.names, threads=threads, state_path=state_path,
                                dev_tokens=None if dev_path is None else np.load(dev_path))
    best = checkpoint.pop("best_dev", None)
    checkpoint["card"] = model_card(card, checkpoint, tokenizer, len(train_tokens), extra_tokens)
    save_checkpoint(checkpoint, checkpoint_path)
    if best is not None:
        chosen = {**checkpoint, "model_state": best["model_state"],
                  "card": {**checkpoint["card"], "selected": "best_dev", "selected_step": best["step"],
                           "dev_loss": best["dev_loss"]}}
        save_checkpoint(chosen, best_dev_checkpoint_path)
    write_history(history, checkpoint["parameters"], history_path)
    if state_path is not None and os.path.exists(state_path):
        os.remove(state_path)
