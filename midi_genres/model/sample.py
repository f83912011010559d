"""Generation: temperature + top-k sampling from [BOS], past the context length by a sliding window.

The model has learned absolute positions, so a KV cache cannot slide token by token. When the window is
full (``max_len`` tokens), it restarts from the last ``max_len // 2`` tokens, re-encoded at positions
0..max_len/2-1 (one "re-prefill"), and grows again. The no-cache path moves its window identically, so
both paths see the same context and give the same logits.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from midi_genres.core.defaults import defaults
from midi_genres.core.joblog import progress_text
from midi_genres.core.midi import write_midi
from midi_genres.core.notes import seconds_to_steps, steps_to_seconds
from midi_genres.core.tables import write_table
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.transformer import MusicTransformer
from midi_genres.tokens.base import BOS, EOS, PAD, Tokenizer
from midi_genres.tokens.streams import save_stream

log = logging.getLogger(__name__)
PROGRESS_EVERY = 512  # generated tokens between progress lines in the log


_DEFAULTS = defaults("sample")


@dataclass(frozen=True)
class SampleConfig:
    """Generation settings (defaults: the config schema's, ~30 s at temperature 0.9, top-k 40)."""

    seconds: float = _DEFAULTS["seconds"]
    temperature: float = _DEFAULTS["temperature"]
    top_k: int = _DEFAULTS["top_k"]
    seed: int = _DEFAULTS["seed"]
    max_tokens: int = _DEFAULTS["max_tokens"]  # hard cap: generation ends even if the model never moves time forward


def window_start(length: int, start: int, max_len: int) -> int:
    """Where the context window begins once the sequence has ``length`` tokens (``start`` = current start)."""
    return length - max_len // 2 if length - start >= max_len else start


class ContextWindow:
    """Next-token logits for a growing sequence, with or without a KV cache (same results either way)."""

    def __init__(self, model: MusicTransformer, use_cache: bool = True):
        self.model, self.use_cache = model, use_cache
        self.device = next(model.parameters()).device
        self.start = 0
        self.cache = None
        self.cached = 0  # tokens of the sequence already in the cache

    @torch.no_grad()
    def next_logits(self, tokens: list[int]) -> torch.Tensor:
        """Logits (vocab,) of the token after ``tokens``."""
        new_start = window_start(len(tokens), self.start, self.model.cfg.max_len)
        if new_start != self.start:
            self.start, self.cache, self.cached = new_start, None, new_start
        if not self.use_cache:
            logits, _ = self.model(torch.tensor([tokens[self.start:]], device=self.device), last=1)
            return logits[0, -1].float()
        fresh = torch.tensor([tokens[max(self.cached, self.start):]], device=self.device)
        logits, self.cache = self.model(fresh, self.cache, last=1)
        self.cached = len(tokens)
        return logits[0, -1].float()


@torch.no_grad()
def generate(model: MusicTransformer, tokenizer: Tokenizer, max_steps: int, cfg: SampleConfig,
             prompt: list[int] | None = None, use_cache: bool = True) -> list[int]:
    """Sample tokens after ``prompt`` (default ``[BOS]``) until ``max_steps`` 16ths of time or ``cfg.max_tokens``.

    Time is the tokenizer's clock, counted from the end of the prompt. PAD, BOS, EOS and extra (e.g. genre)
    tokens are never sampled, so a sample always fills its time.
    """
    model.eval()
    tokens = list(prompt) if prompt else [BOS]
    banned = torch.zeros(tokenizer.size, dtype=torch.bool)
    banned[[PAD, BOS, EOS]] = True
    banned[len(tokenizer.names) - len(tokenizer.extra_tokens):] = True
    clock = tokenizer.clock()
    for token in tokens:
        clock.feed(token)
    origin = clock.now
    generator = torch.Generator().manual_seed(cfg.seed)
    window = ContextWindow(model, use_cache)
    elapsed = 0
    started, first = time.perf_counter(), len(tokens)
    while elapsed < max_steps and len(tokens) < cfg.max_tokens:
        logits = window.next_logits(tokens).cpu() / cfg.temperature
        logits[banned] = -float("inf")
        if 0 < cfg.top_k < logits.numel():
            kth = torch.topk(logits, cfg.top_k).values[-1]
            logits[logits < kth] = -float("inf")
        token = int(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator))
        tokens.append(token)
        clock.feed(token)
        elapsed = clock.now - origin
        if (len(tokens) - first) % PROGRESS_EVERY == 0:
            _log_progress(len(tokens) - first, elapsed, max_steps, time.perf_counter() - started)
    return tokens


def _log_progress(generated: int, elapsed: int, max_steps: int, seconds: float) -> None:
    log.info("%d tokens, %d/%d 16ths of music | %s", generated, elapsed, max_steps,
             progress_text(seconds, elapsed, max_steps, generated / max(seconds, 1e-9), "tokens"))


def sample_genre(*, checkpoint_path: str | os.PathLike, midi_path: str | os.PathLike, sample_params: dict,
                 tempo_bpm: float, drums: bool = False, threads: int = 1, extra_tokens: Sequence[str] = (),
                 prompt: Sequence[str] | None = None, tokenizer: str = "event") -> None:
    """The sample rule: checkpoint -> ``seconds`` of music at ``tempo_bpm`` as a MIDI file.

    ``extra_tokens`` extend the vocabulary as in training; ``prompt`` (token names, default ``[BOS]``) is what
    generation starts from, e.g. ``["BOS", "GENRE_bach"]`` for the conditional model.
    """
    model, tokenizer, _ = load_for_inference(checkpoint_path, tokenizer, extra_tokens, threads)
    cfg = SampleConfig(**sample_params)
    start = [tokenizer.token_id(name) for name in prompt] if prompt else None
    tokens = generate(model, tokenizer, seconds_to_steps(cfg.seconds, tempo_bpm), cfg, prompt=start)
    notes, report = tokenizer.decode_with_report(tokens)
    log.info("%d tokens -> %d notes; grammar: %s", len(tokens), len(notes), report)
    write_midi(midi_path, notes, tempo_bpm, drums=drums)


BATCH_COLUMNS = ["sample", "seed", "tokens", "notes", "seconds", "orphan_note_offs", "unclosed_notes",
                 "retriggered_notes", "empty_notes", "special_tokens", "malformed", "malformed_rate"]


def sample_batch(*, checkpoint_path: str | os.PathLike, tokens_path: str | os.PathLike, table_path: str | os.PathLike,
                 sample_params: dict, tempo_bpm: float, n_samples: int, threads: int = 1,
                 tokenizer: str = "event") -> list[dict]:
    """The sample_batch rule: ``n_samples`` raw samples (seeds ``seed``, ``seed + 1``, ...) as one token stream.

    The stream is BOS ... EOS per sample, like the training streams. The table gives each sample's grammar
    errors: ``malformed`` counts orphan note-offs, re-triggers, empty notes and stray special tokens, per generated
    token in ``malformed_rate``; notes still sounding when the time runs out (``unclosed_notes``) are the cut's doing,
    not the model's, and are not counted as malformed.
    """
    model, tokenizer, _ = load_for_inference(checkpoint_path, tokenizer, threads=threads)
    base = SampleConfig(**sample_params)
    streams, rows = [], []
    for i in range(n_samples):
        cfg = replace(base, seed=base.seed + i)
        tokens = generate(model, tokenizer, seconds_to_steps(cfg.seconds, tempo_bpm), cfg)
        notes, report = tokenizer.decode_with_report(tokens)
        malformed = report.malformed - report.unclosed_notes
        rows.append({"sample": i, "seed": cfg.seed, "tokens": len(tokens), "notes": len(notes),
                     "seconds": round(steps_to_seconds(tokenizer.elapsed_steps(tokens), tempo_bpm), 2),
                     **asdict(report), "malformed": malformed,
                     "malformed_rate": round(malformed / max(1, len(tokens) - 1), 5)})
        streams.append(np.asarray([*tokens, EOS], dtype=np.uint16))
        log.info("sample %d/%d (seed %d): %d tokens -> %d notes; grammar: %s", i + 1, n_samples, cfg.seed,
                 len(tokens), len(notes), report)
    save_stream(np.concatenate(streams), tokens_path)
    write_table(rows, BATCH_COLUMNS, table_path)
    return rows
