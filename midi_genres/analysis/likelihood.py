"""Held-out likelihood: a model on validation token streams, in bits per token, per note and per second.

The whole stream is scored, deterministically, each token once: windows of ``max_len`` input tokens start every
``max_len // 2`` tokens (the last window ends at the stream's end), the first window scores all its targets and
every later window scores only the targets the previous windows did not reach. So every token after the first
is predicted exactly once, with at least ``max_len // 2`` tokens of context once past the first window: the
context that sampling's sliding window gives. Bits per note divides the stream's total bits by its notes (a
token-count-free unit that can be compared across genres); bits per second divides by the seconds of music at
the data genre's tempo. Bits per note come with a 95% bootstrap interval over the held-out pieces and split into
what is predicted (``PARTS``: pitch, timing, duration, structure), the parts adding up to the total.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from midi_genres.analysis.heldout import EVAL_COLUMNS, PIECE_COLUMNS, likelihood_tables
from midi_genres.core.joblog import progress_text
from midi_genres.core.notes import steps_to_seconds
from midi_genres.core.tables import write_table
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.runtime import precision_autocast, trained_precision
from midi_genres.model.transformer import MusicTransformer
from midi_genres.tokens.dataset import load_pieces

log = logging.getLogger(__name__)

PROGRESS_BATCHES = 100  # a stream of this many batches of windows or more logs its progress (with ``label``)


def scored_windows(n_tokens: int, max_len: int) -> list[tuple[int, int]]:
    """(start, first scored target offset) of each window of ``max_len`` inputs over an ``n_tokens`` stream.

    Window ``start`` predicts targets ``start + 1 .. start + max_len``; offsets below the returned one were
    scored by an earlier window.
    """
    length = min(max_len, n_tokens - 1)
    if length < 1:
        return []
    last = n_tokens - 1 - length
    starts = list(range(0, last, max(1, max_len // 2))) + [last]
    plan, covered = [], 0  # targets 1..covered are scored
    for start in starts:
        plan.append((start, covered - start))
        covered = start + length
    return [(s, max(0, o)) for s, o in plan]


@torch.no_grad()
def token_nll(model: MusicTransformer, stream: np.ndarray, batch_size: int = 32, precision: str = "fp32",
              label: str | None = None) -> np.ndarray:
    """Next-token negative log-likelihood (nats) of tokens 1..n-1 of ``stream``, each scored once (eval mode),
    computed in ``precision`` (``bf16``: under bf16 autocast, the loss in fp32). With ``label``, a long stream
    (``PROGRESS_BATCHES`` batches or more) logs its progress every tenth of the way."""
    model.eval()
    device = next(model.parameters()).device
    autocast = precision_autocast(precision, device)
    tokens = torch.from_numpy(np.asarray(stream, dtype=np.int64))
    plan = scored_windows(len(tokens), model.cfg.max_len)
    out = np.full(max(len(tokens) - 1, 0), np.nan)
    if not plan:
        return out
    length = min(model.cfg.max_len, len(tokens) - 1)
    offsets = torch.arange(length + 1)
    batches, started = range(0, len(plan), batch_size), time.perf_counter()
    report = label is not None and len(batches) >= PROGRESS_BATCHES
    for done, i in enumerate(batches, start=1):
        chunk = plan[i:i + batch_size]
        windows = tokens[torch.tensor([s for s, _ in chunk])[:, None] + offsets].to(device)
        skip = min(first for _, first in chunk)  # targets no window of the chunk scores: not computed
        with autocast:
            logits, _ = model(windows[:, :-1], last=length - skip)
        nll = F.cross_entropy(logits.transpose(1, 2).float(), windows[:, 1 + skip:], reduction="none").cpu().double()
        for row, (start, first) in zip(nll.numpy(), chunk):
            out[start + first:start + length] = row[first - skip:]
        if report and (done % (len(batches) // 10) == 0 or done == len(batches)):
            elapsed, scored = time.perf_counter() - started, chunk[-1][0] + length  # targets 1..scored are done
            log.info("%s: %d/%d windows | %s", label, i + len(chunk), len(plan),
                     progress_text(elapsed, done, len(batches), scored / elapsed, "tokens"))
    return out


def evaluate_model(*, checkpoint_path: str | os.PathLike, model_genre: str, genres: Sequence[str],
                   val_paths: Sequence[str], pieces_paths: Sequence[str], tempos: dict, table_path: str | os.PathLike,
                   pieces_table_path: str | os.PathLike, threads: int = 1, tokenizer: str = "event") -> list[dict]:
    """The evaluate_model rule: one genre's model on every genre's validation stream, as a table (a row per genre)
    and a table of every validation piece's bits (for the intervals and comparisons that pair pieces)."""
    model, tok, checkpoint = load_for_inference(checkpoint_path, tokenizer, threads=threads)
    precision = trained_precision(checkpoint, torch.device("cpu"))
    log.info("%s model, scored in %s", model_genre, precision)
    rows, piece_rows, started = [], [], time.perf_counter()
    for k, (data, val_path, pieces_path) in enumerate(zip(genres, val_paths, pieces_paths), start=1):
        pieces = load_pieces(pieces_path, "val")
        stream = np.load(val_path)
        seconds = steps_to_seconds(sum(p["steps"] for p in pieces), tempos[data])
        nll = token_nll(model, stream, precision=precision, label=f"{model_genre} on {data}")
        row, by_piece = likelihood_tables(model_genre, data, stream, nll, tok, pieces, seconds)
        rows.append(row)
        piece_rows += by_piece
        log.info("%d/%d %s on %s: %.3f bits/token, %.3f bits/note [%.3f, %.3f], %.2f bits/s | %s", k, len(genres),
                 model_genre, data, row["bits_per_token"], row["bits_per_note"], row["bits_per_note_low"],
                 row["bits_per_note_high"], row["bits_per_second"],
                 progress_text(time.perf_counter() - started, k, len(genres)))
    write_table(rows, EVAL_COLUMNS, table_path)
    write_table(piece_rows, PIECE_COLUMNS, pieces_table_path)
    return rows
