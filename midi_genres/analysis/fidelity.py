"""Does each model's music pass as its genre? The trained models as a classifier.

A piece belongs to the genre whose model gives it the highest likelihood per token (the fewest bits per token;
equal priors). The classifier is used three ways: on every genre's held-out pieces (how well the models tell real
genres apart: the reference), on each model's sample batch (does its music pass as its own genre, and where does
the rest go?), and on the cross-genre continuations after their prompt and the conditional model's samples. No
model is trained and no music sampled for this: the held-out pieces come from the evaluation's per-piece tables,
the rest is scored here, once per model.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence

import numpy as np
import torch

from midi_genres.analysis.heldout import piece_bits
from midi_genres.analysis.likelihood import token_nll
from midi_genres.core.midi import read_midi
from midi_genres.core.tables import cell, read_table, write_table
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.runtime import trained_precision
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.tokens.base import BOS

log = logging.getLogger(__name__)

SCORE_COLUMNS = ["model", "set", "source", "piece", "tokens", "bits"]
SETS = ("validation", "samples", "crossprompt", "conditional")


def after_prompt(stream: np.ndarray, nll: np.ndarray, prompt_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, bits) of every piece of a prompted stream, counting only the targets after the first
    ``prompt_tokens`` tokens of each piece (the continuation, not the prompt it was given)."""
    stream = np.asarray(stream)
    starts = np.flatnonzero(stream == BOS)
    ends = np.append(starts[1:], len(stream))
    tokens, bits = [], []
    for start, end in zip(starts, ends):
        first = start + prompt_tokens  # the first generated token
        tokens.append(max(0, end - first))
        bits.append(float(nll[first - 1:end - 1].sum() / math.log(2)) if end > first else 0.0)
    return np.array(tokens), np.array(bits)


def score_fidelity(*, checkpoint_path: str, model_genre: str, samples: dict, crossprompt: dict, conditional: dict,
                table_path: str | os.PathLike, threads: int = 1, tokenizer: str = "event") -> list[dict]:
    """The score_fidelity rule: one genre's model on every genre's sample batch (``samples``: genre -> token stream),
    the cross-genre continuations (``crossprompt``: "A<-B" -> (token stream, prompt JSON)) and the conditional
    model's samples (``conditional``: genre -> MIDI file), per piece, as a table (``SCORE_COLUMNS``)."""
    model, tok, checkpoint = load_for_inference(checkpoint_path, tokenizer, threads=threads)
    precision = trained_precision(checkpoint, torch.device("cpu"))
    parts = tok.token_parts()
    rows = []

    def add(set_name, source, tokens, bits):
        rows.extend({"model": model_genre, "set": set_name, "source": source, "piece": j, "tokens": int(t),
                     "bits": round(float(b), 6)} for j, (t, b) in enumerate(zip(tokens, bits)))

    for genre, path in samples.items():
        stream = np.load(path)
        tokens, bits = piece_bits(stream, token_nll(model, stream, precision=precision), parts)
        add("samples", genre, tokens, bits[:, 0])
    for pair, (path, prompt_path) in crossprompt.items():
        stream = np.load(path)
        prompt_tokens = json.loads(open(prompt_path).read())["prompt_tokens"]
        add("crossprompt", pair, *after_prompt(stream, token_nll(model, stream, precision=precision), prompt_tokens))
    for genre, path in conditional.items():
        stream = tok.encode(read_midi(path))
        tokens, bits = piece_bits(stream, token_nll(model, stream, precision=precision), parts)
        add("conditional", genre, tokens, bits[:, 0])
    log.info("%s model: %d pieces scored", model_genre, len(rows))
    write_table(rows, SCORE_COLUMNS, table_path)
    return rows


def classify(per_token: dict[str, np.ndarray]) -> np.ndarray:
    """Index (into the dict's order) of the model with the fewest bits per token for every piece."""
    return np.argmin(np.vstack(list(per_token.values())), axis=0)


FIDELITY_COLUMNS = ["set", "source", "expected", "pieces", "classified_as_expected"]


def fidelity_rows(genres: Sequence[str], scores: dict[tuple[str, str, str], dict[str, np.ndarray]]) -> list[dict]:
    """Per (set, source): how its pieces are classified. ``scores[set, source, expected]`` maps every model (in
    ``genres`` order) to the bits per token of each piece; ``expected`` is the genre the pieces should pass as."""
    rows = []
    for (set_name, source, expected), per_model in scores.items():
        models = [g for g in genres if g in per_model]
        chosen = np.array(models)[classify({m: per_model[m] for m in models})]
        shares = {g: float(np.mean(chosen == g)) if len(chosen) else math.nan for g in genres}
        rows.append({"set": set_name, "source": source, "expected": expected, "pieces": len(chosen),
                     "classified_as_expected": cell(shares.get(expected, math.nan), 4),
                     **{g: cell(shares[g], 4) for g in genres}})
    return rows


def _per_token(rows: list[dict]) -> np.ndarray:
    return np.array([float(r["bits"]) / max(int(r["tokens"]), 1) for r in rows])


def aggregate_fidelity(*, genres: Sequence[str], titles: dict, eval_pieces: Sequence[str],
                       music_scores: Sequence[str], table_path: str | os.PathLike,
                       figure_path: str | os.PathLike) -> list[dict]:
    """The aggregate_fidelity rule: the classifier on held-out pieces, samples, continuations and conditional
    samples (``FIDELITY_COLUMNS`` + one share column per genre) and the confusion heatmaps."""
    scores: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    for path in eval_pieces:
        by_data: dict[str, list[dict]] = {}
        for r in read_table(path):
            by_data.setdefault(r["data"], []).append(r)
        for data, rows in by_data.items():
            scores.setdefault(("validation", data, data), {})[rows[0]["model"]] = _per_token(rows)
    for path in music_scores:
        by_source: dict[tuple[str, str], list[dict]] = {}
        for r in read_table(path):
            by_source.setdefault((r["set"], r["source"]), []).append(r)
        for (set_name, source), rows in by_source.items():
            expected = source.split("<-")[0]
            scores.setdefault((set_name, source, expected), {})[rows[0]["model"]] = _per_token(rows)
    order = {s: i for i, s in enumerate(SETS)}
    position = {g: i for i, g in enumerate(genres)}
    scores = dict(sorted(scores.items(), key=lambda kv: (order[kv[0][0]], position.get(kv[0][2], len(genres)),
                                                          kv[0][1])))
    rows = fidelity_rows(genres, scores)
    write_table(rows, [*FIDELITY_COLUMNS, *genres], table_path)
    labels = [titles.get(g, g) for g in genres]
    heatmaps = []
    for set_name, what in (("validation", "held-out pieces of genre"), ("samples", "samples of the model of"),
                           ("crossprompt", "continuation by model <- prompt"), ("conditional", "conditional samples")):
        chosen = [r for r in rows if r["set"] == set_name]
        if chosen:
            heatmaps.append(Heatmap([[float(r[g]) for g in genres] for r in chosen],
                                    [r["source"] if set_name == "crossprompt" else titles.get(r["source"], r["source"])
                                     for r in chosen], labels, title=f"{set_name}: classified as", xlabel="genre",
                                    ylabel=what, colorbar="share of pieces", cmap="Blues", vmin=0.0, vmax=1.0))
    render_heatmaps(heatmaps, figure_path,
                    title="Does the music pass as its genre? Each piece goes to the model that finds it likeliest")
    return rows
