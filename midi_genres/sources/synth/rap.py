"""Rap / hip-hop: a boom-bap drum loop on General MIDI drum pitches.

Snare (38) on beats 2 and 4 of every bar, a kick (36) pattern chosen per piece that always hits the
downbeat, and closed hats (42) on 8ths or 16ths. Most pieces swing: on the 16th grid the off-beat 8th of
each beat is delayed to the last 16th (hats and kicks), the shuffled long-short feel of the genre. Bars
vary: ghost kicks, dropped kicks, ghost snares, an open hat (46) closing the bar, and on phrase ends
(every 4th bar) a snare roll or tom fill in beat 4, answered by a crash (49) on the next downbeat. Drum
notes are 1-2 steps long. ``with_bass=True`` adds an 808-style bass (28-48) on the kicks following a minor
progression; by default the piece is drums only, to be written as a drum track.
"""

from __future__ import annotations

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.synth.theory import (
    STEPS_PER_BAR,
    Composition,
    assemble,
    bar_numerals,
    bar_start,
    check_bars,
    choose,
    legato_durations,
    nearest_pitch,
    numeral_triad,
    swing_step,
)

KICK, RIM, SNARE, CLAP = 36, 37, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50
CRASH = 49
GM_DRUM_RANGE = (35, 81)  # the General MIDI percussion key map
KIT = frozenset({KICK, RIM, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT, LOW_TOM, MID_TOM, HIGH_TOM, CRASH})
BACKBEAT = (4, 12)
PHRASE_BARS = 4

# kick patterns on the straight 16th grid (swing moves the off-beat 8ths, e.g. 10 -> 11)
KICK_PATTERNS = ((0, 10), (0, 7, 10), (0, 3, 10), (0, 8, 10), (0, 6, 10), (0, 2, 7, 10), (0, 10, 14), (0, 7, 8))
GHOST_KICK_STEPS = (3, 6, 9, 11, 13, 14, 15)
GHOST_SNARE_STEPS = (7, 15)
FILLS: dict[str, tuple[tuple[int, int], ...]] = {  # (pitch, step) in the last beat; the snare on 12 stays
    "snare_roll": ((SNARE, 13), (SNARE, 14), (SNARE, 15)),
    "toms": ((HIGH_TOM, 13), (MID_TOM, 14), (LOW_TOM, 15)),
    "kick_snare": ((KICK, 14), (SNARE, 15)),
}
SWING_PROB = 0.7
FILL_PROB = 0.6
GHOST_KICK_PROB = 0.35
DROP_KICK_PROB = 0.15
GHOST_SNARE_PROB = 0.2
OPEN_HAT_PROB = 0.3
HAT_SKIP_PROB = 0.1

BASS_REGISTER = (28, 48)
BASS_FORMS = (("i", "i", "VI", "VII"), ("i", "iv", "i", "v"), ("i", "VI", "iv", "v"), ("i", "i", "i", "VII"))


def _hit(pitch: int, step: int, length: int = 1) -> Note:
    return Note(pitch, step, step + length)


def compose(rng: np.random.Generator, bars: int, with_bass: bool = False) -> Composition:
    """A hip-hop beat of ``bars`` bars.

    ``info``: ``swing``, ``hats`` ("8ths"/"16ths"), ``kick_pattern``, ``clap``, ``fill_bars``; with a bass also
    ``tonic`` (pitch class, natural minor) and ``bar_numerals``. Parts: ``drums`` (and ``bass``).
    """
    bars = check_bars(bars)
    swing = bool(rng.random() < SWING_PROB)
    hats = choose(rng, ("8ths", "16ths"), (0.65, 0.35))
    kick_pattern = choose(rng, KICK_PATTERNS)
    clap = bool(rng.random() < 0.3)

    def groove(step: int) -> int:
        return swing_step(step) if swing else step

    hat_steps = [groove(s) for s in range(0, STEPS_PER_BAR, 2)] if hats == "8ths" else list(range(STEPS_PER_BAR))
    drums: list[Note] = []
    kicks_by_bar: list[list[int]] = []
    fill_bars: list[int] = []
    crash_next = True
    for bar in range(bars):
        t0 = bar_start(bar)
        fill = (bar % PHRASE_BARS == PHRASE_BARS - 1 or bar == bars - 1) and rng.random() < FILL_PROB
        kicks = sorted({groove(s) for s in kick_pattern})
        if len(kicks) > 1 and rng.random() < DROP_KICK_PROB:
            kicks.pop(1 + int(rng.integers(len(kicks) - 1)))
        if rng.random() < GHOST_KICK_PROB:
            free = [s for s in {groove(g) for g in GHOST_KICK_STEPS} if s not in kicks]
            kicks = sorted(kicks + [choose(rng, sorted(free))])
        if fill:
            kicks = [s for s in kicks if s < 12]
            fill_name = choose(rng, tuple(FILLS))
            drums.extend(_hit(p, t0 + s) for p, s in FILLS[fill_name])
            fill_bars.append(bar)
        drums.extend(_hit(KICK, t0 + s) for s in kicks)
        kicks_by_bar.append(kicks)
        drums.extend(_hit(SNARE, t0 + s, 2) for s in BACKBEAT)
        if clap:
            drums.extend(_hit(CLAP, t0 + s, 2) for s in BACKBEAT)
        if rng.random() < GHOST_SNARE_PROB and not fill:
            drums.append(_hit(SNARE, t0 + choose(rng, GHOST_SNARE_STEPS)))
        if crash_next:
            drums.append(_hit(CRASH, t0, 2))
        crash_next = fill
        open_hat = not fill and rng.random() < OPEN_HAT_PROB
        for s in hat_steps:
            if (fill and s >= 12) or (s != 0 and rng.random() < HAT_SKIP_PROB):
                continue
            if open_hat and s == hat_steps[-1]:
                drums.append(_hit(OPEN_HAT, t0 + s, 2))
            else:
                drums.append(_hit(CLOSED_HAT, t0 + s))
        if fill and hats == "8ths":
            drums.append(_hit(PEDAL_HAT, t0 + 12))
    parts = {"drums": drums}
    info: dict[str, object] = {"swing": swing, "hats": hats, "kick_pattern": kick_pattern, "clap": clap,
                               "fill_bars": fill_bars}
    if with_bass:
        tonic = int(rng.integers(12))
        numerals = bar_numerals(choose(rng, BASS_FORMS), bars)
        onsets = [bar_start(b) + s for b, ks in enumerate(kicks_by_bar) for s in ks]
        durations = legato_durations(onsets, bars * STEPS_PER_BAR, 6)
        bass, pitch = [], BASS_REGISTER[0] + 8
        for on, dur in zip(onsets, durations):
            pitch = nearest_pitch(numeral_triad(tonic, numerals[on // STEPS_PER_BAR], "natural_minor")[0], pitch,
                                  *BASS_REGISTER)
            bass.append(Note(pitch, on, on + dur))
        parts["bass"] = bass
        info.update(tonic=tonic, bar_numerals=numerals)
    return assemble(parts, length=bars * STEPS_PER_BAR, **info)


def generate_piece(rng: np.random.Generator, bars: int, with_bass: bool = False) -> list[Note]:
    """A canonical note list of a hip-hop beat (see ``compose``); drums only unless ``with_bass``."""
    return compose(rng, bars, with_bass=with_bass).notes
