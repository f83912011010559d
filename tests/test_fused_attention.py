"""The fused causal attention kernel: the values and gradients of SDPA's causal attention, the same numbers on any
thread count, from the projections' layout as from separate tensors, and a clear fallback where it cannot run."""

import logging
import os

import pytest
import torch
import torch.nn.functional as F

from midi_genres.model import fused_attention
from midi_genres.model.transformer import ModelConfig, MusicTransformer


def _why_not_here() -> str | None:
    """Why the kernel cannot run on this machine even switched on (it is off by default on AMX CPUs), or None."""
    previous = os.environ.get(fused_attention.SWITCH)
    os.environ[fused_attention.SWITCH] = "1"
    fused_attention.kernel.cache_clear()
    try:
        return None if fused_attention.kernel() is not None else fused_attention.unavailable_reason() or "no build"
    finally:
        if previous is None:
            del os.environ[fused_attention.SWITCH]
        else:
            os.environ[fused_attention.SWITCH] = previous
        fused_attention.kernel.cache_clear()


WHY_NOT = _why_not_here()
needs_kernel = pytest.mark.skipif(WHY_NOT is not None, reason=f"the fused kernel cannot run here: {WHY_NOT}")


@pytest.fixture(autouse=True)
def kernel_switched_on(monkeypatch):
    """Every test here sees the kernel wherever it can run, CPUs with AMX included."""
    monkeypatch.setenv(fused_attention.SWITCH, "1")
    fused_attention.kernel.cache_clear()
    yield
    fused_attention.kernel.cache_clear()


def _reference(q, k, v, grad):
    """fp32 SDPA of the bf16 inputs (queries the last positions), its outputs and gradients."""
    exact = [t.float().requires_grad_() for t in (q, k, v)]
    Tq, Tk = q.shape[2], k.shape[2]
    mask = torch.ones(Tq, Tk, dtype=torch.bool).tril(Tk - Tq)
    out = F.scaled_dot_product_attention(*exact, attn_mask=mask)
    out.backward(grad.float())
    return out, [t.grad for t in exact]


@needs_kernel
@pytest.mark.parametrize("T", [1, 2, 31, 33, 63, 64, 70, 128, 256])
def test_values_and_gradients_are_sdpas_within_bf16_rounding(T):
    torch.manual_seed(T)
    q, k, v, grad = (torch.randn(2, 4, T, 32).to(torch.bfloat16) for _ in range(4))
    expected, expected_grads = _reference(q, k, v, grad)
    ours = [t.clone().requires_grad_() for t in (q, k, v)]
    out = fused_attention.fused_causal_attention(*ours)
    out.backward(grad)
    assert out.dtype == torch.bfloat16 and out.shape == (2, 4, T, 32)
    assert (out.float() - expected).abs().max() < 0.02
    for got, want in zip(ours, expected_grads, strict=True):
        assert (got.grad.float() - want).abs().max() < 0.01 * max(1.0, want.abs().max().item())


@needs_kernel
@pytest.mark.parametrize(("T", "last"), [(256, 128), (256, 1), (70, 7), (130, 66), (64, 63), (5, 5)])
def test_the_last_queries_attend_to_every_earlier_key(T, last):
    torch.manual_seed(last)
    q, k, v = (torch.randn(3, 4, T, 32).to(torch.bfloat16) for _ in range(3))
    expected, _ = _reference(q[:, :, -last:], k, v, torch.zeros(3, 4, last, 32))
    with torch.no_grad():
        out = fused_attention.fused_causal_attention(q[:, :, -last:], k, v)
    assert (out.float() - expected).abs().max() < 0.02


@needs_kernel
def test_projections_layout_gives_what_separate_tensors_give_and_the_gradient_in_that_layout():
    torch.manual_seed(7)
    qkv = torch.randn(2, 100, 3, 4, 32).to(torch.bfloat16).requires_grad_()
    grad = torch.randn(2, 4, 100, 32).to(torch.bfloat16)
    out = fused_attention.projections_attention(qkv)
    out.backward(grad)
    separate = [t.detach().clone().requires_grad_() for t in qkv.permute(2, 0, 3, 1, 4)]
    expected = fused_attention.fused_causal_attention(*separate)
    expected.backward(grad)
    assert torch.equal(out, expected)
    assert torch.equal(qkv.grad, torch.stack([t.grad for t in separate]).permute(1, 3, 0, 2, 4))
    with torch.no_grad():
        tail = fused_attention.projections_attention(qkv, last=9)
    assert torch.equal(tail, out[:, :, -9:].detach())  # each query row is computed the same way either way
    with pytest.raises(ValueError, match="gradients need every query"):
        fused_attention.projections_attention(qkv, last=9)


@needs_kernel
def test_the_same_numbers_on_one_and_on_two_threads():
    torch.manual_seed(8)
    qkv = torch.randn(3, 256, 3, 4, 32).to(torch.bfloat16)
    grad = torch.randn(3, 4, 256, 32).to(torch.bfloat16)
    results = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            x = qkv.clone().requires_grad_()
            out = fused_attention.projections_attention(x)
            out.backward(grad)
            results.append((out, x.grad))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])


@needs_kernel
def test_training_the_model_in_bf16_goes_through_the_kernel_and_matches_the_blocked_path(monkeypatch):
    torch.manual_seed(9)
    model = MusicTransformer(ModelConfig())
    x = torch.randint(0, 291, (2, 256))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fused = model(x)[0].float()
    fused.square().mean().backward()
    fused_grad = model.blocks[0].attn.qkv.weight.grad.clone()
    model.zero_grad()
    monkeypatch.setattr(fused_attention, "supports", lambda q: False)  # the blocked kernel instead
    with torch.autocast("cpu", dtype=torch.bfloat16):
        blocked = model(x)[0].float()
    blocked.square().mean().backward()
    assert (fused - blocked).abs().max() < 0.05 * blocked.abs().max()
    blocked_grad = model.blocks[0].attn.qkv.weight.grad
    assert (fused_grad - blocked_grad).abs().max() < 0.1 * blocked_grad.abs().max()


def test_switched_off_or_without_a_compiler_the_blocked_kernel_is_used_and_the_reason_logged(monkeypatch, caplog,
                                                                                             tmp_path):
    monkeypatch.setenv("MIDI_GENRES_CACHE", str(tmp_path))
    monkeypatch.setenv(fused_attention.SWITCH, "0")
    with caplog.at_level(logging.INFO, logger="midi_genres.model.fused_attention"):
        assert fused_attention.kernel() is None
    assert "MIDI_GENRES_FUSED_ATTENTION=0" in caplog.text
    assert not fused_attention.supports(torch.zeros(1, 1, 4, 32, dtype=torch.bfloat16))
    if WHY_NOT is None:
        monkeypatch.setenv(fused_attention.SWITCH, "1")
        fused_attention.kernel.cache_clear()
        monkeypatch.setenv("CXX", "no-such-compiler")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="midi_genres.model.fused_attention"):
            assert fused_attention.kernel() is None
        assert "no C++ compiler (no-such-compiler)" in caplog.text
        assert not list(tmp_path.rglob("*.so"))


@needs_kernel
def test_compiled_once_into_the_cache_and_reused(monkeypatch, tmp_path):
    monkeypatch.setenv("MIDI_GENRES_CACHE", str(tmp_path))
    assert fused_attention.kernel() is not None
    built = list(tmp_path.rglob("*.so"))
    assert len(built) == 1 and built[0].parent == tmp_path / "kernels"
    stamp = built[0].stat().st_mtime_ns
    fused_attention.kernel.cache_clear()  # as a new process: it loads the build, compiles nothing
    assert fused_attention.kernel() is not None
    assert [p.stat().st_mtime_ns for p in tmp_path.rglob("*.so")] == [stamp]


def test_on_amx_cpus_it_is_off_unless_switched_on(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    monkeypatch.delenv(fused_attention.SWITCH)
    assert "AMX" in fused_attention.unavailable_reason()
    monkeypatch.setenv(fused_attention.SWITCH, "1")
    assert fused_attention.unavailable_reason() is None or "x86-64" in fused_attention.unavailable_reason()
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    assert "no AVX-512 BF16" in fused_attention.unavailable_reason()  # switched on, still never where it cannot run
