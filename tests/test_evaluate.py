import math

import matplotlib.image
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from midi_genres.analysis import likelihood as E
from midi_genres.analysis.heldout import likelihood_tables
from midi_genres.analysis.summary import aggregate_cross_genre
from midi_genres.core.notes import Note
from midi_genres.core.tables import read_table, write_table
from midi_genres.model.checkpoint import save_checkpoint
from midi_genres.model.runtime import trained_precision
from midi_genres.model.train import fixed_windows, mean_loss
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.present.plots import Heatmap, draw_heatmap
from midi_genres.tokens.dataset import PIECE_COLUMNS
from midi_genres.tokens.event import EventTokenizer
from midi_genres.tokens.streams import save_stream

TOK = EventTokenizer()
CFG = ModelConfig(max_len=16, d_model=32, n_heads=2, n_layers=1, d_ff=64)


def small_model(seed=0):
    torch.manual_seed(seed)
    return MusicTransformer(CFG).eval()


def stream(n, seed=0):
    return np.random.default_rng(seed).integers(3, 291, n).astype(np.uint16)


@pytest.mark.parametrize("n", [2, 10, 17, 18, 40, 41, 100])
def test_windows_score_every_target_once_with_half_a_window_of_context(n):
    max_len = 16
    plan = E.scored_windows(n, max_len)
    scored = []
    for start, first in plan:
        length = min(max_len, n - 1)
        assert 0 <= start and start + length <= n - 1
        targets = range(start + 1 + first, start + length + 1)
        scored += targets
        if start > 0:
            assert all(t - start >= max_len // 2 for t in targets)  # tokens of context before each target
    assert sorted(scored) == list(range(1, n))
    assert E.scored_windows(1, max_len) == []


def test_token_nll_matches_a_direct_computation_for_every_target():
    model, tokens = small_model(), stream(57)
    nll = E.token_nll(model, tokens, batch_size=2)
    assert nll.shape == (56,) and np.isfinite(nll).all()
    x = torch.from_numpy(tokens.astype(np.int64))
    with torch.no_grad():
        for start, first in E.scored_windows(len(tokens), CFG.max_len):
            for t in range(start + 1 + first, min(start + CFG.max_len, len(tokens) - 1) + 1):
                logits, _ = model(x[None, start:t])
                assert nll[t - 1] == pytest.approx(F.cross_entropy(logits[0, -1:], x[t:t + 1]).item(), rel=1e-4)
    np.testing.assert_allclose(E.token_nll(model, tokens, batch_size=32), nll, rtol=1e-5)


def test_a_long_stream_logs_its_progress_and_scores_the_same(monkeypatch, caplog):
    model, tokens = small_model(), stream(8 * 60 + 9)  # 60 windows of 16 tokens, every 8
    quiet = E.token_nll(model, tokens, batch_size=2)
    monkeypatch.setattr(E, "PROGRESS_BATCHES", 30)
    with caplog.at_level("INFO", logger=E.__name__):
        logged = E.token_nll(model, tokens, batch_size=2, label="bach on rap")
        E.token_nll(model, tokens, batch_size=4, label="too short")  # 15 batches: no progress lines
    np.testing.assert_array_equal(logged, quiet)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10 and all(line.startswith("bach on rap: ") for line in lines)
    assert lines[0].startswith("bach on rap: 6/60 windows | ") and lines[-1].startswith("bach on rap: 60/60 windows")
    assert "tokens/s" in lines[-1] and "ETA 0 s" in lines[-1]


def test_a_stream_that_fits_one_window_agrees_with_the_training_loss():
    model, tokens = small_model(), stream(CFG.max_len + 1)
    windows = fixed_windows(torch.from_numpy(tokens.astype(np.int64)), 1, CFG.max_len)
    assert E.token_nll(model, tokens).mean() == pytest.approx(mean_loss(model, windows), rel=1e-5)


def test_bf16_scoring_is_close_to_fp32_and_deterministic():
    model, tokens = small_model(), stream(120)
    fp32, bf16 = E.token_nll(model, tokens), E.token_nll(model, tokens, precision="bf16")
    assert not np.array_equal(fp32, bf16)  # really computed under autocast
    np.testing.assert_allclose(bf16, fp32, rtol=0.05)
    assert bf16.mean() == pytest.approx(fp32.mean(), rel=0.01)
    np.testing.assert_array_equal(E.token_nll(model, tokens, precision="bf16"), bf16)


@pytest.mark.parametrize("trained, scored", [({}, "fp32"), ({"precision": "fp32"}, "fp32"),
                                             ({"precision": "bf16"}, "bf16")])
def test_a_model_is_scored_in_the_precision_it_trained_in(tmp_path, trained, scored):
    assert trained_precision({"train_config": trained}, torch.device("cpu")) == scored
    pieces = [[Note(60 + (i + k) % 12, 2 * i, 2 * i + 2) for i in range(16)] for k in range(3)]
    val, table = write_genre(tmp_path, "scales", pieces)
    model = small_model()
    with torch.no_grad():  # confident logits, so that bf16 rounding shows in the table's 4 decimals
        model.head.weight.mul_(50)
    save_checkpoint({"model_state": model.state_dict(), "model_config": CFG.to_dict(), "train_config": trained,
                     "vocab": TOK.names, "history": [], "parameters": model.num_parameters()}, tmp_path / "m.pt")
    row = E.evaluate_model(checkpoint_path=tmp_path / "m.pt", model_genre="scales", genres=["scales"],
                           val_paths=[val], pieces_paths=[table], tempos={"scales": 120},
                           table_path=tmp_path / "eval.tsv", pieces_table_path=tmp_path / "eval.pieces.tsv")[0]
    tokens = np.load(val)
    expected = {p: likelihood_tables("scales", "scales", tokens, E.token_nll(model, tokens, precision=p), TOK,
                                     piece_rows(16, 3), row["seconds"])[0]["bits_per_token"] for p in ("fp32", "bf16")}
    assert expected["fp32"] != expected["bf16"]
    assert row["bits_per_token"] == expected[scored]


def piece_rows(notes: int, n: int) -> list[dict]:
    """``n`` pieces of ``notes`` notes each, each its own tune family, as the pieces table lists them."""
    return [{"notes": notes, "piece_id": f"p{i}", "family": f"p{i}"} for i in range(n)]


def test_a_uniform_model_costs_log2_vocab_bits_per_token():
    model = small_model()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    tokens = np.concatenate([TOK.encode([Note(60, i, i + 1) for i in range(9)])] * 4)
    row, _ = likelihood_tables("u", "u", tokens, E.token_nll(model, tokens), TOK, piece_rows(9, 4), seconds=4.0)
    n = len(tokens) - 1
    assert row["tokens"] == n
    assert row["bits_per_token"] == pytest.approx(math.log2(291), abs=1e-4)
    assert row["bits_per_note"] == pytest.approx(n * math.log2(291) / 36, abs=1e-3)
    assert row["bits_per_second"] == pytest.approx(n * math.log2(291) / 4, abs=1e-3)


def write_genre(tmp_path, genre, pieces):
    """A genre's validation stream and pieces table (every piece held out)."""
    tokens = np.concatenate([TOK.encode(p) for p in pieces])
    rows = [{"piece_id": f"{genre}{j}", "family": f"{genre}{j}", "split": "val", "tokens": len(TOK.encode(p)),
             "notes": len(p), "steps": max(n.end for n in p)} for j, p in enumerate(pieces)]
    save_stream(tokens, tmp_path / f"{genre}.val.npy")
    write_table(rows, PIECE_COLUMNS, tmp_path / f"{genre}.pieces.tsv")
    return tmp_path / f"{genre}.val.npy", tmp_path / f"{genre}.pieces.tsv"


def test_evaluate_model_tables_and_the_cross_genre_matrix(tmp_path):
    scales = [[Note(60 + (i + k) % 12, 2 * i, 2 * i + 2) for i in range(16)] for k in range(3)]
    chords = [[Note(p + k, 8 * i, 8 * i + 8) for i in range(4) for p in (48, 52, 55)] for k in range(2)]
    (scale_val, scale_pieces), (chord_val, chord_pieces) = (write_genre(tmp_path, "scales", scales),
                                                            write_genre(tmp_path, "chords", chords))
    tables = []

    def evaluate(genre, table):
        return E.evaluate_model(checkpoint_path=tmp_path / f"{genre}.pt", model_genre=genre,
                                genres=["scales", "chords"], val_paths=[scale_val, chord_val],
                                pieces_paths=[scale_pieces, chord_pieces], tempos={"scales": 120, "chords": 60},
                                table_path=table, pieces_table_path=table.with_suffix(".pieces.tsv"))

    for seed, genre in enumerate(["scales", "chords"]):
        model = small_model(seed)
        save_checkpoint({"model_state": model.state_dict(), "model_config": CFG.to_dict(), "train_config": {},
                         "vocab": TOK.names, "history": [], "parameters": model.num_parameters()},
                        tmp_path / f"{genre}.pt")
        tables.append(tmp_path / f"eval_{genre}.tsv")
        evaluate(genre, tables[-1])
    rows = read_table(tables[0])
    assert [(r["model"], r["data"]) for r in rows] == [("scales", "scales"), ("scales", "chords")]
    assert rows[0]["notes"] == "48" and float(rows[0]["seconds"]) == pytest.approx(3 * 32 / 4 / 2)
    assert float(rows[1]["seconds"]) == pytest.approx(2 * 32 / 4)  # chords at 60 bpm
    bits = float(rows[0]["bits"])
    assert float(rows[0]["bits_per_note"]) == pytest.approx(bits / 48, rel=1e-3)
    assert float(rows[0]["bits_per_note_low"]) < float(rows[0]["bits_per_note"]) < float(rows[0]["bits_per_note_high"])
    pieces = read_table(tables[0].with_suffix(".pieces.tsv"))
    assert [(r["data"], r["piece_id"], r["family"]) for r in pieces] == [
        ("scales", f"scales{j}", f"scales{j}") for j in range(3)] + [("chords", f"chords{j}", f"chords{j}")
                                                                     for j in range(2)]
    assert sum(float(r["bits"]) for r in pieces[:3]) == pytest.approx(bits, abs=0.1)
    before = tables[0].read_bytes()
    evaluate("scales", tables[0])
    assert tables[0].read_bytes() == before  # deterministic

    matrix = aggregate_cross_genre(genres=["scales", "chords"], titles={"scales": "Scales"},
                                   piece_tables=[t.with_suffix(".pieces.tsv") for t in tables],
                                   matrix_path=tmp_path / "cross.tsv", cells_path=tmp_path / "cells.tsv",
                                   figure_path=tmp_path / "cross.png")
    assert matrix.shape == (2, 2) and np.isfinite(matrix).all()
    assert matrix[0, 0] == pytest.approx(float(rows[0]["bits_per_note"]), abs=2e-4)
    wide = read_table(tmp_path / "cross.tsv")
    assert [r["model"] for r in wide] == ["scales", "chords"] and float(wide[1]["scales"]) == matrix[1, 0]
    cells = read_table(tmp_path / "cells.tsv")
    assert len(cells) == 4 and sum(r["best_in_column"] == "yes" for r in cells) == 2
    assert matplotlib.image.imread(tmp_path / "cross.png").shape[0] > 200


def test_heatmap_marks_the_diagonal_annotates_values_and_greys_missing_cells():
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    values = [[1.0, 20.0, 3.0], [4.0, np.nan, 6.0], [7.0, 8.0, 0.5]]
    draw_heatmap(ax, Heatmap(values, list("abc"), list("xyz"), fmt="{:.1f}", log_scale=True, mark_diagonal=True))
    assert sum(isinstance(p, Rectangle) and not p.get_fill() for p in ax.patches) == 3
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["1.0", "20.0", "3.0", "4.0", "NA", "6.0", "7.0", "8.0", "0.5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list("xyz")
