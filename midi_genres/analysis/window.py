"""What the model's context holds: tokens per bar of a genre's pieces and the bars a context of ``max_len`` tokens
covers, for each tokenizer.

Bars are 4/4 bars of 16 sixteenth-note steps counted from step 0 (``core.constants.STEPS_PER_BAR``): the grid every
piece is quantised to, the bars of the musical statistics and the bars REMI's BAR tokens mark. A piece lasts
``ceil(end of its last note / 16)`` bars, the same for every tokenizer (with event tokens the time shifts of a piece
add up to that end; with REMI its BAR tokens count the bars up to its last onset, one fewer when its last note
rings into a bar of its own). A piece's tokens per bar are its tokens between BOS and EOS over its bars, and the
bars the context covers are ``max_len`` / tokens per bar: the music a window of ``max_len`` tokens spans at that
piece's density. Both are summarised by their median and quartiles over the genre's pieces (training and held-out);
a piece shorter than the context still counts by its density.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from midi_genres.core.constants import STEPS_PER_BAR
from midi_genres.core.notes import Note
from midi_genres.core.tables import cell, read_table, write_table
from midi_genres.tokens import TOKENIZERS, make_tokenizer
from midi_genres.tokens.dataset import load_pieces
from midi_genres.tokens.streams import decode_pieces

log = logging.getLogger(__name__)

WINDOW_COLUMNS = ["genre", "tokenizer", "pieces", "bars", "tokens_per_bar", "tokens_per_bar_q1",
                  "tokens_per_bar_q3", "window_bars", "window_bars_q1", "window_bars_q3", "pieces_within_window"]
FRAME_TOKENS = 2  # BOS and EOS around every piece


def piece_bars(notes: Sequence[Note]) -> int:
    """Bars from step 0 to the end of the last note (0 for no notes)."""
    return -(-max((n.end for n in notes), default=0) // STEPS_PER_BAR)


def window_row(genre: str, tokenizer: str, tokens: Sequence[int], bars: Sequence[int], max_len: int) -> dict:
    """One genre's ``WINDOW_COLUMNS`` for one tokenizer from its pieces' token counts (BOS ... EOS) and bars.

    ``window_bars_q1`` / ``_q3`` come from the quartiles of tokens per bar (the window's bars fall as the density
    rises); ``pieces_within_window`` is the share of pieces whose tokens fit in one context whole.
    """
    tokens = np.asarray(tokens, dtype=np.float64)
    bars = np.asarray(bars, dtype=np.float64)
    if tokens.shape != bars.shape:
        raise ValueError(f"{genre}: {tokens.size} token counts but {bars.size} bar counts")
    keep = bars > 0
    rate = (tokens[keep] - FRAME_TOKENS) / bars[keep]
    row = {"genre": genre, "tokenizer": tokenizer, "pieces": int(keep.sum()), "bars": int(bars[keep].sum())}
    if not rate.size:
        return {**row, **{c: "NA" for c in WINDOW_COLUMNS[4:]}}
    q1, median, q3 = np.quantile(rate, [0.25, 0.5, 0.75])
    return {**row, "tokens_per_bar": cell(float(median), 3), "tokens_per_bar_q1": cell(float(q1), 3),
            "tokens_per_bar_q3": cell(float(q3), 3), "window_bars": cell(float(max_len / median), 3),
            "window_bars_q1": cell(float(max_len / q3), 3), "window_bars_q3": cell(float(max_len / q1), 3),
            "pieces_within_window": cell(float(np.mean(tokens[keep] <= max_len)), 4)}


def window_rows(genre: str, pieces: Sequence[Sequence[Note]], max_len: int,
                tokenizers: Sequence[str] = tuple(TOKENIZERS)) -> list[dict]:
    """One ``window_row`` per tokenizer, each piece encoded by it."""
    bars = [piece_bars(p) for p in pieces]
    return [window_row(genre, name, [len(tok.encode(p)) for p in pieces], bars, max_len)
            for name, tok in ((n, make_tokenizer(n)) for n in tokenizers)]


def measure_window(*, genre: str, train_path: str | os.PathLike, val_path: str | os.PathLike,
                   pieces_path: str | os.PathLike, max_len: int, table_path: str | os.PathLike,
                   tokenizer: str = "event") -> list[dict]:
    """The measure_window rule: a genre's training and held-out pieces (decoded from the run's token streams, checked
    against its pieces table) encoded by every tokenizer: tokens per bar and the bars ``max_len`` tokens cover."""
    tok = make_tokenizer(tokenizer)
    pieces = []
    for split, path in (("train", train_path), ("val", val_path)):
        decoded = decode_pieces(np.load(path), tok)
        listed = load_pieces(pieces_path, split)
        if len(listed) != len(decoded):
            raise ValueError(f"{pieces_path} lists {len(listed)} {split} pieces but {path} holds {len(decoded)}")
        pieces += [notes for notes, _ in decoded]
    rows = window_rows(genre, pieces, max_len)
    for r in rows:
        log.info("%s, %s tokens: %s tokens per bar [%s, %s], a context of %d tokens covers %s bars", genre,
                 r["tokenizer"], r["tokens_per_bar"], r["tokens_per_bar_q1"], r["tokens_per_bar_q3"], max_len,
                 r["window_bars"])
    write_table(rows, WINDOW_COLUMNS, table_path)
    return rows


def aggregate_window(*, table_paths: Sequence[str], table_path: str | os.PathLike) -> list[dict]:
    """The aggregate_window rule: every genre's window table in one."""
    rows = [r for path in table_paths for r in read_table(path)]
    write_table(rows, WINDOW_COLUMNS, table_path)
    return rows
