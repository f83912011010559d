"""The event tokenizer: NOTE_ON / NOTE_OFF / TIME_SHIFT, the 291-token vocabulary.

Ids: 0 PAD, 1 BOS, 2 EOS, 3-130 NOTE_ON_0..127, 131-258 NOTE_OFF_0..127, 259-290 TIME_SHIFT_1..32
(16th-note steps; a longer gap is several shifts). Extra tokens (e.g. GENRE_bach) may follow id 290.
Events at one time step are in canonical order: note-offs before note-ons, each by ascending pitch,
so a repeated note is never cut and ``decode(encode(notes)) == notes`` for every canonical note list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from midi_genres.core.constants import N_PITCHES
from midi_genres.core.notes import Note
from midi_genres.tokens.base import BOS, EOS, DecodeReport, Tokenizer

MAX_SHIFT = 32
NOTE_ON_BASE = 3
NOTE_OFF_BASE = NOTE_ON_BASE + N_PITCHES
TIME_SHIFT_BASE = NOTE_OFF_BASE + N_PITCHES
BASE_VOCAB_SIZE = TIME_SHIFT_BASE + MAX_SHIFT  # 291


class ShiftClock:
    """Time of an event sequence: the sum of its tokens' shifts."""

    def __init__(self, shift_steps: np.ndarray):
        self._shifts = shift_steps.tolist()
        self.now = 0

    def feed(self, token: int) -> None:
        self.now += self._shifts[token]


@dataclass
class EventTokenizer(Tokenizer):
    """The event vocabulary plus encode/decode; ``extra_tokens`` are appended after the 291 base ids."""

    name = "event"
    extra_tokens: tuple[str, ...] = ()
    names: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._set_vocabulary([f"NOTE_ON_{p}" for p in range(N_PITCHES)]
                             + [f"NOTE_OFF_{p}" for p in range(N_PITCHES)]
                             + [f"TIME_SHIFT_{d}" for d in range(1, MAX_SHIFT + 1)])
        shifts = np.zeros(len(self.names), dtype=np.int64)
        shifts[TIME_SHIFT_BASE:BASE_VOCAB_SIZE] = np.arange(1, MAX_SHIFT + 1)
        self.shift_steps = shifts  # steps of time each token advances (0 for all but TIME_SHIFT)

    def _base_parts(self) -> list[str]:
        """NOTE_ON: which pitch starts; NOTE_OFF: when it ends (its duration); TIME_SHIFT: when the next event comes."""
        return ["pitch"] * N_PITCHES + ["duration"] * N_PITCHES + ["timing"] * MAX_SHIFT

    def clock(self) -> ShiftClock:
        """A clock at time 0."""
        return ShiftClock(self.shift_steps)

    def elapsed_steps(self, ids: Iterable[int]) -> int:
        """The time (16th-note steps) a token sequence reaches: its shifts, summed."""
        return int(self.shift_steps[np.asarray(list(ids), dtype=np.int64)].sum())

    def encode(self, notes: Sequence[Note], bos: bool = True, eos: bool = True) -> np.ndarray:
        """Token ids (uint16) of a canonical note list, framed by BOS ... EOS unless disabled."""
        events = sorted([(n.end, 0, n.pitch) for n in notes] + [(n.start, 1, n.pitch) for n in notes])
        out = [BOS] if bos else []
        now = 0
        for time, is_on, pitch in events:
            gap = time - now
            if gap < 0:
                raise ValueError(f"note times must be non-negative and notes canonical (time {time} < {now})")
            out.extend([TIME_SHIFT_BASE + MAX_SHIFT - 1] * (gap // MAX_SHIFT))
            if gap % MAX_SHIFT:
                out.append(TIME_SHIFT_BASE + gap % MAX_SHIFT - 1)
            now = time
            out.append((NOTE_ON_BASE if is_on else NOTE_OFF_BASE) + pitch)
        if eos:
            out.append(EOS)
        return np.asarray(out, dtype=np.uint16)

    def decode_with_report(self, ids: Iterable[int]) -> tuple[list[Note], DecodeReport]:
        """Decode any id sequence into a canonical note list, counting grammar errors.

        Orphan NOTE_OFFs are ignored, a re-triggered pitch closes its sounding note first, empty notes are
        dropped and notes still sounding at the end are closed there (at least one step long).
        """
        report = DecodeReport()
        sounding: dict[int, int] = {}
        notes: list[Note] = []
        now = 0
        for token in ids:
            token = int(token)
            if token == EOS:
                break
            if NOTE_ON_BASE <= token < NOTE_OFF_BASE:
                pitch = token - NOTE_ON_BASE
                if pitch in sounding:
                    report.retriggered_notes += 1
                    if sounding[pitch] < now:
                        notes.append(Note(pitch, sounding[pitch], now))
                sounding[pitch] = now
            elif NOTE_OFF_BASE <= token < TIME_SHIFT_BASE:
                pitch = token - NOTE_OFF_BASE
                start = sounding.pop(pitch, None)
                if start is None:
                    report.orphan_note_offs += 1
                elif start == now:
                    report.empty_notes += 1
                else:
                    notes.append(Note(pitch, start, now))
            elif TIME_SHIFT_BASE <= token < BASE_VOCAB_SIZE:
                now += token - TIME_SHIFT_BASE + 1
            elif token != BOS or notes or sounding or now:
                report.special_tokens += 1
        for pitch, start in sounding.items():
            report.unclosed_notes += 1
            notes.append(Note(pitch, start, max(now, start + 1)))
        notes.sort(key=lambda n: (n.start, n.pitch, n.end))
        return notes, report
