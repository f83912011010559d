"""REMI tokenizer (Huang & Yang, ISMIR 2020): BAR, POSITION (16ths within a 4/4 bar), PITCH, DURATION.

Ids: 0 PAD, 1 BOS, 2 EOS, 3 BAR, 4-19 POSITION_0..15, 20-147 PITCH_0..127, 148-179 DURATION_1..32 (16th notes; a
longer note has several DURATION tokens, summed). Extra tokens (e.g. GENRE_bach) may follow id 179.

A piece is BOS, then for every bar up to its last onset a BAR token, and for every onset in the bar its
POSITION followed by its notes, ascending by pitch, each a PITCH and its DURATION token(s); then EOS. Every bar
starts with BAR, empty bars included, so time is explicit: a note's onset is ``16 * bar + position``. The paper's
optional chord and tempo tokens are left out: the notes carry neither (tempo is a genre setting here), and
``decode(encode(notes)) == notes`` for every canonical note list, as for the event tokenizer.

Grammar errors, counted in the event tokenizer's ``DecodeReport`` fields: ``orphan_note_offs`` = a DURATION with
no PITCH before it; ``empty_notes`` = a PITCH without DURATION (dropped); ``unclosed_notes`` = a PITCH without
DURATION at the very end (kept one step long: the sampler's cut); ``retriggered_notes`` = a note starting while
the same pitch sounds (the earlier one is cut there); ``special_tokens`` = PAD/BOS/extra tokens, and a POSITION
earlier than the current one in its bar (time never runs backwards), all ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from midi_genres.core.constants import N_PITCHES, STEPS_PER_BAR
from midi_genres.core.notes import Note
from midi_genres.tokens.base import BOS, EOS, DecodeReport, Tokenizer

MAX_DURATION = 32
BAR = 3
POSITION_BASE = BAR + 1
PITCH_BASE = POSITION_BASE + STEPS_PER_BAR
DURATION_BASE = PITCH_BASE + N_PITCHES
BASE_VOCAB_SIZE = DURATION_BASE + MAX_DURATION  # 180


class BarClock:
    """Time of a REMI sequence: 16 steps per BAR, plus the current POSITION (a POSITION never moves it back)."""

    def __init__(self) -> None:
        self.bar, self.position = -1, 0

    @property
    def now(self) -> int:
        return max(self.bar, 0) * STEPS_PER_BAR + self.position

    def feed(self, token: int) -> bool:
        """Advance by one token; False for a POSITION before the current one (ignored)."""
        if token == BAR:
            self.bar, self.position = self.bar + 1, 0
        elif POSITION_BASE <= token < PITCH_BASE:
            position = token - POSITION_BASE
            if position < self.position:
                return False
            self.position = position
        return True


def duration_tokens(steps: int) -> list[int]:
    """DURATION tokens of a note ``steps`` long: as many DURATION_32 as fit, then the rest."""
    out = [DURATION_BASE + MAX_DURATION - 1] * (steps // MAX_DURATION)
    if steps % MAX_DURATION:
        out.append(DURATION_BASE + steps % MAX_DURATION - 1)
    return out


def _resolve_overlaps(notes: list[Note], report: DecodeReport) -> list[Note]:
    """Canonical notes from notes in onset order: a note starting while its pitch sounds cuts the earlier one
    there (or replaces it when both start together)."""
    out: list[Note | None] = []
    last: dict[int, int] = {}  # pitch -> index in out of its latest note
    for n in notes:
        i = last.get(n.pitch)
        if i is not None and n.start < out[i].end:
            report.retriggered_notes += 1
            prev = out[i]
            out[i] = Note(prev.pitch, prev.start, n.start) if prev.start < n.start else None
        last[n.pitch] = len(out)
        out.append(n)
    return sorted((n for n in out if n is not None), key=lambda n: (n.start, n.pitch, n.end))


@dataclass
class RemiTokenizer(Tokenizer):
    """The REMI vocabulary plus encode/decode; ``extra_tokens`` are appended after the 180 base ids."""

    name = "remi"
    extra_tokens: tuple[str, ...] = ()
    names: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._set_vocabulary(["BAR"] + [f"POSITION_{p}" for p in range(STEPS_PER_BAR)]
                             + [f"PITCH_{p}" for p in range(N_PITCHES)]
                             + [f"DURATION_{d}" for d in range(1, MAX_DURATION + 1)])

    def _base_parts(self) -> list[str]:
        """BAR and POSITION place the onset, PITCH says which pitch, DURATION how long it lasts."""
        return ["timing"] * (1 + STEPS_PER_BAR) + ["pitch"] * N_PITCHES + ["duration"] * MAX_DURATION

    def clock(self) -> BarClock:
        """A clock before the first bar."""
        return BarClock()

    def encode(self, notes: Sequence[Note], bos: bool = True, eos: bool = True) -> np.ndarray:
        """Token ids (uint16) of a canonical note list, framed by BOS ... EOS unless disabled."""
        out = [BOS] if bos else []
        bar, onset = -1, None
        for n in sorted(notes, key=lambda n: (n.start, n.pitch, n.end)):
            if n.start < 0 or n.end <= n.start:
                raise ValueError(f"notes must be canonical: non-negative times, start < end (got {n})")
            if n.start != onset:
                onset = n.start
                while bar < onset // STEPS_PER_BAR:
                    out.append(BAR)
                    bar += 1
                out.append(POSITION_BASE + onset % STEPS_PER_BAR)
            out.append(PITCH_BASE + n.pitch)
            out.extend(duration_tokens(n.end - n.start))
        if eos:
            out.append(EOS)
        return np.asarray(out, dtype=np.uint16)

    def decode_with_report(self, ids: Iterable[int]) -> tuple[list[Note], DecodeReport]:
        """Decode any id sequence into a canonical note list, counting grammar errors (see the module docstring)."""
        report = DecodeReport()
        clock = self.clock()
        notes: list[Note] = []
        pending: list[int] | None = None  # [pitch, start, duration so far]

        def close() -> None:
            if pending is not None:
                if pending[2]:
                    notes.append(Note(pending[0], pending[1], pending[1] + pending[2]))
                else:
                    report.empty_notes += 1

        started = False
        for token in ids:
            token = int(token)
            if token == EOS:
                break
            if DURATION_BASE <= token < BASE_VOCAB_SIZE:
                if pending is None:
                    report.orphan_note_offs += 1
                else:
                    pending[2] += token - DURATION_BASE + 1
                continue
            close()
            pending = None
            if PITCH_BASE <= token < DURATION_BASE:
                pending = [token - PITCH_BASE, clock.now, 0]
            elif BAR <= token < PITCH_BASE:
                if not clock.feed(token):
                    report.special_tokens += 1
            elif token != BOS or started:
                report.special_tokens += 1
            started = True
        if pending is not None and not pending[2]:
            report.unclosed_notes += 1
            pending[2] = 1
        close()
        return _resolve_overlaps(notes, report), report
