import pickle

import pytest
import torch

from midi_genres.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens.event import EventTokenizer

TOK = EventTokenizer()
CFG = ModelConfig(max_len=16, d_model=16, n_heads=2, n_layers=1, d_ff=32)


def checkpoint_of(model, vocab=TOK.names):
    return {"model_state": model.state_dict(), "model_config": model.cfg.to_dict(), "vocab": list(vocab)}


def test_save_and_load_round_trip(tmp_path):
    model = MusicTransformer(CFG)
    save_checkpoint(checkpoint_of(model), tmp_path / "m.pt")
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt", vocab=TOK.names)
    assert not loaded.training and loaded.cfg == CFG
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name])


def test_other_vocabulary_is_refused(tmp_path):
    save_checkpoint(checkpoint_of(MusicTransformer(CFG)), tmp_path / "m.pt")
    other = EventTokenizer(extra_tokens=("GENRE_bach",))
    with pytest.raises(CheckpointError, match="vocabulary of 291 tokens .* 292 tokens"):
        load_checkpoint(tmp_path / "m.pt", vocab=other.names)


def test_weights_of_another_architecture_are_refused_clearly(tmp_path):
    ckpt = checkpoint_of(MusicTransformer(CFG))
    ckpt["model_config"] = {**ckpt["model_config"], "d_model": 32}
    save_checkpoint(ckpt, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="do not fit the architecture"):
        load_checkpoint(tmp_path / "m.pt")


class Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_checkpoint_carrying_code_is_not_executed(tmp_path):
    torch.save({"format_version": 1, "payload": Exploit()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")


def test_garbage_is_refused(tmp_path):
    (tmp_path / "x.pt").write_bytes(pickle.dumps([1, 2]) + b"junk")
    with pytest.raises(CheckpointError, match="x.pt"):
        load_checkpoint(tmp_path / "x.pt")
    torch.save({"something": 1}, tmp_path / "y.pt")
    with pytest.raises(CheckpointError, match="not a midi-genres checkpoint"):
        load_checkpoint(tmp_path / "y.pt")
