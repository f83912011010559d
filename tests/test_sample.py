import torch

from midi_genres.model.sample import ContextWindow, SampleConfig, generate, window_start
from midi_genres.model.transformer import ModelConfig, MusicTransformer
from midi_genres.tokens.base import BOS, EOS, PAD
from midi_genres.tokens.event import TIME_SHIFT_BASE, EventTokenizer

TOK = EventTokenizer()


def small_model(seed=0, **kw):
    torch.manual_seed(seed)
    return MusicTransformer(ModelConfig(max_len=32, d_model=32, n_heads=2, n_layers=2, d_ff=64, **kw)).eval()


def test_window_restarts_from_the_last_half_when_full():
    assert window_start(31, 0, 32) == 0
    assert window_start(32, 0, 32) == 16
    assert window_start(47, 16, 32) == 16
    assert window_start(48, 16, 32) == 32


def test_cached_and_uncached_windows_give_the_same_logits_past_max_len():
    model = small_model()
    tokens = [BOS] + torch.randint(3, 291, (100,)).tolist()
    cached, plain = ContextWindow(model, use_cache=True), ContextWindow(model, use_cache=False)
    for n in range(1, len(tokens) + 1):
        assert torch.allclose(cached.next_logits(tokens[:n]), plain.next_logits(tokens[:n]), atol=1e-5), n


def test_generation_is_seeded_and_fills_the_requested_time():
    model = small_model()
    cfg = SampleConfig(seed=3, max_tokens=5000)
    a = generate(model, TOK, max_steps=64, cfg=cfg)
    assert a == generate(model, TOK, max_steps=64, cfg=cfg)
    assert a == generate(model, TOK, max_steps=64, cfg=cfg, use_cache=False)
    assert a != generate(model, TOK, max_steps=64, cfg=SampleConfig(seed=4, max_tokens=5000))
    assert a[0] == BOS and not {PAD, BOS, EOS} & set(a[1:])
    assert sum(TOK.shift_steps[t] for t in a) >= 64
    assert sum(TOK.shift_steps[t] for t in a[:-1]) < 64


def test_generation_stops_at_the_token_cap_when_time_never_moves():
    model = small_model()
    with torch.no_grad():  # a model that never emits a time shift
        model.head.bias[TIME_SHIFT_BASE:] = -1e9
    tokens = generate(model, TOK, max_steps=10, cfg=SampleConfig(max_tokens=200))
    assert len(tokens) == 200 and not any(TOK.shift_steps[t] for t in tokens)


def test_top_k_restricts_to_the_k_most_likely_tokens():
    model = small_model()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[TIME_SHIFT_BASE] = 5.0  # TIME_SHIFT_1 clearly first
    tokens = generate(model, TOK, max_steps=50, cfg=SampleConfig(top_k=1, max_tokens=100))
    assert set(tokens[1:]) == {TIME_SHIFT_BASE}
