"""The synthetic genre generators: their musical rules, determinism and the corpus API."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from midi_genres.core.notes import Note, normalize
from midi_genres.sources.midi_folder import Piece
from midi_genres.sources.synth import (
    DRUM_GENERATORS,
    GENERATORS,
    atonal,
    generate_pieces,
    metal,
    pop,
    rap,
    rock,
    theory,
)

SEEDS = st.integers(0, 2**32 - 1)
BARS = st.integers(1, 16)
PROPERTY = settings(max_examples=40, deadline=None)
BAR = theory.STEPS_PER_BAR
MODULES = {"atonal": atonal, "metal": metal, "rock": rock, "pop": pop, "rap": rap}


def compose(module, seed: int, bars: int, **kw) -> theory.Composition:
    return module.compose(np.random.default_rng(seed), bars, **kw)


def by_onset(notes) -> dict[int, list[Note]]:
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        groups[n.start].append(n)
    return dict(groups)


def part_notes(comp: theory.Composition) -> set[Note]:
    return {n for notes in comp.parts.values() for n in notes}


# --- theory ---------------------------------------------------------------------------------------------

def test_roman_numerals_in_major_and_minor():
    assert theory.parse_numeral("I") == (0, "major")
    assert theory.parse_numeral("IV") == (5, "major")
    assert theory.parse_numeral("V") == (7, "major")
    assert theory.parse_numeral("vi") == (9, "minor")
    assert theory.parse_numeral("vii°") == (11, "diminished")
    assert theory.parse_numeral("bII") == (1, "major")
    assert theory.parse_numeral("VI", "natural_minor") == (8, "major")
    assert theory.numeral_triad(7, "V") == (2, 6, 9)  # D major in G
    assert theory.numeral_triad(0, "vi") == (9, 0, 4)  # A minor in C
    for bad in ("X", "Vi", "", "iiii"):
        with pytest.raises(ValueError):
            theory.parse_numeral(bad)


def test_scales_and_triads():
    assert theory.scale_pcs(0, "major") == {0, 2, 4, 5, 7, 9, 11}
    assert theory.scale_pcs(4, "phrygian") == {4, 5, 7, 9, 11, 0, 2}  # E phrygian = white keys from E
    assert theory.scale_pcs(9, "natural_minor") == theory.scale_pcs(0, "major")
    assert theory.scale_pitches(0, "major", 60, 72) == [60, 62, 64, 65, 67, 69, 71, 72]
    assert theory.identify_triad([64, 67, 72]) == (0, "major")
    assert theory.identify_triad([69, 72, 76]) == (9, "minor")
    assert theory.identify_triad([60, 62, 67]) is None
    assert theory.power_chord(40) == (40, 47, 52)


@given(root=st.integers(0, 11), quality=st.sampled_from(sorted(theory.TRIADS)), low=st.integers(40, 70))
def test_voicings_are_close_triads_in_range(root, quality, low):
    pcs = theory.triad_pcs(root, quality)
    voicings = theory.chord_voicings(pcs, low, low + 20)
    assert len({v[0] % 12 for v in voicings}) == 3  # every inversion fits in 20 semitones
    for v in voicings:
        assert low <= v[0] < v[1] < v[2] <= low + 20 and v[2] - v[0] < 12
        assert {p % 12 for p in v} == set(pcs)


def test_voice_leading_moves_little():
    c = theory.voice_chord(theory.numeral_triad(0, "I"), 55, 71, center=63)
    f = theory.voice_chord(theory.numeral_triad(0, "IV"), 55, 71, previous=c)
    assert sum(abs(a - b) for a, b in zip(c, f)) <= 3  # C-E-G -> C-F-A moves two voices by steps


def test_swing_delays_offbeat_eighths_only():
    assert [theory.swing_step(s) for s in range(8)] == [0, 1, 3, 3, 4, 5, 7, 7]


@given(seed=SEEDS, total=st.integers(1, 64), data=st.data())
def test_random_composition_sums(seed, total, data):
    parts = data.draw(st.integers(1, total))
    durations = theory.random_composition(np.random.default_rng(seed), total, parts)
    assert len(durations) == parts and sum(durations) == total and min(durations) >= 1


def test_assemble_clips_to_length():
    comp = theory.assemble({"a": [Note(60, 0, 20), Note(62, 16, 18)], "b": [Note(64, 4, 8)]}, length=16, key=1)
    assert comp.notes == [Note(60, 0, 16), Note(64, 4, 8)] and comp.info == {"key": 1}


# --- atonal ---------------------------------------------------------------------------------------------

OP25 = (4, 5, 7, 1, 6, 3, 8, 2, 11, 0, 9, 10)  # Schoenberg, Suite for piano op. 25: E F G Db Gb Eb Ab D B C A Bb


def test_row_transformations_on_a_known_row():
    assert atonal.invert(OP25) == (4, 3, 1, 7, 2, 5, 0, 6, 9, 8, 11, 10)  # I0: E Eb Db G D F C F# A G# B Bb
    assert atonal.retrograde(OP25) == (10, 9, 0, 11, 2, 8, 3, 6, 1, 7, 5, 4)
    assert atonal.row_form(OP25, "RI") == (10, 11, 8, 9, 6, 0, 5, 2, 7, 1, 3, 4)
    assert atonal.row_form(OP25, "P", 6) == (10, 11, 1, 7, 0, 9, 2, 8, 5, 6, 3, 4)  # the tritone transposition
    assert atonal.row_form(OP25, "I", 3) == atonal.transpose(atonal.invert(OP25), 3)
    with pytest.raises(ValueError, match="row form"):
        atonal.row_form(OP25, "X")


@PROPERTY
@given(seed=SEEDS)
def test_row_forms_are_permutations(seed):
    prime = atonal.random_row(np.random.default_rng(seed))
    for form in atonal.FORMS:
        for t in range(12):
            assert sorted(atonal.row_form(prime, form, t)) == list(range(12))


@PROPERTY
@given(seed=SEEDS, bars=BARS)
def test_atonal_states_complete_rows(seed, bars):
    comp = compose(atonal, seed, bars)
    prime, rows = comp.info["prime"], comp.info["rows"]
    assert sorted(prime) == list(range(12))
    assert rows[0] == ("P", 0, prime)
    assert len(comp.notes) == 12 * len(rows)
    # chunk the piece's pitch sequence by 12: each chunk is one statement, all 12 pitch classes once
    for k, (form, t, row) in enumerate(rows):
        assert row == atonal.row_form(prime, form, t)
        chunk = comp.notes[12 * k:12 * (k + 1)]
        assert sorted(n.pitch % 12 for n in chunk) == list(range(12))
        # in row order: notes sounding together (a dyad) are consecutive row notes
        i = 0
        for _, group in sorted(by_onset(chunk).items()):
            assert {n.pitch % 12 for n in group} == set(row[i:i + len(group)])
            i += len(group)
    assert all(48 <= n.pitch <= 84 for n in comp.notes)
    assert max(n.end for n in comp.notes) == bars * BAR


def test_atonal_rhythm_and_forms_vary():
    durations, forms, dyads = Counter(), Counter(), 0
    for seed in range(40):
        comp = compose(atonal, seed, 12)
        durations.update(n.end - n.start for n in comp.notes)
        forms.update(f for f, _, _ in comp.info["rows"][1:])
        dyads += sum(len(g) == 2 for g in by_onset(comp.notes).values())
    assert set(forms) == set(atonal.FORMS)
    assert len([d for d in durations if d <= 8]) >= 6 and dyads > 0


# --- metal ----------------------------------------------------------------------------------------------

@PROPERTY
@given(seed=SEEDS, bars=BARS)
def test_metal_is_power_chords_in_a_low_minor_or_phrygian_riff(seed, bars):
    comp = compose(metal, seed, bars)
    tonic, mode = comp.info["tonic"], comp.info["mode"]
    assert 40 <= tonic <= 47 and mode in ("natural_minor", "phrygian")
    ending_bars = set(comp.info["ending_bars"])
    assert bars - 1 in ending_bars
    for start, chord in by_onset(comp.notes).items():
        root = min(n.pitch for n in chord)
        assert sorted(n.pitch for n in chord) == [root, root + 7, root + 12]
        assert len({n.end for n in chord}) == 1
        assert 0 <= root - tonic <= 10 and root <= 57  # low register, at most a minor 7th above the low tonic
        assert (root - tonic) in theory.MODES[mode]
        length = chord[0].end - start
        if length > 2:  # chugs are 16ths or 8ths; only phrase endings sustain
            assert start // BAR in ending_bars and start % BAR in (0, 8, 12)
    assert set(comp.notes) == part_notes(comp)
    assert max(n.end for n in comp.notes) == bars * BAR


def test_metal_pedals_on_the_tonic_with_gallops_and_flat_two():
    roots, gallops, flat_two = Counter(), 0, 0
    for seed in range(40):
        comp = compose(metal, seed, 8)
        chords = sorted((s, min(n.pitch for n in ch), ch[0].end - s) for s, ch in by_onset(comp.notes).items())
        roots.update(r - comp.info["tonic"] for _, r, _ in chords)
        onsets = {s: d for s, _, d in chords}
        gallops += sum(onsets.get(b + 2) == 1 and onsets.get(b + 3) == 1 and onsets[b] == 2
                       for b in onsets if b % 4 == 0)
        if comp.info["mode"] == "phrygian":
            flat_two += sum(r - comp.info["tonic"] == 1 for _, r, _ in chords)
    assert roots[0] > 0.5 * sum(roots.values())
    assert gallops > 20 and flat_two > 0


# --- rock -----------------------------------------------------------------------------------------------

@PROPERTY
@given(seed=SEEDS, bars=BARS)
def test_rock_triads_follow_the_progression_with_a_backbeat(seed, bars):
    comp = compose(rock, seed, bars)
    tonic, numerals = comp.info["tonic"], comp.info["bar_numerals"]
    progression = comp.info["progression"]
    assert progression in theory.PROGRESSIONS and len(numerals) == bars and numerals[0] == "I"
    assert set(numerals) <= set(theory.PROGRESSIONS[progression])
    if bars >= 4:
        assert set(numerals) == set(theory.PROGRESSIONS[progression])
    low, high = 55, 71  # chords in the middle register (melody above, bass below)
    chords = by_onset(n for n in comp.notes if low <= n.pitch <= high)
    for start, chord in chords.items():
        numeral = numerals[start // BAR]
        assert len(chord) == 3
        assert {n.pitch % 12 for n in chord} == set(theory.numeral_triad(tonic, numeral))
        quality = theory.identify_triad(n.pitch for n in chord)[1]
        assert quality == ("minor" if numeral.islower() else "major")
    for bar in range(bars):
        for beat in theory.BACKBEAT_STEPS:  # chord stabs on beats 2 and 4
            assert bar * BAR + beat in chords
    scale = theory.scale_pcs(tonic, "major")
    for n in comp.notes:
        if n.pitch > high:
            assert n.pitch <= 88 and n.pitch % 12 in scale
        elif n.pitch < low:  # the bass: chord roots and fifths, one note at a time
            assert n.pitch >= 36 and n.pitch % 12 in theory.numeral_triad(tonic, numerals[n.start // BAR])
    assert all(len(group) == 1 for group in by_onset(n for n in comp.notes if n.pitch < low).values())
    assert set(comp.notes) == part_notes(comp)


@PROPERTY
@given(seed=SEEDS, bars=st.integers(2, 16))
def test_rock_melody_is_syncopated(seed, bars):
    comp = compose(rock, seed, bars)
    melody = [n for n in comp.notes if n.pitch >= 72]
    assert melody
    assert sum(theory.is_offbeat(n.start) for n in melody if n.start < 2 * BAR) >= 3


def test_rock_melody_leans_off_the_beat():
    onsets = [n.start for seed in range(40) for n in compose(rock, seed, 8).parts["melody"]]
    assert sum(theory.is_offbeat(s) for s in onsets) > 0.4 * len(onsets)  # syncopated, not on-beat quarters
    assert sum(s % 2 == 1 for s in onsets) > 0.1 * len(onsets)  # including 16th anticipations


# --- pop ------------------------------------------------------------------------------------------------

@PROPERTY
@given(seed=SEEDS, bars=BARS)
def test_pop_melody_in_even_eighths_over_i_v_vi_iv(seed, bars):
    comp = compose(pop, seed, bars)
    tonic, numerals = comp.info["tonic"], comp.info["bar_numerals"]
    phrase_len, per_chord = comp.info["phrase_len"], comp.info["bars_per_chord"]
    assert phrase_len in (4, 8) and per_chord * 4 == phrase_len
    assert numerals == [("I", "V", "vi", "IV")[(b // per_chord) % 4] for b in range(bars)]
    scale = theory.scale_pcs(tonic, "major")
    melody = [n for n in comp.notes if n.pitch >= 72]
    assert melody and melody[0].start == 0
    for n in melody:
        assert n.end - n.start == 2 and n.start % 2 == 0
        assert n.pitch <= 88 and n.pitch % 12 in scale
        if n.start % 8 == 0:  # beats 1 and 3 land on chord tones
            assert n.pitch % 12 in theory.numeral_triad(tonic, numerals[n.start // BAR])
    # the melody repeats every phrase
    span = phrase_len * BAR
    melody_set = set(melody)
    for n in melody:
        if n.start >= span:
            assert Note(n.pitch, n.start - span, n.end - span) in melody_set
    for bar in range(bars):
        triad = set(theory.numeral_triad(tonic, numerals[bar]))
        sounding = [n for n in comp.notes if n.pitch < 72 and n.start < (bar + 1) * BAR
                    and n.end > bar * BAR]
        chord_pcs = {n.pitch % 12 for n in sounding if n.pitch >= pop.CHORD_REGISTER[0]}
        assert chord_pcs == triad
        assert {n.pitch % 12 for n in sounding if n.pitch <= pop.BASS_REGISTER[1]} == {theory.numeral_triad(
            tonic, numerals[bar])[0]}
    assert set(comp.notes) == part_notes(comp)


# --- rap ------------------------------------------------------------------------------------------------

GM_DRUMS = {35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 59}


@PROPERTY
@given(seed=SEEDS, bars=BARS)
def test_rap_is_a_hip_hop_drum_pattern(seed, bars):
    comp = compose(rap, seed, bars)
    notes = comp.notes
    assert {n.pitch for n in notes} <= GM_DRUMS
    assert all(1 <= n.end - n.start <= 2 for n in notes)
    hits = {(n.pitch, n.start) for n in notes}
    swing, fills = comp.info["swing"], set(comp.info["fill_bars"])
    for bar in range(bars):
        t0 = bar * BAR
        assert (rap.SNARE, t0 + 4) in hits and (rap.SNARE, t0 + 12) in hits
        assert (rap.KICK, t0) in hits
        bar_hits = [(p, s - t0) for p, s in hits if t0 <= s < t0 + BAR]
        assert any(p in (rap.CLOSED_HAT, rap.OPEN_HAT) for p, _ in bar_hits)
        if swing and comp.info["hats"] == "8ths" and bar not in fills:
            # swung: no off-beat 8th on the straight grid, hats and kicks land on the last 16th instead
            assert all(s % 4 != 2 for p, s in bar_hits if p in (rap.KICK, rap.CLOSED_HAT, rap.OPEN_HAT))
    assert max(n.end for n in notes) <= bars * BAR


def test_rap_swings_and_varies_between_bars():
    swung = varied = opens = fills = ghosts = 0
    for seed in range(40):
        comp = compose(rap, seed, 8)
        bars = [frozenset((n.pitch, n.start % BAR) for n in comp.notes if n.start // BAR == b) for b in range(8)]
        varied += len(set(bars)) > 1
        opens += any(n.pitch == rap.OPEN_HAT for n in comp.notes)
        fills += bool(comp.info["fill_bars"])
        pattern = {theory.swing_step(s) if comp.info["swing"] else s for s in comp.info["kick_pattern"]}
        ghosts += any(n.pitch == rap.KICK and n.start % BAR not in pattern | {14} for n in comp.notes)
        if comp.info["swing"] and comp.info["hats"] == "8ths":
            swung += 1
            assert any(n.pitch == rap.CLOSED_HAT and n.start % 4 == 3 for n in comp.notes)
    assert swung >= 10 and varied >= 35 and opens >= 10 and fills >= 20 and ghosts >= 10


@PROPERTY
@given(seed=SEEDS, bars=BARS)
def test_rap_bass_is_optional(seed, bars):
    plain = compose(rap, seed, bars)
    assert set(plain.parts) == {"drums"}
    with_bass = compose(rap, seed, bars, with_bass=True)
    bass = with_bass.parts["bass"]
    assert bass and all(28 <= n.pitch <= 48 for n in bass)
    assert with_bass.parts["drums"] == plain.parts["drums"]  # the bass is drawn after the drums
    assert rap.generate_piece(np.random.default_rng(seed), bars) == plain.notes


# --- every generator ------------------------------------------------------------------------------------

@PROPERTY
@given(name=st.sampled_from(sorted(GENERATORS)), seed=SEEDS, bars=BARS)
def test_generators_return_canonical_notes(name, seed, bars):
    notes = GENERATORS[name](np.random.default_rng(seed), bars)
    assert notes and normalize(notes) == notes
    assert all(isinstance(n, Note) and type(n.pitch) is int and type(n.start) is int for n in notes)
    assert max(n.end for n in notes) <= bars * BAR
    assert notes == compose(MODULES[name], seed, bars).notes


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_bad_bar_counts_are_rejected(name):
    for bad in (0, -1):
        with pytest.raises(ValueError, match="bars"):
            GENERATORS[name](np.random.default_rng(0), bad)


def test_registry():
    assert set(GENERATORS) == {"atonal", "metal", "rock", "pop", "rap"}
    assert DRUM_GENERATORS == {"rap"}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generate_pieces_is_deterministic_and_per_piece(name):
    pieces = generate_pieces(name, 6, seed=3, bars=(2, 5))
    assert pieces == generate_pieces(name, 6, seed=3, bars=(2, 5))
    assert generate_pieces(name, 3, seed=3, bars=(2, 5)) == pieces[:3]  # piece i does not depend on n_pieces
    assert [p.notes for p in generate_pieces(name, 6, seed=4, bars=(2, 5))] != [p.notes for p in pieces]
    assert len({tuple(p.notes) for p in pieces}) == 6
    assert [p.piece_id for p in pieces] == [f"{name}_{i:04d}" for i in range(6)]
    assert all(isinstance(p, Piece) and p.source == f"synthetic:{name} seed=3" for p in pieces)
    for p in pieces:
        assert normalize(p.notes) == p.notes and max(n.end for n in p.notes) <= 5 * BAR
        if name != "rap":  # every other genre fills its bars exactly
            assert max(n.end for n in p.notes) in range(2 * BAR, 5 * BAR + 1, BAR)


def test_piece_i_uses_its_own_generator():
    pieces = generate_pieces("rock", 4, seed=11, bars=(8, 16))
    for i, piece in enumerate(pieces):
        rng = np.random.default_rng([11, i])
        bars = int(rng.integers(8, 17))
        assert piece.notes == GENERATORS["rock"](rng, bars)


def test_bar_counts_cover_the_range():
    lengths = {max(n.end for n in p.notes) // BAR for p in generate_pieces("pop", 60, seed=0, bars=(3, 5))}
    assert lengths == {3, 4, 5}
    assert {max(n.end for n in p.notes) for p in generate_pieces("metal", 5, seed=0, bars=(7, 7))} == {7 * BAR}


def test_generate_pieces_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"'jazz'.*atonal.*metal.*rock.*pop.*rap"):
        generate_pieces("jazz", 3, seed=0)
    with pytest.raises(ValueError, match="bars"):
        generate_pieces("pop", 3, seed=0, bars=(5, 4))
    with pytest.raises(ValueError, match="bars"):
        generate_pieces("pop", 3, seed=0, bars=(0, 4))
    with pytest.raises(ValueError, match="seed"):
        generate_pieces("pop", 3, seed=-1)
    assert generate_pieces("pop", 0, seed=0) == []
