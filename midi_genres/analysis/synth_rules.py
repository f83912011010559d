"""What a perfect model of each synthetic genre must have learned: checkable rules, and how often notes obey them.

The five synthetic genres come from known programs (``midi_genres.synth``), so "what did the model learn" has an
exact answer for them. Each ``Rule`` states one property that *every* piece of its generator has, and its
``check(notes) -> (obeyed, units)`` counts the units (rows, chords, bars, beats, notes...) of a note list that obey
it, so a partly right sample gets partial credit; the generator's own pieces obey every unit of every rule.
Notes are ``Note(pitch, start, end)`` in 16th-note steps, 16 steps a 4/4 bar; any note list is accepted (it is
made canonical first) and an empty or degenerate one simply has fewer (or zero) units.

The genre constants below restate the generators' (``tests/test_synth_rules.py`` checks they agree), so this
module depends on nothing but the notes and the shared music theory.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from midi_genres.core.notes import Note, normalize
from midi_genres.core.tables import cell, number, read_table, write_table
from midi_genres.present.plots import Heatmap, render_heatmaps
from midi_genres.sources.synth.theory import (
    MODES,
    STEPS_PER_BAR,
    STEPS_PER_BEAT,
    identify_triad,
    numeral_triad,
    triad_pcs,
)
from midi_genres.tokens import make_tokenizer
from midi_genres.tokens.streams import decode_pieces

__all__ = ["RULES", "RULE_COLUMNS", "Rule", "check_piece", "rule_table"]

BAR = STEPS_PER_BAR
BEAT = STEPS_PER_BEAT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """One property every piece of ``genre``'s generator has; ``check(notes) -> (obeyed units, units)``."""

    name: str
    genre: str
    statement: str
    check: Callable[[Sequence[Note]], tuple[int, int]]


# --- shared helpers ---------------------------------------------------------------------------------------

def _clean(notes: Iterable[Sequence[int]]) -> list[Note]:
    """The canonical form of any iterable of (pitch, start, end) triples."""
    return normalize(Note(int(n[0]), int(n[1]), int(n[2])) for n in notes)


def _onsets(notes: Sequence[Note]) -> list[tuple[int, list[Note]]]:
    """``(start, notes starting there)`` in time order (notes of a canonical list come sorted by pitch)."""
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        groups[n.start].append(n)
    return sorted(groups.items())


def _n_bars(notes: Sequence[Note]) -> int:
    """Bars up to the one holding the last onset (0 for no notes)."""
    return max(n.start for n in notes) // BAR + 1 if notes else 0


def _by_bar(notes: Iterable[Note]) -> dict[int, list[Note]]:
    bars: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        bars[n.start // BAR].append(n)
    return bars


def _share(flags: Iterable[bool]) -> tuple[int, int]:
    flags = list(flags)
    return sum(flags), len(flags)


def _major_key(notes: Sequence[Note], prefer: int | None = None) -> int:
    """Tonic of the major key holding the most notes (``prefer`` wins a tie, then the lowest tonic)."""
    counts = Counter(n.pitch % 12 for n in notes)
    scores = [sum(counts[(t + off) % 12] for off in MODES["major"]) for t in range(12)]
    best = [t for t in range(12) if scores[t] == max(scores)]
    return prefer if prefer in best else best[0]


def _triad(pcs: Iterable[int]) -> tuple[int, int, int] | None:
    """(root, third, fifth) of a major or minor triad with exactly these pitch classes, else None."""
    found = identify_triad(pcs)
    if found is None or found[1] == "diminished":
        return None
    return triad_pcs(*found)


def _close_triad(pitches: Sequence[int]) -> tuple[int, int, int] | None:
    """The triad of three distinct pitches within an octave (a close voicing), else None."""
    pitches = sorted(set(pitches))
    if len(pitches) != 3 or pitches[-1] - pitches[0] >= 12:
        return None
    return _triad(pitches)


# --- atonal: twelve-tone rows -----------------------------------------------------------------------------

ATONAL_REGISTER = (48, 84)
ATONAL_MAX_REST = 4
_MAX_PRIME_CANDIDATES = 256


def _atonal_rows(notes: Sequence[Note]) -> list[tuple[list[int], list[tuple[int, int]]] | None]:
    """Greedy row segmentation in (onset, pitch) order: a row closes at 12 distinct pitch classes (``(pcs, onset
    blocks as (i, j) slices)``) or at a repeated one (``None``, and a new row starts there); an unfinished last
    row is left out."""
    rows: list[tuple[list[int], list[tuple[int, int]]] | None] = []
    pcs: list[int] = []
    blocks: list[tuple[int, int]] = []
    for _, group in _onsets(notes):
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


def atonal_rows(notes: Sequence[Note]) -> tuple[int, int]:
    """Rows: complete statements (12 distinct pitch classes) among completed or broken rows."""
    rows = _atonal_rows(_clean(notes))
    return _share(row is not None for row in rows)


def _prime_candidates(pcs: Sequence[int], blocks: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Orders of a row whose simultaneous notes (blocks) may have sounded in any order."""
    options = [list(itertools.islice(itertools.permutations(pcs[i:j]), _MAX_PRIME_CANDIDATES)) for i, j in blocks]
    return [tuple(pc for part in choice for pc in part)
            for choice in itertools.islice(itertools.product(*options), _MAX_PRIME_CANDIDATES)]


def atonal_forms(notes: Sequence[Note]) -> tuple[int, int]:
    """Complete rows after the first: a transposed P, I, R or RI of the first complete row."""
    rows = [row for row in _atonal_rows(_clean(notes)) if row is not None]
    if len(rows) < 2:
        return 0, 0
    bases = []
    for prime in _prime_candidates(*rows[0]):
        inverse = tuple(-pc % 12 for pc in prime)
        bases += [prime, inverse, prime[::-1], inverse[::-1]]

    def is_form(pcs: list[int], blocks: list[tuple[int, int]]) -> bool:
        for base in bases:
            for t in {(pc - base[0]) % 12 for pc in pcs[blocks[0][0]:blocks[0][1]]}:
                if all({(pc + t) % 12 for pc in base[i:j]} == set(pcs[i:j]) for i, j in blocks):
                    return True
        return False

    return _share(is_form(*row) for row in rows[1:])


def atonal_register(notes: Sequence[Note]) -> tuple[int, int]:
    """Notes inside the register."""
    low, high = ATONAL_REGISTER
    return _share(low <= n.pitch <= high for n in _clean(notes))


def atonal_texture(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: one note or a dyad, starting and ending together and released by the next onset."""
    groups = _onsets(_clean(notes))
    nexts = [start for start, _ in groups[1:]] + [None]
    return _share(len(group) <= 2 and len({n.end for n in group}) == 1 and (nxt is None or group[0].end <= nxt)
                  for (_, group), nxt in zip(groups, nexts))


def atonal_rests(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: the silence before each (from the previous sound, or from step 0) is at most ``ATONAL_MAX_REST``."""
    sounding_until = 0
    flags = []
    for start, group in _onsets(_clean(notes)):
        flags.append(start - sounding_until <= ATONAL_MAX_REST)
        sounding_until = max(sounding_until, *(n.end for n in group))
    return _share(flags)


# --- metal: power-chord riffs -----------------------------------------------------------------------------

METAL_TONIC_RANGE = (40, 47)
METAL_MAX_DEGREE = 10
METAL_MODES = ("natural_minor", "phrygian")
METAL_MAX_CHUG = 2
METAL_CELLS = frozenset({
    ((0, 1), (1, 1), (2, 1), (3, 1)),  # 16th chugs
    ((0, 1), (2, 1)),  # 8th chugs
    ((0, 2), (2, 1), (3, 1)),  # gallop
    ((0, 1), (1, 1), (2, 2)),  # reverse gallop
    ((2, 1), (3, 1)),  # off-beat chugs
    ((0, 2),),  # accent
    ((0, 2), (2, 2)),  # accent pair
})


def _chords(notes: Sequence[Note]) -> list[tuple[int, list[int], int]]:
    """``(start, pitches, end of the longest)`` of each onset."""
    return [(start, [n.pitch for n in group], max(n.end for n in group)) for start, group in _onsets(notes)]


def metal_power_chords(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: exactly root, fifth and octave, all released together."""
    return _share(sorted(n.pitch for n in group) == [group[0].pitch, group[0].pitch + 7, group[0].pitch + 12]
                  and len({n.end for n in group}) == 1 for _, group in _onsets(_clean(notes)))


def metal_tonic(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: the lowest note 0-10 semitones above the tonic (the first onset's lowest note, on E2-B2); the
    last onset on the tonic itself."""
    chords = _chords(_clean(notes))
    if not chords:
        return 0, 0
    tonic = chords[0][1][0]
    ok = METAL_TONIC_RANGE[0] <= tonic <= METAL_TONIC_RANGE[1]
    flags = [ok and 0 <= pitches[0] - tonic <= METAL_MAX_DEGREE for _, pitches, _ in chords]
    flags[-1] = flags[-1] and chords[-1][1][0] == tonic
    return _share(flags)


def metal_mode(notes: Sequence[Note]) -> tuple[int, int]:
    """Onsets: the lowest note in the piece's mode on the tonic (natural minor or phrygian, whichever fits more)."""
    chords = _chords(_clean(notes))
    if not chords:
        return 0, 0
    tonic = chords[0][1][0]
    degrees = [(pitches[0] - tonic) % 12 for _, pitches, _ in chords]
    return max(sum(d in MODES[mode] for d in degrees) for mode in METAL_MODES), len(degrees)


def metal_cells(notes: Sequence[Note]) -> tuple[int, int]:
    """Beats: the onsets in each form one riff cell, or one chord sustained to a bar line, or the beat lies
    under such a sustained chord."""
    chords = _chords(_clean(notes))
    if not chords:
        return 0, 0
    by_beat: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, _, end in chords:
        by_beat[start // BEAT].append((start % BEAT, end - start))
    n_beats = -(-max(end for _, _, end in chords) // BEAT)
    flags = []
    for beat in range(n_beats):
        cell = tuple(by_beat.get(beat, ()))
        if cell in METAL_CELLS:
            flags.append(True)
        elif len(cell) == 1 and cell[0][0] == 0 and cell[0][1] > METAL_MAX_CHUG:
            flags.append((beat * BEAT + cell[0][1]) % BAR == 0)
        else:
            t0 = beat * BEAT
            flags.append(not cell and any(s < t0 and e >= t0 + BEAT and e - s > METAL_MAX_CHUG
                                          for s, _, e in chords))
    return _share(flags)


def metal_sustains(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: chords longer than a chug only end a phrase - at most one per odd-numbered bar (0-based), from step
    8 or 12 to the bar line - and the last bar holds exactly one, from step 0 or 8 to the bar line."""
    chords = _chords(_clean(notes))
    if not chords:
        return 0, 0
    last = chords[-1][0] // BAR
    long_by_bar: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, _, end in chords:
        if end - start > METAL_MAX_CHUG:
            long_by_bar[start // BAR].append((start % BAR, end - (start // BAR) * BAR))
    flags = []
    for bar in range(last + 1):
        held = long_by_bar.get(bar, [])
        if bar == last:
            flags.append(len(held) == 1 and held[0][0] in (0, 8) and held[0][1] == BAR)
        elif bar % 2 == 1:
            flags.append(len(held) <= 1 and all(s in (8, 12) and e == BAR for s, e in held))
        else:
            flags.append(not held)
    return _share(flags)


# --- rock and pop: triads, bass and melody in a major key -------------------------------------------------

ROCK_BASS_TOP, ROCK_MELODY_LOW = 54, 72  # bass 36-54, chords 55-71, melody 72-86
ROCK_BASS_REGISTER = (36, 54)
ROCK_MELODY_REGISTER = (72, 86)
ROCK_NUMERALS = ("I", "IV", "V", "vi")
ROCK_STAB_PATTERNS = frozenset({
    ((0, 2), (4, 2), (8, 2), (12, 2)),
    ((0, 4), (4, 2), (12, 2)),
    ((0, 3), (4, 2), (10, 2), (12, 2)),
    ((0, 1), (2, 1), (4, 2), (8, 1), (10, 1), (12, 2)),
})
ROCK_FIFTH_STEPS = (8, 12)  # the bass plays the chord's fifth only here
ROCK_MOTIF_BARS = 2
ROCK_MIN_OFFBEAT_ONSETS = 3
ROCK_MAX_MELODY_NOTE = 4

POP_BASS_TOP, POP_MELODY_LOW = 52, 72  # bass 36-52, chords 53-71, melody 72-88
POP_BASS_REGISTER = (36, 52)
POP_MELODY_REGISTER = (72, 88)
POP_PROGRESSION = ("I", "V", "vi", "IV")
POP_BASS_RHYTHM = ((0, 6), (6, 2), (8, 8))
POP_ARPEGGIOS = frozenset({(0, 1, 2, 1, 0, 1, 2, 1), (0, 2, 1, 2, 0, 2, 1, 2), (0, 1, 2, 0, 1, 2, 0, 1)})
EIGHTH = 2


def _split(notes: Sequence[Note], bass_top: int, melody_low: int) -> tuple[list[Note], list[Note], list[Note]]:
    """(bass, chords, melody) by register."""
    return ([n for n in notes if n.pitch <= bass_top], [n for n in notes if bass_top < n.pitch < melody_low],
            [n for n in notes if n.pitch >= melody_low])


def _rock(notes: Sequence[Note]):
    """Parts, bar count, each bar's chord (its stabs all one close triad, else None) and the key."""
    notes = _clean(notes)
    bass, chords, melody = _split(notes, ROCK_BASS_TOP, ROCK_MELODY_LOW)
    n_bars = _n_bars(notes)
    stabs = _by_bar(chords)
    bar_chords: list[tuple[int, int, int] | None] = []
    for bar in range(n_bars):
        voicings = {tuple(n.pitch for n in group) for _, group in _onsets(stabs.get(bar, []))}
        bar_chords.append(_close_triad(voicings.pop()) if len(voicings) == 1 else None)
    first = bar_chords[0][0] if bar_chords and bar_chords[0] else None
    return bass, chords, melody, n_bars, bar_chords, _major_key(notes, first)


def rock_progression(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: one close triad in every stab, one of I, IV, V, vi of the key; bar 0 is I and every later bar
    repeats the chord four bars earlier."""
    *_, n_bars, bar_chords, key = _rock(notes)
    allowed = {numeral_triad(key, numeral) for numeral in ROCK_NUMERALS}
    return _share(chord is not None and chord in allowed
                  and (chord == numeral_triad(key, "I") if bar == 0 else bar < 4 or chord == bar_chords[bar - 4])
                  for bar, chord in enumerate(bar_chords))


def rock_backbeat(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the chord stabs follow one of the stab rhythms (all hit beats 1, 2 and 4), the same in every bar."""
    _, chords, _, n_bars, _, _ = _rock(notes)
    stabs = _by_bar(chords)
    rhythms = [tuple((start - bar * BAR, max(n.end for n in group) - start) for start, group in
                     _onsets(stabs.get(bar, []))) for bar in range(n_bars)]
    if not rhythms:
        return 0, 0
    usual = Counter(rhythms).most_common(1)[0][0]
    return _share(r == usual and r in ROCK_STAB_PATTERNS for r in rhythms)


def rock_bass(notes: Sequence[Note]) -> tuple[int, int]:
    """Bass notes: in the bass register, the root of the bar's chord (its fifth only on steps 8 and 12)."""
    bass, _, _, _, bar_chords, _ = _rock(notes)
    flags = []
    for n in bass:
        chord = bar_chords[n.start // BAR]
        flags.append(ROCK_BASS_REGISTER[0] <= n.pitch <= ROCK_BASS_REGISTER[1] and chord is not None
                     and (n.pitch % 12 == chord[0] or (n.pitch % 12 == chord[2] and n.start % BAR in ROCK_FIFTH_STEPS)))
    return _share(flags)


def _melody_ok(n: Note, key: int, chord: tuple[int, int, int] | None, register: tuple[int, int]) -> bool:
    """In the register and the major scale of ``key``; on beats 1 and 3 a tone of the bar's chord."""
    in_scale = (n.pitch - key) % 12 in MODES["major"]
    strong_ok = n.start % 8 != 0 or (chord is not None and n.pitch % 12 in chord)
    return register[0] <= n.pitch <= register[1] and in_scale and strong_ok


def rock_melody(notes: Sequence[Note]) -> tuple[int, int]:
    """Melody notes: in the register and the key's major scale, chord tones on beats 1 and 3."""
    _, _, melody, _, bar_chords, key = _rock(notes)
    return _share(_melody_ok(n, key, bar_chords[n.start // BAR], ROCK_MELODY_REGISTER) for n in melody)


def rock_motif(notes: Sequence[Note]) -> tuple[int, int]:
    """Two-bar spans: the melody rhythm of the first span repeated (with at least 3 off-beat onsets in a whole
    span), each note held to the next onset but at most a beat."""
    _, _, melody, n_bars, _, _ = _rock(notes)
    if not n_bars:
        return 0, 0
    span, total = ROCK_MOTIF_BARS * BAR, n_bars * BAR
    onsets = [n.start for n in melody]
    nexts = onsets[1:] + [total]
    legato = {n.start for n, nxt in zip(melody, nexts) if n.end - n.start != max(1, min(ROCK_MAX_MELODY_NOTE,
                                                                                         nxt - n.start))}
    by_span: dict[int, list[int]] = defaultdict(list)
    for start in onsets:
        by_span[start // span].append(start % span)
    motif = by_span.get(0, [])
    flags = []
    for k in range(-(-n_bars // ROCK_MOTIF_BARS)):
        length = min(span, total - k * span)
        rhythm = by_span.get(k, [])
        ok = rhythm == [s for s in motif if s < length] and not any(k * span <= s < (k + 1) * span for s in legato)
        if length == span:
            ok = ok and sum(s % BEAT != 0 for s in rhythm) >= ROCK_MIN_OFFBEAT_ONSETS
        flags.append(ok)
    return _share(flags)


def _pop(notes: Sequence[Note]):
    """Parts, bar count, each bar's sounding triad (or None), the key and the bars per chord (1 or 2)."""
    notes = _clean(notes)
    bass, chords, melody = _split(notes, POP_BASS_TOP, POP_MELODY_LOW)
    n_bars = _n_bars(notes)
    sounding: dict[int, set[int]] = defaultdict(set)
    for n in chords:
        for bar in range(n.start // BAR, min(n_bars, (n.end - 1) // BAR + 1)):
            sounding[bar].add(n.pitch % 12)
    bar_chords = [_triad(sounding[bar]) for bar in range(n_bars)]
    first = bar_chords[0][0] if bar_chords and bar_chords[0] else None
    key = _major_key(notes, first)
    fits = {bpc: sum(chord == _pop_expected(key, bar, bpc) for bar, chord in enumerate(bar_chords))
            for bpc in (1, 2)}
    bars_per_chord = 2 if fits[2] > fits[1] else 1
    return bass, chords, melody, n_bars, bar_chords, key, bars_per_chord


def _pop_expected(key: int, bar: int, bars_per_chord: int) -> tuple[int, int, int]:
    return numeral_triad(key, POP_PROGRESSION[(bar // bars_per_chord) % len(POP_PROGRESSION)])


def pop_progression(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the chord sounding is I-V-vi-IV of the key in turn, from bar 0, one chord a bar or every two bars."""
    *_, bar_chords, key, bpc = _pop(notes)
    return _share(chord == _pop_expected(key, bar, bpc) for bar, chord in enumerate(bar_chords))


def _accompaniment(chords: Sequence[Note], bar: int) -> str | None:
    """``"sustained"``, an arpeggio figure, or None for anything else in one bar of the chord register."""
    t0, t1 = bar * BAR, (bar + 1) * BAR
    inside = [n for n in chords if n.start < t1 and n.end > t0]
    pitches = sorted({n.pitch for n in inside})
    if len(pitches) != 3 or _close_triad(pitches) is None:
        return None
    if len(inside) == 3 and all(n.start <= t0 and n.end >= t1 for n in inside):
        return "sustained"
    figure = tuple(pitches.index(n.pitch) for n in inside)
    rhythm = [(n.start - t0, n.end - n.start) for n in inside]
    if figure in POP_ARPEGGIOS and rhythm == [(s, EIGHTH) for s in range(0, BAR, EIGHTH)]:
        return str(figure)
    return None


def pop_accompaniment(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the chord register is one close triad, held through the bar or arpeggiated in even 8ths in one of
    the figures, the same way in every bar."""
    _, chords, _, n_bars, *_ = _pop(notes)
    styles = [_accompaniment(chords, bar) for bar in range(n_bars)]
    if not styles:
        return 0, 0
    usual = Counter(styles).most_common(1)[0][0]
    return _share(style is not None and style == usual for style in styles)


def pop_bass(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the bass plays the chord's root in the bass register as dotted quarter, 8th push, half note."""
    bass, _, _, n_bars, bar_chords, _, _ = _pop(notes)
    by_bar = _by_bar(bass)
    flags = []
    for bar, chord in enumerate(bar_chords):
        played = by_bar.get(bar, [])
        pitches = {n.pitch for n in played}
        rhythm = tuple((n.start - bar * BAR, n.end - n.start) for n in played)
        flags.append(chord is not None and rhythm == POP_BASS_RHYTHM and len(pitches) == 1
                     and POP_BASS_REGISTER[0] <= played[0].pitch <= POP_BASS_REGISTER[1]
                     and played[0].pitch % 12 == chord[0])
    return _share(flags)


def pop_melody(notes: Sequence[Note]) -> tuple[int, int]:
    """Melody notes: even 8ths (2 steps from an even step) in the register and the key's major scale, chord tones
    on beats 1 and 3."""
    _, _, melody, _, bar_chords, key, _ = _pop(notes)
    return _share(n.end - n.start == EIGHTH and n.start % EIGHTH == 0
                  and _melody_ok(n, key, bar_chords[n.start // BAR], POP_MELODY_REGISTER) for n in melody)


def pop_chorus(notes: Sequence[Note]) -> tuple[int, int]:
    """Phrases after the first (4 chords: 4 or 8 bars): the melody of the first phrase (which opens on its
    downbeat) again, note for note."""
    _, _, melody, n_bars, _, _, bpc = _pop(notes)
    phrase = len(POP_PROGRESSION) * bpc * BAR
    total = n_bars * BAR
    by_phrase: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for n in melody:
        k = n.start // phrase
        by_phrase[k].append((n.pitch, n.start - k * phrase, n.end - k * phrase))
    first = by_phrase.get(0, [])
    opens = bool(first) and first[0][1] == 0  # every phrase starts with a melody note
    flags = []
    for k in range(1, -(-total // phrase)):
        length = total - k * phrase
        flags.append(opens and by_phrase.get(k, []) == [n for n in first if n[1] < length])
    return _share(flags)


# --- rap: a boom-bap drum loop on General MIDI keys ---------------------------------------------------------

KICK, SNARE, CLAP = 36, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50
CRASH = 49
RAP_KEYS = frozenset({KICK, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT, LOW_TOM, MID_TOM, HIGH_TOM, CRASH})
TOMS = frozenset({LOW_TOM, MID_TOM, HIGH_TOM})
RAP_MAX_HIT = 2
BACKBEAT = frozenset({4, 12})
SNARE_STEPS = frozenset({4, 7, 12, 13, 14, 15})  # backbeat, ghost notes and beat-4 fills
KICK_STEPS = frozenset({0, 2, 3, 6, 7, 8, 9, 10, 11, 13, 14, 15})  # never 1, 5 or the backbeat
FILL_STEPS = frozenset({13, 14, 15})
HAT_GRIDS = (tuple(range(0, BAR, 2)), (0, 3, 4, 7, 8, 11, 12, 15), tuple(range(BAR)))  # straight, swung 8ths, 16ths
PHRASE_BARS = 4


def _rap_bars(notes: Sequence[Note]) -> list[dict[int, set[int]]]:
    """Per bar, the steps in the bar where each key is struck."""
    notes = _clean(notes)
    bars: list[dict[int, set[int]]] = [defaultdict(set) for _ in range(_n_bars(notes))]
    for n in notes:
        bars[n.start // BAR][n.pitch].add(n.start % BAR)
    return bars


def rap_kit(notes: Sequence[Note]) -> tuple[int, int]:
    """Notes: a key of the kit, 1-2 steps long."""
    return _share(n.pitch in RAP_KEYS and n.end - n.start <= RAP_MAX_HIT for n in _clean(notes))


def rap_backbeat(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: snare on beats 2 and 4, other snares only as ghost notes (steps 7, 15) or a beat-4 fill; claps only
    with the backbeat."""
    return _share(BACKBEAT <= bar[SNARE] <= SNARE_STEPS and bar[CLAP] <= BACKBEAT for bar in _rap_bars(notes))


def rap_kick(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: a kick on the downbeat, never on the backbeat (nor on steps 1, 5)."""
    return _share(0 in bar[KICK] and bar[KICK] <= KICK_STEPS for bar in _rap_bars(notes))


def rap_hats(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: hats on the downbeat and on one grid for the whole piece (straight 8ths, swung 8ths or 16ths), the
    open hat only on the grid's last slot, the pedal hat only on beat 4."""
    bars = _rap_bars(notes)

    def fits(bar: dict[int, set[int]], grid: tuple[int, ...]) -> bool:
        hats = bar[CLOSED_HAT] | bar[OPEN_HAT]
        return (0 in hats and hats <= set(grid) and bar[OPEN_HAT] <= {grid[-1]} and bar[PEDAL_HAT] <= {12})

    if not bars:
        return 0, 0
    return max(_share(fits(bar, grid) for bar in bars) for grid in HAT_GRIDS)


def rap_fills(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: toms and snare rolls only in beat 4 of a phrase's 4th bar (or the last bar); a crash on the first
    downbeat, after every such fill, and otherwise only on a phrase's first downbeat after a bar without hats in
    beat 4."""
    bars = _rap_bars(notes)
    flags = []
    for b, bar in enumerate(bars):
        toms = set().union(*(bar[t] for t in TOMS))
        roll = bool(bar[SNARE] & {13, 14})
        phrase_end = b % PHRASE_BARS == PHRASE_BARS - 1 or b == len(bars) - 1
        ok = toms <= FILL_STEPS and (phrase_end or not (toms or roll)) and bar[CRASH] <= {0}
        crash = 0 in bar[CRASH]
        if b == 0:
            ok = ok and crash
        else:
            prev = bars[b - 1]
            prev_fill = bool(set().union(*(prev[t] for t in TOMS)) or prev[SNARE] & {13, 14})
            prev_hats_late = any(s >= 12 for s in prev[CLOSED_HAT] | prev[OPEN_HAT])
            ok = ok and (not prev_fill or crash) and (not crash or (b % PHRASE_BARS == 0 and not prev_hats_late))
        flags.append(ok)
    return _share(flags)


# --- the rules --------------------------------------------------------------------------------------------

RULES: dict[str, list[Rule]] = {
    "atonal": [
        Rule("twelve_tone_rows", "atonal", "the notes run through complete twelve-tone rows: 12 pitch classes, "
             "none repeated before all 12 have sounded", atonal_rows),
        Rule("row_forms", "atonal", "every row is the first row transposed, inverted, reversed or both (P, I, R, RI)",
             atonal_forms),
        Rule("register", "atonal", "every note lies in C3-C6 (MIDI 48-84)", atonal_register),
        Rule("single_notes_or_dyads", "atonal", "one note or a two-note dyad at a time, released together before "
             "the next onset", atonal_texture),
        Rule("short_rests", "atonal", "rests last at most a beat (4 steps); the piece starts on step 0",
             atonal_rests),
    ],
    "metal": [
        Rule("power_chords", "metal", "every sound is a power chord: root, fifth and octave struck and released "
             "together", metal_power_chords),
        Rule("tonic_pedal", "metal", "the piece opens and ends on the tonic chord, rooted on E2-B2 (40-47), and "
             "every root lies 0-10 semitones above it", metal_tonic),
        Rule("minor_or_phrygian", "metal", "every root is in one mode on the tonic: natural minor or phrygian",
             metal_mode),
        Rule("riff_cells", "metal", "each beat is a riff cell (16th or 8th chugs, gallop, reverse gallop, "
             "off-beat chugs, accents) or part of a chord sustained to the bar line", metal_cells),
        Rule("phrase_end_sustains", "metal", "chords longer than an 8th only end a phrase: in an even bar "
             "(1-based) from beat 3 or 4, and in the last bar from beat 1 or 3, to the bar line", metal_sustains),
    ],
    "rock": [
        Rule("progression", "rock", "each bar strikes one close triad, I, IV, V or vi of a major key, starting "
             "on I and repeating every four bars", rock_progression),
        Rule("backbeat_stabs", "rock", "chords are struck in one stab rhythm throughout that always hits beats "
             "1, 2 and 4 (the backbeat)", rock_backbeat),
        Rule("bass_roots", "rock", "the bass (36-54) plays the chord root, its fifth only on beats 3 or 4",
             rock_bass),
        Rule("melody_in_key", "rock", "the melody (72-86) stays in the major scale and lands on chord tones on "
             "beats 1 and 3", rock_melody),
        Rule("syncopated_motif", "rock", "the melody repeats one 2-bar rhythm with at least 3 off-beat onsets, "
             "each note held legato up to a beat", rock_motif),
    ],
    "pop": [
        Rule("four_chords", "pop", "the chords cycle I-V-vi-IV in a major key from bar 1, one chord per bar or "
             "per two bars", pop_progression),
        Rule("accompaniment", "pop", "the accompaniment is one close triad a bar, held or arpeggiated in even "
             "8ths, the same way throughout", pop_accompaniment),
        Rule("bass_rhythm", "pop", "the bass (36-52) plays the chord root in every bar as dotted quarter, 8th, "
             "half note", pop_bass),
        Rule("melody_eighths", "pop", "the melody (72-88) moves in even 8ths in the major scale, on chord tones on "
             "beats 1 and 3", pop_melody),
        Rule("chorus_repeat", "pop", "the melody of the first 4-chord phrase (opening on its downbeat) repeats "
             "note for note in every later phrase", pop_chorus),
    ],
    "rap": [
        Rule("drum_kit", "rap", "only kit keys - kick 36, snare 38, clap 39, hats 42/44/46, toms 45/47/50, "
             "crash 49 - each hit 1-2 steps long", rap_kit),
        Rule("backbeat", "rap", "snare on beats 2 and 4 of every bar, never on 1 or 3 (other snares: ghost notes "
             "and beat-4 fills only)", rap_backbeat),
        Rule("kick_downbeat", "rap", "a kick on every downbeat and never on the backbeat", rap_kick),
        Rule("hat_grid", "rap", "hats keep one grid for the whole piece - straight 8ths, swung 8ths or 16ths "
             "(which admits any 16th) - from each downbeat, the open hat on its last slot", rap_hats),
        Rule("phrase_fills", "rap", "fills come only at the end of a 4-bar phrase (or the piece) and a crash "
             "marks the first downbeat and the one after each fill", rap_fills),
    ],
}

RULE_COLUMNS = ["genre", "rule", "set", "pieces", "judged", "units", "obeyed", "share", "perfect", "statement"]


def check_piece(genre_generator: str, notes: Sequence[Note]) -> dict[str, tuple[int, int]]:
    """``{rule name: (obeyed units, units)}`` of one note list under the rules of ``genre_generator``."""
    return {rule.name: rule.check(notes) for rule in _rules(genre_generator)}


def _rules(genre_generator: str) -> list[Rule]:
    if genre_generator not in RULES:
        raise ValueError(f"no rules for {genre_generator!r}; genres with rules: {', '.join(RULES)}")
    return RULES[genre_generator]


def rule_table(genre_generator: str, pieces: Sequence[Sequence[Note]], set_name: str) -> list[dict]:
    """One row per rule of ``genre_generator`` over ``pieces`` (e.g. set ``corpus`` or ``samples``).

    ``units``/``obeyed`` are summed over the pieces and ``share`` = obeyed / units (None without units);
    ``judged`` counts the pieces with at least one unit and ``perfect`` the share of those obeying every unit.
    """
    rows = []
    for rule in _rules(genre_generator):
        results = [rule.check(notes) for notes in pieces]
        judged = [(ok, n) for ok, n in results if n]
        units = sum(n for _, n in judged)
        obeyed = sum(ok for ok, _ in judged)
        rows.append({"genre": genre_generator, "rule": rule.name, "set": set_name, "pieces": len(pieces),
                     "judged": len(judged), "units": units, "obeyed": obeyed,
                     "share": obeyed / units if units else None,
                     "perfect": sum(ok == n for ok, n in judged) / len(judged) if judged else None,
                     "statement": rule.statement})
    return rows


def synthetic_rules(*, genre: str, generator: str, train_path: str, samples_paths: Sequence[str],
                    table_path: str | os.PathLike, tokenizer: str = "event") -> list[dict]:
    """The synthetic_rules rule: how often a synthetic genre's training pieces (all of them: the generator's own,
    which obey every rule) and its model's samples (every seed's batch) obey the generator's rules."""
    tok = make_tokenizer(tokenizer)
    corpus = [notes for notes, _ in decode_pieces(np.load(train_path), tok)]
    samples = [notes for path in samples_paths for notes, _ in decode_pieces(np.load(path), tok)]
    rows = rule_table(generator, corpus, "corpus") + rule_table(generator, samples, "samples")
    rows = [{**r, "genre": genre, "share": cell(r["share"], 4), "perfect": cell(r["perfect"], 4)} for r in rows]
    for r in rows:
        log.info("%s %s %s: %s of %d units", genre, r["set"], r["rule"], r["share"], r["units"])
    write_table(rows, RULE_COLUMNS, table_path)
    return rows


def aggregate_rules(*, titles: dict, table_paths: Sequence[str], table_path: str | os.PathLike,
                    figure_path: str | os.PathLike) -> list[dict]:
    """The aggregate_rules rule: every synthetic genre's rule table in one, and a heatmap of the share of units
    obeyed by the generator's pieces and by the model's samples, rule by rule."""
    rows = [r for path in table_paths for r in read_table(path)]
    write_table(rows, RULE_COLUMNS, table_path)
    keys = list(dict.fromkeys((r["genre"], r["rule"]) for r in rows))
    share = {(r["genre"], r["rule"], r["set"]): number(r["share"]) for r in rows}
    values = [[share.get((g, rule, s), math.nan) for s in ("corpus", "samples")] for g, rule in keys]
    render_heatmaps([Heatmap(values, [f"{titles.get(g, g)}: {rule}" for g, rule in keys],
                             ["generator's pieces", "model's samples"], title="Share of units obeying the rule",
                             colorbar="share obeyed", cmap="RdYlGn", vmin=0.0, vmax=1.0)], figure_path,
                    title="What a perfect model must have learned: the synthetic generators' rules")
    return rows
