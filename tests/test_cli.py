"""The `midi-genres` command and the Python API on a tiny trained run (two models, built once without Snakemake):
every subcommand through the installed console script, its errors, and scores equal to the evaluation's."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import midi_genres
from midi_genres.analysis.heldout import PART_COLUMNS, likelihood_tables
from midi_genres.analysis.likelihood import token_nll
from midi_genres.core.midi import read_midi, write_midi
from midi_genres.core.notes import Note, split_at, steps_to_seconds
from midi_genres.core.tables import write_table
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.runtime import trained_precision
from midi_genres.model.train import plain_data, train_genre
from midi_genres.sources.synth import generate_pieces
from midi_genres.tokens import make_tokenizer

MODEL = {"max_len": 32, "d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32, "dropout": 0.0}
TRAIN = {"steps": 20, "batch_size": 4, "eval_interval": 10, "eval_windows": 2, "warmup_steps": 2, "device": "cpu"}
GENRES = {"pop": {"title": "Pop", "tempo": 110, "drums": False}, "rap": {"title": "Rap / hip-hop", "tempo": 90,
                                                                         "drums": True}}
TOK = make_tokenizer("event")


def command() -> list[str]:
    """The installed console script (beside this interpreter, else on PATH), else the module."""
    beside = Path(sys.executable).with_name("midi-genres")
    found = str(beside) if beside.exists() else shutil.which("midi-genres")
    return [found] if found else [sys.executable, "-m", "midi_genres.cli"]


def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*command(), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run in miniature: results/checkpoints/{pop,rap}.pt with model cards, and results/summary.tsv."""
    root = tmp_path_factory.mktemp("play")
    results = root / "results"
    (results / "checkpoints").mkdir(parents=True)
    rows = []
    for genre, facts in GENRES.items():
        pieces = generate_pieces(genre, 12, 0)
        train = np.concatenate([TOK.encode(p.notes) for p in pieces[:10]])
        np.save(root / f"{genre}.npy", train)
        np.save(root / f"{genre}.val.npy", np.concatenate([TOK.encode(p.notes) for p in pieces[10:]]))
        card = {"genre": genre, "title": facts["title"], "source": f"synthetic:{genre}", "tempo": facts["tempo"],
                "drums": facts["drums"], "pieces_train": np.int64(10), "tokens_train": len(train), "families": 10}
        train_genre(train_path=str(root / f"{genre}.npy"), val_path=str(root / f"{genre}.val.npy"), model_params=MODEL,
                    train_params=TRAIN, checkpoint_path=str(results / "checkpoints" / f"{genre}.pt"),
                    history_path=str(root / f"{genre}.history.tsv"), card=card)
        rows.append({"genre": genre, "title": facts["title"], "source": f"synthetic:{genre}",
                     "tokens_train": len(train), "steps": 20, "seeds": 1, "bits_per_note": 9.5,
                     "bits_per_note_low": 9.25, "bits_per_note_high": 9.75})
    write_table(rows, list(rows[0]), results / "summary.tsv")
    checkpoint = torch.load(results / "checkpoints" / "pop.pt", weights_only=True)
    torch.save({**checkpoint, "vocab": checkpoint["vocab"][:-1] + ["NOTE_ON_999"]}, root / "other.pt")
    torch.save({k: v for k, v in checkpoint.items() if k != "card"}, root / "old.pt")
    piece = generate_pieces("pop", 12, 0)[11].notes  # validation-like: a piece the model did not train on
    write_midi(root / "piece.mid", piece, 90)
    return root


def test_the_model_card_holds_what_training_and_the_caller_know(run):
    card = torch.load(run / "results" / "checkpoints" / "rap.pt", weights_only=True)["card"]
    assert card["genre"] == "rap" and card["tempo"] == 90 and card["drums"] is True and card["pieces_train"] == 10
    assert card["version"] == midi_genres.__version__ and card["tokenizer"] == "event" and card["steps"] == 20
    assert card["seed"] == 0 and card["parameters"] > 0 and card["tokens_train"] == len(np.load(run / "rap.npy"))
    assert card["final_val_loss"] > 0 and card["final_train_loss"] > 0 and card["extra_tokens"] == []
    with pytest.raises(TypeError, match=r"card\.when"):
        plain_data({"when": object()})


def test_version_and_every_help_fits_a_screen():
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"midi-genres {midi_genres.__version__}"
    for sub in ([], ["list"], ["generate"], ["score"], ["info"]):
        out = cli(*sub, "--help")
        assert out.returncode == 0 and len(out.stdout.splitlines()) < 40, sub


def test_list_shows_every_model_with_its_held_out_bits(run):
    out = cli("--results", run / "results", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["genre", "title", "corpus"] and len(lines) == 3
    assert lines[1].split()[:3] == ["pop", "Pop", "synthetic:pop"]
    assert "9.500" in lines[1] and "[9.250, 9.750]" in lines[1]
    assert lines[2].startswith("rap") and "Rap / hip-hop" in lines[2]
    assert cli("list", "--results", run / "results").stdout == out.stdout  # --results after the subcommand too


def test_info_prints_the_model_card(run):
    out = cli("--results", run / "results", "info", run / "results" / "checkpoints" / "rap.pt")
    assert out.returncode == 0, out.stderr
    for text in ("rap (Rap / hip-hop)", "synthetic:rap", "10 training pieces", "90 bpm, as a drum track",
                 "event (291 tokens)", "1 layers, d_model 16", "20 steps, seed 0", "final loss", "nats/token",
                 f"midi-genres {midi_genres.__version__}"):
        assert text in out.stdout, text
    old = cli("info", run / "old.pt")
    assert old.returncode == 0 and "trained before model cards" in old.stdout


def test_generate_is_deterministic_and_writes_a_drum_track_for_a_drum_genre(run):
    import pretty_midi

    outs = [run / f"rap{k}.mid" for k in range(3)]
    for out, seed in zip(outs, (3, 3, 4)):
        done = cli("--results", run / "results", "generate", "rap", "-o", out, "--seconds", 6, "--seed", seed)
        assert done.returncode == 0, done.stderr
        assert f"wrote {out}" in done.stdout and "90 bpm (drum track)" in done.stdout
    assert outs[0].read_bytes() == outs[1].read_bytes() != outs[2].read_bytes()
    midi = pretty_midi.PrettyMIDI(str(outs[0]))
    assert [i.is_drum for i in midi.instruments] == [True] and midi.instruments[0].notes


def test_generate_from_a_checkpoint_writes_genre_mid_by_default(run, tmp_path):
    done = cli("generate", run / "results" / "checkpoints" / "pop.pt", "--seconds", 2, "--temperature", 1.5,
               "--top-k", 0, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert read_midi(tmp_path / "pop.mid") and not pretty_midi_drums(tmp_path / "pop.mid")


def pretty_midi_drums(path) -> bool:
    import pretty_midi

    return any(i.is_drum for i in pretty_midi.PrettyMIDI(str(path)).instruments)


def test_a_prompt_continuation_keeps_the_prompts_notes_exactly(run):
    out = run / "continued.mid"
    done = cli("--results", run / "results", "generate", "pop", "--prompt", run / "piece.mid", "--prompt-bars", 2,
               "--seconds", 4, "-o", out)
    assert done.returncode == 0, done.stderr
    head, _ = split_at(read_midi(run / "piece.mid"), 2 * 16)
    prompt_end = TOK.elapsed_steps(TOK.encode(head, eos=False))
    notes = read_midi(out)
    assert head and [n for n in notes if n.start < prompt_end] == head
    assert len(notes) > len(head) and f"continuing {len(head)} notes of the first 2 bars" in done.stdout


def test_score_json_equals_the_evaluation(run):
    done = cli("--results", run / "results", "score", run / "piece.mid", "--json")
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["file"] == str(run / "piece.mid") and [m["rank"] for m in result["models"]] == [1, 2]
    bits = [m["bits_per_note"] for m in result["models"]]
    assert bits == sorted(bits)
    scored = {m["genre"]: m for m in result["models"]}
    notes = read_midi(run / "piece.mid")
    for genre, facts in GENRES.items():
        model, tok, checkpoint = load_for_inference(run / "results" / "checkpoints" / f"{genre}.pt")
        stream = tok.encode(notes)
        nll = token_nll(model, stream, precision=trained_precision(checkpoint, torch.device("cpu")))
        seconds = steps_to_seconds(max(n.end for n in notes), facts["tempo"])
        expected, _ = likelihood_tables(genre, "piece", stream, nll, tok,
                                        [{"notes": len(notes), "piece_id": "piece", "family": "piece"}], seconds)
        got = scored[genre]
        assert got["notes"] == len(notes) and got["tokens"] == len(stream) - 1
        for column in ("bits_per_note", "bits_per_token", "bits_per_second", *PART_COLUMNS):
            assert got[column] == pytest.approx(expected[column], abs=1e-3), (genre, column)
        assert sum(got[c] for c in PART_COLUMNS) == pytest.approx(got["bits_per_note"], abs=1e-3)


def test_score_tables_rank_every_model_for_each_file(run):
    done = cli("--results", run / "results", "score", run / "piece.mid", run / "continued.mid")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("bits per note under each model") == 2
    ranked = [line.split()[:2] for line in done.stdout.splitlines() if line.lstrip()[:1] in ("1", "2")]
    assert sorted(g for _, g in ranked) == ["pop", "pop", "rap", "rap"]


def test_the_python_api(run):
    from midi_genres import api

    results = run / "results"
    pop = api.load_model("pop", results)
    assert api.load_model("pop", results) is pop and pop.tempo == 110 and not pop.drums and pop.title == "Pop"
    piece = pop.generate(seconds=3, seed=2)
    assert piece.notes and piece.prompt_end == 0 and piece.to_pretty_midi().instruments[0].notes
    assert piece.write_midi(run / "api.mid").exists() and read_midi(run / "api.mid") == piece.notes
    prompt = [Note(60, 0, 4), Note(64, 4, 8), Note(67, 8, 12)]
    continued = pop.generate(seconds=2, seed=2, prompt=prompt, prompt_bars=1)
    assert continued.notes[:3] == prompt and continued.prompt_end == 12
    assert all(n.start >= 0 for n in continued.continuation)
    assert pop.score(prompt)["notes"] == 3
    rows = api.score(run / "piece.mid", results)
    assert [r["genre"] for r in rows] in (["pop", "rap"], ["rap", "pop"]) and rows[0]["rank"] == 1
    assert [m["genre"] for m in api.list_models(results)] == ["pop", "rap"]
    assert api.model_card(results / "checkpoints" / "pop.pt")["tempo"] == 110
    with pytest.raises(api.PlayError, match="temperature"):
        pop.generate(temperature=0)


def test_the_api_reads_the_cards_before_the_summary_and_knows_both_tokenizers(run, tmp_path):
    from midi_genres import api

    shutil.copytree(run / "results" / "checkpoints", tmp_path / "checkpoints")
    shutil.copy(tmp_path / "checkpoints" / "pop.pt", tmp_path / "checkpoints" / "pop.seed1.pt")
    rows = api.list_models(tmp_path)  # no summary.tsv yet: the model cards
    assert [(r["genre"], r["title"], r["source"], r["steps"], r["seeds"]) for r in rows] == [
        ("pop", "Pop", "synthetic:pop", 20, 2), ("rap", "Rap / hip-hop", "synthetic:rap", 20, 1)]
    assert np.isnan(rows[0]["bits_per_note"])
    assert api.checkpoint_path("pop", tmp_path, seed=1).name == "pop.seed1.pt"
    with pytest.raises(api.PlayError, match="seed must be 0 to 1"):
        api.checkpoint_path("pop", tmp_path, seed=2)
    assert api.tokenizer_of({"vocab": make_tokenizer("remi").names}) == "remi"


def error(done: subprocess.CompletedProcess, code: int = 2) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    return done.stderr


def test_errors_name_the_problem_and_what_to_do(run, tmp_path):
    results = ["--results", run / "results"]
    msg = error(cli("--results", tmp_path / "nothing", "list"))
    assert "midi-genres: error: no trained models" in msg and "make run" in msg and "snakemake --cores 2" in msg
    msg = error(cli(*results, "generate", "jazz"))
    assert "unknown genre 'jazz'" in msg and "pop, rap" in msg
    assert "another vocabulary" in error(cli(*results, "generate", run / "other.pt"))
    assert "no such checkpoint file" in error(cli(*results, "info", tmp_path / "missing.pt"))
    (tmp_path / "text.mid").write_text("not MIDI at all")
    assert "not a readable MIDI file" in error(cli(*results, "score", tmp_path / "text.mid"))
    (tmp_path / "empty.mid").write_bytes(b"")
    assert "empty file" in error(cli(*results, "score", tmp_path / "empty.mid"))
    write_midi(tmp_path / "silent.mid", [], 120)
    assert "no notes" in error(cli(*results, "score", tmp_path / "silent.mid"))
    write_midi(tmp_path / "late.mid", [Note(60, 80, 84)], 120)  # first note in bar 6
    msg = error(cli(*results, "generate", "pop", "--prompt", tmp_path / "late.mid", "--prompt-bars", 2,
                    "-o", tmp_path / "x.mid"))
    assert "no notes in its first 2 bar(s)" in msg and "bar 6" in msg
    assert "--prompt-bars needs --prompt" in error(cli(*results, "generate", "pop", "--prompt-bars", 2))
    for option, value in (("--seconds", -1), ("--temperature", 0), ("--top-k", -1), ("--prompt-bars", 0)):
        msg = error(cli(*results, "generate", "pop", option, value))
        assert f"argument {option}" in msg, msg
    assert "invalid choice" in error(cli("play"))


def test_a_checkpoint_without_a_card_plays_at_120_bpm_with_a_warning(run):
    done = cli("generate", run / "old.pt", "--seconds", 2, "-o", run / "old.mid")
    assert done.returncode == 0, done.stderr
    assert "midi-genres: warning:" in done.stderr and "no model card" in done.stderr and "120 bpm" in done.stdout
