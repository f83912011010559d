from pathlib import Path

import numpy as np
import pytest
import torch

from midi_genres.core.history import best_dev_step, read_history
from midi_genres.core.notes import Note
from midi_genres.model.train import TrainConfig, fixed_windows, lr_at, train, train_genre
from midi_genres.model.transformer import ModelConfig
from midi_genres.tokens.event import EventTokenizer

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


def write_tokens(tmp_path):
    stream = scale_stream(40)
    np.save(tmp_path / "train.npy", stream)
    np.save(tmp_path / "val.npy", stream[:500])


RESUME_MODEL = {"max_len": 32, "d_model": 32, "n_heads": 2, "n_layers": 1, "d_ff": 64, "dropout": 0.1}
RESUME_TRAIN = {"steps": 600, "batch_size": 8, "warmup_steps": 10, "eval_interval": 100, "eval_windows": 4,
                "state_interval": 25}


def run_train_genre(tmp_path, name, state=None):
    from midi_genres.model.train import train_genre

    train_genre(train_path=str(tmp_path / "train.npy"), val_path=str(tmp_path / "val.npy"), model_params=RESUME_MODEL,
                train_params=RESUME_TRAIN, checkpoint_path=str(tmp_path / f"{name}.pt"),
                history_path=str(tmp_path / f"{name}.tsv"), state_path=state, threads=1)
    return torch.load(tmp_path / f"{name}.pt", weights_only=True)


def test_kill_9_mid_training_resumes_to_the_same_weights(tmp_path, caplog):
    import os
    import signal
    import subprocess
    import sys
    import time

    write_tokens(tmp_path)
    state = tmp_path / "state" / "run.pt"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from pathlib import Path; "
            f"import test_train as t; t.run_train_genre(Path({str(tmp_path)!r}), 'killed', {str(state)!r})")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)  # let it train past the saved state
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert not (tmp_path / "killed.pt").exists()
    saved_step = torch.load(state, weights_only=True)["step"]
    assert 0 < saved_step < RESUME_TRAIN["steps"]

    with caplog.at_level("INFO"):
        resumed = run_train_genre(tmp_path, "killed", str(state))
    assert f"resuming from step {saved_step} of 600" in caplog.text
    assert not state.exists()
    fresh = run_train_genre(tmp_path, "fresh")
    for name, tensor in fresh["model_state"].items():
        assert torch.equal(tensor, resumed["model_state"][name]), name
    assert [r["val_loss"] for r in fresh["history"]] == [r["val_loss"] for r in resumed["history"]]


def test_state_of_another_config_is_discarded(tmp_path, caplog):
    from midi_genres.model.train import fingerprint, save_state

    write_tokens(tmp_path)
    state = tmp_path / "state.pt"
    other = fingerprint(np.zeros(3, np.uint16), np.zeros(3, np.uint16), TINY, TrainConfig())
    save_state(state, {"run_id": other, "step": 300})
    with caplog.at_level("INFO"):
        got = run_train_genre(tmp_path, "a", str(state))
    assert "belongs to a different config" in caplog.text and "resuming" not in caplog.text
    state.write_bytes(b"truncated")
    with caplog.at_level("INFO"):
        run_train_genre(tmp_path, "b", str(state))
    assert "discarding unreadable training state" in caplog.text
    fresh = run_train_genre(tmp_path, "fresh")
    assert all(torch.equal(v, got["model_state"][k]) for k, v in fresh["model_state"].items())


def test_reuse_freed_memory_spares_the_page_faults_of_training_steps():
    """A training step frees and allocates the same large buffers: glibc hands them back to the system and faults
    their pages in again the next step, unless ``reuse_freed_memory`` (called by ``train``) has run. Each count in
    a fresh process: the setting is global."""
    import platform
    import subprocess
    import sys

    if platform.system() != "Linux":
        pytest.skip("glibc only")
    code = ("import resource, sys, torch, torch.nn.functional as F\n"
            "from midi_genres.model.runtime import reuse_freed_memory\n"
            "from midi_genres.model.transformer import ModelConfig, MusicTransformer\n"
            "applied = reuse_freed_memory() if sys.argv[1] == '1' else None\n"
            "torch.set_num_threads(1); torch.manual_seed(0)\n"
            "model = MusicTransformer(ModelConfig()); x = torch.randint(0, 291, (8, 257))\n"
            "def step():\n"
            "    F.cross_entropy(model(x[:, :-1])[0].reshape(-1, 291), x[:, 1:].reshape(-1)).backward()\n"
            "step(); step()\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
            "for _ in range(4): step()\n"
            "print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 4)\n")
    runs = {arg: subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True, check=True)
            .stdout.split() for arg in ("0", "1")}
    assert runs["1"][0] == "True"
    assert int(runs["1"][1]) * 4 < int(runs["0"][1]), runs  # page faults per step


def test_best_dev_is_chosen_by_the_dev_stream_alone():
    """The checkpoint best_dev keeps is the lowest dev loss; changing the held-out test stream moves nothing."""
    train_stream, dev = scale_stream(12), scale_stream(3)[::-1].copy()  # descending: a dev set it overfits against
    cfg = TrainConfig(steps=80, batch_size=8, lr=3e-3, warmup_steps=5, eval_interval=10, eval_windows=4)
    ckpt, history = train(train_stream, scale_stream(2), TINY, cfg, TOK.names, dev_tokens=dev)
    best = ckpt["best_dev"]
    assert [row["step"] for row in history] == list(range(10, 81, 10)) and all("dev_loss" in r for r in history)
    assert best["step"] == best_dev_step(history) and best["dev_loss"] == min(r["dev_loss"] for r in history)
    other_test = np.random.default_rng(0).integers(4, TOK.size, 600).astype(np.uint16)
    moved, moved_history = train(train_stream, other_test, TINY, cfg, TOK.names, dev_tokens=dev)
    assert moved["best_dev"]["step"] == best["step"]
    assert [r["dev_loss"] for r in moved_history] == [r["dev_loss"] for r in history]
    assert [r["val_loss"] for r in moved_history] != [r["val_loss"] for r in history]  # the test stream did change
    for name, tensor in best["model_state"].items():
        assert torch.equal(tensor, moved["best_dev"]["model_state"][name]), name
    without, plain_history = train(train_stream, scale_stream(2), TINY, cfg, TOK.names)
    assert "best_dev" not in without and "dev_loss" not in plain_history[0]
    for name, tensor in without["model_state"].items():  # the dev set steers nothing of the training itself
        assert torch.equal(tensor, ckpt["model_state"][name]), name


def test_train_genre_writes_the_best_dev_checkpoint_beside_the_last(tmp_path):
    write_tokens(tmp_path)
    np.save(tmp_path / "dev.npy", scale_stream(3))
    settings = {**RESUME_TRAIN, "steps": 200}
    train_genre(train_path=tmp_path / "train.npy", val_path=tmp_path / "val.npy", model_params=RESUME_MODEL,
                train_params=settings, checkpoint_path=tmp_path / "last.pt", history_path=tmp_path / "h.tsv",
                dev_path=tmp_path / "dev.npy", best_dev_checkpoint_path=tmp_path / "best.pt")
    last, best = (torch.load(tmp_path / f, weights_only=True) for f in ("last.pt", "best.pt"))
    history = read_history(tmp_path / "h.tsv")
    assert best["card"]["selected_step"] == best_dev_step(history) and "dev_loss" in history[0]
    assert "selected" not in last["card"] and last["train_config"] == best["train_config"]
