"""Music helpers shared by the synthetic genre generators (numpy only).

Pitch classes are integers 0-11 (C = 0); pitches are MIDI numbers; times are 16th-note steps in 4/4
(``STEPS_PER_BAR`` = 16, a beat is 4 steps, beat *k* of a bar (1-based) starts at step ``4 * (k - 1)``).
Scales and modes are tuples of semitone offsets above the tonic; chords are named by roman numeral in a
key (upper case = major triad, lower case = minor, a trailing ``°`` = diminished, a leading ``b``/``#``
alters the root by a semitone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from midi_genres.core.constants import STEPS_PER_BAR, STEPS_PER_BEAT
from midi_genres.core.notes import Note, normalize

BEATS_PER_BAR = STEPS_PER_BAR // STEPS_PER_BEAT
BACKBEAT_STEPS = (4, 12)  # beats 2 and 4 of a bar

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "natural_minor": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
}

TRIADS: dict[str, tuple[int, int, int]] = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "diminished": (0, 3, 6),
}

PROGRESSIONS: dict[str, tuple[str, ...]] = {
    "I-IV-V": ("I", "IV", "V"),
    "I-V-vi-IV": ("I", "V", "vi", "IV"),
}

_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}


@dataclass(frozen=True)
class Composition:
    """A generated piece: its canonical notes, the parts they were built from, and what was chosen."""

    notes: list[Note]
    parts: dict[str, list[Note]] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)


def assemble(parts: Mapping[str, Iterable[Note]], length: int | None = None, **info: object) -> Composition:
    """Merge named parts into one canonical note list and keep the parts and choices alongside it.

    With ``length`` (in steps), every note is clipped to end by then, so the piece lasts exactly its bars.
    """
    kept = {name: [n._replace(end=min(n.end, length)) if length is not None else n
                   for n in notes if length is None or n.start < length]
            for name, notes in parts.items()}
    return Composition(normalize(n for notes in kept.values() for n in notes), kept, dict(info))


def check_bars(bars: int) -> int:
    """Validate a bar count (a positive integer) and return it as ``int``."""
    if int(bars) != bars or bars < 1:
        raise ValueError(f"bars must be a positive integer, got {bars!r}")
    return int(bars)


# --- scales ---------------------------------------------------------------------------------------------

def scale_pcs(tonic: int, mode: str) -> frozenset[int]:
    """The pitch classes of ``mode`` on ``tonic`` (a pitch or pitch class)."""
    return frozenset((tonic + off) % 12 for off in MODES[mode])


def scale_pitches(tonic: int, mode: str, low: int, high: int) -> list[int]:
    """Every pitch of the scale in ``[low, high]``, ascending."""
    pcs = scale_pcs(tonic, mode)
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def pitch_in_range(rng: np.random.Generator, pc: int, low: int, high: int) -> int:
    """A random octave of pitch class ``pc`` inside ``[low, high]`` (the range must span an octave)."""
    options = [p for p in range(low, high + 1) if p % 12 == pc % 12]
    if not options:
        raise ValueError(f"no pitch of class {pc} in [{low}, {high}]")
    return int(options[int(rng.integers(len(options)))])


def nearest_pitch(pc: int, target: float, low: int, high: int) -> int:
    """The pitch of class ``pc`` in ``[low, high]`` closest to ``target`` (the lower one on a tie)."""
    options = [p for p in range(low, high + 1) if p % 12 == pc % 12]
    if not options:
        raise ValueError(f"no pitch of class {pc} in [{low}, {high}]")
    return min(options, key=lambda p: (abs(p - target), p))


# --- chords ---------------------------------------------------------------------------------------------

def parse_numeral(numeral: str, mode: str = "major") -> tuple[int, str]:
    """``(semitones above the tonic, triad quality)`` of a roman numeral in ``mode``.

    >>> parse_numeral("vi")
    (9, 'minor')
    >>> parse_numeral("bII")
    (1, 'major')
    """
    text, shift = numeral, 0
    while text[:1] in ("b", "#"):
        shift += -1 if text[0] == "b" else 1
        text = text[1:]
    quality = None
    if text.endswith(("°", "o")):
        quality, text = "diminished", text[:-1]
    degree = _ROMAN.get(text.upper())
    if degree is None or not (text.isupper() or text.islower()):
        raise ValueError(f"not a roman numeral: {numeral!r}")
    if quality is None:
        quality = "major" if text.isupper() else "minor"
    return (MODES[mode][degree - 1] + shift) % 12, quality


def triad_pcs(root: int, quality: str) -> tuple[int, int, int]:
    """Pitch classes of a triad as (root, third, fifth)."""
    return tuple((root + i) % 12 for i in TRIADS[quality])  # type: ignore[return-value]


def numeral_triad(tonic: int, numeral: str, mode: str = "major") -> tuple[int, int, int]:
    """Pitch classes (root, third, fifth) of the chord ``numeral`` in the key of ``tonic``."""
    offset, quality = parse_numeral(numeral, mode)
    return triad_pcs(tonic + offset, quality)


def identify_triad(pcs: Iterable[int]) -> tuple[int, str] | None:
    """``(root pc, quality)`` if the pitch classes are exactly a major/minor/diminished triad, else None."""
    pcs = frozenset(p % 12 for p in pcs)
    for root in pcs:
        for quality in TRIADS:
            if frozenset(triad_pcs(root, quality)) == pcs:
                return root, quality
    return None


def power_chord(root: int) -> tuple[int, int, int]:
    """Root, perfect fifth and octave: the guitar power chord."""
    return root, root + 7, root + 12


def chord_voicings(pcs: Sequence[int], low: int, high: int) -> list[tuple[int, ...]]:
    """Every close-position voicing (any inversion) of the chord ``pcs`` lying within ``[low, high]``."""
    out = []
    for inversion in range(len(pcs)):
        order = list(pcs[inversion:]) + list(pcs[:inversion])
        for bass in range(low, high + 1):
            if bass % 12 != order[0] % 12:
                continue
            voicing = [bass]
            for pc in order[1:]:
                voicing.append(voicing[-1] + 1 + (pc - voicing[-1] - 1) % 12)
            if voicing[-1] <= high:
                out.append(tuple(voicing))
    return out


def voice_chord(pcs: Sequence[int], low: int, high: int, previous: Sequence[int] | None = None,
                center: float | None = None) -> tuple[int, ...]:
    """A close voicing of ``pcs`` in range: the smoothest move from ``previous``, else the one nearest ``center``."""
    options = chord_voicings(pcs, low, high)
    if not options:
        raise ValueError(f"no voicing of {tuple(pcs)} in [{low}, {high}]")
    if previous is not None and len(previous) == len(pcs):
        prev = sorted(previous)
        return min(options, key=lambda v: sum(abs(a - b) for a, b in zip(v, prev)))
    target = (low + high) / 2 if center is None else center
    return min(options, key=lambda v: abs(sum(v) / len(v) - target))


def bar_numerals(cycle: Sequence[str], bars: int, bars_per_chord: int = 1) -> list[str]:
    """The chord numeral of each bar when ``cycle`` repeats, each chord lasting ``bars_per_chord`` bars."""
    return [cycle[(b // bars_per_chord) % len(cycle)] for b in range(bars)]


# --- rhythm ---------------------------------------------------------------------------------------------

def bar_start(bar: int) -> int:
    """Step at which ``bar`` (0-based) begins."""
    return bar * STEPS_PER_BAR


def is_offbeat(step: int) -> bool:
    """Whether a step falls between beats (not on one of the four quarter-note beats)."""
    return step % STEPS_PER_BEAT != 0


def is_strong_beat(step: int) -> bool:
    """Whether a step falls on beat 1 or 3 of its bar, where melodies land on chord tones."""
    return step % (2 * STEPS_PER_BEAT) == 0


def swing_step(step: int) -> int:
    """Swing on a 16th grid: the off-beat 8th of each beat (step 2 of 4) is delayed to the last 16th.

    This turns straight 8ths (0, 2) into the shuffled long-short pair (0, 3) within each beat.
    """
    return step + 1 if step % STEPS_PER_BEAT == 2 else step


def random_composition(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    """``parts`` random positive durations summing to ``total`` (uniform over all such compositions)."""
    if not 1 <= parts <= total:
        raise ValueError(f"cannot split {total} steps into {parts} positive parts")
    cuts = sorted(int(c) for c in rng.choice(np.arange(1, total), size=parts - 1, replace=False))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total])]


def legato_durations(onsets: Sequence[int], end: int, max_len: int) -> list[int]:
    """Durations that last until the next onset (or ``end``), capped at ``max_len`` steps."""
    bounds = list(onsets[1:]) + [end]
    return [max(1, min(max_len, nxt - on)) for on, nxt in zip(onsets, bounds)]


def choose(rng: np.random.Generator, options: Sequence, weights: Sequence[float] | None = None):
    """One element of ``options`` (optionally weighted), keeping Python types (numpy's choice would not)."""
    if weights is None:
        return options[int(rng.integers(len(options)))]
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


# --- melody ---------------------------------------------------------------------------------------------

MELODY_MOVES = (-3, -2, -1, 0, 1, 2, 3)
MELODY_MOVE_WEIGHTS = (0.05, 0.15, 0.3, 0.1, 0.25, 0.1, 0.05)  # mostly stepwise, a little upward drift


def scale_melody(rng: np.random.Generator, pitches: Sequence[int], onsets: Sequence[int],
                 chord_at: Callable[[int], Sequence[int]], strong: Callable[[int], bool]) -> list[int]:
    """A mostly stepwise line through ``pitches`` (a scale, ascending), one pitch per onset.

    On strong onsets the line lands on the nearest tone of the chord sounding there (``chord_at(onset)``
    gives its pitch classes), so melody and harmony agree where it matters.
    """
    top = len(pitches) - 1
    idx = int(rng.integers(top // 3, 2 * top // 3 + 1))
    out = []
    for onset in onsets:
        move = int(choose(rng, MELODY_MOVES, MELODY_MOVE_WEIGHTS))
        idx = idx + move if 0 <= idx + move <= top else idx - move
        if strong(onset):
            tones = {pc % 12 for pc in chord_at(onset)}
            candidates = [i for i, p in enumerate(pitches) if p % 12 in tones]
            if candidates:
                idx = min(candidates, key=lambda i: (abs(i - idx), i))
        out.append(int(pitches[idx]))
    return out
