"""The rules every synthetic genre's pieces obey: the generators pass them all, violations are caught."""

from __future__ import annotations

import math

import numpy as np
import pytest

from midi_genres.analysis import synth_rules as sr
from midi_genres.core.notes import Note, normalize
from midi_genres.core.tables import write_table
from midi_genres.sources.synth import GENERATORS, atonal, generate_pieces, metal, pop, rap, rock, theory
from midi_genres.sources.synth.rules import ABOVE_BAR, SCOPES, WITHIN_BAR, Rule

BAR = theory.STEPS_PER_BAR


def share(genre: str, rule: str, notes) -> float:
    obeyed, units = next(r for r in sr.RULES[genre] if r.name == rule).check(notes)
    assert 0 <= obeyed <= units
    return obeyed / units if units else float("nan")


def compose(module, seed: int, bars: int = 8) -> theory.Composition:
    return module.compose(np.random.default_rng(seed), bars)


# --- the rule set -----------------------------------------------------------------------------------------

def test_every_generator_has_three_to_five_named_rules():
    assert set(sr.RULES) == set(GENERATORS)
    for genre, rules in sr.RULES.items():
        assert 3 <= len(rules) <= 5
        assert len({r.name for r in rules}) == len(rules)
        assert all(r.genre == genre and r.statement and callable(r.check) for r in rules)


def test_each_generator_declares_its_rules_beside_the_constants_that_make_them():
    modules = {"atonal": atonal, "metal": metal, "rock": rock, "pop": pop, "rap": rap}
    for genre, rules in sr.RULES.items():
        assert rules is modules[genre].RULES
        assert all(rule.check.__module__ == modules[genre].__name__ for rule in rules)


def test_a_changed_generator_constant_changes_its_rule(monkeypatch):
    notes = compose(atonal, 1).notes
    assert share("atonal", "register", notes) == 1.0
    monkeypatch.setattr(atonal, "REGISTER", (60, 84))
    assert share("atonal", "register", notes) < 1.0


def test_every_rule_has_a_scope_and_a_wrong_one_is_refused():
    assert {r.scope for rules in sr.RULES.values() for r in rules} == set(SCOPES)
    with pytest.raises(ValueError, match="scope must be one of within_bar, above_bar"):
        Rule("x", "rap", "bar", "", lambda notes: (0, 0))


def shuffled_bars(notes, seed: int) -> list[Note]:
    """The piece with its bars after the first in a random order (notes move with the bar they start in)."""
    n_bars = max(n.start for n in notes) // BAR + 1
    order = [0, *(1 + np.random.default_rng(seed).permutation(n_bars - 1))]
    to = {old: new for new, old in enumerate(order)}
    return normalize(Note(n.pitch, n.start + (to[n.start // BAR] - n.start // BAR) * BAR,
                          n.end + (to[n.start // BAR] - n.start // BAR) * BAR) for n in notes)


@pytest.mark.parametrize("genre", ["metal", "rock", "rap"])  # (atonal and pop notes may sound across bar lines)
def test_within_bar_rules_hold_of_shuffled_bars_and_above_bar_rules_do_not(genre):
    broken = set()
    for piece in generate_pieces(genre, 20, 5, bars=(8, 16)):
        shuffled = shuffled_bars(piece.notes, 1)
        for rule in sr.RULES[genre]:
            ok, n = rule.check(shuffled)
            if rule.scope == WITHIN_BAR:
                assert ok == n > 0, (piece.piece_id, rule.name)
            elif ok < n:
                broken.add(rule.name)
    assert broken == {r.name for r in sr.RULES[genre] if r.scope == ABOVE_BAR}


def test_every_share_has_a_seeded_interval_over_the_pieces():
    pieces = [p.notes for p in generate_pieces("rap", 12, 0)]
    pieces = pieces[:6] + [shuffled_bars(notes, i) for i, notes in enumerate(pieces[6:])]  # some break phrase_fills
    rows = {r["rule"]: r for r in sr.rule_table("rap", pieces, "samples")}
    fills = rows["phrase_fills"]
    assert fills["share_low"] < fills["share"] < fills["share_high"] <= 1.0
    assert sr.rule_table("rap", pieces, "samples") == list(rows.values())  # seeded: the same interval again
    assert rows["backbeat"]["share_low"] == rows["backbeat"]["share_high"] == 1.0
    one = sr.rule_table("rap", pieces[:1], "samples")[0]
    assert math.isnan(one["share_low"]) and math.isnan(one["share_high"])  # one piece: resampling says nothing


# --- the generators obey every rule -----------------------------------------------------------------------

@pytest.mark.parametrize("genre", sorted(GENERATORS))
@pytest.mark.parametrize("seed", [0, 7, 2024])
def test_generated_pieces_obey_every_rule(genre, seed):
    pieces = [p.notes for p in generate_pieces(genre, 40, seed, bars=(1, 16))]
    for row in sr.rule_table(genre, pieces, "corpus"):
        assert row["units"] > 0 and row["obeyed"] == row["units"], row
        assert row["share"] == 1.0 and row["perfect"] == 1.0


def test_rule_table_rows():
    pieces = [p.notes for p in generate_pieces("metal", 5, 0)] + [[]]
    rows = sr.rule_table("metal", pieces, "samples")
    assert [r["rule"] for r in rows] == [r.name for r in sr.RULES["metal"]]
    for row in rows:
        assert set(row) == set(sr.RULE_COLUMNS)
        assert row["genre"] == "metal" and row["set"] == "samples" and row["pieces"] == 6 and row["judged"] == 5
    assert sr.rule_table("rap", [[]], "samples")[0]["share"] is None
    assert sr.check_piece("rap", [])["backbeat"] == (0, 0)
    with pytest.raises(ValueError, match="no rules"):
        sr.rule_table("jazz", [], "corpus")


def test_no_foreign_piece_obeys_all_rules():
    sets = {g: [p.notes for p in generate_pieces(g, 15, 3)] for g in GENERATORS}
    for genre in GENERATORS:
        for other, pieces in sets.items():
            if other != genre:
                for notes in pieces:
                    results = sr.check_piece(genre, notes).values()
                    assert any(ok < n for ok, n in results), (genre, other)


# --- degenerate input -------------------------------------------------------------------------------------

DEGENERATE = [
    [],
    [Note(60, 0, 1)],
    [Note(p, 0, 4) for p in range(30, 90)],  # everything at once
    [Note(0, 0, 1), Note(127, 10_000, 10_001)],  # extremes, a long silence
    [Note(60, 5, 5), Note(61, 3, 2)],  # empty notes (dropped)
    [(40, 0, 2), (47, 0, 2), (52, 0, 2)],  # plain tuples
]


@pytest.mark.parametrize("notes", DEGENERATE, ids=range(len(DEGENERATE)))
def test_degenerate_note_lists_do_not_crash(notes):
    for rules in sr.RULES.values():
        for rule in rules:
            obeyed, units = rule.check(notes)
            assert 0 <= obeyed <= units
            if not normalize(Note(*n) for n in notes):
                assert units == 0


# --- atonal -----------------------------------------------------------------------------------------------

def line(pcs, start: int = 0, dur: int = 2, base: int = 60) -> list[Note]:
    return [Note(base + pc, start + i * dur, start + (i + 1) * dur) for i, pc in enumerate(pcs)]


CHROMATIC = list(range(12))


def test_row_forms_accept_p_i_r_ri_and_reject_others():
    row = [int(pc) for pc in np.random.default_rng(5).permutation(12)]
    for form in atonal.FORMS:
        second = list(atonal.row_form(row, form, 5))
        assert share("atonal", "row_forms", line(row) + line(second, 24)) == 1.0
    assert share("atonal", "row_forms", line(CHROMATIC) + line([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11], 24)) == 0.0
    # simultaneous row notes may be written in either order
    dyad = [Note(60, 0, 2), Note(61, 0, 2)] + line(CHROMATIC[2:], 2)
    assert share("atonal", "row_forms", dyad + line(CHROMATIC[::-1], 30)) == 1.0


def test_twelve_tone_rows_catch_a_repeated_pitch_class():
    assert share("atonal", "twelve_tone_rows", line(CHROMATIC) + line(CHROMATIC, 24)) == 1.0
    broken = line([0, 1, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11])  # 1 again before the row is complete
    assert share("atonal", "twelve_tone_rows", broken + line(CHROMATIC, 26)) < 1.0
    notes = compose(atonal, 0).notes
    assert share("atonal", "twelve_tone_rows", notes) == 1.0
    notes[1] = notes[1]._replace(pitch=notes[0].pitch + 12)
    assert share("atonal", "twelve_tone_rows", notes) < 1.0


def test_atonal_register_texture_and_rests():
    notes = compose(atonal, 1).notes
    for rule in ("register", "single_notes_or_dyads", "short_rests"):
        assert share("atonal", rule, notes) == 1.0
    high = [notes[0]._replace(pitch=100)] + notes[1:]
    assert share("atonal", "register", high) < 1.0
    crowd = notes + [Note(30, notes[0].start, notes[0].end), Note(31, notes[0].start, notes[0].end)]
    assert share("atonal", "single_notes_or_dyads", crowd) < 1.0
    overlap = line([0, 1, 2])
    overlap[0] = overlap[0]._replace(end=5)
    assert share("atonal", "single_notes_or_dyads", overlap) < 1.0
    late = [n if n.start == notes[0].start else n._replace(start=n.start + 8, end=n.end + 8) for n in notes]
    assert share("atonal", "short_rests", late) < 1.0


# --- metal ------------------------------------------------------------------------------------------------

def power(root: int, start: int, end: int) -> list[Note]:
    return [Note(p, start, end) for p in theory.power_chord(root)]


def riff(tonic: int = 40) -> list[Note]:
    """Bar 0: four gallops with an accent on the flat second; bar 1: 16th chugs, then the tonic held from step 8."""
    notes = []
    for beat in range(4):
        t = beat * 4
        root = tonic + 1 if beat == 2 else tonic
        notes += power(root, t, t + 2) + power(root, t + 2, t + 3) + power(root, t + 3, t + 4)
    notes += [n for s in range(16, 24) for n in power(tonic, s, s + 1)]
    return normalize(notes + power(tonic, 24, 32))


def without(notes, start: int) -> list[Note]:
    return [n for n in notes if n.start != start]


def test_a_hand_made_riff_obeys_every_metal_rule():
    assert all(ok == n > 0 for ok, n in sr.check_piece("metal", riff()).values())


def test_metal_violations():
    assert share("metal", "power_chords", riff() + [Note(43, 0, 2)]) < 1.0  # a minor third in the first chord
    assert share("metal", "tonic_pedal", riff(tonic=52)) == 0.0  # tonic above the low strings
    assert share("metal", "tonic_pedal", without(riff(), 24) + power(45, 24, 32)) < 1.0  # ends off the tonic
    assert share("metal", "tonic_pedal", without(riff(), 4) + power(39, 4, 6)) < 1.0  # below the tonic
    major_third = without(riff(), 4) + power(44, 4, 6)
    assert share("metal", "minor_or_phrygian", major_third) < 1.0
    assert share("metal", "riff_cells", without(riff(), 0) + power(40, 1, 2)) < 1.0  # a chug on the 2nd 16th
    held_early = [n for n in riff() if n.start >= BAR] + power(40, 0, BAR)  # a sustained chord in bar 0
    assert share("metal", "phrase_end_sustains", held_early) == 0.5
    both_modes = without(without(riff(), 20), 21) + power(42, 20, 21) + power(41, 21, 22)  # degrees 2 and 1
    assert share("metal", "minor_or_phrygian", both_modes) < 1.0


# --- rock -------------------------------------------------------------------------------------------------

def shift_bar(notes, bar: int, low: int, high: int, by: int = 0, drop_step: int | None = None) -> list[Note]:
    """Notes with pitches in [low, high] starting in ``bar`` moved by ``by`` semitones (or dropped at a step)."""
    out = []
    for n in notes:
        if low <= n.pitch <= high and n.start // BAR == bar:
            if drop_step is not None and n.start % BAR == drop_step:
                continue
            n = n._replace(pitch=n.pitch + by)
        out.append(n)
    return out


def off_scale(n: Note, tonic: int) -> Note:
    """The note moved a semitone out of the major scale of ``tonic``."""
    up = (n.pitch + 1 - tonic) % 12 not in theory.MODES["major"]
    return n._replace(pitch=n.pitch + (1 if up else -1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rock_violations(seed):
    comp = compose(rock, seed)
    notes, tonic = comp.notes, comp.info["tonic"]
    assert all(ok == n for ok, n in sr.check_piece("rock", notes).values())
    assert share("rock", "progression", shift_bar(notes, 1, 55, 71, by=1)) < 1.0
    assert share("rock", "backbeat_stabs", shift_bar(notes, 1, 55, 71, drop_step=4)) < 1.0
    assert share("rock", "bass_roots", shift_bar(notes, 0, 0, 54, by=2)) < 1.0
    melody = comp.parts["melody"]
    wrong = [off_scale(n, tonic) if n == melody[0] else n for n in notes]
    assert share("rock", "melody_in_key", wrong) < 1.0
    assert share("rock", "syncopated_motif", [n for n in notes if n != next(m for m in melody if m.start >= 32)]) < 1.0


# --- pop --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_pop_violations(seed):
    comp = compose(pop, seed, bars=16)
    notes, tonic = comp.notes, comp.info["tonic"]
    assert all(ok == n for ok, n in sr.check_piece("pop", notes).values())
    assert share("pop", "four_chords", shift_bar(notes, 0, 53, 71, by=1)) < 1.0
    assert share("pop", "accompaniment", notes + [Note(70, BAR + 1, BAR + 2)]) < 1.0  # a fourth pitch in bar 1
    bass0 = comp.parts["bass"][0]
    assert share("pop", "bass_rhythm", [n._replace(end=n.end - 1) if n == bass0 else n for n in notes]) < 1.0
    melody = comp.parts["melody"]
    assert share("pop", "melody_eighths", [off_scale(n, tonic) if n == melody[0] else n for n in notes]) < 1.0
    assert share("pop", "melody_eighths", [n._replace(end=n.end + 1) if n == melody[-1] else n for n in notes]) < 1.0
    phrase = comp.info["phrase_len"] * BAR
    later = next(m for m in melody if m.start == phrase)
    assert share("pop", "chorus_repeat", [off_scale(n, tonic) if n == later else n for n in notes]) < 1.0


# --- rap --------------------------------------------------------------------------------------------------

def hit(pitch: int, step: int, length: int = 1) -> Note:
    return Note(pitch, step, step + length)


def beat(bars: int = 4, hats=(0, 2, 4, 6, 8, 10, 12, 14), swung_from: int | None = None) -> list[Note]:
    """Kick on 1 and the "and" of 3, snare on 2 and 4, 8th hats, a crash on bar 1 and a tom fill in the last bar."""
    notes = [hit(rap.CRASH, 0, 2)]
    for bar in range(bars):
        t0 = bar * BAR
        fill = bar == bars - 1
        grid = [theory.swing_step(s) for s in hats] if swung_from is not None and bar >= swung_from else hats
        notes += [hit(rap.KICK, t0), hit(rap.KICK, t0 + 10), hit(rap.SNARE, t0 + 4, 2), hit(rap.SNARE, t0 + 12, 2)]
        notes += [hit(rap.CLOSED_HAT, t0 + s) for s in grid if not (fill and s >= 12)]
        if fill:
            notes += [hit(rap.HIGH_TOM, t0 + 13), hit(rap.MID_TOM, t0 + 14), hit(rap.LOW_TOM, t0 + 15)]
    return normalize(notes)


def test_a_hand_made_beat_obeys_every_rap_rule():
    for notes in (beat(), beat(swung_from=0), beat(hats=tuple(range(16))), beat(bars=6)):
        assert all(ok == n > 0 for ok, n in sr.check_piece("rap", notes).values())


def test_rap_violations():
    assert share("rap", "drum_kit", beat() + [hit(60, 3)]) < 1.0  # not a drum key
    assert share("rap", "drum_kit", [n._replace(end=n.start + 4) if n.pitch == rap.SNARE else n
                                     for n in beat()]) < 1.0  # held snares
    moved = [n._replace(start=16, end=18) if n == hit(rap.SNARE, 20, 2) else n for n in beat()]  # 2 -> 1 in bar 1
    assert share("rap", "backbeat", normalize(moved)) == 0.75
    assert share("rap", "backbeat", beat() + [hit(rap.SNARE, 8)]) < 1.0  # a snare on beat 3
    assert share("rap", "kick_downbeat", [n for n in beat() if n != hit(rap.KICK, 32)]) == 0.75
    assert share("rap", "kick_downbeat", beat() + [hit(rap.KICK, 12)]) < 1.0  # kick on the backbeat
    mixed = beat(swung_from=2) + [hit(rap.OPEN_HAT, 14, 2)]  # straight 8ths (open hat on 14), then swung
    assert share("rap", "hat_grid", normalize(mixed)) == 0.75  # best grid: 16ths, which only bar 0's open hat breaks
    assert share("rap", "hat_grid", beat() + [hit(rap.OPEN_HAT, 16 + 13, 2)]) < 1.0  # open hat off the last slot
    assert share("rap", "hat_grid", [n for n in beat() if n != hit(rap.CLOSED_HAT, 16)]) < 1.0  # no downbeat hat
    early_fill = beat() + [hit(rap.LOW_TOM, 16 + 15)]  # toms in bar 2 of a phrase, no crash after them
    assert share("rap", "phrase_fills", early_fill) == 0.5
    assert share("rap", "phrase_fills", beat() + [hit(rap.CRASH, 32, 2)]) < 1.0  # a crash with no fill before it
    assert share("rap", "phrase_fills", [n for n in beat() if n.pitch != rap.CRASH]) < 1.0  # no opening crash


def test_each_rule_says_how_many_bars_it_spans_and_whether_the_context_holds_them(tmp_path):
    every = [r for rules in sr.RULES.values() for r in rules]
    assert all((r.bars == 1) == (r.scope == WITHIN_BAR) for r in every)  # a relation across bars spans more than one
    spans = {(r.genre, r.name): r.bars for r in every}
    assert spans["rock", "progression"] == 5 and spans["pop", "chorus_repeat"] is None  # 4 bars + the one repeating
    assert sr.beyond_window("5", {"window_bars": "4.5", "bars": "120", "pieces": "10"}) == "yes"
    assert sr.beyond_window("1", {"window_bars": "4.5", "bars": "120", "pieces": "10"}) == "no"
    assert sr.beyond_window("piece", {"window_bars": "18.7", "bars": "120", "pieces": "10"}) == "no"  # 12 bars
    assert sr.beyond_window("piece", {"window_bars": "5.9", "bars": "120", "pieces": "10"}) == "yes"
    assert sr.beyond_window("2", None) == "NA"
    rows = sr.rule_table("pop", [p.notes for p in generate_pieces("pop", 3, 0)], "samples")
    write_table(rows, sr.RULE_COLUMNS, tmp_path / "pop.tsv")
    write_table([{"genre": "pop", "tokenizer": "event", "pieces": 3, "bars": 36, "window_bars": 5.9}],
                ["genre", "tokenizer", "pieces", "bars", "window_bars"], tmp_path / "window.tsv")
    merged = sr.aggregate_rules(titles={}, table_paths=[tmp_path / "pop.tsv"], table_path=tmp_path / "rules.tsv",
                                figure_path=tmp_path / "rules.png", window_path=tmp_path / "window.tsv")
    beyond = {r["rule"]: r["beyond_window"] for r in merged}
    assert beyond == {"four_chords": "yes", "accompaniment": "no", "bass_rhythm": "no", "melody_eighths": "no",
                      "chorus_repeat": "yes"}
