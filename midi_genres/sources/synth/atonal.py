"""Atonal: Schoenberg-style twelve-tone music.

A piece has one prime row (a random ordering of the 12 pitch classes) and states it again and again in
its four classical forms - prime P, inversion I, retrograde R, retrograde inversion RI - each transposed
to a random level. Every statement uses all 12 pitch classes exactly once, in row order; consecutive row
notes are sometimes sounded together as a dyad (never across two statements). Rhythm is free (1-8 steps,
occasional rests) and each note lands in a random octave of a wide register, giving the pointillistic,
key-less surface the genre is known for. The first statement is always P0, the row itself; the last
statement is always completed, so a piece may run a little past its nominal bars (its final note is held
to the next bar line).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.synth.rules import ABOVE_BAR, WHOLE_PIECE, WITHIN_BAR, Rule, clean, onset_groups, share
from midi_genres.sources.synth.theory import (
    STEPS_PER_BAR,
    Composition,
    assemble,
    check_bars,
    choose,
    pitch_in_range,
    random_composition,
)

REGISTER = (48, 84)
FORMS = ("P", "I", "R", "RI")
DURATIONS = (1, 2, 3, 4, 5, 6, 8)
DURATION_WEIGHTS = (0.14, 0.24, 0.16, 0.18, 0.08, 0.1, 0.1)
DYAD_PROB = 0.15
REST_PROB = 0.12
MAX_REST = 4


def transpose(row: Sequence[int], t: int) -> tuple[int, ...]:
    """The row moved up ``t`` semitones (mod 12)."""
    return tuple((pc + t) % 12 for pc in row)


def invert(row: Sequence[int]) -> tuple[int, ...]:
    """The inversion about the row's first pitch class: every interval turned upside down."""
    return tuple((2 * row[0] - pc) % 12 for pc in row)


def retrograde(row: Sequence[int]) -> tuple[int, ...]:
    """The row backwards."""
    return tuple(reversed(row))


def row_form(prime: Sequence[int], form: str, t: int = 0) -> tuple[int, ...]:
    """Form ``form`` (P, I, R or RI) of ``prime`` transposed by ``t``: e.g. RI3 = retrograde(invert(prime)) + 3."""
    if form == "P":
        row = tuple(prime)
    elif form == "I":
        row = invert(prime)
    elif form == "R":
        row = retrograde(prime)
    elif form == "RI":
        row = retrograde(invert(prime))
    else:
        raise ValueError(f"unknown row form {form!r}; valid: {', '.join(FORMS)}")
    return transpose(row, t)


def random_row(rng: np.random.Generator) -> tuple[int, ...]:
    """A random prime row: a permutation of the 12 pitch classes."""
    return tuple(int(pc) for pc in rng.permutation(12))


def _plan_statement(rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Rhythm of one row statement: ``(notes sounded together, duration, rest after)`` per event, 12 notes in all."""
    events, i = [], 0
    while i < 12:
        size = 2 if i < 11 and rng.random() < DYAD_PROB else 1
        dur = int(choose(rng, DURATIONS, DURATION_WEIGHTS))
        rest = int(rng.integers(1, MAX_REST + 1)) if rng.random() < REST_PROB else 0
        events.append((size, dur, rest))
        i += size
    return events


def compose(rng: np.random.Generator, bars: int) -> Composition:
    """A twelve-tone piece of exactly ``bars`` bars.

    Row statements follow each other until the piece is full; a statement that would run past the end is
    squeezed into the remaining time (a fresh random rhythm, no rests) if there is room for at least 2 steps
    per event, otherwise the piece ends before it (the first statement always fits: a bar holds 16 steps).
    The final sound is held to the end. ``info``: ``prime`` (the row), ``rows`` (``(form, t, pitch classes)``
    of each statement, in order). Part ``statement_<k>`` holds the notes of statement *k*.
    """
    total = check_bars(bars) * STEPS_PER_BAR
    prime = random_row(rng)
    rows: list[tuple[str, int, tuple[int, ...]]] = []
    parts: dict[str, list[Note]] = {}
    time = 0
    while time < total:
        form, t = ("P", 0) if not rows else (choose(rng, FORMS), int(rng.integers(12)))
        row = row_form(prime, form, t)
        events = _plan_statement(rng)
        room = total - time
        if sum(d + r for _, d, r in events) > room:
            if room < (2 * len(events) if rows else len(events)):
                break
            durations = random_composition(rng, room, len(events))
            events = [(size, d, 0) for (size, _, _), d in zip(events, durations)]
        notes: list[Note] = []
        i = 0
        for size, dur, rest in events:
            notes.extend(Note(pitch_in_range(rng, pc, *REGISTER), time, time + dur) for pc in row[i:i + size])
            time += dur + rest
            i += size
        parts[f"statement_{len(rows)}"] = notes
        rows.append((form, t, row))
    final = parts[f"statement_{len(rows) - 1}"]
    last_onset = max(n.start for n in final)
    parts[f"statement_{len(rows) - 1}"] = [n._replace(end=total) if n.start == last_onset else n for n in final]
    return assemble(parts, length=total, prime=prime, rows=rows)


def generate_piece(rng: np.random.Generator, bars: int) -> list[Note]:
    """A canonical note list of a twelve-tone piece (see ``compose``)."""
    return compose(rng, bars).notes


# --- the rules every piece obeys ------------------------------------------------------------------------------

_MAX_PRIME_CANDIDATES = 256


def _rows(notes: Sequence[Note]) -> list[tuple[list[int], list[tuple[int, int]]] | None]:
    """Greedy row segmentation in (onset, pitch) order: a row closes at 12 distinct pitch classes (``(pcs, onset
    blocks as (i, j) slices)``) or at a repeated one (``None``, and a new row starts there); an unfinished last
    row is left out."""
    rows: list[tuple[list[int], list[tuple[int, int]]] | None] = []
    pcs: list[int] = []
    blocks: list[tuple[int, int]] = []
    for _, group in onset_groups(notes):
        block_start = len(pcs)
        for n in group:
            if n.pitch % 12 in pcs:
                rows.append(None)
                pcs, blocks, block_start = [], [], 0
            pcs.append(n.pitch % 12)
            if len(pcs) == 12:
                blocks.append((block_start, 12))
                rows.append((pcs, blocks))
                pcs, blocks, block_start = [], [], 0
        if len(pcs) > block_start:
            blocks.append((block_start, len(pcs)))
    return rows


def check_rows(notes: Sequence[Note]) -> tuple[int, int]:
    """Rows: complete statements (12 distinct pitch classes) among completed or broken rows."""
    return share(row is not None for row in _rows(clean(notes)))


def _prime_candidates(pcs: Sequence[int], blocks: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Orders of a row whose simultaneous notes (blocks) may have sounded in any order."""
    options = [list(itertools.islice(itertools.permutations(pcs[i:j]), _MAX_PRIME_CANDIDATES)) for i, j in blocks]
    return [tuple(pc for part in choice for pc in part)
            for choice in itertools.islice(itertools.product(*options), _MAX_PRIME_CANDIDATES)]


def check_forms(notes: Sequence[Note]) -> tuple[int, int]:
    """Complete rows after the first: a transposed P, I, R or RI (``FORMS``) of the first complete row."""
    rows = [row for row in _rows(clean(notes)) if row is not None]
    if len(rows) < 2:
        return 0, 0
    bases = [row_form(prime, form) for prime in _prime_candidates(*rows[0]) for form in FORMS]

    def is_form(pcs: list[int], blocks: list[tuple[int, int]]) -> bool:
        for base in bases:
            for t in {(pc - base[0]) % 12 for pc in pcs[blocks[0][0]:blocks[0][1]]}:
                if all({(pc + t) % 12 for pc in base[i:j]} == set(pcs[i:j]) for i, j in blocks):
                    return True
        return False

    return share(is_form(*row) for row in rows[1:])


def check_register(notes: Sequence[Note]) -> tuple[int, int]:
    """Notes inside ``REGISTER``."""
    low, high = REGISTER
    return share(low <= n.pitch <= high for n in clean(notes))


def check_texture(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: one note or a dyad, starting and ending together and released by the next onset."""
    groups = onset_groups(clean(notes))
    nexts = [start for start, _ in groups[1:]] + [None]
    return share(len(group) <= 2 and len({n.end for n in group}) == 1 and (nxt is None or group[0].end <= nxt)
                 for (_, group), nxt in zip(groups, nexts))


def check_rests(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: the silence before each (from the previous sound, or from step 0) is at most ``MAX_REST``."""
    sounding_until = 0
    flags = []
    for start, group in onset_groups(clean(notes)):
        flags.append(start - sounding_until <= MAX_REST)
        sounding_until = max(sounding_until, *(n.end for n in group))
    return share(flags)


# Bars a row of 12 notes spans on average: the mean of DURATIONS by their weights, plus the mean rest.
ROW_BARS = math.ceil(12 * (sum(d * w for d, w in zip(DURATIONS, DURATION_WEIGHTS)) + REST_PROB * (MAX_REST + 1) / 2)
                     / STEPS_PER_BAR)

RULES = [
    Rule("twelve_tone_rows", "atonal", ABOVE_BAR,
         "the notes run through complete twelve-tone rows: 12 pitch classes, none repeated before all 12 have sounded",
         check_rows, bars=ROW_BARS),
    Rule("row_forms", "atonal", ABOVE_BAR,
         "every row is the first row transposed, inverted, reversed or both (P, I, R, RI)", check_forms,
         bars=WHOLE_PIECE),
    Rule("register", "atonal", WITHIN_BAR, f"every note lies in C3-C6 (MIDI {REGISTER[0]}-{REGISTER[1]})",
         check_register),
    Rule("single_notes_or_dyads", "atonal", WITHIN_BAR,
         "one note or a two-note dyad at a time, released together before the next onset", check_texture),
    Rule("short_rests", "atonal", WITHIN_BAR,
         f"rests last at most a beat ({MAX_REST} steps); the piece starts on step 0", check_rests),
]
