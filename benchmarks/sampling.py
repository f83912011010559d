"""Sampling: 30 s of music from [BOS] per genre, with and without the KV cache (the tokens must be identical)."""

from __future__ import annotations

import glob
import statistics
import time
from pathlib import Path

import torch
from harness import REPO, Run


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


def section(run: Run) -> None:
    """Every genre with a checkpoint of a finished workflow run (skipped without one)."""
    genres = sorted(Path(p).stem for p in glob.glob(str(REPO / "results/checkpoints/*.pt")))
    if not genres:
        return
    rows = sampling(genres)
    run.table("Sampling 30 s from [BOS] (1 thread; identical tokens with and without the cache)",
              "| genre | tokens | KV cache s | no cache s | speed-up |",
              [f"| {genre} | {n} | {t_cache:.2f} | {t_plain:.2f} | {t_plain / t_cache:.1f}x |"
               for genre, t_cache, t_plain, n in rows]
              + [f"| median | | {statistics.median(r[1] for r in rows):.2f} | "
                 f"{statistics.median(r[2] for r in rows):.2f} | "
                 f"{statistics.median(r[2] / r[1] for r in rows):.1f}x |"])
