"""Checkpoints: plain data only (tensors, numbers, strings, lists, dicts), loaded with ``weights_only=True``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from midi_genres.core.atomic import atomic_path
from midi_genres.model.runtime import reuse_freed_memory
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import Tokenizer

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used here (unreadable, other vocabulary, other architecture)."""


def save_checkpoint(checkpoint: dict, path: str | os.PathLike) -> None:
    """Write a checkpoint dict atomically."""
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **checkpoint}, tmp)


def load_checkpoint(path: str | os.PathLike, vocab: list[str] | None = None,
                    device: str | torch.device = "cpu") -> tuple[MusicTransformer, dict]:
    """Load a checkpoint safely (no code execution) and rebuild its model in eval mode.

    ``vocab`` is the token list the caller will use; a checkpoint trained on another vocabulary is refused.
    Raises ``CheckpointError`` with a message naming the file and the mismatch.
    """
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: not a midi-genres checkpoint of format version {FORMAT_VERSION}")
    if vocab is not None and list(ckpt["vocab"]) != list(vocab):
        raise CheckpointError(f"{path}: trained on a vocabulary of {len(ckpt['vocab'])} tokens that differs from "
                              f"the tokenizer's {len(vocab)} tokens; retrain or use the matching tokenizer")
    try:
        cfg = ModelConfig(**ckpt["model_config"])
        model = MusicTransformer(cfg)
        model.load_state_dict(ckpt["model_state"])
    except (TypeError, RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{path}: weights do not fit the architecture {ckpt.get('model_config')} "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    return model.to(device).eval(), ckpt


def load_for_inference(path: str | os.PathLike, tokenizer: str = "event", extra_tokens: Sequence[str] = (),
                       threads: int = 1,
                       device: str | torch.device = "cpu") -> tuple[MusicTransformer, Tokenizer, dict]:
    """What every user of a trained model starts with: ``threads`` torch threads, the named tokenizer (with
    ``extra_tokens``), and the checkpoint's model in eval mode, refused if its vocabulary differs.
    Returns (model, tokenizer, checkpoint dict). Freed memory is kept for reuse (``reuse_freed_memory``)."""
    torch.set_num_threads(threads)
    reuse_freed_memory()
    tok = make_tokenizer(tokenizer, extra_tokens)
    model, checkpoint = load_checkpoint(path, vocab=tok.names, device=device)
    return model, tok, checkpoint
