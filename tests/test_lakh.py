"""Genres from the Lakh MIDI Dataset by genre label (kind: lakh), on a generated replica (tests/lakh_replica.py)."""

from __future__ import annotations

import re
import time

import pytest
from lakh_replica import ABSENT, KIT, TRACKS, build_replica, track_id, write_big_label_file
from workflow_helpers import snakemake, tiny_config

from midi_genres.core.midi import read_midi
from midi_genres.sources.lakh import (
    LakhConfigError,
    check_lakh_source,
    import_lakh,
    label_counts,
    lmd_path,
    read_labels,
    read_match_scores,
    select_songs,
)
from midi_genres.sources.midi_folder import read_manifest


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    return build_replica(tmp_path_factory.mktemp("lakh"))


def songs(replica, label, rank="first", seed=0):
    labels, scores = read_labels(replica.labels), read_match_scores(replica.match_scores)
    return select_songs(labels, scores, label, rank, seed)


def test_label_file_gives_one_or_two_labels_and_skips_comments(replica):
    labels = read_labels(replica.labels)
    assert labels[track_id("pop_rock")] == ("Pop", "Rock") and labels[track_id("rock1")] == ("Rock",)
    assert labels[track_id("ghost_metal")] == ("Metal", "Punk")  # labels of tracks not in LMD-matched are read
    assert track_id("unlabelled") not in labels
    assert len(labels) == sum(1 for labels, _ in TRACKS.values() if labels) + len(ABSENT)


def test_cd1_and_magd_files_read_alike_with_any_line_ending(tmp_path):
    magd = tmp_path / "msd-MAGD-genreAssignment.cls"
    magd.write_bytes(b"TRAAAAK128F9318786\tPop_Rock\r\nTRAAAAV128F421A322\tPop_Rock\r\nTRAAAAW128F429D538\tRap\r\n")
    assert read_labels(magd) == {"TRAAAAK128F9318786": ("Pop_Rock",), "TRAAAAV128F421A322": ("Pop_Rock",),
                                 "TRAAAAW128F429D538": ("Rap",)}
    cd1 = tmp_path / "msd_tagtraum_cd1.cls"
    cd1.write_text("# comment\n#\n\nTRAAAAK128F9318786\tPop_Rock\tElectronic\nTRAAAAW128F429D538\tRap")
    assert read_labels(cd1) == {"TRAAAAK128F9318786": ("Pop_Rock", "Electronic"), "TRAAAAW128F429D538": ("Rap",)}


def test_selection_takes_each_labelled_track_once_with_its_best_file(replica):
    rock = {replica.name(s.track_id): s for s in songs(replica, "Rock")}
    assert set(rock) == {"rock1", "rock2", "rock3", "rock4", "rock5", "rock6", "rock_broken", "rock_twin"}
    assert rock["rock1"].md5 == replica.md5s[1] and rock["rock1"].score == 0.91  # 0.91 beats 0.62
    assert rock["rock3"].md5 == replica.md5s[5]  # the best of three
    assert rock["rock_broken"].md5 == replica.md5s[None]  # its best file, though broken
    assert rock["rock1"].source == lmd_path(track_id("rock1"), replica.md5s[1])
    assert (replica.lmd / rock["rock1"].source).is_file()
    # one file, two tracks of one label: the better match keeps it
    assert rock["rock_twin"].owner == track_id("rock2") and rock["rock2"].owner is None
    # label_rank any adds the track whose minority label is Rock
    assert {replica.name(s.track_id) for s in songs(replica, "Rock", "any")} == set(rock) | {"pop_rock"}
    assert {replica.name(s.track_id) for s in songs(replica, "Pop")} == {"pop_rock", "pop1", "pop2"}


def test_a_file_matched_to_tracks_of_two_labels_counts_for_its_best_match_only(replica):
    metal = {replica.name(s.track_id): s for s in songs(replica, "Metal")}
    assert metal["metal_twin"].md5 == replica.md5s[1] and metal["metal_twin"].owner == track_id("rock1")
    assert metal["metal1"].owner is None and "ghost_metal" not in metal


def test_order_is_seeded_and_the_same_on_every_run(replica):
    first = [s.track_id for s in songs(replica, "Rock", seed=0)]
    assert first == [s.track_id for s in songs(replica, "Rock", seed=0)]
    assert first != [s.track_id for s in songs(replica, "Rock", seed=1)]
    assert sorted(first) == sorted(s.track_id for s in songs(replica, "Rock", seed=1))


def test_import_writes_the_capped_songs_with_lakh_columns_and_every_skip(replica, tmp_path):
    def run(out, **kw):
        counts = import_lakh(lmd=replica.lmd, match_scores=replica.match_scores, labels=replica.labels,
                             label="Rock", out_dir=out / "rock", manifest_path=out / "rock.manifest.tsv", **kw)
        return counts, read_manifest(out / "rock.manifest.tsv")

    counts, rows = run(tmp_path / "all")
    assert counts["pieces"] == 6 and counts["skipped"] == 2
    assert [r["track_id"] for r in rows] == [s.track_id for s in songs(replica, "Rock")]
    by_name = {replica.name(r["track_id"]): r for r in rows}
    assert by_name["rock_broken"]["status"] == "skipped" and "not a readable MIDI file" in by_name["rock_broken"][
        "reason"]
    assert by_name["rock_twin"]["reason"] == f"the same file is the better match of track {track_id('rock2')} (Rock)"
    one = by_name["rock3"]
    assert (one["piece_id"], one["md5"], one["match_score"], one["label"], one["status"]) == (
        track_id("rock3"), replica.md5s[5], "0.75", "Rock", "ok")
    assert read_midi(tmp_path / "all/rock" / one["file"]) == read_midi(replica.lmd / one["source"])

    capped, capped_rows = run(tmp_path / "cap", max_pieces=3, workers=2)
    assert capped["pieces"] == 3
    ok = [r["track_id"] for r in capped_rows if r["status"] == "ok"]
    assert ok == [r["track_id"] for r in rows if r["status"] == "ok"][:3]  # the same songs first, with 2 workers
    again = run(tmp_path / "again", max_pieces=3)[1]
    assert again == capped_rows
    assert (tmp_path / "again/rock.manifest.tsv").read_bytes() == (tmp_path / "cap/rock.manifest.tsv").read_bytes()


def test_tracks_pitched_and_drums(replica, tmp_path):
    def notes(tracks):
        import_lakh(lmd=replica.lmd, match_scores=replica.match_scores, labels=replica.labels, label="Rap",
                    tracks=tracks, out_dir=tmp_path / tracks, manifest_path=tmp_path / f"{tracks}.manifest.tsv")
        row = read_manifest(tmp_path / f"{tracks}.manifest.tsv")[0]
        return read_midi(tmp_path / tracks / row["file"]), tmp_path / tracks / row["file"], row

    everything, _, row = notes("all")
    pitched = notes("pitched")[0]
    drums, drum_file, _ = notes("drums")
    source = replica.lmd / row["source"]
    assert everything == read_midi(source) and pitched == read_midi(source, keep_drums=False)
    assert sorted(pitched + drums) == sorted(everything) and {n.pitch for n in drums} <= set(KIT)
    assert read_midi(drum_file, keep_drums=False) == []  # written as a drum kit (channel 10)


def test_a_cd2_size_label_file_is_read_in_under_a_second(tmp_path):
    from midi_genres.sources.lakh import _read_labels

    write_big_label_file(tmp_path / "cd2.cls", 280_000)
    seconds = []
    for _ in range(3):  # the best of three reads (uncached), on a machine shared with other jobs
        _read_labels.cache_clear()
        start = time.perf_counter()
        labels = read_labels(tmp_path / "cd2.cls")
        seconds.append(time.perf_counter() - start)
    assert min(seconds) < 1.0 and len(labels) == 280_000


# ---------------------------------------------------------------------------------------------------------------
# clear errors before any job


def lakh_source(replica, **extra):
    return {"kind": "lakh", "lmd": str(replica.lmd), "labels": str(replica.labels), "label": "Rock", "tempo": 120,
            **extra}


def test_errors_name_the_key_and_the_path(replica, tmp_path):
    where = "genre 'r' (kind: lakh)"
    pattern = re.escape(where)
    with pytest.raises(LakhConfigError, match=rf"^{pattern}: lmd: LMD-matched folder '.*nowhere' does not exist"):
        check_lakh_source(lakh_source(replica, lmd=str(tmp_path / "nowhere")), where)
    with pytest.raises(LakhConfigError, match=r"labels: label file '.*none.cls' does not exist"):
        check_lakh_source(lakh_source(replica, labels=str(tmp_path / "none.cls")), where)
    with pytest.raises(LakhConfigError, match=r"match_scores: match scores file '.*ms.json' does not exist"):
        check_lakh_source(lakh_source(replica, match_scores=str(tmp_path / "ms.json")), where)
    bad = tmp_path / "bad.cls"
    bad.write_text(f"# fine\n{track_id('rock1')}\tRock\n{track_id('rock2')},Rock\n{track_id('rock3')} Rock\n")
    with pytest.raises(LakhConfigError, match=r"labels: '.*bad.cls' is not a genre label file .* line 3 is "
                                              rf"'{track_id('rock2')},Rock'"):
        check_lakh_source(lakh_source(replica, labels=str(bad)), where)
    scores = tmp_path / "scores.json"
    scores.write_text('{"TRAAAAAAAAAAAAAAAA": [0.5]}')
    with pytest.raises(LakhConfigError, match=r"match_scores: '.*scores.json' is not a JSON object .* "
                                              r"entry 'TRAAAAAAAAAAAAAAAA'"):
        check_lakh_source(lakh_source(replica, match_scores=str(scores)), where)


def test_a_label_no_track_has_lists_the_labels_with_their_counts(replica):
    with pytest.raises(LakhConfigError, match=r"label: no track .* has the label 'Punk' .*label_rank: first\); "
                                              r"the labels there, with their tracks: Rock 8, (Metal 3|Pop 3|Rap 3)"):
        check_lakh_source(lakh_source(replica, label="Punk"), "g")
    counts = label_counts(read_labels(replica.labels), read_match_scores(replica.match_scores), "any")
    assert counts == {"Rock": 9, "Pop": 3, "Metal": 3, "Rap": 3}  # ghost_metal's Punk: not in LMD-matched


# ---------------------------------------------------------------------------------------------------------------
# the real workflow


def lakh_config(replica, **extra):
    cfg = tiny_config()
    cfg["genres"] = ["lakh_rap"]
    cfg["sources"]["lakh_rap"] = {**lakh_source(replica, label="Rap", tracks="drums"), **extra}
    return cfg


def test_workflow_stops_before_any_job_naming_genre_key_and_path(replica, tmp_path):
    proc = snakemake(tmp_path, "-n", config=lakh_config(replica, labels=str(tmp_path / "missing.cls")), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "genre 'lakh_rap' (kind: lakh): labels: label file" in out and "missing.cls" in out
    proc = snakemake(tmp_path, "-n", config=lakh_config(replica, label="Jazz"), check=False)
    assert proc.returncode != 0 and "has the label 'Jazz'" in proc.stdout + proc.stderr
    proc = snakemake(tmp_path, "-n", config=lakh_config(replica, keep_drums=True), check=False)
    assert proc.returncode != 0 and "tracks: drums and keep_drums: true disagree" in proc.stdout + proc.stderr
    assert not (tmp_path / "data").exists()


@pytest.mark.slow
def test_workflow_imports_a_lakh_drum_genre_and_plays_it_as_drums(replica, tmp_path):
    snakemake(tmp_path, "--cores", "2", "data/midi/lakh_rap.manifest.tsv", "results/samples/lakh_rap.mid",
              config=lakh_config(replica, max_pieces=None))
    rows = read_manifest(tmp_path / "data/midi/lakh_rap.manifest.tsv")
    assert [r["status"] for r in rows] == ["ok"] * 3 and {r["label"] for r in rows} == {"Rap"}
    assert read_midi(tmp_path / "results/samples/lakh_rap.mid", keep_drums=False) == []


def preset_config(replica):
    """config.yaml with configs/lakh.yaml on top (as --configfile merges it), its lakh genres read from the replica."""
    import yaml
    from workflow_helpers import REPO

    cfg = tiny_config()
    preset = yaml.safe_load((REPO / "configs/lakh.yaml").read_text())
    cfg["sources"].update(preset.pop("sources"))
    cfg.update(preset)
    for genre in cfg["genres"]:
        if cfg["sources"][genre]["kind"] == "lakh":
            cfg["sources"][genre].update(lmd=str(replica.lmd), labels=str(replica.labels))
    return cfg


def test_the_lakh_preset_swaps_the_four_synthetic_popular_genres_and_runs_into_its_own_results(replica, tmp_path):
    from workflow_helpers import planned_jobs

    cfg = preset_config(replica)
    assert [g for g in cfg["genres"] if cfg["sources"][g]["kind"] == "synthetic"] == ["atonal"]
    lakh = {g: cfg["sources"][g] for g in cfg["genres"] if cfg["sources"][g]["kind"] == "lakh"}
    assert {g: (s["label"], s["tracks"]) for g, s in lakh.items()} == {
        "lakh_metal": ("Metal", "pitched"), "lakh_rock": ("Rock", "pitched"), "lakh_pop": ("Pop", "pitched"),
        "lakh_rap": ("Rap", "drums")}
    cfg["genres"] = ["bach", *lakh]
    jobs = planned_jobs(tmp_path, config=cfg)
    assert jobs["import_lakh"] == set(lakh) and jobs["extract_corpus"] == {"bach"}
    assert "results-lakh/summary.tsv" in snakemake(tmp_path, "-n", config=cfg).stdout


# ---------------------------------------------------------------------------------------------------------------
# music21's other real collections


def test_music21_collections_off_by_default_are_ready_in_the_sources():
    import yaml
    from workflow_helpers import REPO

    from midi_genres.sources.music21_corpus import LICENSE_NOTES

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    extra = {"oneills1850", "airdsAirs", "essenChinese"}
    assert extra <= set(cfg["sources"]) and not extra & set(cfg["genres"])
    assert {cfg["sources"][g]["collection"] for g in extra} == extra == set(LICENSE_NOTES)


def test_essen_leaves_its_chinese_songs_out_only_when_they_run_as_their_own_genre():
    from midi_genres.sources.music21_corpus import list_corpus_files, shared_files

    chinese, _ = list_corpus_files("essenChinese")
    assert [p.name for p in chinese] == ["han1.abc", "han2.abc"]
    assert shared_files("essenFolksong", ["bach", "essenFolksong"]) == []
    left_out = shared_files("essenFolksong", ["essenFolksong", "essenChinese"])
    assert left_out == ["essenFolksong/han1.abc", "essenFolksong/han2.abc"]
    whole, _ = list_corpus_files("essenFolksong")
    without, skipped = list_corpus_files("essenFolksong", left_out)
    assert [p for p in whole if p not in chinese] == without
    assert [s.source for s in skipped if "its own genre" in s.reason] == left_out


@pytest.mark.parametrize("collection, first", [("oneills1850", "oneills1850/0001-0050#1"),
                                               ("airdsAirs", "airdsAirs/book1#0001"),
                                               ("essenChinese", "essenFolksong/han1#1")])
def test_the_new_collections_give_pieces(collection, first):
    from midi_genres.sources.midi_folder import Piece
    from midi_genres.sources.music21_corpus import extract_collection

    pieces = [p for p in extract_collection(collection, max_pieces=2) if isinstance(p, Piece)]
    assert pieces[0].piece_id == first and len(pieces) == 2 and all(len(p.notes) > 16 for p in pieces)


def test_a_run_with_the_music21_genres_added_needs_no_other_change(tmp_path):
    from workflow_helpers import planned_jobs

    cfg = tiny_config()
    cfg["genres"] = ["essenFolksong", "oneills1850", "airdsAirs", "essenChinese"]
    assert planned_jobs(tmp_path, config=cfg)["extract_corpus"] == set(cfg["genres"])


def test_the_summary_names_a_lakh_source_by_its_label():
    from midi_genres.analysis.summary import describe_source

    assert describe_source({"kind": "lakh", "lmd": "x", "labels": "y", "label": "Metal", "tempo": 140}) == "lakh:Metal"
