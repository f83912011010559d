"""Pop: the four-chord song - I-V-vi-IV in a major key - with a bright melody in even 8ths.

The progression cycles with one chord per bar (a 4-bar phrase) or per two bars (an 8-bar phrase). The
accompaniment is either sustained close-voiced triads or an 8th-note arpeggio of them (53-71), over a
bass on the chord roots (36-52). The melody (72-88) is a line in the major scale moving in even 8ths -
every note two steps long, on an even step, with occasional rests - landing on chord tones on beats 1 and
3; it is written once per phrase and repeated every phrase, as in a chorus.
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
    nearest_pitch,
    numeral_triad,
    scale_melody,
    scale_pitches,
    voice_chord,
)

CHORD_REGISTER = (53, 71)
MELODY_REGISTER = (72, 88)
BASS_REGISTER = (36, 52)
PROGRESSION = ("I", "V", "vi", "IV")
EIGHTH = 2
# arpeggio figures: index into the (low, mid, high) voicing for each 8th of a bar
ARPEGGIOS: dict[str, tuple[int, ...]] = {
    "up_down": (0, 1, 2, 1, 0, 1, 2, 1),
    "alberti": (0, 2, 1, 2, 0, 2, 1, 2),
    "rising": (0, 1, 2, 0, 1, 2, 0, 1),
}
BASS_RHYTHM = ((0, 6), (6, 2), (8, 8))  # (step, duration): root with an 8th-note push
MELODY_REST_PROB = 0.12


def compose(rng: np.random.Generator, bars: int) -> Composition:
    """A pop piece of ``bars`` bars.

    ``info``: ``tonic`` (pitch class of the major key), ``phrase_len`` (4 or 8 bars), ``bars_per_chord``,
    ``bar_numerals`` (the chord of each bar), ``accompaniment`` ("sustained" or an arpeggio name).
    Parts: ``chords``, ``bass``, ``melody``.
    """
    bars = check_bars(bars)
    total = bars * STEPS_PER_BAR
    tonic = int(rng.integers(12))
    phrase_len = int(choose(rng, (4, 8)))
    bars_per_chord = phrase_len // len(PROGRESSION)
    numerals = bar_numerals(PROGRESSION, bars, bars_per_chord)
    triads = [numeral_triad(tonic, n) for n in numerals]
    accompaniment = choose(rng, ("sustained", *ARPEGGIOS))

    chords: list[Note] = []
    bass: list[Note] = []
    voicing = None
    root = BASS_REGISTER[0] + 6
    for bar, triad in enumerate(triads):
        t0 = bar_start(bar)
        if bar == 0 or triad != triads[bar - 1]:
            voicing = voice_chord(triad, *CHORD_REGISTER, previous=voicing, center=62)
            root = nearest_pitch(triad[0], root, *BASS_REGISTER)
            if accompaniment == "sustained":
                end = min(t0 + bars_per_chord * STEPS_PER_BAR, total)
                chords.extend(Note(p, t0, end) for p in voicing)
        if accompaniment != "sustained":
            figure = ARPEGGIOS[accompaniment]
            chords.extend(Note(voicing[i], t0 + k * EIGHTH, t0 + (k + 1) * EIGHTH) for k, i in enumerate(figure))
        bass.extend(Note(root, t0 + s, t0 + s + d) for s, d in BASS_RHYTHM)

    span = phrase_len * STEPS_PER_BAR
    slots = [s for s in range(0, span, EIGHTH) if s == 0 or rng.random() >= MELODY_REST_PROB]
    phrase_triads = [numeral_triad(tonic, n) for n in bar_numerals(PROGRESSION, phrase_len, bars_per_chord)]
    pitches = scale_melody(rng, scale_pitches(tonic, "major", *MELODY_REGISTER), slots,
                           chord_at=lambda step: phrase_triads[step // STEPS_PER_BAR],
                           strong=lambda step: step % 8 == 0)
    melody = [Note(p, rep * span + s, rep * span + s + EIGHTH)
              for rep in range(-(-bars // phrase_len)) for p, s in zip(pitches, slots) if rep * span + s < total]
    return assemble({"chords": chords, "bass": bass, "melody": melody}, length=total, tonic=tonic,
                    phrase_len=phrase_len, bars_per_chord=bars_per_chord, bar_numerals=numerals,
                    accompaniment=accompaniment)


def generate_piece(rng: np.random.Generator, bars: int) -> list[Note]:
    """A canonical note list of a pop piece (see ``compose``)."""
    return compose(rng, bars).notes
