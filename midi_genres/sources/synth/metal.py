"""Metal: palm-muted power-chord riffs in a low register.

Every sound is a power chord (root, fifth, octave). The tonic sits on a low guitar string (E2-B2, MIDI
40-47) and the piece is in natural minor or phrygian (flat second) on it. Riffs of one or two bars are
built from beat-long cells - 16th chugs, staccato 8th chugs, gallops (8th + two 16ths), reverse gallops,
syncopated chugs - pedalling on the tonic, with accents on other scale degrees (the flat second above all
in phrygian). Two riffs alternate by phrase (A A B A ...); every chug is 1-2 steps long, and only the last
bar of each phrase (and of the piece) ends on a sustained chord.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.synth.rules import ABOVE_BAR, WHOLE_PIECE, WITHIN_BAR, Rule, clean, onset_groups, share
from midi_genres.sources.synth.theory import (
    MODES,
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
MAX_DEGREE = max(d for mode in SCALES for d in (*ACCENT_WEIGHTS[mode], *ENDING_DEGREES[mode]))  # above the tonic
PHRASE_END_CUTS = (8, 12)  # a phrase's last bar holds its sustained chord from one of these steps to the bar line
LAST_BAR_CUTS = (0, 8)  # the piece's last bar: from one of these


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
            cut = int(choose(rng, PHRASE_END_CUTS)) if bar < bars - 1 else int(choose(rng, LAST_BAR_CUTS))
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


# --- the rules every piece obeys ------------------------------------------------------------------------------

_CELLS = frozenset(CELLS.values())


def _chords(notes: Sequence[Note]) -> list[tuple[int, list[int], int]]:
    """``(start, pitches, end of the longest)`` of each onset."""
    return [(start, [n.pitch for n in group], max(n.end for n in group)) for start, group in onset_groups(notes)]


def check_power_chords(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: exactly ``power_chord`` of the lowest note, all released together."""
    return share(sorted(n.pitch for n in group) == list(power_chord(group[0].pitch))
                 and len({n.end for n in group}) == 1 for _, group in onset_groups(clean(notes)))


def check_tonic(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: the lowest note 0 to ``MAX_DEGREE`` semitones above the tonic (the first onset's lowest note, in
    ``TONIC_RANGE``); the last onset on the tonic itself."""
    chords = _chords(clean(notes))
    if not chords:
        return 0, 0
    tonic = chords[0][1][0]
    ok = TONIC_RANGE[0] <= tonic <= TONIC_RANGE[1]
    flags = [ok and 0 <= pitches[0] - tonic <= MAX_DEGREE for _, pitches, _ in chords]
    flags[-1] = flags[-1] and chords[-1][1][0] == tonic
    return share(flags)


def check_mode(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: the lowest note in the piece's mode on the tonic (one of ``SCALES``, whichever fits more)."""
    chords = _chords(clean(notes))
    if not chords:
        return 0, 0
    tonic = chords[0][1][0]
    degrees = [(pitches[0] - tonic) % 12 for _, pitches, _ in chords]
    return max(sum(d in MODES[mode] for d in degrees) for mode in SCALES), len(degrees)


def check_cells(notes: Sequence[Note]) -> tuple[int, int]:
    """Beats: the onsets in each form one riff cell (``CELLS``), or one chord sustained to a bar line, or the beat
    lies under such a sustained chord."""
    chords = _chords(clean(notes))
    if not chords:
        return 0, 0
    by_beat: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, _, end in chords:
        by_beat[start // STEPS_PER_BEAT].append((start % STEPS_PER_BEAT, end - start))
    n_beats = -(-max(end for _, _, end in chords) // STEPS_PER_BEAT)
    flags = []
    for beat in range(n_beats):
        cell = tuple(by_beat.get(beat, ()))
        if cell in _CELLS:
            flags.append(True)
        elif len(cell) == 1 and cell[0][0] == 0 and cell[0][1] > MAX_CHUG:
            flags.append((beat * STEPS_PER_BEAT + cell[0][1]) % STEPS_PER_BAR == 0)
        else:
            t0 = beat * STEPS_PER_BEAT
            flags.append(not cell and any(s < t0 and e >= t0 + STEPS_PER_BEAT and e - s > MAX_CHUG
                                          for s, _, e in chords))
    return share(flags)


def check_sustains(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: chords longer than a chug only end a phrase - at most one per odd-numbered bar (0-based; phrases are
    2 or 4 bars), from a step of ``PHRASE_END_CUTS`` to the bar line - and the last bar holds exactly one, from a
    step of ``LAST_BAR_CUTS`` to the bar line."""
    chords = _chords(clean(notes))
    if not chords:
        return 0, 0
    last = chords[-1][0] // STEPS_PER_BAR
    long_by_bar: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, _, end in chords:
        if end - start > MAX_CHUG:
            long_by_bar[start // STEPS_PER_BAR].append((start % STEPS_PER_BAR,
                                                        end - (start // STEPS_PER_BAR) * STEPS_PER_BAR))
    flags = []
    for bar in range(last + 1):
        held = long_by_bar.get(bar, [])
        if bar == last:
            flags.append(len(held) == 1 and held[0][0] in LAST_BAR_CUTS and held[0][1] == STEPS_PER_BAR)
        elif bar % 2 == 1:
            flags.append(len(held) <= 1 and all(s in PHRASE_END_CUTS and e == STEPS_PER_BAR for s, e in held))
        else:
            flags.append(not held)
    return share(flags)


RULES = [
    Rule("power_chords", "metal", WITHIN_BAR,
         "every sound is a power chord: root, fifth and octave struck and released together", check_power_chords),
    Rule("tonic_pedal", "metal", ABOVE_BAR,
         f"the piece opens and ends on the tonic chord, rooted on E2-B2 ({TONIC_RANGE[0]}-{TONIC_RANGE[1]}), and "
         f"every root lies 0-{MAX_DEGREE} semitones above it", check_tonic, bars=WHOLE_PIECE),
    Rule("minor_or_phrygian", "metal", WITHIN_BAR,
         "every root is in one mode on the tonic: natural minor or phrygian", check_mode),
    Rule("riff_cells", "metal", WITHIN_BAR,
         "each beat is a riff cell (16th or 8th chugs, gallop, reverse gallop, off-beat chugs, accents) or part of a "
         "chord sustained to the bar line", check_cells),
    Rule("phrase_end_sustains", "metal", ABOVE_BAR,
         "chords longer than an 8th only end a phrase: in an even bar (1-based) from beat 3 or 4, and in the last "
         "bar from beat 1 or 3, to the bar line", check_sustains, bars=2),
]
