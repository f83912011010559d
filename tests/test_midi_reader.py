"""The symusic reader and the direct writer against the pretty_midi reference; pool import; notes cache."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import canonical_note_lists

import midi_genres.core.midi as midi_module
from midi_genres.core.midi import (
    MAX_MIDI_BYTES,
    MAX_MIDI_NOTES,
    MidiReadError,
    _notes_pretty_midi,
    midi_bytes,
    read_midi,
)
from midi_genres.core.notes import Note, normalize, steps_to_seconds
from midi_genres.sources.midi_dir import import_midi_dir
from midi_genres.sources.midi_folder import notes_cache_path, read_manifest, read_notes_cache
from midi_genres.tokens.dataset import tokenize_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from make_midi_folder import make_midi_folder  # noqa: E402


def reference_read_midi(path, keep_drums=True, max_bytes=MAX_MIDI_BYTES, max_notes=MAX_MIDI_NOTES):
    """read_midi as it was, all on pretty_midi (seconds back to ticks through the tempo map, then 16ths): the size
    checks, then the package's pretty_midi reader, which read_midi keeps only for files where the two would pair
    note-offs differently; everywhere else the two paths must agree."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MidiReadError(f"{path}: empty file")
    if size > max_bytes:
        raise MidiReadError(f"{path}: {size} bytes exceeds the limit of {max_bytes} bytes for one MIDI file")
    return _notes_pretty_midi(path, keep_drums, max_notes)


def reference_midi_bytes(notes, tempo_bpm, drums=False):
    """The file pretty_midi writes (write_midi as it was)."""
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=float(tempo_bpm))
    track = pretty_midi.Instrument(program=0, is_drum=drums)
    step = steps_to_seconds(1, tempo_bpm)
    track.notes = [pretty_midi.Note(velocity=80, pitch=n.pitch, start=n.start * step, end=n.end * step)
                   for n in normalize(notes)]
    pm.instruments.append(track)
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()


def outcome(reader, path, **kw):
    try:
        return reader(path, **kw)
    except MidiReadError:
        return "MidiReadError"


@pytest.fixture(params=["symusic where it pairs alike", "event reader everywhere"])
def either_reader(request, monkeypatch):
    """Run a test as read_midi runs, and again with every file sent to the event reader (pretty_midi's pairing)."""
    if request.param == "event reader everywhere":
        monkeypatch.setattr(midi_module, "_pairing_is_ambiguous", lambda score: True)


def assert_same_as_reference(path):
    for keep_drums in (True, False):
        assert outcome(read_midi, path, keep_drums=keep_drums) == outcome(reference_read_midi, path,
                                                                          keep_drums=keep_drums), path


def on(p, v=64, c=0):
    return mido.Message("note_on", note=p, velocity=v, channel=c)


def off(p, c=0):
    return mido.Message("note_off", note=p, channel=c)


def tempo(bpm):
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))


def write_events(path, tracks, tpq=96, fmt=1):
    """A file from per-track lists of (absolute tick, message), in the order given."""
    mf = mido.MidiFile(type=fmt, ticks_per_beat=tpq)
    for events in tracks:
        track, last = mido.MidiTrack(), 0
        for t, msg in events:
            track.append(msg.copy(time=t - last))
            last = t
        mf.tracks.append(track)
    mf.save(str(path))
    return path


AWKWARD = {
    "restruck_same_pitch": [[(0, on(60)), (24, on(60)), (48, off(60)), (72, off(60))]],
    "velocity0_note_offs": [[(0, on(60)), (24, on(60, 0)), (24, on(62)), (48, on(62, 0))]],
    "zero_length_note": [[(0, on(60)), (0, off(60)), (48, off(60)), (48, on(61)), (96, off(61))]],
    "off_and_on_on_one_tick": [[(0, on(60)), (24, on(60)), (24, off(60)), (48, off(60))]],
    "unterminated_note": [[(0, on(60)), (24, on(62)), (48, off(62))]],
    "double_onset_one_tick": [[(0, on(60)), (0, on(60)), (24, off(60)), (48, off(60))]],
    "duplicate_onset_one_release": [[(0, on(60)), (0, on(60)), (24, off(60)), (30, on(64)), (40, off(64))]],
    "note_off_on_other_channel": [[(0, on(60, c=0)), (24, off(60, c=1)), (48, off(60, c=0))]],
    "drums_and_piano_one_track": [[(0, on(36, c=9)), (0, on(60)), (24, off(36, c=9)), (48, off(60))]],
    "program_change_while_sounding": [[(0, on(60)), (24, mido.Message("program_change", program=5)),
                                       (30, on(60)), (48, off(60)), (60, off(60))]],
    "tracks_sharing_a_channel": [[(0, tempo(90)), (100, tempo(150))], [(0, on(60)), (48, off(60))],
                                 [(24, on(60)), (72, off(60))]],
    "note_off_in_another_track": [[(0, on(60)), (50, off(61))], [(24, off(60))]],
    "tempo_changes_mid_note": [[(0, tempo(60)), (0, on(60)), (13, tempo(200)), (37, tempo(33)), (50, off(60)),
                                (71, on(62)), (1000, tempo(240)), (2001, off(62))]],
}


@pytest.mark.parametrize("name", sorted(AWKWARD))
@pytest.mark.parametrize("fmt", [0, 1])
def test_reader_equals_pretty_midi_on_awkward_files(tmp_path, name, fmt, either_reader):
    tracks = AWKWARD[name]
    if fmt == 0:
        tracks = [[e for tr in tracks for e in tr]]
        tracks[0].sort(key=lambda e: e[0])  # stable: the order within a tick stays
    for tpq in (96, 1000):
        path = write_events(tmp_path / f"{name}_{tpq}.mid", [[(t * tpq // 96, m) for t, m in tr] for tr in tracks],
                            tpq=tpq, fmt=fmt)
        assert_same_as_reference(path)


def test_reader_equals_pretty_midi_on_byte_level_oddities(tmp_path, either_reader):
    body = b"\x00\xff\x51\x03\x07\xa1\x20\x00\x90\x3c\x50\x30\x3c\x00\x00\x3e\x50\x30\x3e\x00\x00\xff\x2f\x00"

    files = {
        "running_status.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk" + len(body).to_bytes(4, "big") + body,
        "smpte.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\xe7\x28MTrk" + len(body).to_bytes(4, "big") + body,
        "header_only.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x00\x60",
        "missing_track.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x00\x60MTrk" + len(body).to_bytes(4, "big") + body,
        "truncated_track.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk" + (99).to_bytes(4, "big") + body,
        "not_midi.mid": b"RIFF this is not a MIDI file at all",
        "no_tracks.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x00\x60",
        "empty_track.mid": b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x00\x60MTrk\x00\x00\x00\x00MTrk"
                           + len(body).to_bytes(4, "big") + body,
        "huge_tick.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x10"
                         b"\x00\x90\x3c\x50\x85\x80\x80\x00\x3c\x00\x00\xff\x2f\x00\x00\x00",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        assert_same_as_reference(tmp_path / name)
    assert read_midi(tmp_path / "running_status.mid") == [Note(60, 0, 2), Note(62, 2, 4)]


BODY = b"\x00\xff\x51\x03\x07\xa1\x20\x00\x90\x3c\x50\x30\x3c\x00\x00\x3e\x50\x30\x3e\x00\x00\xff\x2f\x00"


def one_track(events: bytes) -> bytes:
    return b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk" + len(events).to_bytes(4, "big") + events


MIDO_ODDITIES = {  # what mido reads in its own way: the event reader must agree or leave the file to pretty_midi
    "sysex.mid": one_track(b"\x00\xf0\x03\x7e\x01\xf7" + BODY),
    "running_status_after_sysex.mid": one_track(b"\x00\xf0\x02\x01\xf7\x00\x3c\x50\x30\x80\x3c\x00" + BODY),
    "sysex_data_above_127.mid": one_track(b"\x00\xf0\x03\x7e\x81\xf7" + BODY),
    "bad_key_signature.mid": one_track(b"\x00\xff\x59\x02\x09\x00" + BODY),
    "short_tempo.mid": one_track(b"\x00\xff\x51\x02\x07\xa1" + BODY),
    "zero_tempo.mid": one_track(b"\x00\xff\x51\x03\x00\x00\x00" + BODY),
    "data_byte_above_127.mid": one_track(b"\x00\x90\x3c\xd0\x30\x80\x3c\x00" + BODY),
    "event_past_chunk_end.mid": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk"
                                + (len(BODY) - 1).to_bytes(4, "big") + BODY,
    "system_common.mid": one_track(b"\x00\xf2\x01\x01" + BODY),
}


@pytest.mark.parametrize("name", sorted(MIDO_ODDITIES))
def test_event_reader_agrees_with_pretty_midi_on_mido_oddities(tmp_path, name, monkeypatch):
    monkeypatch.setattr(midi_module, "_pairing_is_ambiguous", lambda score: True)
    (tmp_path / name).write_bytes(MIDO_ODDITIES[name])
    assert_same_as_reference(tmp_path / name)


def test_known_difference_symusic_reads_what_mido_refuses(tmp_path):
    """A sysex byte above 127, an unknown key signature or a 2-byte tempo: mido (so pretty_midi) refuses the file,
    symusic reads its notes, and read_midi keeps them (as it did before the event reader)."""
    for name in ("sysex_data_above_127.mid", "bad_key_signature.mid", "short_tempo.mid"):
        (tmp_path / name).write_bytes(MIDO_ODDITIES[name])
        assert outcome(reference_read_midi, tmp_path / name) == "MidiReadError"
        assert read_midi(tmp_path / name) == [Note(60, 0, 2), Note(62, 2, 4)]


def test_files_symusic_would_pair_differently_are_read_without_pretty_midi(tmp_path, monkeypatch):
    """Overlapping strikes of one pitch (and format-0 files with several channels on a pitch) go to the event
    reader, which pairs as pretty_midi does: pretty_midi itself is not called for them."""
    paths = [write_events(tmp_path / f"{name}.mid", [[e for tr in AWKWARD[name] for e in tr]], fmt=0)
             for name in ("double_onset_one_tick", "off_and_on_on_one_tick", "program_change_while_sounding",
                          "note_off_on_other_channel", "drums_and_piano_one_track")]
    expected = {path: reference_read_midi(path) for path in paths}
    monkeypatch.setattr(midi_module, "_notes_pretty_midi", lambda *a: pytest.fail("pretty_midi was called"))
    for path in paths:
        assert read_midi(path) == expected[path], path


def test_known_difference_unreleased_restrike(tmp_path):
    """A pitch struck again while sounding and never released: pretty_midi ends the stray note with the first
    note's release (splitting that note in two); symusic drops it, as it drops every unreleased note."""
    path = write_events(tmp_path / "stray.mid", [[(0, on(60)), (24, on(60)), (48, off(60))]])
    assert reference_read_midi(path) == [Note(60, 0, 1), Note(60, 1, 2)]
    assert read_midi(path) == [Note(60, 0, 2)]


def test_reader_equals_pretty_midi_on_a_generated_folder_and_real_files(tmp_path, either_reader):
    files = make_midi_folder(tmp_path / "songs", songs=12, seed=5)
    files += sorted(Path(mido.__file__).parents[1].glob("music21/**/*.mid"))[:30]
    assert len(files) > 12
    for path in files:
        assert_same_as_reference(path)


@settings(max_examples=40, deadline=None)
@given(notes=canonical_note_lists(max_notes=60), tempo_bpm=st.floats(20, 300), drums=st.booleans())
def test_midi_bytes_equal_pretty_midi_files(notes, tempo_bpm, drums):
    assert midi_bytes(notes, tempo_bpm, drums) == reference_midi_bytes(notes, tempo_bpm, drums)


def test_midi_bytes_equal_pretty_midi_on_long_and_empty_pieces():
    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(0, 20_000, 3000))
    notes = [Note(int(p), int(s), int(s + d)) for p, s, d in zip(rng.integers(0, 128, 3000), starts,
                                                                rng.integers(1, 40, 3000))]
    for tempo_bpm in (120.0, 97, 33.3):
        assert midi_bytes(notes, tempo_bpm) == reference_midi_bytes(notes, tempo_bpm)
    assert midi_bytes([], 120) == reference_midi_bytes([], 120)


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lakh")
    make_midi_folder(root, songs=16, seed=2)
    (root / "zero.mid").write_bytes(b"")
    return root


def test_pool_import_writes_the_same_folder_manifest_and_cache_as_one_worker(songs, tmp_path):
    outs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        counts = import_midi_dir(folder=songs, out_dir=out / "g", manifest_path=out / "g.manifest.tsv", workers=workers)
        files = {p.name: p.read_bytes() for p in sorted((out / "g").iterdir())}
        with np.load(out / "g.notes.npz") as cache:  # its file stamps (size, mtime) differ
            arrays = {k: cache[k].tolist() for k in ("notes", "offsets", "files")}
        outs[workers] = (counts, files, (out / "g.manifest.tsv").read_text(), arrays)
    assert outs[1] == outs[2]
    rows = read_manifest(tmp_path / "w2/g.manifest.tsv")
    assert [r["reason"] for r in rows if r["piece_id"] == "zero"] == ["zero.mid: empty file"]
    counts = import_midi_dir(folder=songs, out_dir=tmp_path / "cap/g", manifest_path=tmp_path / "cap/g.manifest.tsv",
                             workers=2, max_pieces=3)
    assert counts["pieces"] == 3


def test_notes_cache_holds_what_reading_the_files_gives_and_tokenize_agrees(songs, tmp_path):
    import_midi_dir(folder=songs, out_dir=tmp_path / "g", manifest_path=tmp_path / "g.manifest.tsv", workers=2)
    cached = read_notes_cache(tmp_path / "g.manifest.tsv")
    rows = [r for r in read_manifest(tmp_path / "g.manifest.tsv") if r["status"] == "ok"]
    assert len(cached) == len(rows) > 10
    for row, notes in zip(rows, cached):
        assert [Note(*n) for n in notes.tolist()] == read_midi(tmp_path / "g" / row["file"])
    with_cache = tokenize_folder(tmp_path / "g", tmp_path / "g.manifest.tsv", 0.2)
    notes_cache_path(tmp_path / "g.manifest.tsv").unlink()
    without = tokenize_folder(tmp_path / "g", tmp_path / "g.manifest.tsv", 0.2)
    assert np.array_equal(with_cache[0].train, without[0].train) and np.array_equal(with_cache[0].val, without[0].val)
    assert (with_cache[0].stats, with_cache[0].rows) == (without[0].stats, without[0].rows)


def test_a_cache_that_does_not_match_the_manifest_is_ignored(songs, tmp_path):
    import_midi_dir(folder=songs, out_dir=tmp_path / "a", manifest_path=tmp_path / "a.manifest.tsv", max_pieces=4)
    import_midi_dir(folder=songs, out_dir=tmp_path / "b", manifest_path=tmp_path / "b.manifest.tsv", max_pieces=5)
    notes_cache_path(tmp_path / "a.manifest.tsv").write_bytes(notes_cache_path(tmp_path / "b.manifest.tsv")
                                                             .read_bytes())
    assert read_notes_cache(tmp_path / "a.manifest.tsv") is None
    notes_cache_path(tmp_path / "a.manifest.tsv").write_bytes(b"junk")
    assert read_notes_cache(tmp_path / "a.manifest.tsv") is None


def test_a_file_changed_after_the_import_is_read_again(songs, tmp_path):
    import_midi_dir(folder=songs, out_dir=tmp_path / "g", manifest_path=tmp_path / "g.manifest.tsv")
    rows = [r for r in read_manifest(tmp_path / "g.manifest.tsv") if r["status"] == "ok"]
    (tmp_path / "g" / rows[0]["file"]).write_bytes(midi_bytes([Note(60, 0, 4)], 120))
    (tmp_path / "g" / rows[1]["file"]).write_bytes(b"garbage")
    cached = read_notes_cache(tmp_path / "g.manifest.tsv", tmp_path / "g")
    assert cached[0] is None and cached[1] is None and all(c is not None for c in cached[2:])
    stats = tokenize_folder(tmp_path / "g", tmp_path / "g.manifest.tsv", 0.2)[0].stats
    assert stats.skipped == 1 and stats.notes_train + stats.notes_val == 1 + sum(int(r["notes"]) for r in rows[2:])
