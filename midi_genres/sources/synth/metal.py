"""Metal: palm-muted power-chord riffs in a low register.

Every sound is a power chord (root, fifth, octave). The tonic sits on a low guitar string (E2-B2, MIDI
40-47) and the piece is in natural minor or phrygian (flat second) on it. Riffs of one or two bars are
built from beat-long cells - 16th chugs, staccato 8th chugs, gallops (8th + two 16ths), reverse gallops,
syncopated chugs - pedalling on the tonic, with accents on other scale degrees (the flat second above all
in phrygian). Two riffs alternate by phrase (A A B A ...); every chug is 1-2 steps long, and only the last
bar of each phrase (and of the piece) ends on a sustained chord.
"""

from __future__ import annotations

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.synth.theory import (
    STEPS_PER_BAR,
    STEPS_PER_BEAT,
    Composition,
    assemble,
    bar_start,
    check_bars,
    choose,
    power_chord,
)

TONIC_RANGE = (40, 47)  # E2 .. B2: a low (possibly down-tuned) sixth string
SCALES = ("natural_minor", "phrygian")
MAX_CHUG = 2  # palm-muted notes are at most an 8th long

# Beat-long rhythm cells: (offset, duration) onsets; "accent" cells move off the tonic pedal.
CELLS: dict[str, tuple[tuple[int, int], ...]] = {
    "chug16": ((0, 1), (1, 1), (2, 1), (3, 1)),
    "chug8": ((0, 1), (2, 1)),
    "gallop": ((0, 2), (2, 1), (3, 1)),
    "rev_gallop": ((0, 1), (1, 1), (2, 2)),
    "offbeat": ((2, 1), (3, 1)),
    "accent": ((0, 2),),
    "accent_pair": ((0, 2), (2, 2)),
}
PEDAL_CELLS = ("chug16", "chug8", "gallop", "rev_gallop", "offbeat")
PEDAL_WEIGHTS = (3, 2, 3, 1, 1)
ACCENT_PROB = 0.3
MOVED_PEDAL_PROB = 0.1  # a whole chug/gallop cell on another degree
# accent degrees (semitones above the tonic) and their weights: phrygian leans on the flat second
ACCENT_WEIGHTS = {
    "phrygian": {1: 5, 3: 2, 5: 1, 7: 2, 8: 2, 10: 1},
    "natural_minor": {2: 1, 3: 2, 5: 2, 7: 2, 8: 3, 10: 3},
}
ENDING_DEGREES = {"phrygian": (0, 1, 8), "natural_minor": (0, 7, 8, 10)}


def _degree(rng: np.random.Generator, mode: str) -> int:
    weights = ACCENT_WEIGHTS[mode]
    return int(choose(rng, list(weights), list(weights.values())))


def make_riff(rng: np.random.Generator, mode: str, riff_bars: int) -> list[tuple[int, int, int]]:
    """A riff as ``(degree, step, duration)`` events over ``riff_bars`` bars, starting on a tonic chug."""
    events = []
    for beat in range(riff_bars * STEPS_PER_BAR // STEPS_PER_BEAT):
        start = beat * STEPS_PER_BEAT
        if beat > 0 and rng.random() < ACCENT_PROB:
            name = choose(rng, ("accent", "accent_pair"), (2, 1))
            degrees = [_degree(rng, mode) for _ in CELLS[name]]
            if name == "accent_pair" and rng.random() < 0.5:
                degrees[-1] = 0  # fall back to the tonic
        else:
            name = choose(rng, PEDAL_CELLS, PEDAL_WEIGHTS)
            degree = _degree(rng, mode) if beat > 0 and rng.random() < MOVED_PEDAL_PROB else 0
            degrees = [degree] * len(CELLS[name])
        events.extend((deg, start + off, dur) for deg, (off, dur) in zip(degrees, CELLS[name]))
    return events


def compose(rng: np.random.Generator, bars: int) -> Composition:
    """A metal piece of ``bars`` bars.

    ``info``: ``tonic`` (MIDI pitch of the lowest root), ``mode``, ``phrase_len``, ``riff_bars``,
    ``ending_bars`` (bars whose end holds a sustained chord). Parts: ``riff`` and ``sustain``.
    """
    bars = check_bars(bars)
    tonic = int(rng.integers(TONIC_RANGE[0], TONIC_RANGE[1] + 1))
    mode = choose(rng, SCALES)
    phrase_len = int(choose(rng, (2, 4)))
    riff_bars = int(choose(rng, (1, 2)))
    riffs = [make_riff(rng, mode, riff_bars) for _ in range(2)]
    plan = "AABA"
    ending_bars = sorted({b for b in range(bars) if b % phrase_len == phrase_len - 1} | {bars - 1})
    riff_part: list[Note] = []
    sustain_part: list[Note] = []
    for bar in range(bars):
        phrase = bar // phrase_len
        riff = riffs[plan[phrase % len(plan)] == "B"]
        offset_in_riff = (bar % riff_bars) * STEPS_PER_BAR
        cut = STEPS_PER_BAR
        if bar in ending_bars:
            cut = int(choose(rng, (8, 12))) if bar < bars - 1 else int(choose(rng, (0, 8)))
            degree = 0 if bar == bars - 1 else int(choose(rng, ENDING_DEGREES[mode]))
            start = bar_start(bar) + cut
            sustain_part.extend(Note(p, start, bar_start(bar + 1)) for p in power_chord(tonic + degree))
        for degree, step, dur in riff:
            local = step - offset_in_riff
            if 0 <= local < cut:
                start = bar_start(bar) + local
                end = min(start + dur, bar_start(bar) + cut)
                riff_part.extend(Note(p, start, end) for p in power_chord(tonic + degree))
    return assemble({"riff": riff_part, "sustain": sustain_part}, length=bars * STEPS_PER_BAR, tonic=tonic, mode=mode,
                    phrase_len=phrase_len, riff_bars=riff_bars, ending_bars=ending_bars)


def generate_piece(rng: np.random.Generator, bars: int) -> list[Note]:
    """A canonical note list of a metal piece (see ``compose``)."""
    return compose(rng, bars).notes
