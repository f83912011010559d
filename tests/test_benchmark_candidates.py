"""The training candidates the benchmarks (`benchmarks/variants.py`) time compute what the default training computes."""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import variants as bench  # noqa: E402

from midi_genres.model.transformer import causal_attention  # noqa: E402


def test_the_blocked_attention_as_one_opaque_op_gives_the_same_values_and_gradients():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 4, 200, 32, requires_grad=True) for _ in range(3))
    grad = torch.randn(2, 4, 200, 32)
    expected = causal_attention(q, k, v)
    expected_grads = torch.autograd.grad(expected, (q, k, v), grad)
    got = bench.opaque_causal_attention(q, k, v)
    got_grads = torch.autograd.grad(got, (q, k, v), grad)
    assert torch.equal(got, expected)
    assert all(torch.equal(a, b) for a, b in zip(got_grads, expected_grads))


def test_the_fused_output_layer_and_cross_entropy_give_the_loss_and_gradients_of_the_plain_ones():
    torch.manual_seed(1)
    head = torch.nn.Linear(32, 291)
    hidden = torch.randn(2500, 32, requires_grad=True)  # more than two chunks, the last one short
    targets = torch.randint(0, 291, (2500,))
    loss = F.cross_entropy(head(hidden), targets)
    expected = torch.autograd.grad(loss * 3, (hidden, head.weight, head.bias))
    fused = bench.FusedHeadCrossEntropy.apply(hidden, head.weight, head.bias, targets)
    got = torch.autograd.grad(fused * 3, (hidden, head.weight, head.bias))
    assert torch.allclose(fused, loss, rtol=1e-5)
    for a, b in zip(got, expected):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)


def test_the_blocked_and_before_variants_keep_the_model_off_the_fused_kernel_and_restore_it():
    from midi_genres.model import fused_attention

    supports = fused_attention.supports
    q = torch.zeros(1, 4, 8, 32, dtype=torch.bfloat16)
    for variant in ("ours bf16 nodrop blocked", "ours bf16 nodrop before", "ours bf16 nodrop sdpa"):
        with bench.AttentionOf(variant):
            assert not fused_attention.supports(q)
        assert fused_attention.supports is supports
    with bench.AttentionOf("ours bf16 nodrop"):
        assert fused_attention.supports is supports  # the default: the fused kernel wherever it runs
