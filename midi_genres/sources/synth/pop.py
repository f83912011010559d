"""Pop: the four-chord song - I-V-vi-IV in a major key - with a bright melody in even 8ths.

The progression cycles with one chord per bar (a 4-bar phrase) or per two bars (an 8-bar phrase). The
accompaniment is either sustained close-voiced triads or an 8th-note arpeggio of them (53-71), over a
bass on the chord roots (36-52). The melody (72-88) is a line in the major scale moving in even 8ths -
every note two steps long, on an even step, with occasional rests - landing on chord tones on beats 1 and
3; it is written once per phrase and repeated every phrase, as in a chorus.
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
    major_minor_triad,
    melody_ok,
    n_bars,
    share,
    split_parts,
)
from midi_genres.sources.synth.theory import (
    STEPS_PER_BAR,
    Composition,
    assemble,
    bar_numerals,
    bar_start,
    check_bars,
    choose,
    is_strong_beat,
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
PHRASE_LENGTHS = (4, 8)  # bars of a phrase: the progression once, one chord a bar or every two bars
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
    phrase_len = int(choose(rng, PHRASE_LENGTHS))
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
                           strong=is_strong_beat)
    melody = [Note(p, rep * span + s, rep * span + s + EIGHTH)
              for rep in range(-(-bars // phrase_len)) for p, s in zip(pitches, slots) if rep * span + s < total]
    return assemble({"chords": chords, "bass": bass, "melody": melody}, length=total, tonic=tonic,
                    phrase_len=phrase_len, bars_per_chord=bars_per_chord, bar_numerals=numerals,
                    accompaniment=accompaniment)


def generate_piece(rng: np.random.Generator, bars: int) -> list[Note]:
    """A canonical note list of a pop piece (see ``compose``)."""
    return compose(rng, bars).notes


# --- the rules every piece obeys ------------------------------------------------------------------------------

_ARPEGGIOS = frozenset(ARPEGGIOS.values())


def _read(notes: Sequence[Note]):
    """Parts, bar count, each bar's sounding triad (or None), the key and the bars per chord (of
    ``PHRASE_LENGTHS``, whichever fits more bars; the shorter on a tie)."""
    notes = clean(notes)
    bass, chords, melody = split_parts(notes, BASS_REGISTER, MELODY_REGISTER)
    bars = n_bars(notes)
    sounding: dict[int, set[int]] = defaultdict(set)
    for n in chords:
        for bar in range(n.start // STEPS_PER_BAR, min(bars, (n.end - 1) // STEPS_PER_BAR + 1)):
            sounding[bar].add(n.pitch % 12)
    bar_chords = [major_minor_triad(sounding[bar]) for bar in range(bars)]
    first = bar_chords[0][0] if bar_chords and bar_chords[0] else None
    key = major_key(notes, first)
    fits = {bpc: sum(chord == _expected(key, bar, bpc) for bar, chord in enumerate(bar_chords))
            for bpc in (length // len(PROGRESSION) for length in PHRASE_LENGTHS)}
    return bass, chords, melody, bars, bar_chords, key, max(fits, key=fits.get)


def _expected(key: int, bar: int, bars_per_chord: int) -> tuple[int, int, int]:
    return numeral_triad(key, PROGRESSION[(bar // bars_per_chord) % len(PROGRESSION)])


def check_progression(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the chord sounding is ``PROGRESSION`` of the key in turn, from bar 0, one chord a bar or every two
    bars."""
    *_, bar_chords, key, bpc = _read(notes)
    return share(chord == _expected(key, bar, bpc) for bar, chord in enumerate(bar_chords))


def _accompaniment(chords: Sequence[Note], bar: int) -> str | None:
    """``"sustained"``, an arpeggio figure, or None for anything else in one bar of the chord register."""
    t0, t1 = bar * STEPS_PER_BAR, (bar + 1) * STEPS_PER_BAR
    inside = [n for n in chords if n.start < t1 and n.end > t0]
    pitches = sorted({n.pitch for n in inside})
    if len(pitches) != 3 or close_triad(pitches) is None:
        return None
    if len(inside) == 3 and all(n.start <= t0 and n.end >= t1 for n in inside):
        return "sustained"
    figure = tuple(pitches.index(n.pitch) for n in inside)
    rhythm = [(n.start - t0, n.end - n.start) for n in inside]
    if figure in _ARPEGGIOS and rhythm == [(s, EIGHTH) for s in range(0, STEPS_PER_BAR, EIGHTH)]:
        return str(figure)
    return None


def check_accompaniment(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the chord register is one close triad, held through the bar or arpeggiated in even 8ths in one of
    ``ARPEGGIOS``, the same way in every bar."""
    _, chords, _, bars, *_ = _read(notes)
    styles = [_accompaniment(chords, bar) for bar in range(bars)]
    if not styles:
        return 0, 0
    usual = Counter(styles).most_common(1)[0][0]
    return share(style is not None and style == usual for style in styles)


def check_bass(notes: Sequence[Note]) -> tuple[int, int]:
    """Bars: the bass plays the chord's root in the bass register in ``BASS_RHYTHM``."""
    bass, _, _, _, bar_chords, _, _ = _read(notes)
    bass_by_bar = by_bar(bass)
    flags = []
    for bar, chord in enumerate(bar_chords):
        played = bass_by_bar.get(bar, [])
        pitches = {n.pitch for n in played}
        rhythm = tuple((n.start - bar * STEPS_PER_BAR, n.end - n.start) for n in played)
        flags.append(chord is not None and rhythm == BASS_RHYTHM and len(pitches) == 1
                     and BASS_REGISTER[0] <= played[0].pitch <= BASS_REGISTER[1]
                     and played[0].pitch % 12 == chord[0])
    return share(flags)


def check_melody(notes: Sequence[Note]) -> tuple[int, int]:
    """Melody notes: even 8ths (2 steps from an even step) in the register and the key's major scale, chord tones
    on beats 1 and 3."""
    _, _, melody, _, bar_chords, key, _ = _read(notes)
    return share(n.end - n.start == EIGHTH and n.start % EIGHTH == 0
                 and melody_ok(n, key, bar_chords[n.start // STEPS_PER_BAR], MELODY_REGISTER) for n in melody)


def check_chorus(notes: Sequence[Note]) -> tuple[int, int]:
    """Phrases after the first (the progression once: 4 or 8 bars): the melody of the first phrase (which opens on
    its downbeat) again, note for note."""
    _, _, melody, bars, _, _, bpc = _read(notes)
    phrase = len(PROGRESSION) * bpc * STEPS_PER_BAR
    total = bars * STEPS_PER_BAR
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
    return share(flags)


RULES = [
    Rule("four_chords", "pop", ABOVE_BAR,
         f"the chords cycle {'-'.join(PROGRESSION)} in a major key from bar 1, one chord per bar or per two bars",
         check_progression, bars=max(PHRASE_LENGTHS)),
    Rule("accompaniment", "pop", WITHIN_BAR,
         "the accompaniment is one close triad a bar, held or arpeggiated in even 8ths, the same way throughout",
         check_accompaniment),
    Rule("bass_rhythm", "pop", WITHIN_BAR,
         f"the bass ({BASS_REGISTER[0]}-{BASS_REGISTER[1]}) plays the chord root in every bar as dotted quarter, "
         "8th, half note", check_bass),
    Rule("melody_eighths", "pop", WITHIN_BAR,
         f"the melody ({MELODY_REGISTER[0]}-{MELODY_REGISTER[1]}) moves in even 8ths in the major scale, on chord "
         "tones on beats 1 and 3", check_melody),
    Rule("chorus_repeat", "pop", ABOVE_BAR,
         f"the melody of the first {len(PROGRESSION)}-chord phrase (opening on its downbeat) repeats note for note "
         "in every later phrase", check_chorus, bars=WHOLE_PIECE),
]
