"""What a perfect model of each synthetic genre must have learned: how often notes obey its generator's rules.

The five synthetic genres come from known programs (``midi_genres.sources.synth``), so "what did the model learn"
has an exact answer for them: each generator module declares ``RULES``, the properties every piece it makes has
(``sources/synth/rules.py``), beside the constants that make them. This module counts how many units of each rule
the generator's pieces and the model's samples obey, and gathers every genre's table and figure.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.analysis.bootstrap import ratio_interval
from midi_genres.core.notes import Note
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.sources.synth import RULES
from midi_genres.sources.synth.rules import Rule
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.streams import decode_pieces

__all__ = ["RULES", "RULE_COLUMNS", "Rule", "check_piece", "rule_table"]

log = logging.getLogger(__name__)

RULE_COLUMNS = ["genre", "rule", "scope", "bars", "set", "pieces", "judged", "units", "obeyed", "share", "share_low",
                "share_high", "perfect", "statement"]
AGGREGATE_COLUMNS = [*RULE_COLUMNS, "window_bars", "beyond_window"]


def check_piece(genre_generator: str, notes: Sequence[Note]) -> dict[str, tuple[int, int]]:
    """``{rule name: (obeyed units, units)}`` of one note list under the rules of ``genre_generator``."""
    return {rule.name: rule.check(notes) for rule in _rules(genre_generator)}


def _rules(genre_generator: str) -> list[Rule]:
    if genre_generator not in RULES:
        raise ValueError(f"no rules for {genre_generator!r}; genres with rules: {', '.join(RULES)}")
    return RULES[genre_generator]


def rule_table(genre_generator: str, pieces: Sequence[Sequence[Note]], set_name: str) -> list[dict]:
    """One row per rule of ``genre_generator`` over ``pieces`` (e.g. set ``corpus`` or ``samples``).

    ``units``/``obeyed`` are summed over the pieces and ``share`` = obeyed / units (None without units), with
    ``share_low``/``share_high`` its interval over the judged pieces (``bootstrap.ratio_interval``: 95%, seeded; NaN
    for fewer than two); ``judged`` counts the pieces with at least one unit and ``perfect`` the share of those
    obeying every unit; ``scope`` says whether the rule is about each bar or about how bars relate, ``bars`` how many
    bars one unit spans (``piece``: from the first bar to the last).
    """
    rows = []
    for rule in _rules(genre_generator):
        results = [rule.check(notes) for notes in pieces]
        judged = [(ok, n) for ok, n in results if n]
        units = sum(n for _, n in judged)
        obeyed = sum(ok for ok, _ in judged)
        low, high = ratio_interval([ok for ok, _ in judged], [n for _, n in judged])
        rows.append({"genre": genre_generator, "rule": rule.name, "scope": rule.scope,
                     "bars": "piece" if rule.bars is None else rule.bars, "set": set_name,
                     "pieces": len(pieces), "judged": len(judged), "units": units, "obeyed": obeyed,
                     "share": obeyed / units if units else None, "share_low": low, "share_high": high,
                     "perfect": sum(ok == n for ok, n in judged) / len(judged) if judged else None,
                     "statement": rule.statement})
    return rows


def synthetic_rules(*, genre: str, generator: str, train_path: str, samples_paths: Sequence[str],
                    table_path: str | os.PathLike, tokenizer: str = "event") -> list[dict]:
    """The check_generator_rules rule: how often a synthetic genre's training pieces (all of them: the generator's own,
    which obey every rule) and its model's samples (every seed's batch) obey the generator's rules."""
    tok = make_tokenizer(tokenizer)
    corpus = [notes for notes, _ in decode_pieces(np.load(train_path), tok)]
    samples = [notes for path in samples_paths for notes, _ in decode_pieces(np.load(path), tok)]
    rows = rule_table(generator, corpus, "corpus") + rule_table(generator, samples, "samples")
    rows = [{**r, "genre": genre, **{c: cell(r[c], 4) for c in ("share", "share_low", "share_high", "perfect")}}
            for r in rows]
    for r in rows:
        log.info("%s %s %s: %s of %d units", genre, r["set"], r["rule"], r["share"], r["units"])
    write_table(rows, RULE_COLUMNS, table_path)
    return rows


def beyond_window(bars: str, window: dict | None) -> str:
    """``yes`` where a rule spans more bars than the model's context holds (the median over the genre's pieces,
    ``window``: its row of the window table for the run's tokenizer; a whole-piece rule spans its pieces' mean
    length in bars), ``no`` where it fits, NA without a window row."""
    if window is None or number(window["window_bars"]) != number(window["window_bars"]):
        return "NA"
    span = number(window["bars"]) / number(window["pieces"]) if bars == "piece" else number(bars)
    return "yes" if span > number(window["window_bars"]) else "no"


def aggregate_rules(*, titles: dict, table_paths: Sequence[str], table_path: str | os.PathLike,
                    figure_path: str | os.PathLike, window_path: str | os.PathLike | None = None,
                    tokenizer: str = "event") -> list[dict]:
    """The aggregate_generator_rules rule: every synthetic genre's rule table in one, each rule beside the bars the
    model's context holds for its genre (``window_path``: the window table; ``window_bars``, ``beyond_window``), and
    a heatmap of the share of units obeyed by the generator's pieces and by the model's samples, rule by rule, each
    labelled with its scope."""
    windows = {r["genre"]: r for r in read_table(window_path) if r["tokenizer"] == tokenizer} if window_path else {}
    rows = [{**r, "window_bars": windows[r["genre"]]["window_bars"] if r["genre"] in windows else "NA",
             "beyond_window": beyond_window(r["bars"], windows.get(r["genre"]))}
            for path in table_paths for r in read_table(path)]
    write_table(rows, AGGREGATE_COLUMNS, table_path)
    keys = list(dict.fromkeys((r["genre"], r["rule"], r["scope"]) for r in rows))
    share = {(r["genre"], r["rule"], r["set"]): number(r["share"]) for r in rows}
    values = [[share.get((g, rule, s), math.nan) for s in ("corpus", "samples")] for g, rule, _ in keys]
    labels = [f"{titles.get(g, g)}: {rule} ({scope.replace('_', ' ')})" for g, rule, scope in keys]
    render_heatmaps([Heatmap(values, labels,
                             ["generator's pieces", "model's samples"], title="Share of units obeying the rule",
                             colorbar="share obeyed", cmap="RdYlGn", vmin=0.0, vmax=1.0)], figure_path,
                    title="What a perfect model must have learned: the synthetic generators' rules")
    return rows
