#!/usr/bin/env python3
"""Recomputes the tiny M2-BERT fixtures from shared/spec/m2bert.md alone (not the
official code) and compares: an independent check of the fixtures and of the spec.

  m2_spec_check.py FIXTURE.safetensors [...]

A plain float64 PyTorch model written from the spec: the long convolutions by the
direct O(L^2) sum of spec §2.4 (no FFT), block-diagonal GLU MLP as four dense
blocks, t / deltas / position ids taken from the fixture's `buffer.*` entries (and
checked against the spec's formulas), loss and gradients by autograd. Needs torch
and numpy. Prints max differences; exit 1 if a check fails
(loss and logits 1e-12 relative, each gradient 1e-9 relative L2).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_fixtures import read_st  # noqa: E402


def ln(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def long_conv_direct(u, kf, kr, D):
    """u [B, d, L]; kf, kr [d, L]; y[n] = sum_{m<=n} kf[m] u[n-m] + sum_{j>n} kr[j-n-1] u[j] + D u[n]."""
    B, d, L = u.shape
    # relative-offset kernel G[c, n, j] (j - n = delta): kf[-delta] for delta <= 0, kr[delta - 1] for delta >= 1
    n = torch.arange(L)[:, None]
    j = torch.arange(L)[None, :]
    delta = j - n
    G = torch.where(delta <= 0, kf[:, (-delta).clamp(min=0)], kr[:, (delta - 1).clamp(min=0)])  # [d, L, L]
    return torch.einsum("cnj,bcj->bcn", G, u) + D[None, :, None] * u


def hyena_filter(P, pre, which, L, t, deltas, freq):
    """k [d, L] of one filter MLP (implicit_filter or implicit_filter_rev) with modulation."""
    z = P[pre + "pos_emb.z"][0, :L]  # [L, 5]
    s = lambda x: torch.sin(freq[0] * x)  # hyena_w_mod = 1
    f = pre + which + "."
    h = s(z @ P[f + "0.weight"].T + P[f + "0.bias"])
    h = s(h @ P[f + "2.weight"].T + P[f + "2.bias"])
    h = s(h @ P[f + "4.weight"].T + P[f + "4.bias"])
    h = h @ P[f + "6.weight"].T  # [L, d]
    decay = torch.exp(-t[0, :L] * deltas[0].abs())  # [L,1]*[1,d]
    return (h * decay).T  # [d, L]


def blockdiag(x, W, b=None):
    nb, q, p = W.shape
    xs = x.reshape(*x.shape[:-1], nb, p)
    y = torch.einsum("...kp,kqp->...kq", xs, W).reshape(*x.shape[:-1], nb * q)
    return y + b if b is not None else y


def forward(P, Bf, cfg, ids, tt, am, kind):
    d, I = cfg["hidden_size"], cfg["intermediate_size"]
    B, L = ids.shape
    e = "bert.embeddings."
    pos = Bf[e + "position_ids"][0, :L].long()
    E = P[e + "word_embeddings.weight"]
    # nn.Embedding(padding_idx=0): a lookup of id 0 passes no gradient to row 0. M2 runs the
    # pads (id 0) through the model, so this shows (the tied decoder still updates row 0)
    we = torch.where((ids == 0)[..., None], E.detach()[ids], E[ids])
    h = we + P[e + "token_type_embeddings.weight"][tt] + P[e + "position_embeddings.weight"][pos]
    h = ln(h, P[e + "LayerNorm.weight"], P[e + "LayerNorm.bias"], 1e-12)
    for i in range(cfg["num_hidden_layers"]):
        a = "bert.encoder.layer.%d.attention." % i
        u = ln(h, P[a + "layernorm.weight"], P[a + "layernorm.bias"], 1e-5) if cfg["hyena_training_additions"] else h
        p = (u @ P[a + "in_linear.weight"].T + P[a + "in_linear.bias"]).transpose(1, 2)  # [B, 3d, L]
        w = P[a + "short_filter.weight"][:, 0, :]  # [3d, 3]
        pp = F.pad(p, (2, 0))
        s = w[:, 0:1] * pp[..., 0:L] + w[:, 1:2] * pp[..., 1:L + 1] + w[:, 2:3] * pp[..., 2:L + 2] + \
            P[a + "short_filter.bias"][:, None]
        x1, x2, v = s[:, :d], s[:, d:2 * d], s[:, 2 * d:]
        v = v * x1
        ks = {}
        for fn in ("filter_fn", "filter_fn2"):
            pre = a + fn + "."
            t, dl = Bf[pre + "pos_emb.t"], Bf[pre + "modulation.deltas"]
            freq = P[pre + "implicit_filter.1.freq"]
            ks[fn] = (hyena_filter(P, pre, "implicit_filter", L, t, dl, freq),
                      hyena_filter(P, pre, "implicit_filter_rev", L, t, dl, freq))
        y = long_conv_direct(v, *ks["filter_fn"], P[a + "filter_fn.bias"]) * x2
        y = y + long_conv_direct(u.transpose(1, 2), *ks["filter_fn2"], P[a + "filter_fn2.bias"])
        att = y.transpose(1, 2) @ P[a + "out_linear.weight"].T + P[a + "out_linear.bias"]
        m = "bert.encoder.layer.%d.mlp." % i
        g = blockdiag(att, P[m + "gated_layers.weight"])
        g = gelu(g[..., :I]) * g[..., I:]
        h = ln(blockdiag(g, P[m + "wo.weight"], P[m + "wo.bias"]) + att, P[m + "layernorm.weight"],
               P[m + "layernorm.bias"], 1e-12)
    if kind == "m2-mlm":
        c = "cls.predictions."
        x = gelu(h @ P[c + "transform.dense.weight"].T + P[c + "transform.dense.bias"])
        x = ln(x, P[c + "transform.LayerNorm.weight"], P[c + "transform.LayerNorm.bias"], 1e-12)
        return x @ P[e + "word_embeddings.weight"].T + P[c + "decoder.bias"]  # [B, L, V]
    if cfg["pool_all"]:
        m = am.to(h.dtype)
        pooled = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True)
    else:
        pooled = h[:, 0]
    pooled = torch.tanh(pooled @ P["bert.pooler.dense.weight"].T + P["bert.pooler.dense.bias"])
    return pooled @ P["classifier.weight"].T + P["classifier.bias"]


def check_buffers(Bf, cfg):
    """t = linspace(0, 1, l_max), deltas = linspace(ln(.01)/1.5, ln(.01)/0.3, d) (float32 values),
    position_ids = 0..max_pos-1 (spec §2.3, §2.6)."""
    lmax, d = cfg["long_conv_l_max"], cfg["hidden_size"]
    t_ref = np.linspace(0, 1, lmax)
    d_ref = np.linspace(math.log(1e-2) / 1.5, math.log(1e-2) / 0.3, d)
    worst = 0.0
    for n, b in Bf.items():
        if n.endswith("pos_emb.t"):
            worst = max(worst, float(np.abs(b.numpy().reshape(-1) - t_ref).max()))
        elif n.endswith("modulation.deltas"):
            worst = max(worst, float(np.abs(b.numpy().reshape(-1) - d_ref).max() / np.abs(d_ref).max()))
        elif n.endswith("position_ids"):
            if not np.array_equal(b.numpy().reshape(-1), np.arange(cfg["max_position_embeddings"])):
                return float("inf")
    return worst


def check_rule(T, meta, cfg, names):
    """Every stored weight is the M2 fixture rule (tools/ref/m2_fixtures.py) bit for bit."""
    from m2_fixtures import m2_param, m2_rules
    rules = m2_rules(cfg)
    if json.loads(meta["weight_classes"]) != [list(r) for r in rules]:
        return False
    seed = int(meta["weight_seed"])
    return all(np.array_equal(T[n].view(np.uint32), m2_param(seed, p, n, T[n].shape, rules).view(np.uint32))
               for p, n in enumerate(names))


def check(path):
    T, meta = read_st(path)
    cfg = json.loads(meta["config"])
    kind = meta["model"]
    names = json.loads(meta["params"])
    rule_ok = check_rule(T, meta, cfg, names)
    P = {n: torch.tensor(T[n], dtype=torch.float64, requires_grad=True) for n in names}
    Bf = {n[7:]: torch.from_numpy(T[n].copy()) for n in T if n.startswith("buffer.")}
    Bf = {n: (b.double() if b.is_floating_point() else b) for n, b in Bf.items()}
    inp = {k: torch.from_numpy(T["input." + k].astype(np.int64)) for k in
           ("input_ids", "token_type_ids", "attention_mask", "labels")}
    bw = check_buffers(Bf, cfg)
    out = forward(P, Bf, cfg, inp["input_ids"], inp["token_type_ids"], inp["attention_mask"], kind)
    if kind == "m2-mlm":
        B, L, V = out.shape
        logits = out.reshape(B * L, V)
        lab = inp["labels"].reshape(-1)
        loss = F.cross_entropy(logits[lab > 0], lab[lab > 0])
    else:
        logits = out
        loss = F.cross_entropy(logits, inp["labels"])
    loss.backward()
    ref_logits = torch.from_numpy(T["output.logits"].copy()).double()
    dl = abs(float(loss) - float(T["output.loss"][0])) / abs(float(T["output.loss"][0]))
    # the stored logits / gradients are float32 roundings of float64 values: compare
    # against the float32 rounding of ours, so agreement can be ~exact
    dlog = float((logits.detach().float().double() - ref_logits).abs().max() / ref_logits.abs().max())
    worst, wname = 0.0, ""
    for n in names:
        g = P[n].grad.float().double()
        r = torch.from_numpy(T["grad." + n].copy()).double()
        e = float((g - r).norm() / r.norm().clamp_min(1e-300))
        if e > worst:
            worst, wname = e, n
    ok = dl <= 1e-12 and dlog <= 1e-12 and worst <= 1e-9 and bw <= 1e-6 and rule_ok
    print("%s: spec model vs fixture: loss rel %.1e, logits max|d|/max|x| %.1e, worst grad rel L2 %.1e (%s); "
          "buffers vs formulas %.1e; weights = rule: %s -> %s" % (
              os.path.basename(path), dl, dlog, worst, wname, bw, "yes" if rule_ok else "NO", "ok" if ok else "FAIL"))
    return ok


def fft_vs_direct():
    """spec §2.4: the official FFT form (2L kernel [k_fwd ; flip(k_rev)], rfft/irfft of size 2L)
    equals the direct sum, for odd and even L."""
    g = torch.Generator().manual_seed(5)
    worst = 0.0
    for L in (1, 2, 3, 12, 127, 128, 129):
        u = torch.randn(2, 4, L, generator=g, dtype=torch.float64)
        kf, kr = torch.randn(4, L, generator=g, dtype=torch.float64), torch.randn(4, L, generator=g,
                                                                                 dtype=torch.float64)
        D = torch.randn(4, generator=g, dtype=torch.float64)
        k = F.pad(kf, (0, L)) + F.pad(kr.flip(-1), (L, 0))
        n = 2 * L
        y = torch.fft.irfft(torch.fft.rfft(u, n=n) * (torch.fft.rfft(k, n=n) / n), n=n, norm="forward")[..., :L]
        y = y + u * D[None, :, None]
        yd = long_conv_direct(u, kf, kr, D)
        worst = max(worst, float((y - yd).abs().max() / yd.abs().max()))
    print("long conv, FFT form vs direct sum (L = 1, 2, 3, 12, 127, 128, 129): max rel %.1e -> %s"
          % (worst, "ok" if worst < 1e-13 else "FAIL"))
    return worst < 1e-13


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ok = fft_vs_direct()
    for p in argv[1:]:
        ok &= check(p)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
