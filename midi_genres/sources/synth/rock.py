"""Rock: three-chord (I-IV-V) or four-chord (I-V-vi-IV) songs in a major key, with a backbeat.

One chord per bar, cycling through a 4-bar form of the piece's progression. Chords are close-voiced triads
around middle C (55-71), moved by smooth voice-leading and struck in a stab pattern that always hits
beats 2 and 4 (the backbeat). A bass (36-54) drives the chord roots in 8ths or quarters, and a melody
above the chords (72-86) uses the major scale with a syncopated 2-bar rhythm: many notes start off the
beat, and beats 1 and 3 land on chord tones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from midi_genres.core.notes import Note
from midi_genres.sources.synth.rules import (
    ABOVE_BAR,
    WHOLE_PIECE,
    WITHIN_BAR,
    Rule,
    by_bar,
    clean,
    close_triad,
    major_key,
    melody_ok,
    n_bars,
    onset_groups,
    share,
    split_parts,
)
from midi_genres.sources.synth.theory import (
    STEPS_PER_BAR,
    STEPS_PER_BEAT,
    Composition,
    assemble,
    bar_numerals,
    bar_start,
    check_bars,
    choose,
    is_offbeat,
    is_strong_beat,
    legato_durations,
    nearest_pitch,
    numeral_triad,
    scale_melody,
    scale_pitches,
    voice_chord,
)

CHORD_REGISTER = (55, 71)
MELODY_REGISTER = (72, 86)
BASS_REGISTER = (36, 54)
BASS_ROOT_RANGE = (36, 47)  # so the fifth above stays in the bass register

FORM_BARS = 4
# 4-bar forms of each progression (one chord per bar), each starting on I
FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "I-IV-V": (("I", "IV", "V", "V"), ("I", "I", "IV", "V"), ("I", "IV", "I", "V"), ("I", "IV", "V", "IV")),
    "I-V-vi-IV": (("I", "V", "vi", "IV"),),
}
# chord stabs (step, duration) in a bar; every pattern hits beats 2 and 4
STAB_PATTERNS: dict[str, tuple[tuple[int, int], ...]] = {
    "quarters": ((0, 2), (4, 2), (8, 2), (12, 2)),
    "backbeat": ((0, 4), (4, 2), (12, 2)),
    "push": ((0, 3), (4, 2), (10, 2), (12, 2)),
    "eighths": ((0, 1), (2, 1), (4, 2), (8, 1), (10, 1), (12, 2)),
}
# bass notes (step, duration, semitones above the root)
BASS_PATTERNS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "eighths": tuple((s, 2, 0) for s in range(0, STEPS_PER_BAR, 2)),
    "quarters": ((0, 4, 0), (4, 4, 0), (8, 4, 7), (12, 4, 0)),
    "drive": ((0, 3, 0), (3, 3, 0), (6, 2, 0), (8, 4, 0), (12, 2, 7), (14, 2, 0)),
}
# melody onsets within one beat; off-beat cells make the syncopation
MELODY_CELLS = ((0,), (0, 2), (2,), (0, 3), (2, 3), (3,), ())
MELODY_CELL_WEIGHTS = (2, 2, 3, 1, 1, 2, 1)
MOTIF_BARS = 2
MIN_OFFBEAT_ONSETS = 3  # per motif
MAX_MELODY_NOTE = 4  # melody notes are held to the next onset, at most a beat


def melody_rhythm(rng: np.random.Generator) -> list[int]:
    """Onsets of a syncopated ``MOTIF_BARS``-bar rhythm (at least ``MIN_OFFBEAT_ONSETS`` off the beat)."""
    while True:
        onsets = []
        for beat in range(MOTIF_BARS * STEPS_PER_BAR // STEPS_PER_BEAT):
            cell = choose(rng, MELODY_CELLS, MELODY_CELL_WEIGHTS)
            onsets.extend(beat * STEPS_PER_BEAT + off for off in cell)
        if sum(is_offbeat(s) for s in onsets) >= MIN_OFFBEAT_ONSETS:
            return onsets


def compose(rng: np.random.Generator, bars: int) -> Composition:
    """A rock piece of ``bars`` bars.

    ``info``: ``tonic`` (pitch class of the major key), ``progression`` (name), ``form`` (4-bar cycle),
    ``bar_numerals`` (the chord of each bar), ``stabs`` and ``bass_pattern`` names.
    Parts: ``chords``, ``bass``, ``melody``.
    """
    bars = check_bars(bars)
    total = bars * STEPS_PER_BAR
    tonic = int(rng.integers(12))
    progression = choose(rng, tuple(FORMS))
    form = choose(rng, FORMS[progression])
    numerals = bar_numerals(form, bars)
    triads = [numeral_triad(tonic, n) for n in numerals]
    stabs = choose(rng, tuple(STAB_PATTERNS))
    bass_pattern = choose(rng, tuple(BASS_PATTERNS))

    chords: list[Note] = []
    bass: list[Note] = []
    voicing = None
    root = BASS_ROOT_RANGE[0] + 5
    for bar, triad in enumerate(triads):
        t0 = bar_start(bar)
        voicing = voice_chord(triad, *CHORD_REGISTER, previous=voicing, center=63)
        chords.extend(Note(p, t0 + s, t0 + s + d) for s, d in STAB_PATTERNS[stabs] for p in voicing)
        root = nearest_pitch(triad[0], root, *BASS_ROOT_RANGE)
        bass.extend(Note(root + iv, t0 + s, t0 + s + d) for s, d, iv in BASS_PATTERNS[bass_pattern])

    motif = melody_rhythm(rng)
    span = MOTIF_BARS * STEPS_PER_BAR
    onsets = [rep * span + s for rep in range(-(-bars // MOTIF_BARS)) for s in motif if rep * span + s < total]
    pitches = scale_melody(rng, scale_pitches(tonic, "major", *MELODY_REGISTER), onsets,
                           chord_at=lambda step: triads[step // STEPS_PER_BAR], strong=is_strong_beat)
    melody = [Note(p, s, s + d) for p, s, d in zip(pitches, onsets, legato_durations(onsets, total,
                                                                                     MAX_MELODY_NOTE))]
    return assemble({"chords": chords, "bass": bass, "melody": melody}, length=total, tonic=tonic,
                    progression=progression, form=form, bar_numerals=numerals, stabs=stabs, bass_pattern=bass_pattern)


def generate_piece(rng: np.random.Generator, bars: int) -> list[Note]:
    """A canonical note list of a rock piece (see ``compose``)."""
    return compose(rng, bars).notes


# --- the rules every piece obeys ------------------------------------------------------------------------------

_NUMERALS = frozenset(n for forms in FORMS.values() for form in forms for n in form)
_STABS = frozenset(STAB_PATTERNS.values())
_FIFTH_STEPS = frozenset(s for pattern in BASS_PATTERNS.values() for s, _, above in pattern if above)


def _read(notes: Sequence[Note]):
    """Parts, bar count, each bar's chord (its stabs all one close triad, else None) and the key."""
    notes = clean(notes)
    bass, chords, melody = split_parts(notes, BASS_REGISTER, MELODY_REGISTER)
    bars = n_bars(notes)
    stabs = by_bar(chords)
    bar_chords: list[tuple[int, int, int] | None] = []
    for bar in range(bars):
        voicings = {tuple(n.pitch for n in group) for _, group in onset_groups(stabs.get(bar, []))}
        bar_chords.append(close_triad(voicings.pop()) if len(voicings) == 1 else None)
    first = bar_chords[0][0] if bar_chords and bar_chords[0] else None
    return bass, chords, melody, bars, bar_chords, major_key(notes, first)


def check_progression(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: one close triad in every stab, one of the forms' numerals in the key; bar 0 is I and every later bar
    repeats the chord ``FORM_BARS`` bars earlier."""
    *_, bar_chords, key = _read(notes)
    allowed = {numeral_triad(key, numeral) for numeral in _NUMERALS}
    return share(chord is not None and chord in allowed
                 and (chord == numeral_triad(key, "I") if bar == 0
                      else bar < FORM_BARS or chord == bar_chords[bar - FORM_BARS])
                 for bar, chord in enumerate(bar_chords))


def check_backbeat(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the chord stabs follow one of ``STAB_PATTERNS`` (all hit beats 1, 2 and 4), the same in every bar."""
    _, chords, _, bars, _, _ = _read(notes)
    stabs = by_bar(chords)
    rhythms = [tuple((start - bar * STEPS_PER_BAR, max(n.end for n in group) - start) for start, group in
                     onset_groups(stabs.get(bar, []))) for bar in range(bars)]
    if not rhythms:
        return 0, 0
    usual = Counter(rhythms).most_common(1)[0][0]
    return share(r == usual and r in _STABS for r in rhythms)


def check_bass(notes: Sequence[Note]) -> tuple[int, int]:
    """Bass notes: in the bass register, the root of the bar's chord (its fifth only where ``BASS_PATTERNS`` play
    it)."""
    bass, _, _, _, bar_chords, _ = _read(notes)
    flags = []
    for n in bass:
        chord = bar_chords[n.start // STEPS_PER_BAR]
        flags.append(BASS_REGISTER[0] <= n.pitch <= BASS_REGISTER[1] and chord is not None
                     and (n.pitch % 12 == chord[0]
                          or (n.pitch % 12 == chord[2] and n.start % STEPS_PER_BAR in _FIFTH_STEPS)))
    return share(flags)


def check_melody(notes: Sequence[Note]) -> tuple[int, int]:
    """Melody notes: in the register and the key's major scale, chord tones on beats 1 and 3."""
    _, _, melody, _, bar_chords, key = _read(notes)
    return share(melody_ok(n, key, bar_chords[n.start // STEPS_PER_BAR], MELODY_REGISTER) for n in melody)


def check_motif(notes: Sequence[Note]) -> tuple[int, int]:
    """Spans of ``MOTIF_BARS`` bars: the melody rhythm of the first span repeated (with at least
    ``MIN_OFFBEAT_ONSETS`` off-beat onsets in a whole span), each note held to the next onset but at most
    ``MAX_MELODY_NOTE`` steps."""
    _, _, melody, bars, _, _ = _read(notes)
    if not bars:
        return 0, 0
    span, total = MOTIF_BARS * STEPS_PER_BAR, bars * STEPS_PER_BAR
    starts = [n.start for n in melody]
    nexts = starts[1:] + [total]
    legato = {n.start for n, nxt in zip(melody, nexts) if n.end - n.start != max(1, min(MAX_MELODY_NOTE,
                                                                                         nxt - n.start))}
    by_span: dict[int, list[int]] = defaultdict(list)
    for start in starts:
        by_span[start // span].append(start % span)
    motif = by_span.get(0, [])
    flags = []
    for k in range(-(-bars // MOTIF_BARS)):
        length = min(span, total - k * span)
        rhythm = by_span.get(k, [])
        ok = rhythm == [s for s in motif if s < length] and not any(k * span <= s < (k + 1) * span for s in legato)
        if length == span:
            ok = ok and sum(is_offbeat(s) for s in rhythm) >= MIN_OFFBEAT_ONSETS
        flags.append(ok)
    return share(flags)


RULES = [
    Rule("progression", "rock", ABOVE_BAR,
         "each bar strikes one close triad, I, IV, V or vi of a major key, starting on I and repeating every four bars",
         check_progression, bars=FORM_BARS + 1),
    Rule("backbeat_stabs", "rock", WITHIN_BAR,
         "chords are struck in one stab rhythm throughout that always hits beats 1, 2 and 4 (the backbeat)",
         check_backbeat),
    Rule("bass_roots", "rock", WITHIN_BAR,
         f"the bass ({BASS_REGISTER[0]}-{BASS_REGISTER[1]}) plays the chord root, its fifth only on beats 3 or 4",
         check_bass),
    Rule("melody_in_key", "rock", WITHIN_BAR,
         f"the melody ({MELODY_REGISTER[0]}-{MELODY_REGISTER[1]}) stays in the major scale and lands on chord tones "
         "on beats 1 and 3", check_melody),
    Rule("syncopated_motif", "rock", ABOVE_BAR,
         f"the melody repeats one {MOTIF_BARS}-bar rhythm with at least {MIN_OFFBEAT_ONSETS} off-beat onsets, each "
         "note held legato up to a beat", check_motif, bars=WHOLE_PIECE),
]
