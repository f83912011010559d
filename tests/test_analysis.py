import numpy as np
import pytest
import torch

from midi_genres.analysis.summary import ANALYSIS_COLUMNS, SUMMARY_COLUMNS, analysis_row, is_memorised
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


def test_analysis_row_reads_every_analysis_table(tmp_path):
    write_table([{"model": "pop", "data": "pop", "bits_per_token": 1.5, "bits_per_note": 6.0, "bits_per_second": 20},
                 {"model": "pop", "data": "rap", "bits_per_token": 9, "bits_per_note": 40, "bits_per_second": 99}],
                ["model", "data", "bits_per_token", "bits_per_note", "bits_per_second"], tmp_path / "eval.tsv")
    write_table([{"applies": "yes", "overlap": 0.5}, {"applies": "yes", "overlap": 0.9},
                 {"applies": "no", "overlap": "NA"}], ["applies", "overlap"], tmp_path / "metrics.tsv")
    mem = [{"set": "sample", "ngrams8": 10, "copied8": 10, "ngrams16": 4, "copied16": 3, "longest_copy": 30},
           {"set": "sample", "ngrams8": 10, "copied8": 0, "ngrams16": 4, "copied16": 1, "longest_copy": 12},
           {"set": "heldout", "ngrams8": 10, "copied8": 1, "ngrams16": 10, "copied16": 2, "longest_copy": 9}]
    write_table(mem, list(mem[0]), tmp_path / "mem.tsv")
    write_table([{"tokens": 101, "malformed": 2}, {"tokens": 101, "malformed": 0}], ["tokens", "malformed"],
                tmp_path / "batch.tsv")
    row = analysis_row("pop", *(tmp_path / f for f in ("eval.tsv", "metrics.tsv", "mem.tsv", "batch.tsv")), 0.4)
    assert list(row) == ANALYSIS_COLUMNS and set(ANALYSIS_COLUMNS) <= set(SUMMARY_COLUMNS)
    assert row == {"bits_per_token": 1.5, "bits_per_note": 6.0, "bits_per_second": 20.0, "feature_overlap": 0.7,
                   "copied_8grams": 0.5, "copied_16grams": 0.5, "heldout_copied_16grams": 0.2,
                   "longest_copy_notes": 30, "memorised": "yes", "malformed_rate": 0.01}
