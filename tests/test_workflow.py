"""The real workflow, run by the real Snakemake on a tiny config in a temporary directory."""

import copy
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
import torch
import yaml
from workflow_helpers import AUDIO, GENRES, REPO, SNAKEMAKE, planned_jobs, snakemake, tiny_config

# The `run` fixture (one tiny run of the whole workflow, shared by several test files) is in conftest.py.


@pytest.mark.slow
def test_every_output_exists_and_is_sound(run):
    from midi_genres.core.midi import read_midi
    from midi_genres.model.checkpoint import load_checkpoint
    from midi_genres.tokens.base import BOS
    from midi_genres.tokens.event import EventTokenizer

    tok = EventTokenizer()
    for genre in GENRES:
        assert len(list((run / "data/midi" / genre).glob("*.mid"))) >= 5
        train, val = np.load(run / f"data/tokens/{genre}.npy"), np.load(run / f"data/tokens/{genre}.val.npy")
        assert train.dtype == np.uint16 and train[0] == BOS and val[0] == BOS and train.max() < 291
        model, ckpt = load_checkpoint(run / f"results/checkpoints/{genre}.pt", vocab=tok.names)
        assert ckpt["history"][-1]["step"] == 30
        history = list(csv.DictReader(open(run / f"results/train/{genre}.tsv"), delimiter="\t"))
        assert [int(r["step"]) for r in history] == [10, 20, 30]
        assert read_midi(run / f"results/samples/{genre}.mid")
        assert (run / f"results/pianorolls/{genre}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        for rule in ("train", "sample", "tokenize"):
            assert (run / f"logs/{rule}/{genre}.log").stat().st_size > 0
        assert (run / f"logs/train/{genre}.benchmark.tsv").exists()
    assert "step 30/30" in (run / "logs/train/bach.log").read_text()
    assert (run / "results/comparison.png").read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader(open(run / "results/summary.tsv"), delimiter="\t"))
    assert [r["genre"] for r in rows] == GENRES
    assert all(int(r["pieces_train"]) >= 1 and float(r["final_val_loss"]) > 0 for r in rows)
    assert all(int(r["sample_notes"]) > 0 for r in rows)
    check_analysis_outputs(run, rows)


def check_analysis_outputs(run, summary):
    """What each model learned (rules/analysis.smk): cross-genre matrix, musical statistics, memorisation, grammar."""
    from midi_genres.analysis.features import FEATURES
    from midi_genres.tokens.base import BOS, EOS

    def table(rel):
        return list(csv.DictReader(open(run / rel), delimiter="\t"))

    matrix = table("results/cross_genre.tsv")
    assert [r["model"] for r in matrix] == GENRES and all(0 < float(r[g]) < 1e4 for r in matrix for g in GENRES)
    assert (run / "results/cross_genre.png").read_bytes()[:4] == b"\x89PNG"
    for genre in GENRES:
        evals = table(f"results/eval/{genre}.tsv")
        assert [(r["model"], r["data"]) for r in evals] == [(genre, g) for g in GENRES]
        assert all(float(r["bits_per_token"]) > 0 and int(r["notes"]) > 0 for r in evals)
        batch = np.load(run / f"results/samples_batch/{genre}.npy")
        assert (batch == BOS).sum() == (batch == EOS).sum() == 3 and batch[0] == BOS and batch[-1] == EOS
        assert [r["seed"] for r in table(f"results/samples_batch/{genre}.tsv")] == ["0", "1", "2"]
        copies = table(f"results/memorisation/{genre}.tsv")
        assert [r["set"] for r in copies][:3] == ["sample"] * 3 and copies[-1]["set"] == "heldout"
        assert (run / f"logs/evaluate_model/{genre}.benchmark.tsv").exists()
    metrics = table("results/metrics.tsv")
    assert [(r["genre"], r["feature"]) for r in metrics] == [(g, f.name) for g in GENRES for f in FEATURES]
    for r in metrics:
        tonal_drums = r["genre"] == "rap" and next(f for f in FEATURES if f.name == r["feature"]).tonal
        assert (r["applies"] == "no") == tonal_drums and (r["overlap"] == "NA" or not tonal_drums), r
        assert r["overlap"] == "NA" or 0 <= float(r["overlap"]) <= 1
    assert (run / "results/metrics.png").read_bytes()[:4] == b"\x89PNG"
    for r in summary:
        assert 0 < float(r["bits_per_note"]) == float(next(m for m in matrix if m["model"] == r["genre"])[r["genre"]])
        assert float(r["bits_per_second"]) > 0 and 0 <= float(r["malformed_rate"]) <= 1
        assert r["memorised"] in ("yes", "no") and int(r["longest_copy_notes"]) >= 0


@pytest.mark.slow
def test_second_run_does_nothing_and_changes_rerun_only_their_genre(run):
    assert "Nothing to be done" in snakemake(run, "-n").stdout + snakemake(run, "-n").stderr
    cfg = tiny_config()
    cfg["overrides"] = {"rap": {"sample": {"temperature": 1.1}}}
    gallery = {"build_gallery": set(), **({"render_sample_audio": {"rap"}} if AUDIO else {})}
    analysis = {"sample_batch": {"rap"}, "musical_metrics": {"rap"}, "memorisation": {"rap"},
                "aggregate_metrics": set(), "summarise_run": set(), "check_generator_rules": {"rap"},
                "aggregate_generator_rules": set(), "score_fidelity": set(GENRES), "aggregate_fidelity": set(),
                "render_heldout_parts": set(), "measure_structure": {"rap"}, "aggregate_structure": set()}
    # every model scores rap's new samples (the classifier); their structure is measured again
    assert planned_jobs(run, config=cfg) == {"sample": {"rap"}, "render_pianoroll": {"rap"},
                                             "render_comparison": set(), "all": set(), **gallery, **analysis}
    (run / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    # The README's way to rebuild one genre from one stage on: --forcerun names the file.
    from_tokens = planned_jobs(run, "--forcerun", "data/tokens/rap.npy")
    assert from_tokens.pop("tokenize") == {"rap"} and from_tokens.pop("train") == {"rap"}
    assert "extract_corpus" not in from_tokens and "synthesize" not in from_tokens
    # every model is evaluated on rap's new validation split (the cross-genre matrix); all else is rap's alone
    assert from_tokens.pop("evaluate_model") == set(GENRES) and "summarise_run" in from_tokens
    assert from_tokens.pop("score_fidelity") == set(GENRES)  # the classifier scores rap's new samples with every model
    assert all(genres <= {"rap"} for genres in from_tokens.values()), from_tokens
    # Snakemake 9 reruns a job whose input's content changed; a missing intermediate file alone is not rebuilt while
    # its consumers are up to date. The tokens are restored afterwards (bytes and time): the run is shared.
    tokens = run / "data/tokens/bach.npy"
    original, stat = tokens.read_bytes(), tokens.stat()
    np.save(tokens, np.load(tokens)[:-1])
    try:
        gallery = {"render_genre_training_curves": {"bach"}, "render_all_training_curves": set(),
                   "build_gallery": set(), **({"render_sample_audio": {"bach"}} if AUDIO else {})}
        analysis = {"evaluate_model": {"bach"}, "aggregate_cross_genre": set(), "sample_batch": {"bach"},
                    "musical_metrics": {"bach"}, "memorisation": {"bach"}, "aggregate_metrics": set(),
                    "summarise_run": set(), "ngram_floor": {"bach"}, "score_fidelity": set(GENRES),
                    "aggregate_fidelity": set(), "render_heldout_parts": set(), "ppm_floor": {"bach"},
                    "measure_window": {"bach"}, "aggregate_window": set(), "measure_structure": {"bach"},
                    "aggregate_structure": set(), "aggregate_generator_rules": set(), "export_web_model": {"bach"}}
        # bach <- atonal is sampled and drawn again (new bach model); both pairs are measured again (new corpus)
        open_ends = {"sample_crossprompt": set(), "render_crossprompt_pianoroll": set(), "measure_crossprompt": set(),
                     "aggregate_crossprompt": set()}
        assert planned_jobs(run) == {"train": {"bach"}, "sample": {"bach"}, "render_pianoroll": {"bach"},
                                     "render_comparison": set(), "all": set(), **gallery, **analysis,
                                     **open_ends}
    finally:
        tokens.write_bytes(original)
        os.utime(tokens, ns=(stat.st_atime_ns, stat.st_mtime_ns))


UPSTREAM = ["synthesize", "extract_corpus", "tokenize", "train", "sample", "sample_batch", "evaluate_model"]


@pytest.mark.slow
@pytest.mark.parametrize("product, rule", [
    ("data/tokens/rap.stats.json", "tokenize"),
    ("results/checkpoints/rap.pt", "train"),
    ("results/samples/rap.mid", "sample"),
    ("results/eval/rap.tsv", "evaluate_model"),
    ("results/pianorolls/rap.png", "render_pianoroll"),
    ("results/comparison.png", "render_comparison"),
    ("results/summary.tsv", "summarise_run"),
    ("results/cross_genre.png", "aggregate_cross_genre"),
    ("results/crossprompt/bach__from__atonal.png", "render_crossprompt_pianoroll"),
])
def test_deleting_a_product_rebuilds_it_and_nothing_before_it(run, product, rule):
    """Every file the README presents as a product is a target of ``rule all``: deleting one plans the job that makes
    it (and what reads it), never a job of an earlier stage (Snakemake 9 would plan nothing for an intermediate)."""
    path = run / product
    saved, stat = path.read_bytes(), path.stat()
    path.unlink()
    try:
        planned = planned_jobs(run)
        assert rule in planned, planned
        earlier = UPSTREAM[:UPSTREAM.index(rule)] if rule in UPSTREAM else UPSTREAM
        assert not set(earlier) & set(planned), planned
    finally:
        path.write_bytes(saved)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.slow
def test_rerun_gives_byte_identical_tokens_weights_and_samples(run, tmp_path):
    again = tmp_path / "again"
    again.mkdir()
    snakemake(again, "--cores", "2", config=tiny_config())
    for rel in ["data/tokens/bach.npy", "data/tokens/rap.val.npy", "results/samples/atonal.mid",
                "results/samples/rap.mid"]:
        assert (run / rel).read_bytes() == (again / rel).read_bytes(), rel
    import torch

    a = torch.load(run / "results/checkpoints/bach.pt", weights_only=True)["model_state"]
    b = torch.load(again / "results/checkpoints/bach.pt", weights_only=True)["model_state"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    shutil.rmtree(again)


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_from_its_last_state_to_the_same_weights(tmp_path):
    import torch

    cfg = tiny_config()
    cfg["genres"] = ["rap"]
    cfg["train"].update(steps=300, state_interval=20, eval_interval=100)
    target = "results/checkpoints/rap.pt"
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    killed.mkdir()
    clean.mkdir()
    (killed / "config.yaml").write_text(yaml.safe_dump(cfg))
    # kill -9 the whole run, Snakemake included, as a power cut or a preempted allocation would
    proc = subprocess.Popen([*SNAKEMAKE, "-d", str(killed), "--cores", "2", target], cwd=killed,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    state = killed / "results/train_state/rap.pt"
    deadline = time.time() + 300
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # train on past the saved state
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / target).exists(), "training finished before it could be killed"
    saved_step = torch.load(state, weights_only=True)["step"]

    snakemake(killed, "--unlock")  # what Snakemake asks for after it was killed itself
    snakemake(killed, "--cores", "2", target)  # the default profile reruns the incomplete job
    assert f"resuming from step {saved_step} of 300" in (killed / "logs/train/rap.log").read_text()
    assert not state.exists()
    snakemake(clean, "--cores", "2", target, config=cfg)
    resumed = torch.load(killed / target, weights_only=True)
    fresh = torch.load(clean / target, weights_only=True)
    assert all(torch.equal(v, resumed["model_state"][k]) for k, v in fresh["model_state"].items())
    assert [r["val_loss"] for r in fresh["history"]] == [r["val_loss"] for r in resumed["history"]]


@pytest.mark.slow
def test_two_seeds_and_a_token_cap_give_every_number_its_spread_and_equal_data(tmp_path):
    cfg = tiny_config()
    cfg["genres"] = ["bach", "rap"]
    cfg["train"]["seeds"] = 2
    cfg["corpus"].update(train_tokens=1500, max_pieces=10, val_fraction=0.3)  # 3 held-out pieces: intervals
    cfg["audio"]["enabled"] = False
    snakemake(tmp_path, "--cores", "2", config=cfg)
    for genre in cfg["genres"]:
        first = torch.load(tmp_path / f"results/checkpoints/{genre}.pt", weights_only=True)
        second = torch.load(tmp_path / f"results/checkpoints/{genre}.seed1.pt", weights_only=True)
        assert (first["train_config"]["seed"], second["train_config"]["seed"]) == (0, 1)
        assert not torch.equal(first["model_state"]["head.weight"], second["model_state"]["head.weight"])
        for table in ("eval", "metrics", "memorisation", "samples_batch"):
            assert (tmp_path / f"results/{table}/{genre}.seed1.tsv").exists(), table
        stats = json.loads((tmp_path / f"data/tokens/cap1500/{genre}.stats.json").read_text())  # its own folder
        assert stats["tokens_train"] <= 1500 < stats["tokens_train_uncapped"] and stats["pieces_unused"] > 0
    rows = {r["genre"]: r for r in csv.DictReader(open(tmp_path / "results/summary.tsv"), delimiter="\t")}
    for r in rows.values():
        assert r["seeds"] == "2" and float(r["bits_per_note_seed_sd"]) >= 0 and r["train_data"].startswith("capped")
        assert float(r["bits_per_note_low"]) <= float(r["bits_per_note"]) <= float(r["bits_per_note_high"])
        assert r["beats_ngram"] in ("yes", "no", "tie") and float(r["ngram_bits_per_note"]) > 0
    cells = list(csv.DictReader(open(tmp_path / "results/cross_genre_cells.tsv"), delimiter="\t"))
    assert len(cells) == 4 and all(c["seeds"] == "2" for c in cells)


@pytest.mark.slow
def test_two_folds_with_best_dev_score_every_piece_once_and_choose_without_the_test_pieces(tmp_path):
    cfg = tiny_config()
    cfg["genres"] = ["bach", "rap"]
    cfg["split"] = {"folds": 2, "dev_fraction": 0.2}
    cfg["train"]["select"] = "best_dev"
    cfg["corpus"]["max_pieces"] = 12
    cfg["audio"]["enabled"] = False
    snakemake(tmp_path, "--cores", "2", config=cfg)
    results = tmp_path / "results"
    for genre in cfg["genres"]:
        tokens = tmp_path / "data/tokens/folds2.dev0.2"  # this split's own token folder
        pieces = {fold: list(csv.DictReader(open(tokens / f"{genre}{fold}.pieces.tsv"), delimiter="\t"))
                  for fold in ("", ".fold2")}
        held = [{r["piece_id"] for r in rows if r["split"] == "val"} for rows in pieces.values()]
        assert held[0] and held[1] and not held[0] & held[1]  # the folds partition the pieces
        assert held[0] | held[1] == {r["piece_id"] for r in pieces[""]}
        for fold in ("", ".fold2"):
            for ckpt in ("", ".best_dev"):
                assert (results / f"checkpoints/{genre}{fold}{ckpt}.pt").exists()
                assert (results / f"eval/{genre}{fold}{ckpt}.pieces.tsv").exists()
        scored = [r for fold in ("", ".fold2") for r in csv.DictReader(
            open(results / f"eval/{genre}{fold}.best_dev.pieces.tsv"), delimiter="\t") if r["data"] == genre]
        assert sorted(r["piece_id"] for r in scored) == sorted(held[0] | held[1])  # every piece once
        assert {r["fold"] for r in scored} == {"1", "2"}
    rows = {r["genre"]: r for r in csv.DictReader(open(results / "summary.tsv"), delimiter="\t")}
    choice = {r["genre"]: r for r in csv.DictReader(open(results / "checkpoint_choice.tsv"), delimiter="\t")}
    for genre, row in rows.items():
        assert row["folds"] == "2" and row["selected"] == "best_dev"
        assert row["chosen_step"] == choice[genre]["best_dev_step"] and int(row["chosen_step"]) <= 30
        assert int(row["held_out_families"]) == int(choice[genre]["held_out_families"]) >= 2
        assert row["rank_note"] == ("too few to rank" if int(row["held_out_families"]) < 10 else "")
    sample = torch.load(results / "checkpoints/bach.best_dev.pt", weights_only=True)
    assert sample["card"]["selected"] == "best_dev"


@pytest.mark.slow
@pytest.mark.parametrize("tokenizer", ["event", "remi"])
def test_a_sweep_of_two_caps_gives_learning_curves_beside_the_whole_corpus_run(tmp_path, tokenizer):
    cfg = tiny_config()
    cfg["genres"] = ["atonal", "rap"]
    cfg["tokenizer"] = tokenizer
    cfg["corpus"]["train_tokens"] = [600, 3000, None]
    cfg["corpus"]["max_pieces"] = 30  # three distinct training sizes in each genre
    for genre in cfg["genres"]:
        cfg["sources"][genre]["pieces"] = 30
    cfg["audio"]["enabled"] = False
    snakemake(tmp_path, "--cores", "2", config=cfg)
    folder = tmp_path / "data/tokens" / ("remi" if tokenizer == "remi" else "")
    for genre in cfg["genres"]:
        kept = [{r["piece_id"] for r in csv.DictReader(open(folder / f"cap{cap}/{genre}.pieces.tsv"), delimiter="\t")
                 if r["split"] == "train"} for cap in (600, 3000)]
        assert kept[0] < kept[1]  # nested caps
        assert (tmp_path / f"results/cap600/checkpoints/{genre}.pt").exists()
        assert json.loads((folder / f"{genre}.stats.json").read_text())["pieces_unused"] == 0  # the run: whole corpus
    points = list(csv.DictReader(open(tmp_path / "results/learning_curves.tsv"), delimiter="\t"))
    assert [(p["genre"], p["cap"]) for p in points] == [(g, c) for g in cfg["genres"] for c in ("600", "3000", "whole")]
    for genre in cfg["genres"]:
        notes = [float(p["training_notes"]) for p in points if p["genre"] == genre]
        assert notes == sorted(notes) and notes[0] < notes[-1]
        for p in points:
            for scorer in ("model", "ngram", "ppm"):
                assert float(p[f"{scorer}_bits_per_note_low"]) <= float(p[f"{scorer}_bits_per_note_high"])
    fits = list(csv.DictReader(open(tmp_path / "results/learning_curves_fit.tsv"), delimiter="\t"))
    assert [f["genre"] for f in fits] == cfg["genres"]
    assert all(f["data_limited"] in ("yes", "no", "unclear") and float(f["alpha"]) > 0 for f in fits)
    assert (tmp_path / "results/learning_curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["train"].update(stepz=3), "stepz"),
    (lambda c: c["train"].update(steps="many"), "'many' is not of type 'integer'"),
    (lambda c: c.update(genres=["bach", "polka"]), "'polka'"),
    (lambda c: c["sources"]["rap"].update(collection="bach"), "rap"),
    (lambda c: c.update(overrides={"bach": {"model": {"d_model": 3}}}), "'model' was unexpected"),
    (lambda c: c["train"].update(seeds=0), "seeds"),
    (lambda c: c["corpus"].update(train_tokens=-5), "train_tokens"),
    (lambda c: c.update(split={"folds": 0}), "folds"),
    (lambda c: c["train"].update(select="best"), "'best' is not one of ['last', 'best_dev']"),
    (lambda c: c.update(split={"dev_fraction": 0.7}), "dev_fraction"),
    (lambda c: c.update(split={"dev_fraction": 0}, train={"select": "best_dev"}), "split.dev_fraction is 0"),
])
def test_bad_config_fails_at_once_naming_the_problem(tmp_path, mutate, message):
    cfg = copy.deepcopy(tiny_config())
    mutate(cfg)
    proc = snakemake(tmp_path, "-n", config=cfg, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert not (tmp_path / "data").exists()


def test_a_run_exits_within_one_scheduler_timespan_of_its_last_job(tmp_path):
    """The workflow profile wakes Snakemake's scheduler every 5 s (not every second: less CPU taken from the jobs).
    Its last pending wake-up holds the process up to one timespan after the last job; that delay is kept (nothing
    reaches into Snakemake's threads), and start-up plus exit stay within it plus Snakemake's own start-up."""
    started = time.monotonic()
    proc = snakemake(tmp_path, "--cores", "1", "data/midi/rap.notes.npz", config=tiny_config())
    wall = time.monotonic() - started
    h, m, s = re.search(r"Elapsed time: (\d+):(\d+):([\d.]+)", proc.stderr).groups()
    elapsed = 3600 * int(h) + 60 * int(m) + float(s)  # Snakemake's own clock: workflow start to the last job's end
    assert "max-jobs-per-timespan" in (REPO / "profiles/default/config.v8+.yaml").read_text()
    assert wall - elapsed < 5.0 + 3.0, f"{wall - elapsed:.1f} s outside Snakemake's clock (start-up and exit)"


def test_lint_is_clean():
    proc = subprocess.run([*SNAKEMAKE, "--lint"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_dry_run_of_the_full_default_experiment_plans_every_stage(tmp_path):
    jobs = planned_jobs(tmp_path, config=yaml.safe_load((REPO / "config.yaml").read_text()))
    assert len(jobs["extract_corpus"]) == 7 and len(jobs["synthesize"]) == 5
    for rule in ("tokenize", "train", "sample", "render_pianoroll"):
        assert len(jobs[rule]) == 12


def test_a_run_beside_the_default_keeps_its_own_token_folder_and_logs(tmp_path):
    """A run with folds, a dev set and its own results_dir plans its streams in the split's token folder and its
    jobs' logs under logs/<results_dir>/, so it overwrites neither the default run's streams nor its logs."""
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg.update(split={"folds": 5, "dev_fraction": 0.1}, train={"select": "best_dev"}, results_dir="runs/folds")
    out = snakemake(tmp_path, "-n", "-p", config=cfg).stdout
    planned = set(re.findall(r"(?:data/tokens|logs)/[\w./-]+", out))
    assert "data/tokens/folds5.dev0.1/bach.fold3.npy" in planned and "data/tokens/bach.npy" not in planned
    assert "logs/runs_folds/train/bach.fold3.log" in planned and "logs/train/bach.fold3.log" not in planned
    assert "logs/tokenize/bach.log" in planned and "logs/extract_corpus/bach.log" in planned  # data/ is shared
