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

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.synth.rules import ABOVE_BAR, WITHIN_BAR, Rule, clean, n_bars, share
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
LAST_BEAT = 12  # step of beat 4, where fills play
PHRASE_BARS = 4
LONG_HIT = 2  # snares, claps, crashes and open hats last an 8th; every other hit a 16th
HAT_FEELS = ("8ths", "16ths")
HAT_FEEL_WEIGHTS = (0.65, 0.35)

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


def hat_grid(hats: str, swing: bool) -> list[int]:
    """The steps of a bar the hats may play: 8ths (swung or straight) or every 16th."""
    if hats == "16ths":
        return list(range(STEPS_PER_BAR))
    return [swing_step(s) if swing else s for s in range(0, STEPS_PER_BAR, 2)]


def compose(rng: np.random.Generator, bars: int, with_bass: bool = False) -> Composition:
    """A hip-hop beat of ``bars`` bars.

    ``info``: ``swing``, ``hats`` ("8ths"/"16ths"), ``kick_pattern``, ``clap``, ``fill_bars``; with a bass also
    ``tonic`` (pitch class, natural minor) and ``bar_numerals``. Parts: ``drums`` (and ``bass``).
    """
    bars = check_bars(bars)
    swing = bool(rng.random() < SWING_PROB)
    hats = choose(rng, HAT_FEELS, HAT_FEEL_WEIGHTS)
    kick_pattern = choose(rng, KICK_PATTERNS)
    clap = bool(rng.random() < 0.3)

    def groove(step: int) -> int:
        return swing_step(step) if swing else step

    hat_steps = hat_grid(hats, swing)
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
            kicks = [s for s in kicks if s < LAST_BEAT]
            fill_name = choose(rng, tuple(FILLS))
            drums.extend(_hit(p, t0 + s) for p, s in FILLS[fill_name])
            fill_bars.append(bar)
        drums.extend(_hit(KICK, t0 + s) for s in kicks)
        kicks_by_bar.append(kicks)
        drums.extend(_hit(SNARE, t0 + s, LONG_HIT) for s in BACKBEAT)
        if clap:
            drums.extend(_hit(CLAP, t0 + s, LONG_HIT) for s in BACKBEAT)
        if rng.random() < GHOST_SNARE_PROB and not fill:
            drums.append(_hit(SNARE, t0 + choose(rng, GHOST_SNARE_STEPS)))
        if crash_next:
            drums.append(_hit(CRASH, t0, LONG_HIT))
        crash_next = fill
        open_hat = not fill and rng.random() < OPEN_HAT_PROB
        for s in hat_steps:
            if (fill and s >= LAST_BEAT) or (s != 0 and rng.random() < HAT_SKIP_PROB):
                continue
            if open_hat and s == hat_steps[-1]:
                drums.append(_hit(OPEN_HAT, t0 + s, LONG_HIT))
            else:
                drums.append(_hit(CLOSED_HAT, t0 + s))
        if fill and hats == "8ths":
            drums.append(_hit(PEDAL_HAT, t0 + LAST_BEAT))
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


# --- the rules every piece obeys ------------------------------------------------------------------------------

_PLAYED = KIT - {RIM}  # the rim shot is in the kit but never played
_TOMS = frozenset({LOW_TOM, MID_TOM, HIGH_TOM})
_BACKBEAT = frozenset(BACKBEAT)
_FILL_STEPS = frozenset(s for fill in FILLS.values() for _, s in fill)
_ROLL_STEPS = frozenset(s for fill in FILLS.values() for p, s in fill if p == SNARE) - set(GHOST_SNARE_STEPS)
_SNARE_STEPS = _BACKBEAT | set(GHOST_SNARE_STEPS) | {s for fill in FILLS.values() for p, s in fill if p == SNARE}
_KICK_STEPS = frozenset({g for s in {*(s for pattern in KICK_PATTERNS for s in pattern), *GHOST_KICK_STEPS}
                         for g in (s, swing_step(s))} | {s for fill in FILLS.values() for p, s in fill if p == KICK})
_HAT_GRIDS = tuple(dict.fromkeys(tuple(hat_grid(hats, swing)) for hats in HAT_FEELS for swing in (False, True)))


def _bars(notes: Sequence[Note]) -> list[dict[int, set[int]]]:
    """Per bar, the steps in the bar where each key is struck."""
    notes = clean(notes)
    bars: list[dict[int, set[int]]] = [defaultdict(set) for _ in range(n_bars(notes))]
    for n in notes:
        bars[n.start // STEPS_PER_BAR][n.pitch].add(n.start % STEPS_PER_BAR)
    return bars


def check_kit(notes: Sequence[Note]) -> tuple[int, int]:
    """Notes: a key of the kit the generator plays, at most ``LONG_HIT`` steps long."""
    return share(n.pitch in _PLAYED and n.end - n.start <= LONG_HIT for n in clean(notes))


def check_backbeat(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: snare on ``BACKBEAT``, other snares only as ghost notes (``GHOST_SNARE_STEPS``) or a beat-4 fill;
    claps only with the backbeat."""
    return share(_BACKBEAT <= bar[SNARE] <= _SNARE_STEPS and bar[CLAP] <= _BACKBEAT for bar in _bars(notes))


def check_kick(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: a kick on the downbeat, only on steps some kick pattern, ghost kick or fill plays (never on the
    backbeat, nor on steps 1, 5)."""
    return share(0 in bar[KICK] and bar[KICK] <= _KICK_STEPS for bar in _bars(notes))


def check_hats(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: hats on the downbeat and on one ``hat_grid`` for the whole piece (straight 8ths, swung 8ths or 16ths),
    the open hat only on the grid's last slot, the pedal hat only on beat 4."""
    bars = _bars(notes)

    def fits(bar: dict[int, set[int]], grid: tuple[int, ...]) -> bool:
        hats = bar[CLOSED_HAT] | bar[OPEN_HAT]
        return 0 in hats and hats <= set(grid) and bar[OPEN_HAT] <= {grid[-1]} and bar[PEDAL_HAT] <= {LAST_BEAT}

    if not bars:
        return 0, 0
    return max(share(fits(bar, grid) for bar in bars) for grid in _HAT_GRIDS)


def check_fills(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: toms and snare rolls only in beat 4 of a phrase's last bar (or the piece's); a crash on the first
    downbeat, after every such fill, and otherwise only on a phrase's first downbeat after a bar without hats in
    beat 4."""
    bars = _bars(notes)
    flags = []
    for b, bar in enumerate(bars):
        toms = set().union(*(bar[t] for t in _TOMS))
        roll = bool(bar[SNARE] & _ROLL_STEPS)
        phrase_end = b % PHRASE_BARS == PHRASE_BARS - 1 or b == len(bars) - 1
        ok = toms <= _FILL_STEPS and (phrase_end or not (toms or roll)) and bar[CRASH] <= {0}
        crash = 0 in bar[CRASH]
        if b == 0:
            ok = ok and crash
        else:
            prev = bars[b - 1]
            prev_fill = bool(set().union(*(prev[t] for t in _TOMS)) or prev[SNARE] & _ROLL_STEPS)
            prev_hats_late = any(s >= LAST_BEAT for s in prev[CLOSED_HAT] | prev[OPEN_HAT])
            ok = ok and (not prev_fill or crash) and (not crash or (b % PHRASE_BARS == 0 and not prev_hats_late))
        flags.append(ok)
    return share(flags)


RULES = [
    Rule("drum_kit", "rap", WITHIN_BAR,
         "only kit keys - kick 36, snare 38, clap 39, hats 42/44/46, toms 45/47/50, crash 49 - each hit 1-2 steps "
         "long", check_kit),
    Rule("backbeat", "rap", WITHIN_BAR,
         "snare on beats 2 and 4 of every bar, never on 1 or 3 (other snares: ghost notes and beat-4 fills only)",
         check_backbeat),
    Rule("kick_downbeat", "rap", WITHIN_BAR, "a kick on every downbeat and never on the backbeat", check_kick),
    Rule("hat_grid", "rap", WITHIN_BAR,
         "hats keep one grid for the whole piece - straight 8ths, swung 8ths or 16ths (which admits any 16th) - from "
         "each downbeat, the open hat on its last slot", check_hats),
    Rule("phrase_fills", "rap", ABOVE_BAR,
         f"fills come only at the end of a {PHRASE_BARS}-bar phrase (or the piece) and a crash marks the first "
         "downbeat and the one after each fill", check_fills, bars=PHRASE_BARS + 1),
]
