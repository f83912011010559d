"""The model every genre shares: a small decoder-only Transformer with learned positions and a KV cache."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from midi_genres.core.defaults import defaults
from midi_genres.model import fused_attention
from midi_genres.tokens.event import BASE_VOCAB_SIZE

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # per layer (keys, values), each (B, heads, T, head_dim)


_DEFAULTS = defaults("model")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (defaults: the config schema's, the 3 x 128 model of the experiment)."""

    vocab_size: int = BASE_VOCAB_SIZE
    max_len: int = _DEFAULTS["max_len"]
    d_model: int = _DEFAULTS["d_model"]
    n_heads: int = _DEFAULTS["n_heads"]
    n_layers: int = _DEFAULTS["n_layers"]
    d_ff: int = _DEFAULTS["d_ff"]
    dropout: float = _DEFAULTS["dropout"]

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"model.d_model ({self.d_model}) must be divisible by model.n_heads ({self.n_heads})")

    def to_dict(self) -> dict:
        """Plain-data form, stored in checkpoints."""
        return asdict(self)


ATTENTION_TILE = 64  # query/key block of the blocked kernel; blocks above the diagonal are never computed
BLOCKED_INFERENCE_DTYPES = (torch.bfloat16,)  # forward only, the blocked kernel beats SDPA in these (benchmarks/)


def _attend_by_blocks(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Causal attention of (N, Tq, head_dim) queries, pre-scaled, that are the last Tq positions of the (N, Tk,
    head_dim) keys and values, by blocks of ``ATTENTION_TILE`` queries: each block multiplies only the keys up to
    its own end, so the masked upper triangle is skipped (10 of 16 blocks at Tq = Tk = 256). Returns the outputs
    and each block's probabilities."""
    Tq, offset = q.shape[1], k.shape[1] - q.shape[1]
    above = torch.full((ATTENTION_TILE, ATTENTION_TILE), float("-inf"), dtype=q.dtype, device=q.device).triu(1)
    outs, probs = [], []
    for start in range(0, Tq, ATTENTION_TILE):
        end = min(start + ATTENTION_TILE, Tq)
        keys = offset + end  # the block's queries see keys 0 .. keys - 1
        scores = torch.bmm(q[:, start:end], k[:, :keys].transpose(1, 2))
        scores[:, :, offset + start:].add_(above[:end - start, :end - start])  # the diagonal block's upper half
        probs.append(torch.softmax(scores, -1))
        outs.append(torch.bmm(probs[-1], v[:, :keys]))
    return torch.cat(outs, 1), probs


class _CausalAttention(torch.autograd.Function):
    """``_attend_by_blocks`` of (N, T, head_dim) queries, keys and values with a backward pass that skips the same
    blocks. Computes in the inputs' dtype (autocast off inside); keeps each block's probabilities for the backward
    pass, which uses them directly (softmax backward, no recomputation)."""

    @staticmethod
    def forward(ctx, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scale = q.shape[2] ** -0.5
        with torch.autocast(q.device.type, enabled=False):
            q = q * scale
            out, probs = _attend_by_blocks(q, k, v)
        ctx.save_for_backward(q, k, v, *probs)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        q, k, v, *probs = ctx.saved_tensors  # q is pre-scaled
        grad_out = grad_out.contiguous()
        grad_q, grad_k, grad_v = [], torch.zeros_like(k), torch.zeros_like(v)
        for block, p in enumerate(probs):
            start, end = block * ATTENTION_TILE, block * ATTENTION_TILE + p.shape[1]
            g = grad_out[:, start:end]
            grad_v[:, :end] += torch.bmm(p.transpose(1, 2), g)
            grad_scores = torch.ops.aten._softmax_backward_data(torch.bmm(g, v[:, :end].transpose(1, 2)), p, -1,
                                                                p.dtype)
            grad_q.append(torch.bmm(grad_scores, k[:, :end]))
            grad_k[:, :end] += torch.bmm(grad_scores.transpose(1, 2), q[:, start:end])
        return torch.cat(grad_q, 1).mul_(ctx.scale), grad_k, grad_v


def attention_path(q: torch.Tensor, *, past_len: int = 0, cached: bool = False, dropout: float = 0.0) -> str:
    """Which of the three attention paths computes these (B, heads, T, head_dim) queries, the one place this is
    chosen (docs/method.md has the table of which path runs on which hardware):

    - ``"fused"``: the fused C++ kernel (``fused_attention``), where ``fused_attention.supports`` the queries (CPU,
      bf16, head size 32, a CPU with AVX-512 BF16 and without AMX, a compiler);
    - ``"blocked"``: ``causal_attention``, ATen's matmuls by blocks, on CPU otherwise: with gradients in any dtype
      (SDPA's CPU backward is slow), forward only in ``BLOCKED_INFERENCE_DTYPES`` (where it beats SDPA too,
      ``benchmarks/evaluation.py``);
    - ``"sdpa"``: ``F.scaled_dot_product_attention`` everywhere else: CUDA, dropout, the KV cache (``cached``),
      fp32 forward only, and gradients of fewer queries than keys (``past_len`` keys before the first query).
    """
    own_kernel = past_len == 0 if torch.is_grad_enabled() else q.dtype in BLOCKED_INFERENCE_DTYPES
    if cached or q.device.type != "cpu" or dropout != 0.0 or not own_kernel:
        return "sdpa"
    return "fused" if fused_attention.supports(q) else "blocked"


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention of (B, heads, Tq, head_dim) queries that are the last Tq positions of (B, heads, Tk,
    head_dim) keys and values by the blocked kernel, ATen's matmuls by blocks: blocks above the diagonal are never
    computed, in the backward pass either. With gradients, Tq must equal Tk."""
    B, H, Tq, D = q.shape
    q, k, v = q.reshape(B * H, Tq, D), k.reshape(B * H, -1, D), v.reshape(B * H, -1, D)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
        if k.shape[1] != Tq:
            raise ValueError(f"causal_attention: gradients need as many queries as keys, got {Tq} and {k.shape[1]}")
        return _CausalAttention.apply(q, k, v).view(B, H, Tq, D)
    with torch.autocast(q.device.type, enabled=False):
        out, _ = _attend_by_blocks(q * D ** -0.5, k, v)
    return out.view(B, H, Tq, D)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention by the path ``attention_path`` chooses: the fused kernel (straight from the
    projections' layout), the blocked one (``causal_attention``) or ``F.scaled_dot_product_attention`` (flash
    kernels on CUDA and for fp32 inference, masks for the KV cache)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.dropout = cfg.dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None, last: int = 0):
        """Attention outputs of every position of ``x`` (of only its last ``last`` positions if ``last``), and the
        keys and values of every position, after those of ``past``."""
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, C // self.n_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if last:
            q, T = q[:, :, -last:], min(last, T)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        past_len = k.shape[2] - T  # keys before the first query: the cache's and, with ``last``, those left out
        dropout = self.dropout if self.training else 0.0
        path = attention_path(q, past_len=past_len, cached=past is not None, dropout=dropout)
        if path == "fused":
            y = fused_attention.projections_attention(qkv, last)
        elif path == "blocked":
            y = causal_attention(q, k, v)
        else:
            mask = None  # no past: causal; one new query: it sees everything cached
            if past_len and T > 1:
                mask = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril(diagonal=past_len)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=past_len == 0, dropout_p=dropout)
        return self.proj(y.transpose(1, 2).reshape(B, T, C)), (k, v)


class Block(nn.Module):
    """Pre-norm Transformer block: attention and a GELU feed-forward, each with a residual."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past=None, last: int = 0):
        a, present = self.attn(self.ln1(x), past, last)
        x = (x[:, -last:] if last else x) + self.drop(a)
        return x + self.drop(self.ff(self.ln2(x))), present


class MusicTransformer(nn.Module):
    """Decoder-only Transformer over token ids; ``forward`` returns next-token logits and the new KV cache."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self, embeddings: bool = True) -> int:
        """Number of parameters; without the token and position embedding tables if ``embeddings`` is False."""
        n = sum(p.numel() for p in self.parameters())
        return n if embeddings else n - self.tok_emb.weight.numel() - self.pos_emb.weight.numel()

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, last: int = 0) -> tuple[torch.Tensor, KVCache]:
        """Logits (B, T, vocab) for ids (B, T) that follow the cached positions (if any); with ``last``, the logits
        of only the last ``last`` positions (B, last, vocab), the final block computing only those (the cache
        still holds every position)."""
        past_len = cache[0][0].shape[2] if cache else 0
        T = idx.shape[1]
        if past_len + T > self.cfg.max_len:
            raise ValueError(f"sequence of {past_len + T} tokens exceeds max_len {self.cfg.max_len}")
        pos = torch.arange(past_len, past_len + T, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))
        present: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cache[i] if cache else None, last if i == len(self.blocks) - 1 else 0)
            present.append(kv)
        return self.head(self.ln_f(x)), present
