import numpy as np
import pytest
import torch

from midi_genres.model import ModelConfig
from midi_genres.notes import Note
from midi_genres.tokenizer import EventTokenizer
from midi_genres.train import TrainConfig, fixed_windows, lr_at, train

TOK = EventTokenizer()
TINY = ModelConfig(max_len=32, d_model=32, n_heads=2, n_layers=1, d_ff=64, dropout=0.1)


def scale_stream(pieces=12):
    """A learnable stream: ascending scales, one piece each."""
    return np.concatenate([TOK.encode([Note(60 + (i + k) % 12, 2 * i, 2 * i + 2) for i in range(16)])
                           for k in range(pieces)])


def test_lr_warms_up_then_decays_by_cosine_to_the_floor():
    cfg = TrainConfig(steps=100, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(55, cfg) == pytest.approx(0.55e-3)
    assert lr_at(99, cfg) == pytest.approx(1e-4, rel=1e-2)
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 99))


def test_fixed_windows_cover_the_stream_deterministically():
    stream = torch.arange(100)
    w = fixed_windows(stream, 4, 32)
    assert w.shape == (4, 33) and w[0, 0] == 0 and w[-1, -1] == 99
    assert fixed_windows(torch.arange(10), 4, 32).shape == (1, 10)  # shorter than a window


def test_training_learns_and_is_deterministic():
    stream = scale_stream()
    cfg = TrainConfig(steps=60, batch_size=8, lr=3e-3, warmup_steps=5, eval_interval=20, eval_windows=8)
    ckpt, history = train(stream, stream, TINY, cfg, TOK.names)
    assert [row["step"] for row in history] == [20, 40, 60]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < np.log(TOK.size)
    again, _ = train(stream, stream, TINY, cfg, TOK.names)
    for name, tensor in ckpt["model_state"].items():
        assert torch.equal(tensor, again["model_state"][name]), name
    assert ckpt["vocab"] == TOK.names and ckpt["model_config"]["d_model"] == 32


def test_too_short_a_stream_is_refused():
    with pytest.raises(ValueError, match="too short"):
        train(np.array([1], dtype=np.uint16), np.array([1, 2], dtype=np.uint16), TINY, TrainConfig(steps=1),
              TOK.names)
