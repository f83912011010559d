"""The training variants the benchmark sections time and compare: a plain PyTorch reference, the attention
candidates (SDPA, the full-matrix attention of before the kernels, the blocked kernel as one opaque op), the output
layer fused with the cross-entropy, and context managers that make the package's model compute as a variant does."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

import midi_genres.model.transformer as model_module
from midi_genres.model import fused_attention
from midi_genres.model.transformer import ModelConfig, causal_attention


class ReferenceTransformer(nn.Module):
    """Plain PyTorch reference of identical shape: nn.TransformerEncoder, causal mask, norm-first, dropout 0.1."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        layer = nn.TransformerEncoderLayer(cfg.d_model, cfg.n_heads, cfg.d_ff, dropout=0.1, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)

    def forward(self, idx):
        T = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(T)
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(T))
        return self.head(self.ln_f(self.encoder(x, mask=mask, is_causal=True))), None


def sdpa_causal_attention(q, k, v):
    """What the model computes in training on CPU, through SDPA's flash kernel instead (the "sdpa" variants)."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def full_matrix_causal_attention(q, k, v):
    """The training attention before the blocked kernel (the "before" variants): two batched matmuls over the
    whole T x T matrix, the scale and the causal mask fused into the first (``baddbmm``)."""
    B, H, T, D = q.shape
    mask = torch.full((T, T), float("-inf"), dtype=q.dtype, device=q.device).triu(1)
    scores = torch.baddbmm(mask, q.reshape(B * H, T, D), k.reshape(B * H, T, D).transpose(1, 2), alpha=D**-0.5)
    return torch.bmm(scores.softmax(-1).to(v.dtype), v.reshape(B * H, T, D)).view(B, H, T, D)


class _Saved:
    """Stands in for autograd's ctx, to run ``_CausalAttention``'s forward and backward as plain functions."""

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors


def _block_shapes(q: torch.Tensor) -> list[tuple[int, int, int]]:
    N, T = q.shape[:2]
    tile = model_module.ATTENTION_TILE
    return [(N, min(tile, T - start), min(start + tile, T)) for start in range(0, T, tile)]


@torch.library.custom_op("midi_genres_bench::attention_forward", mutates_args=())
def _opaque_forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> list[torch.Tensor]:
    saved = _Saved()
    out = model_module._CausalAttention.forward(saved, q, k, v)
    scaled_q, _, _, *probs = saved.saved_tensors
    return [out, scaled_q, *probs]  # k and v are the inputs themselves: a custom op may not return them


@_opaque_forward.register_fake
def _(q, k, v):
    return [torch.empty_like(q), torch.empty_like(q), *(q.new_empty(shape) for shape in _block_shapes(q))]


@torch.library.custom_op("midi_genres_bench::attention_backward", mutates_args=())
def _opaque_backward(grad: torch.Tensor, scaled_q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     probs: list[torch.Tensor]) -> list[torch.Tensor]:
    ctx = _Saved()
    ctx.saved_tensors, ctx.scale = (scaled_q, k, v, *probs), scaled_q.shape[2] ** -0.5
    return list(model_module._CausalAttention.backward(ctx, grad))


@_opaque_backward.register_fake
def _(grad, scaled_q, k, v, probs):
    return [torch.empty_like(scaled_q), torch.empty_like(k), torch.empty_like(v)]


class _OpaqueAttention(torch.autograd.Function):
    """The package's blocked kernel as two custom ops, which torch.compile calls as they are (one graph, no break)."""

    @staticmethod
    def forward(ctx, q, k, v):
        out, scaled_q, *probs = _opaque_forward(q, k, v)
        ctx.save_for_backward(scaled_q, k, v, *probs)
        return out

    @staticmethod
    def backward(ctx, grad):
        scaled_q, k, v, *probs = ctx.saved_tensors
        return tuple(_opaque_backward(grad.contiguous(), scaled_q, k, v, probs))


def opaque_causal_attention(q, k, v):
    """``causal_attention`` as one opaque op (the "opaque" variants: torch.compile fuses everything around it)."""
    B, H, T, D = q.shape
    with torch.autocast(q.device.type, enabled=False):
        return _OpaqueAttention.apply(*(t.reshape(B * H, T, D) for t in (q, k, v))).view(B, H, T, D)


class FusedHeadCrossEntropy(torch.autograd.Function):
    """The output layer and the cross-entropy in one function, a chunk of tokens at a time (the "fusedce"
    variants): the logits are never stored whole, and the gradients are computed in the forward pass."""

    CHUNK = 1024

    @staticmethod
    def forward(ctx, x, weight, bias, targets):
        w, b, n = weight.to(x.dtype), bias.to(x.dtype), x.shape[0]
        grad_x, grad_w, grad_b = torch.empty_like(x), torch.zeros_like(weight), torch.zeros_like(bias)
        total = x.new_zeros((), dtype=torch.float32)
        for start in range(0, n, FusedHeadCrossEntropy.CHUNK):
            xs, ts = x[start:start + FusedHeadCrossEntropy.CHUNK], targets[start:start + FusedHeadCrossEntropy.CHUNK]
            logits = torch.addmm(b, xs, w.t()).float()
            lse = torch.logsumexp(logits, 1, keepdim=True)
            total += (lse.squeeze(1) - logits.gather(1, ts[:, None]).squeeze(1)).sum()
            grad = logits.sub_(lse).exp_()
            grad[torch.arange(len(ts)), ts] -= 1
            grad_b += grad.sum(0)
            grad = grad.to(x.dtype)
            grad_x[start:start + len(ts)] = grad @ w
            grad_w += (grad.t() @ xs).float()
        ctx.save_for_backward(grad_x, grad_w, grad_b)
        ctx.n = n
        return total / n

    @staticmethod
    def backward(ctx, grad_loss):
        grad_x, grad_w, grad_b = ctx.saved_tensors
        scale = grad_loss / ctx.n
        return (grad_x * scale.to(grad_x.dtype), grad_w * scale, grad_b * scale, None)


def attention_for(variant: str):
    """The attention function a variant trains with where the fused kernel is not used."""
    if "sdpa" in variant:
        return sdpa_causal_attention
    if "opaque" in variant:
        return opaque_causal_attention
    return full_matrix_causal_attention if "before" in variant else causal_attention


def uses_fused_kernel(variant: str) -> bool:
    """Whether a variant's attention is the fused kernel (the package's default where it runs)."""
    return not any(word in variant for word in ("reference", "sdpa", "opaque", "before", "blocked"))


class AttentionOf:
    """Within it, the model computes attention as ``variant`` does: the fused kernel or ``attention_for``."""

    def __init__(self, variant: str):
        self.variant = variant

    def __enter__(self):
        self.supports = fused_attention.supports
        if not uses_fused_kernel(self.variant):
            fused_attention.supports = lambda q: False
        model_module.causal_attention = attention_for(self.variant)

    def __exit__(self, *exc):
        fused_attention.supports = self.supports
        model_module.causal_attention = causal_attention


def fused_adam_for(variant: str) -> bool:
    """Whether a variant's Adam is the fused kernel (the package's default) or PyTorch's default (foreach)."""
    return variant != "reference" and "before" not in variant


class BeforePath(AttentionOf):
    """Within it, ``train`` runs as before the blocked kernel: full-matrix attention and foreach Adam."""

    def __init__(self):
        super().__init__("before")

    def __enter__(self):
        super().__enter__()
        self.adam = torch.optim.Adam
        torch.optim.Adam = lambda params, **kw: self.adam(params, **{**kw, "fused": False})

    def __exit__(self, *exc):
        super().__exit__(*exc)
        torch.optim.Adam = self.adam
