"""One conditional model: genre-tagged streams, likelihood with the genre given, training/sampling with extra tokens,
and the optional rules of the real workflow."""

import shutil

import numpy as np
import pytest
import torch
import yaml

from midi_genres.core.midi import read_midi
from midi_genres.core.notes import Note
from midi_genres.experiments.conditional import LIKELIHOOD_COLUMNS, conditional_likelihood, tag_stream, tag_streams
from midi_genres.model.checkpoint import CheckpointError, load_checkpoint
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens.base import BOS, genre_tokens
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer(extra_tokens=tuple(genre_tokens(["bach", "rap"])))
PIECE = [Note(60, 0, 4), Note(64, 4, 8), Note(67, 8, 16)]


def test_every_piece_is_led_by_its_genre_token_and_base_ids_are_unchanged():
    assert TOK.size == 293 and TOK.token_id("GENRE_rap") == 292 and TOK.names[:291] == EventTokenizer().names
    stream = np.concatenate([TOK.encode(PIECE), TOK.encode(PIECE[:1])])
    tagged = tag_stream(stream, 292)
    assert tagged.dtype == stream.dtype and len(tagged) == len(stream) + 2
    assert list(tagged[np.flatnonzero(tagged == BOS) + 1]) == [292, 292]
    assert np.array_equal(tagged[tagged != 292], stream)
    assert TOK.decode(tagged[:len(TOK.encode(PIECE)) + 1]) == PIECE  # the decoder ignores the genre token


def test_tag_streams_concatenates_genres_in_order(tmp_path):
    paths = {}
    for genre, notes in (("bach", PIECE), ("rap", PIECE[:2])):
        for split in ("train", "val"):
            paths[genre, split] = tmp_path / f"{genre}.{split}.npy"
            np.save(paths[genre, split], TOK.encode(notes))
    tag_streams(genres=["bach", "rap"], train_paths=[paths["bach", "train"], paths["rap", "train"]],
                val_paths=[paths["bach", "val"], paths["rap", "val"]], train_out=tmp_path / "all.npy",
                val_out=tmp_path / "all.val.npy")
    merged = np.load(tmp_path / "all.npy")
    assert merged.dtype == np.uint16
    assert list(merged[np.flatnonzero(merged == BOS) + 1]) == [291, 292]


def test_likelihood_scores_the_same_targets_as_a_separate_model_without_the_genre_token():
    torch.manual_seed(0)
    model = MusicTransformer(ModelConfig(vocab_size=TOK.size, max_len=16, d_model=32, n_heads=2, n_layers=1,
                                         d_ff=64)).eval()
    stream = np.concatenate([TOK.encode(PIECE)] * 5)  # longer than max_len: several windows
    row = conditional_likelihood(model, stream, 291, piece_notes=[3] * 5)
    assert row["tokens"] == len(stream) - 1 and row["bits"] > 0
    assert row["bits_per_note"] == pytest.approx(row["bits"] / 15)
    assert len(row["piece_bits"]) == 5 and row["piece_bits"].sum() == pytest.approx(row["bits"])


def test_train_and_sample_with_genre_tokens(tmp_path):
    from midi_genres.model.sample import sample_genre
    from midi_genres.model.train import train_genre

    stream = np.concatenate([tag_stream(TOK.encode(PIECE), 291)] * 20)
    np.save(tmp_path / "t.npy", stream)
    model = dict(max_len=16, d_model=16, n_heads=2, n_layers=1, d_ff=32, dropout=0.0)
    train_genre(train_path=tmp_path / "t.npy", val_path=tmp_path / "t.npy", model_params=model,
                train_params=dict(steps=3, batch_size=2, eval_interval=3, eval_windows=2, warmup_steps=1, device="cpu"),
                checkpoint_path=tmp_path / "c.pt", history_path=tmp_path / "h.tsv",
                extra_tokens=genre_tokens(["bach", "rap"]))
    _, ckpt = load_checkpoint(tmp_path / "c.pt", vocab=TOK.names)
    assert ckpt["vocab"][-2:] == ["GENRE_bach", "GENRE_rap"]
    with pytest.raises(CheckpointError, match="vocabulary"):
        load_checkpoint(tmp_path / "c.pt", vocab=EventTokenizer().names)
    sample_genre(checkpoint_path=tmp_path / "c.pt", midi_path=tmp_path / "s.mid", sample_params=dict(seconds=2, seed=0),
                 tempo_bpm=120, extra_tokens=genre_tokens(["bach", "rap"]), prompt=["BOS", "GENRE_rap"])
    assert read_midi(tmp_path / "s.mid")


@pytest.mark.slow
def test_workflow_trains_one_conditional_model_with_the_total_budget(run, tmp_path):
    """A copy of the shared tiny run, with conditional.enabled: only the conditional rules run, and the classifier
    scores the conditional samples too (a copy: the classifier's tables change with it, and the run is shared)."""
    from workflow_helpers import GENRES, snakemake

    from midi_genres.core.tables import read_table

    run = shutil.copytree(run, tmp_path / "run", symlinks=True)  # time stamps kept: the copy is up to date
    extra = tmp_path / "conditional.yaml"
    extra.write_text(yaml.safe_dump({"conditional": {"enabled": True}}))
    args = ["--configfile", str(extra)]  # on top of the run's config.yaml
    out = snakemake(run, "-n", *args).stdout
    planned = {line.strip()[5:-1] for line in out.splitlines() if line.strip().startswith("rule ")}
    # the conditional rules, and the classifier (which scores the conditional samples too) with what reads it
    assert planned == {"tag_conditional", "train_conditional", "sample_conditional",
                       "render_conditional_pianoroll", "evaluate_conditional", "all", "score_fidelity",
                       "aggregate_fidelity", "summarise_run", "render_heldout_parts", "build_gallery"}
    snakemake(run, "--cores", "2", *args)
    _, ckpt = load_checkpoint(run / "results/conditional/checkpoint.pt",
                              vocab=EventTokenizer(extra_tokens=tuple(genre_tokens(GENRES))).names)
    assert ckpt["train_config"]["steps"] == 30 * len(GENRES)  # the separate models' total budget
    assert [h["step"] for h in ckpt["history"]] == [30, 60, 90]  # as many evaluations as one separate model
    rows = read_table(run / "results/conditional/likelihood.tsv")
    assert [r["genre"] for r in rows] == GENRES
    evals = {g: read_table(run / f"results/eval/{g}.tsv") for g in GENRES}
    for r in rows:
        own = next(e for e in evals[r["genre"]] if e["data"] == r["genre"])
        assert r["tokens"] == own["tokens"] and r["separate_bits_per_note"] == own["bits_per_note"]
        assert float(r["conditional_bits_per_note"]) > 0
        assert list(r)[:12] == LIKELIHOOD_COLUMNS
    for genre in GENRES:
        assert read_midi(run / f"results/conditional/samples/{genre}.mid")
        assert (run / f"results/conditional/pianorolls/{genre}.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "results/conditional/likelihood.png").read_bytes()[:4] == b"\x89PNG"
    assert {r["set"] for r in read_table(run / "results/fidelity.tsv")} >= {"conditional"}

