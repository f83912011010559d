"""A genre from a folder of MIDI files (kind: midi_dir): unit tests and a run of the real workflow."""

from __future__ import annotations

import copy

import pretty_midi
import pytest
import yaml
from workflow_helpers import snakemake, tiny_config

from midi_genres.core.midi import read_midi
from midi_genres.core.notes import Note
from midi_genres.sources.midi_dir import find_midi_files, import_midi_dir, read_midi_dir, track_selection
from midi_genres.sources.midi_folder import Piece, read_manifest

RESOLUTION = 96  # ticks per quarter: a 16th is 24 ticks


def _tempo_map(pm: pretty_midi.PrettyMIDI, changes: list[tuple[int, float]]) -> None:
    """Give a PrettyMIDI object tempo changes [(tick, bpm), ...] (pretty_midi has no public API for it)."""
    pm._tick_scales = [(tick, 60 / (bpm * RESOLUTION)) for tick, bpm in changes]
    pm._update_tick_to_time(RESOLUTION * 400)


def _add(pm: pretty_midi.PrettyMIDI, inst: pretty_midi.Instrument, notes: list[Note]) -> None:
    """Add notes given in 16th-note steps, placed by ticks so the tempo map cannot blur them."""
    for n in notes:
        inst.notes.append(pretty_midi.Note(90, n.pitch, pm.tick_to_time(n.start * RESOLUTION // 4),
                                           pm.tick_to_time(n.end * RESOLUTION // 4)))
    pm.instruments.append(inst)


def write_song(path, melody: list[Note], bass: list[Note] = (), drums: list[Note] = (),
               tempi: list[tuple[int, float]] = ((0, 120.0),)) -> None:
    """A multi-track MIDI file (melody, bass, drums), with a tempo map."""
    pm = pretty_midi.PrettyMIDI(resolution=RESOLUTION)
    _tempo_map(pm, list(tempi))
    _add(pm, pretty_midi.Instrument(program=30), melody)
    if bass:
        _add(pm, pretty_midi.Instrument(program=33), bass)
    if drums:
        _add(pm, pretty_midi.Instrument(program=0, is_drum=True), drums)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))


def riff(root: int, bars: int = 2) -> list[Note]:
    """A chugging power-chord riff in 8ths: root and fifth."""
    return [Note(p, 2 * i, 2 * i + 2) for i in range(8 * bars) for p in (root + (i % 4 == 3) * 3, root + 7)]


BASS = [Note(28, 8 * i, 8 * i + 8) for i in range(4)]
DRUMS = [Note(36 if i % 2 == 0 else 38, 4 * i, 4 * i + 1) for i in range(8)]
TEMPI = [(0, 160.0), (RESOLUTION * 4, 90.0), (RESOLUTION * 6, 200.0)]  # changes at bar 2 beat 1 and beat 3


@pytest.fixture()
def folder(tmp_path):
    """A folder as a user might have it: nested, mixed extensions, a corrupt file, a too-short file, non-MIDI."""
    root = tmp_path / "my metal"
    write_song(root / "a_riff.mid", riff(40), BASS, DRUMS, TEMPI)
    write_song(root / "b_riff.MID", riff(45))
    write_song(root / "live" / "2024" / "encore.midi", riff(38), BASS, DRUMS)
    write_song(root / "tiny.mid", [Note(40, 0, 4), Note(47, 4, 8)])
    (root / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01garbage")
    (root / "notes.txt").write_text("not music")
    write_song(root / ".hidden" / "x.mid", riff(50))
    return root


def test_finds_mid_and_midi_files_recursively_in_sorted_order(folder):
    found = [p.relative_to(folder).as_posix() for p in find_midi_files(folder)]
    assert found == ["a_riff.mid", "b_riff.MID", "broken.mid", "live/2024/encore.midi", "tiny.mid"]


def test_reads_every_track_in_musical_time_and_records_skips_with_reasons(folder):
    items = list(read_midi_dir(folder))
    assert [(type(i).__name__, i.piece_id) for i in items] == [
        ("Piece", "a_riff"), ("Piece", "b_riff"), ("Skipped", "broken"), ("Piece", "live/2024/encore"),
        ("Skipped", "tiny")]
    a = items[0]
    assert a.source == "a_riff.mid"
    # three tracks merged; the tempo changes (160 -> 90 -> 200 bpm) leave the 16th-note grid untouched
    assert a.notes == sorted(riff(40) + BASS + DRUMS, key=lambda n: (n.start, n.pitch, n.end))
    assert "not a readable MIDI file" in items[2].reason and "broken.mid" in items[2].reason
    assert str(folder) not in items[2].reason  # the reason names the file by its path inside the folder
    assert items[4].reason == "2 notes, fewer than min_notes=16"


def test_tracks_pitched_drops_the_drum_tracks_drums_keeps_them_alone_and_caps_apply(folder):
    a = next(read_midi_dir(folder, tracks="pitched"))
    assert a.notes == sorted(riff(40) + BASS, key=lambda n: (n.start, n.pitch, n.end))
    drums = list(read_midi_dir(folder, tracks="drums", min_notes=1))
    assert drums[0].notes == sorted(DRUMS, key=lambda n: (n.start, n.pitch, n.end))
    assert drums[1].reason == "0 notes in its drum tracks, fewer than min_notes=1"  # b_riff has no drum track
    items = list(read_midi_dir(folder, max_pieces=1, min_notes=1))
    assert [i.piece_id for i in items] == ["a_riff"]
    assert [i.piece_id for i in read_midi_dir(folder, min_notes=2) if isinstance(i, Piece)][-1] == "tiny"


def test_import_writes_the_folder_and_a_manifest_listing_every_file(folder, tmp_path):
    counts = import_midi_dir(folder=folder, out_dir=tmp_path / "out/mymetal",
                             manifest_path=tmp_path / "out/mymetal.manifest.tsv")
    notes = sum(len(i.notes) for i in read_midi_dir(folder) if isinstance(i, Piece))
    assert counts == {"pieces": 3, "skipped": 2, "notes": notes}
    rows = read_manifest(tmp_path / "out/mymetal.manifest.tsv")
    assert [(r["piece_id"], r["status"]) for r in rows] == [
        ("a_riff", "ok"), ("b_riff", "ok"), ("broken", "skipped"), ("live/2024/encore", "ok"), ("tiny", "skipped")]
    encore = next(r for r in rows if r["piece_id"] == "live/2024/encore")
    assert read_midi(tmp_path / "out/mymetal" / encore["file"]) == read_midi(folder / "live/2024/encore.midi")


def test_a_drums_genre_is_written_as_a_drum_kit(folder, tmp_path):
    import_midi_dir(folder=folder, out_dir=tmp_path / "kit", manifest_path=tmp_path / "kit.manifest.tsv",
                    tracks="drums", min_notes=1)
    row = read_manifest(tmp_path / "kit.manifest.tsv")[0]
    assert read_midi(tmp_path / "kit" / row["file"]) == sorted(DRUMS, key=lambda n: (n.start, n.pitch, n.end))
    assert read_midi(tmp_path / "kit" / row["file"], keep_drums=False) == []  # channel 10


def test_track_selection_reads_tracks_and_its_keep_drums_alias():
    assert [track_selection(s) for s in ({}, {"keep_drums": True}, {"keep_drums": False}, {"tracks": "drums"},
                                         {"tracks": "pitched", "keep_drums": False})] == [
        "all", "all", "pitched", "drums", "pitched"]
    with pytest.raises(ValueError, match="g: tracks: drums and keep_drums: true disagree"):
        track_selection({"tracks": "drums", "keep_drums": True}, "g")


def test_missing_empty_and_useless_folders_fail_naming_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_midi_files(tmp_path / "nowhere")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no music here")
    with pytest.raises(ValueError, match="'.*empty' holds no .mid or .midi file"):
        list(read_midi_dir(tmp_path / "empty"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.mid").write_bytes(b"junk")
    with pytest.raises(ValueError, match="'.*junk' has no usable piece"):
        import_midi_dir(folder=tmp_path / "junk", out_dir=tmp_path / "out", manifest_path=tmp_path / "out.tsv")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.tsv").exists()


def test_describe_source_names_the_folder():
    from midi_genres.analysis.summary import describe_source

    assert describe_source({"kind": "midi_dir", "path": "~/midi/metal", "tempo": 140}) == "midi_dir:~/midi/metal"


# ---------------------------------------------------------------------------------------------------------
# the real workflow


def midi_dir_config(path, **extra):
    """``tiny_config()`` with one genre, ``mymetal``, read from ``path``: the three lines of the README."""
    cfg = tiny_config()
    cfg["genres"] = ["mymetal"]
    cfg["sources"]["mymetal"] = {"kind": "midi_dir", "path": str(path), "tempo": 140, **extra}
    return cfg


@pytest.mark.slow
def test_workflow_trains_and_samples_a_midi_dir_genre_and_notices_new_files(folder, tmp_path):
    for k in range(4):  # enough pieces (and tunes: a lead line of its own each) for a validation split
        lead = [Note(72 + (i * (k + 2)) % 9, 2 * i, 2 * i + 2) for i in range(32)]
        write_song(folder / "more" / f"riff{k}.mid", riff(36 + k, bars=4) + lead, BASS, DRUMS)
    work = tmp_path / "work"
    work.mkdir()
    cfg = midi_dir_config(folder, max_pieces=None)  # tiny_config caps pieces at 5; this genre takes all
    snakemake(work, "--cores", "2", "results/samples/mymetal.mid", config=cfg)
    rows = read_manifest(work / "data/midi/mymetal.manifest.tsv")
    assert sum(r["status"] == "ok" for r in rows) == 7
    assert {r["piece_id"]: r["reason"] for r in rows if r["status"] == "skipped"}.keys() == {"broken", "tiny"}
    assert read_midi(work / "results/samples/mymetal.mid")
    assert "'pieces': 7, 'skipped': 2" in (work / "logs/import_midi_dir/mymetal.log").read_text()
    assert "Nothing to be done" in (lambda p: p.stdout + p.stderr)(
        snakemake(work, "-n", "results/samples/mymetal.mid"))
    write_song(folder / "more" / "riff_new.mid", riff(42))  # a new file reruns the genre from the import on
    out = snakemake(work, "-n", "results/samples/mymetal.mid").stdout
    assert all(f"rule {r}:" in out for r in ("import_midi_dir", "tokenize", "train", "sample"))


def test_missing_folder_stops_the_dry_run_naming_genre_and_folder(tmp_path):
    proc = snakemake(tmp_path, "-n", config=midi_dir_config(tmp_path / "no such folder"), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "genre 'mymetal' (kind: midi_dir)" in out and "no such folder" in out
    assert not (tmp_path / "data").exists()


def test_folder_without_midi_files_fails_the_import_job_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(work, "--cores", "1", "data/midi/mymetal.manifest.tsv",
                     config=midi_dir_config(tmp_path / "empty"), check=False)
    assert proc.returncode != 0
    assert "holds no .mid or .midi file" in (work / "logs/import_midi_dir/mymetal.log").read_text()
    assert not (work / "data/midi/mymetal").exists()


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.pop("path"), "'path' is a required property"),
    (lambda s: s.update(generator="metal"), "should not be valid"),
    (lambda s: s.update(keep_drums="yes"), "'yes' is not of type 'boolean'"),
    (lambda s: s.update(tracks="bass"), "'bass' is not one of ['all', 'pitched', 'drums']"),
    (lambda s: s.update(label="Rock"), "should not be valid"),
])
def test_bad_midi_dir_source_fails_validation(tmp_path, mutate, message):
    cfg = copy.deepcopy(midi_dir_config(tmp_path))
    mutate(cfg["sources"]["mymetal"])
    proc = snakemake(tmp_path, "-n", config=cfg, check=False)
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr


def test_the_docs_show_the_three_line_config():
    from workflow_helpers import REPO

    readme = (REPO / "docs/configuration.md").read_text()
    [snippet] = [block.split("```", 1)[0] for block in readme.split("```yaml\n")[1:] if "kind: midi_dir" in block]
    cfg = yaml.safe_load(snippet)
    assert cfg["sources"]["mymetal"]["kind"] == "midi_dir" and "mymetal" in cfg["genres"]
