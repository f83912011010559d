import numpy as np
import pytest
import torch

from midi_genres.analysis.summary import ANALYSIS_COLUMNS, SAMPLE_COLUMNS, SUMMARY_COLUMNS, is_memorised, sample_columns
from midi_genres.core.notes import seconds_to_steps
from midi_genres.core.tables import read_table, write_table
from midi_genres.model.checkpoint import save_checkpoint
from midi_genres.model.sample import BATCH_COLUMNS, SampleConfig, generate, sample_batch
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens.base import BOS, EOS
from midi_genres.tokens.event import EventTokenizer
from midi_genres.tokens.streams import split_pieces

TOK = EventTokenizer()
CFG = ModelConfig(max_len=32, d_model=32, n_heads=2, n_layers=1, d_ff=64)


def test_sample_batch_writes_n_seeded_samples_as_one_stream_with_their_grammar(tmp_path):
    torch.manual_seed(0)
    model = MusicTransformer(CFG).eval()
    save_checkpoint({"model_state": model.state_dict(), "model_config": CFG.to_dict(), "train_config": {},
                     "vocab": TOK.names, "history": [], "parameters": 0}, tmp_path / "m.pt")
    params = {"seconds": 2.0, "temperature": 1.0, "top_k": 0, "seed": 5, "max_tokens": 300}
    rows = sample_batch(checkpoint_path=tmp_path / "m.pt", tokens_path=tmp_path / "b.npy",
                        table_path=tmp_path / "b.tsv", sample_params=params, tempo_bpm=120, n_samples=3)
    pieces = split_pieces(np.load(tmp_path / "b.npy"))
    assert len(pieces) == 3 and all(p[0] == BOS and p[-1] == EOS for p in pieces)
    first = generate(model, TOK, seconds_to_steps(2.0, 120), SampleConfig(**params))
    assert pieces[0][:-1].tolist() == first  # sample i uses seed sample.seed + i
    table = read_table(tmp_path / "b.tsv")
    assert list(table[0]) == BATCH_COLUMNS and [r["seed"] for r in table] == ["5", "6", "7"]
    for row, piece in zip(rows, pieces):
        notes, report = TOK.decode_with_report(piece)
        assert row["tokens"] == len(piece) - 1 and row["notes"] == len(notes)
        assert row["malformed"] == report.malformed - report.unclosed_notes
        assert row["malformed_rate"] == pytest.approx(row["malformed"] / (len(piece) - 2), abs=1e-5)


def test_memorised_needs_the_threshold_and_more_than_unseen_pieces():
    assert is_memorised(0.8, 0.1, 0.5)
    assert not is_memorised(0.8, 0.9, 0.5)  # a formulaic genre: new pieces share as much
    assert not is_memorised(0.3, 0.0, 0.5)
    assert is_memorised(0.8, float("nan"), 0.5)


def test_sample_columns_average_the_seeds_and_pool_their_samples(tmp_path):
    for seed, overlaps in enumerate(([0.5, 0.9], [0.3, 0.5])):
        write_table([{"applies": "yes", "overlap": v} for v in overlaps] + [{"applies": "no", "overlap": "NA"}],
                    ["applies", "overlap"], tmp_path / f"metrics{seed}.tsv")
    mem = [{"set": "sample", "ngrams8": 10, "copied8": 10, "ngrams16": 4, "copied16": 3, "longest_copy": 30},
           {"set": "sample", "ngrams8": 10, "copied8": 0, "ngrams16": 4, "copied16": 1, "longest_copy": 12},
           {"set": "heldout", "ngrams8": 10, "copied8": 1, "ngrams16": 10, "copied16": 2, "longest_copy": 9}]
    write_table(mem, list(mem[0]), tmp_path / "mem0.tsv")
    write_table(mem[:1] + mem[2:], list(mem[0]), tmp_path / "mem1.tsv")
    for seed in (0, 1):
        write_table([{"tokens": 101, "malformed": 2 - 2 * seed}, {"tokens": 101, "malformed": 0}],
                    ["tokens", "malformed"], tmp_path / f"batch{seed}.tsv")
    paths = {k: [tmp_path / f"{k}{s}.tsv" for s in (0, 1)] for k in ("metrics", "mem", "batch")}
    row = sample_columns(paths["metrics"], paths["mem"], paths["batch"], 0.4)
    assert list(row) == SAMPLE_COLUMNS and set(ANALYSIS_COLUMNS) <= set(SUMMARY_COLUMNS)
    assert row["feature_overlap"] == 0.55 and row["feature_overlap_seed_sd"] == pytest.approx(0.2121, abs=1e-4)
    assert (row["copied_8grams"], row["copied_16grams"], row["heldout_copied_16grams"]) == (0.6667, 0.5833, 0.2)
    assert row["longest_copy_notes"] == 30 and row["memorised"] == "yes" and row["malformed_rate"] == 0.005
    one = sample_columns(paths["metrics"][:1], paths["mem"][:1], paths["batch"][:1], 0.4)
    assert one["feature_overlap"] == 0.7 and one["feature_overlap_seed_sd"] == "NA"
