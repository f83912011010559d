"""Rock: three-chord (I-IV-V) or four-chord (I-V-vi-IV) songs in a major key, with a backbeat.

One chord per bar, cycling through a 4-bar form of the piece's progression. Chords are close-voiced triads
around middle C (55-71), moved by smooth voice-leading and struck in a stab pattern that always hits
beats 2 and 4 (the backbeat). A bass (36-54) drives the chord roots in 8ths or quarters, and a melody
above the chords (72-86) uses the major scale with a syncopated 2-bar rhythm: many notes start off the
beat, and beats 1 and 3 land on chord tones.
"""

from __future__ import annotations

import numpy as np

from midi_genres.core.notes import Note
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

# 4-bar forms of each progression (one chord per bar)
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
                           chord_at=lambda step: triads[step // STEPS_PER_BAR], strong=lambda step: step % 8 == 0)
    melody = [Note(p, s, s + d) for p, s, d in zip(pitches, onsets, legato_durations(onsets, total, 4))]
    return assemble({"chords": chords, "bass": bass, "melody": melody}, length=total, tonic=tonic,
                    progression=progression, form=form, bar_numerals=numerals, stabs=stabs, bass_pattern=bass_pattern)


def generate_piece(rng: np.random.Generator, bars: int) -> list[Note]:
    """A canonical note list of a rock piece (see ``compose``)."""
    return compose(rng, bars).notes
