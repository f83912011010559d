import pretty_midi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import canonical_note_lists, note_lists

from midi_genres.core.midi import MidiReadError, read_midi, write_midi
from midi_genres.core.notes import Note, normalize, quantize


def test_quantize_rounds_to_16ths_and_never_shrinks_to_zero():
    assert quantize(60, 0.0, 1.0) == Note(60, 0, 4)
    assert quantize(60, 1 / 3, 1 / 3) == Note(60, 1, 3)  # triplet 8th: 1.33 -> 1, 2.67 -> 3
    assert quantize(60, 0.5, 0.01) == Note(60, 2, 3)  # a grace-like sliver keeps one step


def test_normalize_cuts_same_pitch_overlaps_and_drops_duplicates():
    notes = [Note(60, 0, 8), Note(60, 4, 6), Note(60, 0, 3), Note(62, 0, 2), Note(62, 0, 2), Note(200, 0, 1)]
    assert normalize(notes) == [Note(60, 0, 4), Note(62, 0, 2), Note(60, 4, 8)]


@given(note_lists())
def test_normalize_is_idempotent_and_canonical(notes):
    once = normalize(notes)
    assert normalize(once) == once
    assert once == sorted(once, key=lambda n: (n.start, n.pitch, n.end))
    last_end = {}
    for n in once:
        assert n.start < n.end
        assert n.start >= last_end.get(n.pitch, 0)
        last_end[n.pitch] = n.end


@settings(max_examples=30, deadline=None)
@given(notes=canonical_note_lists(max_notes=40))
def test_midi_write_read_round_trip(tmp_path_factory, notes):
    path = tmp_path_factory.mktemp("midi") / "x.mid"
    write_midi(path, notes, tempo_bpm=97)
    assert read_midi(path) == notes


def test_drum_track_is_written_as_drums(tmp_path):
    write_midi(tmp_path / "d.mid", [Note(36, 0, 1), Note(38, 4, 5)], 90, drums=True)
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "d.mid"))
    assert [inst.is_drum for inst in pm.instruments] == [True]
    assert read_midi(tmp_path / "d.mid", keep_drums=False) == []


def test_read_midi_follows_tempo_changes_in_musical_time(tmp_path):
    pm = pretty_midi.PrettyMIDI(resolution=96, initial_tempo=120)
    # tempo change to 60 bpm at tick 384 (beat 4) via the private tick scale, the way mido files carry it
    pm._tick_scales = [(0, 60 / (120 * 96)), (384, 60 / (60 * 96))]
    pm._update_tick_to_time(2000)
    piano, drums = pretty_midi.Instrument(0), pretty_midi.Instrument(0, is_drum=True)
    piano.notes.append(pretty_midi.Note(80, 60, pm.tick_to_time(0), pm.tick_to_time(96)))
    piano.notes.append(pretty_midi.Note(80, 62, pm.tick_to_time(384), pm.tick_to_time(480)))  # beat 4, at 60 bpm
    drums.notes.append(pretty_midi.Note(80, 36, pm.tick_to_time(432), pm.tick_to_time(456)))
    pm.instruments += [piano, drums]
    pm.write(str(tmp_path / "t.mid"))
    assert read_midi(tmp_path / "t.mid") == [Note(60, 0, 4), Note(62, 16, 20), Note(36, 18, 19)]
    assert read_midi(tmp_path / "t.mid", keep_drums=False) == [Note(60, 0, 4), Note(62, 16, 20)]


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"this is not a midi file at all", "not a readable MIDI file"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01", "not a readable MIDI file"),
])
def test_read_midi_rejects_bad_files_with_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiReadError, match=message) as info:
        read_midi(path)
    assert str(path) in str(info.value)


def test_read_midi_rejects_enormous_files(tmp_path):
    write_midi(tmp_path / "big.mid", [Note(60, i, i + 1) for i in range(500)], 120)
    with pytest.raises(MidiReadError, match="exceeds the limit"):
        read_midi(tmp_path / "big.mid", max_bytes=100)
    with pytest.raises(MidiReadError, match="500 notes exceeds"):
        read_midi(tmp_path / "big.mid", max_notes=100)


def test_write_midi_is_atomic(tmp_path):
    path = tmp_path / "x.mid"
    with pytest.raises(ValueError):
        write_midi(path, [Note(60, 0, 4)], tempo_bpm=-5)
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), header=st.booleans())
def test_read_midi_survives_fuzzed_bytes_with_one_clean_exception_type(tmp_path_factory, data, header):
    path = tmp_path_factory.mktemp("fuzz") / "f.mid"
    path.write_bytes((b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x60MTrk" if header else b"") + data)
    try:
        notes = read_midi(path)
    except MidiReadError:
        return
    assert notes == normalize(notes)


def test_read_midi_survives_truncation_of_a_real_file(tmp_path):
    write_midi(tmp_path / "ok.mid", [Note(60 + i % 12, i, i + 2) for i in range(50)], 120)
    data = (tmp_path / "ok.mid").read_bytes()
    refused = 0
    for cut in range(0, len(data), 7):
        (tmp_path / "cut.mid").write_bytes(data[:cut])
        try:
            notes = read_midi(tmp_path / "cut.mid")
        except MidiReadError as exc:
            assert "cut.mid" in str(exc)
            refused += 1
        else:
            assert notes == normalize(notes) and len(notes) <= 50
    assert refused >= 1  # at least the empty file; any other cut reads as a prefix or is refused cleanly
    assert len(read_midi(tmp_path / "ok.mid")) == 50
