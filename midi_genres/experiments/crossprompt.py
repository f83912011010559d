"""Cross-genre prompting: model A continues the first bars of a held-out piece of genre B.

Does the Bach model Bach-ify a Trecento opening? Each continuation is measured with the musical statistics of
``analysis/features.py``: for every feature, the mean distance of the continuations to the pieces of A's
corpus (``d_A``, the inter-set distance of Yang & Lerch 2018) and to those of B's corpus (``d_B``), in the
feature's own units. The *pull* towards the model's genre is ``d_B / (d_A + d_B)``: 1 = the continuations sit
at A's pieces, 0 = at B's, 0.5 = as far from both. The true continuation of the same held-out piece (its notes
after the prompt) is measured the same way as a reference: what a genre-B continuation scores. A corpus with a
wide spread is far from everything, so read a pull against the true continuation's, not against 0.5 alone.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from midi_genres.analysis.features import FEATURES, applies, evenly_spaced, feature_values, inter_set_distances
from midi_genres.core.atomic import atomic_path
from midi_genres.core.constants import STEPS_PER_BAR
from midi_genres.core.midi import write_midi
from midi_genres.core.notes import Note, continuation_notes, seconds_to_steps, split_at
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.sample import SampleConfig, generate
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.base import EOS, Tokenizer
from midi_genres.tokens.streams import decode_pieces, save_stream, split_pieces

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["model", "prompt", "feature", "model_distance", "prompt_distance", "pull", "true_pull"]
SUMMARY_COLUMNS = ["model", "prompt", "features", "pull", "closer_to_model", "true_pull"]
_EPS = 1e-9


def choose_prompt_piece(val_stream: np.ndarray, tokenizer, bars: int) -> tuple[int, list[Note]]:
    """(index, notes) of the first held-out piece at least ``bars`` bars long (else the longest one)."""
    pieces = [tokenizer.decode(p) for p in split_pieces(val_stream)]
    pieces = [(i, notes) for i, notes in enumerate(pieces) if notes]
    if not pieces:
        raise ValueError("the validation stream holds no piece with notes to take a prompt from")
    return next(((i, n) for i, n in pieces if max(x.end for x in n) >= bars * STEPS_PER_BAR),
                max(pieces, key=lambda p: max(x.end for x in p[1])))


def corpus_distance(corpus_values: np.ndarray, pieces: Sequence[Sequence[Note]], feature) -> float:
    """Mean distance of one feature between every piece and every corpus piece (NaN where undefined);
    ``corpus_values`` is ``feature_values(corpus, feature)``."""
    distances = inter_set_distances(corpus_values, feature_values(pieces, feature))
    return float(distances.mean()) if len(distances) else math.nan


def pull(model_distance: float, prompt_distance: float) -> float:
    """``d_prompt / (d_model + d_prompt)``: 1 = like the model's genre, 0 = like the prompt's genre (NaN if unknown)."""
    if math.isnan(model_distance) or math.isnan(prompt_distance):
        return math.nan
    total = model_distance + prompt_distance
    return 0.5 if total <= _EPS else prompt_distance / total


def compare_with_corpora(model: str, prompt: str, continuations: Sequence[Sequence[Note]],
                         truth: Sequence[Note], model_corpus: Sequence[Sequence[Note]],
                         prompt_corpus: Sequence[Sequence[Note]], drums: bool) -> list[dict]:
    """Rows of ``PAIR_COLUMNS``: each feature's distances to both corpora and the pulls (features of both)."""
    rows = []
    for feature in FEATURES:
        if not applies(feature, drums):
            continue
        of_model, of_prompt = feature_values(model_corpus, feature), feature_values(prompt_corpus, feature)
        d_model = corpus_distance(of_model, continuations, feature)
        d_prompt = corpus_distance(of_prompt, continuations, feature)
        true_pull = pull(corpus_distance(of_model, [truth], feature),
                         corpus_distance(of_prompt, [truth], feature)) if truth else math.nan
        rows.append({"model": model, "prompt": prompt, "feature": feature.name, "model_distance": d_model,
                     "prompt_distance": d_prompt, "pull": pull(d_model, d_prompt), "true_pull": true_pull})
    return rows


def prompt_of(val_stream: np.ndarray, tokenizer: Tokenizer, bars: int) -> tuple[int, list[Note], list[Note],
                                                                                 list[int], int]:
    """The prompt taken from a genre's validation stream: (piece index, its first ``bars`` bars as notes, the true
    continuation after them, the prompt's tokens without EOS, the step where generation starts on the
    tokenizer's clock)."""
    index, piece = choose_prompt_piece(val_stream, tokenizer, bars)
    head, truth = split_at(piece, bars * STEPS_PER_BAR)
    prompt_tokens = [int(t) for t in tokenizer.encode(head, eos=False)]
    return index, head, truth, prompt_tokens, tokenizer.elapsed_steps(prompt_tokens)


def continue_prompt(*, checkpoint_path: str, prompt_genre: str, prompt_val_path: str, tokens_path: str,
                    midi_path: str, prompt_path: str, bars: int, samples: int, sample_params: dict, tempo_bpm: float,
                    drums: bool, threads: int = 1, tokenizer: str = "event") -> int:
    """The sample_crossprompt rule: a model continues the first ``bars`` bars of a held-out piece ``samples``
    times (seeds ``seed``, ``seed + 1``, ...).

    Writes every continuation (prompt included) as one token stream (``BOS ... EOS`` each), the first one as MIDI
    at the model genre's tempo (a drum track if ``drums``), and the prompt's facts as JSON (piece index, notes,
    tokens, ``prompt_end``: the step where generation starts). Returns the step where the prompt ends.
    """
    net, tok, _ = load_for_inference(checkpoint_path, tokenizer, threads=threads)
    index, head, _, prompt_tokens, prompt_end = prompt_of(np.load(prompt_val_path), tok, bars)
    log.info("prompt: held-out %s piece %d, first %d bars: %d notes, %d tokens, ends at step %d", prompt_genre,
             index, bars, len(head), len(prompt_tokens), prompt_end)
    base = SampleConfig(**sample_params)
    streams, first = [], None
    for i in range(samples):
        cfg = replace(base, seed=base.seed + i)
        tokens = generate(net, tok, seconds_to_steps(cfg.seconds, tempo_bpm), cfg, prompt=prompt_tokens)
        notes, report = tok.decode_with_report(tokens)
        log.info("continuation %d/%d (seed %d): %d tokens; grammar: %s", i + 1, samples, cfg.seed,
                 len(tokens) - len(prompt_tokens), report)
        streams.append(np.asarray([*tokens, EOS], dtype=np.uint16))
        first = notes if first is None else first
    save_stream(np.concatenate(streams), tokens_path)
    write_midi(midi_path, first, tempo_bpm, drums=drums)
    with atomic_path(prompt_path) as tmp:
        Path(tmp).write_text(json.dumps({"piece": index, "bars": bars, "prompt_notes": len(head),
                                         "prompt_tokens": len(prompt_tokens), "prompt_end": prompt_end}) + "\n")
    return prompt_end


def measure_continuations(*, model: str, prompt: str, tokens_path: str, prompt_val_path: str, model_train_path: str,
                          prompt_train_path: str, table_path: str, bars: int, corpus_pieces: int, drums: dict,
                          tokenizer: str = "event") -> list[dict]:
    """The crossprompt rule: the continuations of ``continue_prompt`` (notes after the prompt) against both corpora,
    per feature, as a table (``PAIR_COLUMNS``). ``drums`` maps both genres to whether they are drum genres; if either
    is, pitch-based features are left out."""
    tok = make_tokenizer(tokenizer)
    _, head, truth, _, prompt_end = prompt_of(np.load(prompt_val_path), tok, bars)
    continuations = [continuation_notes(notes, head, prompt_end) for notes, _ in decode_pieces(np.load(tokens_path),
                                                                                                   tok)]
    corpora = [evenly_spaced([n for n, _ in decode_pieces(np.load(path), tok) if n], corpus_pieces)
               for path in (model_train_path, prompt_train_path)]
    rows = compare_with_corpora(model, prompt, [c for c in continuations if c], truth, *corpora,
                                drums=drums[model] or drums[prompt])
    for row in rows:
        log.info("%s", row)
    write_table([{k: cell(v, 4) for k, v in row.items()} for row in rows], PAIR_COLUMNS, table_path)
    summary = summarise(rows)
    log.info("%s <- %s: pull %.3f (true continuation: %.3f), %d of %d features closer to %s", model, prompt,
             summary["pull"], summary["true_pull"], summary["closer_to_model"], summary["features"], model)
    return rows


def summarise(rows: Sequence[dict]) -> dict:
    """Mean pull (model's and true continuation's) and how many features sit closer to the model's corpus."""
    pulls = [r["pull"] for r in rows if not math.isnan(r["pull"])]
    truths = [r["true_pull"] for r in rows if not math.isnan(r["true_pull"])]
    return {"features": len(pulls), "pull": float(np.mean(pulls)) if pulls else math.nan,
            "closer_to_model": sum(p > 0.5 for p in pulls), "true_pull": float(np.mean(truths)) if truths else math.nan}


def aggregate_crossprompt(*, pairs: Sequence[Sequence[str]], titles: dict, table_paths: Sequence[str],
                          table_path: str | os.PathLike, figure_path: str | os.PathLike) -> list[dict]:
    """The aggregate_crossprompt rule: one row per (model, prompt) pair and the pull heatmap."""
    names = [f.name for f in FEATURES]
    grid = np.full((len(pairs), len(names) + 2), np.nan)
    out = []
    for k, ((model, prompt), path) in enumerate(zip(pairs, table_paths)):
        rows = [{**r, **{c: number(r[c]) for c in PAIR_COLUMNS[3:]}} for r in read_table(path)]
        summary = summarise(rows)
        out.append({"model": model, "prompt": prompt, **{c: cell(v, 4) for c, v in summary.items()}})
        for r in rows:
            grid[k, names.index(r["feature"])] = r["pull"]
        grid[k, -2:] = summary["pull"], summary["true_pull"]
    write_table(out, SUMMARY_COLUMNS, table_path)
    labels = [f"{titles.get(m, m)} \u2190 {titles.get(p, p)}" for m, p in pairs]
    render_heatmaps([Heatmap(grid, labels, [*names, "mean", "true continuation (mean)"],
                             title="Pull of the continuation towards the model's genre (1) or the prompt's (0)",
                             xlabel="musical statistic", ylabel="model \u2190 prompt genre", colorbar="pull",
                             cmap="coolwarm", vmin=0.0, vmax=1.0)], figure_path,
                    title="Cross-genre prompting: does the model make the prompt its own?")
    return out
