#!/usr/bin/env python3
"""MosaicBERT reference model, written from shared/spec/mosaicbert.md §3 (not
from the mosaicml code; tools/ref/mosaic_official_check.py compares the two).

Parameters carry the HF checkpoint names of spec §2; the decoder matrix is the
word embedding (tied), `cls.predictions.decoder.bias` is its own tensor.
Eval semantics only (no dropout). Any float dtype: the fixtures run it in
float64.

  model = MosaicBertRef(MosaicConfig(vocab_size=128, hidden_size=32, ...))
  loss, logits = model(input_ids, token_type_ids, attention_mask, labels)
    logits: [nnz, V] for every real token in (b, s) row-major order
            (with last_layer_subset=True: only the labels > 0 rows)
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class MosaicConfig:
    vocab_size: int = 30528
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    type_vocab_size: int = 2
    pad_token_id: int = 0
    layer_norm_eps: float = 1e-12
    max_position_embeddings: int = 512  # unused by the model (no position table)

    def to_dict(self):
        return asdict(self)


def alibi_slopes(n):
    """Spec §3.3: 2^(-8(i+1)/n) for a power of two n; otherwise the slopes of
    c = 2^floor(log2 n) followed by the even-indexed slopes of 2c, first n-c."""
    def pow2(m):
        return [2.0 ** (-8.0 * (i + 1) / m) for i in range(m)]
    c = 1 << (n.bit_length() - 1)
    if c == n:
        return pow2(n)
    return pow2(c) + pow2(2 * c)[0::2][: n - c]


def attention_bias(mask, n_heads, dtype, alibi_dtype=None):
    """[B, nh, S, S]: (1 - mask[b,j]) * -10000 - slope_h * |j - i| (spec §3.3).
    The ALiBi term is computed in alibi_dtype (default: dtype); the official code
    keeps it in float32 whatever the model dtype."""
    S = mask.shape[1]
    adt = alibi_dtype or dtype
    pos = torch.arange(S)
    dist = (pos[None, :] - pos[:, None]).abs().to(adt)  # [S,S] |j - i|
    slopes = torch.tensor(alibi_slopes(n_heads), dtype=adt)  # [nh]
    alibi = (-slopes[:, None, None] * dist[None]).to(dtype)  # [nh,S,S]
    keybias = (1.0 - mask.to(dtype))[:, None, None, :] * -10000.0  # [B,1,1,S]
    return keybias + alibi[None]


class _Node(nn.Module):
    """Holds parameters under HF names; the math lives in MosaicBertRef.forward."""


def _param_names(cfg):
    H, I, V, T = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.type_vocab_size
    shapes = {
        "bert.embeddings.word_embeddings.weight": (V, H),
        "bert.embeddings.token_type_embeddings.weight": (T, H),
        "bert.embeddings.LayerNorm.weight": (H,),
        "bert.embeddings.LayerNorm.bias": (H,),
    }
    for l in range(cfg.num_hidden_layers):
        p = "bert.encoder.layer.%d." % l
        shapes.update({
            p + "attention.self.Wqkv.weight": (3 * H, H),
            p + "attention.self.Wqkv.bias": (3 * H,),
            p + "attention.output.dense.weight": (H, H),
            p + "attention.output.dense.bias": (H,),
            p + "attention.output.LayerNorm.weight": (H,),
            p + "attention.output.LayerNorm.bias": (H,),
            p + "mlp.gated_layers.weight": (2 * I, H),
            p + "mlp.wo.weight": (H, I),
            p + "mlp.wo.bias": (H,),
            p + "mlp.layernorm.weight": (H,),
            p + "mlp.layernorm.bias": (H,),
        })
    shapes.update({
        "cls.predictions.transform.dense.weight": (H, H),
        "cls.predictions.transform.dense.bias": (H,),
        "cls.predictions.transform.LayerNorm.weight": (H,),
        "cls.predictions.transform.LayerNorm.bias": (H,),
        "cls.predictions.decoder.bias": (V,),
    })
    return shapes


class MosaicBertRef(nn.Module):
    def __init__(self, cfg, dtype=torch.float32, alibi_dtype=None):
        super().__init__()
        self.cfg = cfg
        self.alibi_dtype = alibi_dtype
        for name, shape in _param_names(cfg).items():
            mod = self
            parts = name.split(".")
            for part in parts[:-1]:
                if not hasattr(mod, part):
                    mod.add_module(part, _Node())
                mod = getattr(mod, part)
            mod.register_parameter(parts[-1], nn.Parameter(torch.zeros(shape, dtype=dtype)))

    def P(self, name):
        return self.get_parameter(name)

    def _ln(self, x, prefix):
        H = self.cfg.hidden_size
        return F.layer_norm(x, (H,), self.P(prefix + ".weight"), self.P(prefix + ".bias"), self.cfg.layer_norm_eps)

    def forward(self, input_ids, token_type_ids, attention_mask, labels=None, last_layer_subset=False):
        cfg = self.cfg
        B, S = input_ids.shape
        H, nh, I = cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size
        dh = H // nh
        E = self.P("bert.embeddings.word_embeddings.weight")
        dt = E.dtype

        # §3.1 embeddings; padding_idx as nn.Embedding(padding_idx=0): no input gradient to row 0
        x = F.embedding(input_ids, E, padding_idx=cfg.pad_token_id) + \
            F.embedding(token_type_ids, self.P("bert.embeddings.token_type_embeddings.weight"))
        x = self._ln(x, "bert.embeddings.LayerNorm")  # [B,S,H]

        # §3.2 unpad: real tokens in (b, s) row-major order
        flat_mask = attention_mask.reshape(-1) != 0
        idx = torch.nonzero(flat_mask).flatten()  # [nnz]
        nnz = idx.numel()
        h = x.reshape(B * S, H)[idx]  # [nnz,H]
        bias = attention_bias(attention_mask, nh, dt, self.alibi_dtype)  # [B,nh,S,S]

        subset = None
        if last_layer_subset and labels is not None:
            # §3.7: masked tokens plus position 0 of every sequence
            pos0 = torch.zeros(B, S, dtype=torch.bool)
            pos0[:, 0] = True
            sub = ((labels > 0) | pos0).reshape(-1)[idx]
            subset = torch.nonzero(sub).flatten()

        L = cfg.num_hidden_layers
        for l in range(L):
            p = "bert.encoder.layer.%d." % l
            # §3.4 attention over the re-padded batch
            qkv = h @ self.P(p + "attention.self.Wqkv.weight").t() + self.P(p + "attention.self.Wqkv.bias")  # [nnz,3H]
            full = torch.zeros(B * S, 3 * H, dtype=dt).index_copy(0, idx, qkv)
            full = full.view(B, S, 3, nh, dh)
            q = full[:, :, 0].permute(0, 2, 1, 3)  # [B,nh,S,dh]
            k = full[:, :, 1].permute(0, 2, 1, 3)
            v = full[:, :, 2].permute(0, 2, 1, 3)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh) + bias  # scale first, then bias
            probs = torch.softmax(scores, dim=-1)
            ctx = (probs @ v).permute(0, 2, 1, 3).reshape(B * S, H)[idx]  # [nnz,H]
            res = h
            if subset is not None and l == L - 1:
                ctx, res = ctx[subset], h[subset]
            # §3.5 attention output, post-LN
            a = ctx @ self.P(p + "attention.output.dense.weight").t() + self.P(p + "attention.output.dense.bias")
            a = self._ln(a + res, p + "attention.output.LayerNorm")
            # §3.6 GLU: GELU on the first half of the in-projection
            u = a @ self.P(p + "mlp.gated_layers.weight").t()  # [n,2I]
            g = F.gelu(u[:, :I]) * u[:, I:]
            y = g @ self.P(p + "mlp.wo.weight").t() + self.P(p + "mlp.wo.bias")
            h = self._ln(y + a, p + "mlp.layernorm")

        if subset is not None:
            rows_lab = labels.reshape(-1)[idx][subset]
            keep = torch.nonzero(rows_lab > 0).flatten()
            h, row_labels = h[keep], rows_lab[keep]
        else:
            row_labels = labels.reshape(-1)[idx] if labels is not None else None

        # §3.8 MLM head, tied decoder plus decoder bias
        t = h @ self.P("cls.predictions.transform.dense.weight").t() + self.P("cls.predictions.transform.dense.bias")
        t = F.layer_norm(F.gelu(t), (H,), self.P("cls.predictions.transform.LayerNorm.weight"),
                         self.P("cls.predictions.transform.LayerNorm.bias"), 1e-12)
        logits = t @ E.t() + self.P("cls.predictions.decoder.bias")  # [rows,V]

        loss = None
        if labels is not None:
            sel = torch.nonzero(row_labels > 0).flatten()
            loss = F.cross_entropy(logits[sel], row_labels[sel].long())
        return loss, logits
