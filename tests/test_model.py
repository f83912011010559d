import pytest
import torch
import torch.nn.functional as F

from midi_genres.model.transformer import ModelConfig, MusicTransformer, causal_attention


def test_default_model_is_the_seed_architecture_with_about_half_a_million_parameters():
    model = MusicTransformer(ModelConfig())
    assert (model.cfg.d_model, model.cfg.n_heads, model.cfg.n_layers, model.cfg.max_len) == (128, 4, 3, 256)
    assert 400_000 <= model.num_parameters() <= 520_000
    assert model.num_parameters(embeddings=False) == model.num_parameters() - 291 * 128 - 256 * 128


def test_forward_shapes_and_causality():
    torch.manual_seed(0)
    model = MusicTransformer(ModelConfig(dropout=0.0)).eval()
    x = torch.randint(0, 291, (2, 50))
    logits, cache = model(x)
    assert logits.shape == (2, 50, 291)
    assert len(cache) == 3 and cache[0][0].shape == (2, 4, 50, 32)
    y = x.clone()
    y[:, 30:] = 7  # changing the future must not change the past
    assert torch.allclose(model(y)[0][:, :30], logits[:, :30], atol=1e-6)


def test_kv_cache_gives_the_same_logits_as_the_full_context():
    torch.manual_seed(1)
    model = MusicTransformer(ModelConfig()).eval()
    x = torch.randint(0, 291, (1, 40))
    full, _ = model(x)
    part1, cache = model(x[:, :25])
    part2, cache = model(x[:, 25:31], cache)  # several new tokens at once
    steps = [part1, part2]
    for t in range(31, 40):
        logits, cache = model(x[:, t:t + 1], cache)
        steps.append(logits)
    assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)


@pytest.mark.parametrize("last", [1, 7, 40])
def test_logits_of_the_last_positions_only_and_a_complete_cache(last):
    torch.manual_seed(2)
    model = MusicTransformer(ModelConfig()).eval()
    x = torch.randint(0, 291, (2, 40))
    with torch.no_grad():
        full, full_cache = model(x)
        tail, cache = model(x, last=last)
        assert tail.shape == (2, last, 291)
        assert torch.allclose(tail, full[:, -last:], atol=1e-5)
        for (k, v), (k_full, v_full) in zip(cache, full_cache):  # keys and values of every position
            assert torch.equal(k, k_full) and torch.equal(v, v_full)
        part, cache = model(x[:, :25])
        after, _ = model(x[:, 25:], cache, last=3)  # after a cache: the last 3 of the 15 new positions
        assert torch.allclose(after, full[:, -3:], atol=1e-5)


@pytest.mark.parametrize("T", [1, 63, 64, 70, 128, 256])
def test_blocked_causal_attention_computes_what_sdpa_does_values_and_gradients(T):
    torch.manual_seed(2)
    q, k, v = (torch.randn(3, 4, T, 32, requires_grad=True) for _ in range(3))
    ours = causal_attention(q, k, v)
    ours_grads = torch.autograd.grad(ours.square().sum(), (q, k, v))
    plain = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    plain_grads = torch.autograd.grad(plain.square().sum(), (q, k, v))
    assert torch.allclose(ours, plain, atol=1e-5)
    for a, b in zip(ours_grads, plain_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize(("T", "last"), [(256, 128), (256, 1), (256, 256), (70, 7), (130, 66), (64, 63)])
def test_blocked_causal_attention_of_the_last_queries_is_the_last_rows_of_the_full_one(T, last):
    torch.manual_seed(5)
    q, k, v = (torch.randn(2, 4, T, 32) for _ in range(3))
    full = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    with torch.no_grad():
        assert torch.allclose(causal_attention(q[:, :, -last:], k, v), full[:, :, -last:], atol=1e-5)
        low = causal_attention(*(t.to(torch.bfloat16) for t in (q[:, :, -last:], k, v)))
    assert low.dtype == torch.bfloat16 and (low.float() - full[:, :, -last:]).abs().max() < 0.05


def test_blocked_causal_attention_with_gradients_needs_every_query():
    q, k, v = (torch.randn(1, 2, 8, 16, requires_grad=True) for _ in range(3))
    with pytest.raises(ValueError, match="as many queries as keys, got 3 and 8"):
        causal_attention(q[:, :, -3:], k, v)


def test_blocked_causal_attention_in_bf16_stays_close_to_fp32():
    torch.manual_seed(4)
    q, k, v = (torch.randn(2, 4, 256, 32) for _ in range(3))
    g = torch.randn(2, 4, 256, 32)
    exact = [t.clone().requires_grad_() for t in (q, k, v)]
    (F.scaled_dot_product_attention(*exact, is_causal=True) * g).sum().backward()
    low = [t.to(torch.bfloat16).requires_grad_() for t in (q, k, v)]
    out = causal_attention(*low)
    (out * g.to(torch.bfloat16)).sum().backward()
    assert out.dtype == torch.bfloat16
    assert (out.float() - F.scaled_dot_product_attention(q, k, v, is_causal=True)).abs().max() < 0.05
    for a, b in zip(low, exact, strict=True):
        assert (a.grad.float() - b.grad).abs().max() < 0.02 * b.grad.abs().max()


def test_the_cpu_training_and_inference_paths_match_the_fp32_model(monkeypatch):
    import midi_genres.model.transformer as transformer
    from midi_genres.model import fused_attention

    calls = []

    def counted(q, k, v):
        calls.append(q.dtype)
        return causal_attention(q, k, v)

    def counted_fused(qkv, last=0, projections_attention=fused_attention.projections_attention):
        calls.append(qkv.dtype)
        return projections_attention(qkv, last)

    monkeypatch.setattr(transformer, "causal_attention", counted)  # bf16: the fused kernel where it runs
    monkeypatch.setattr(fused_attention, "projections_attention", counted_fused)
    torch.manual_seed(3)
    model = MusicTransformer(ModelConfig())
    x = torch.randint(0, 291, (4, 64))
    fp32, _ = model(x)
    assert calls == [torch.float32] * 3  # training on CPU: the blocked causal_attention, once per layer
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16, _ = model(x)
    assert calls == [torch.float32] * 3 + [torch.bfloat16] * 3
    assert bf16.dtype == torch.bfloat16
    assert (bf16.float() - fp32).abs().max() < 0.05 * fp32.abs().max()
    with torch.no_grad():
        inference_fp32, _ = model(x)
        assert len(calls) == 6  # forward only in fp32: SDPA, which is faster there
        with torch.autocast("cpu", dtype=torch.bfloat16):
            inference, _ = model(x)
            assert calls[6:] == [torch.bfloat16] * 3  # forward only in bf16: the blocked kernel again
            tail, _ = model(x, last=10)
            assert calls[9:] == [torch.bfloat16] * 3  # also for the last positions only
    tail_with_grad, _ = model(x, last=10)  # gradients, last positions only: the final block through SDPA's mask
    assert calls[12:] == [torch.float32] * 2
    assert torch.allclose(tail_with_grad, fp32[:, -10:], atol=1e-5)
    assert torch.allclose(inference_fp32, fp32, atol=1e-5)
    assert torch.equal(inference, bf16.detach())  # the same kernel as training: the same numbers
    assert (tail.float() - inference[:, -10:].float()).abs().max() < 0.02 * fp32.abs().max()


def test_context_longer_than_max_len_is_refused():
    model = MusicTransformer(ModelConfig(max_len=16))
    with pytest.raises(ValueError, match="exceeds max_len 16"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_heads_must_divide_width():
    with pytest.raises(ValueError, match="n_heads"):
        ModelConfig(d_model=130, n_heads=4)


def test_one_function_chooses_the_attention_path(monkeypatch):
    from midi_genres.model import fused_attention
    from midi_genres.model.transformer import attention_path

    q = torch.zeros(1, 4, 8, 32)
    low = q.to(torch.bfloat16)
    for kernel_runs, own in ((True, "fused"), (False, "blocked")):
        monkeypatch.setattr(fused_attention, "supports", lambda q, runs=kernel_runs: runs and q.dtype == torch.bfloat16)
        assert attention_path(low) == own  # training in bf16
        assert attention_path(q) == "blocked"  # training in fp32: SDPA's CPU backward is slow
        assert attention_path(low, past_len=5) == "sdpa"  # gradients of the last queries only
        assert attention_path(low, dropout=0.1) == "sdpa"
        with torch.no_grad():
            assert attention_path(low) == own and attention_path(low, past_len=5) == own  # forward only, in bf16
            assert attention_path(q) == "sdpa"  # fp32 inference: SDPA's flash kernel is faster
            assert attention_path(low, past_len=5, cached=True) == "sdpa"  # sampling with the KV cache
        if torch.cuda.is_available():
            assert attention_path(low.cuda()) == "sdpa"
