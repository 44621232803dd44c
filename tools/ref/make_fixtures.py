#!/usr/bin/env python3
"""Writes the reference-model fixtures of tests/fixtures/models/ (docs/fixtures.md).

  make_fixtures.py OUTDIR [--tiny] [--base] [--procs N]

Needs torch, numpy, safetensors and transformers (written with torch 2.11,
transformers 5.17.0, safetensors 0.8.0). Runs on the CPU in float64 from
float32 fixture weights; prints, per fixture, how far a float32 run of the same
model is from the stored float64 values (what a float32 C model can hope for).

Classic BERT is transformers' BertForMaskedLM / BertForSequenceClassification
with attn_implementation="eager"; MosaicBERT is tools/ref/mosaicbert_ref.py.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import sys
import time
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import philox  # noqa: E402
from mosaicbert_ref import MosaicBertRef, MosaicConfig  # noqa: E402

TINY_SEED = 42  # fixture weight seed of every tiny fixture
BASE_SEED = 1234  # fixture weight seed of the base fixtures (weights not stored)
N_PROJ = 8  # random projections per gradient tensor (base fixtures)
BASE_LOGIT_ROWS = 8

TINY = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=64, type_vocab_size=2)
TINY_B, TINY_S, TINY_LENGTHS = 3, 11, (11, 7, 4)
BASE_B, BASE_S, BASE_LENGTHS = 2, 16, (16, 11)

TINY_MOSAIC = [
    ("mosaic_tiny", MosaicConfig(**TINY), TINY_B, TINY_S, TINY_LENGTHS),
    ("mosaic_tiny_h3", MosaicConfig(**dict(TINY, hidden_size=24, num_attention_heads=3)), TINY_B, TINY_S,
     TINY_LENGTHS),
    # 12 heads: the slopes after the first 8 are irrational (2^-0.5, 2^-1.5, ...), as in the base model
    ("mosaic_tiny_h12", MosaicConfig(**dict(TINY, hidden_size=48, num_attention_heads=12)), TINY_B, TINY_S,
     TINY_LENGTHS),
]
MOSAIC_BASE = MosaicConfig()  # spec §1: V 30528, H 768, 12 layers, 12 heads, I 3072


def input_seed(name):
    return zlib.crc32(name.encode())


def make_inputs(seed, B, S, lengths, V, T, label_rate=0.3):
    """int32 [B,S] arrays. Real tokens: ids in [1, min(V, 30522)) (never [PAD]=0,
    never the 6 MosaicBERT padding rows); token type 0 for the first half of a
    sequence, 1 after; ~30% of real positions (at least one per sequence) carry a
    label in [1, min(V, 30522)); -100 elsewhere (pads never labelled)."""
    rng = np.random.default_rng(seed)
    hi = min(V, 30522)
    ids = np.zeros((B, S), np.int32)
    tt = np.zeros((B, S), np.int32)
    am = np.zeros((B, S), np.int32)
    lab = np.full((B, S), -100, np.int32)
    for b, n in enumerate(lengths):
        ids[b, :n] = rng.integers(1, hi, n)
        am[b, :n] = 1
        tt[b, (n + 1) // 2:n] = min(1, T - 1)
        k = max(1, int(round(label_rate * n)))
        pos = np.sort(rng.choice(n, k, replace=False))
        lab[b, pos] = rng.integers(1, hi, k)
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": am, "labels": lab}


def unique_param_names(model):
    """Sorted (byte order) names of the model's parameters, one per tensor: a
    tied tensor is listed under the name named_parameters() gives it first."""
    names = [n for n, _ in model.named_parameters()]
    assert all(n.isascii() for n in names)
    return sorted(names)


def _fill_job(args):
    seed, p, name, shape, want_sum = args
    w = philox.fixture_param(seed, p, name, shape)
    # the correctly rounded exact sum: independent of summation order, unlike np.sum
    return w, (math.fsum(w.reshape(-1).tolist()) if want_sum else None)


def load_fixture_weights(model, seed, pool=None, sums=None):
    """Sets every parameter by the fixture rule; returns {name: float32 array}.
    With a dict `sums`, also fills sums[name] = exact sum of the weights."""
    params = dict(model.named_parameters())
    names = unique_param_names(model)
    jobs = [(seed, p, n, tuple(params[n].shape), sums is not None) for p, n in enumerate(names)]
    res = pool.map(_fill_job, jobs, chunksize=1) if pool else [_fill_job(j) for j in jobs]
    with torch.no_grad():
        for n, (a, s) in zip(names, res):
            params[n].copy_(torch.from_numpy(a))
            if sums is not None:
                sums[n] = s
    return {n: a for n, (a, _) in zip(names, res)}


def tied_aliases(model):
    """state_dict names that are not in the unique list (tied copies)."""
    return sorted(set(model.state_dict()) - set(n for n, _ in model.named_parameters()))


# ---------------------------------------------------------------- models

def hf_bert(kind, dims, dtype, num_labels=None):
    import transformers
    from transformers import BertConfig
    cfg = BertConfig(hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0, tie_word_embeddings=True,
                     **dims, **({"num_labels": num_labels, "problem_type": "single_label_classification"}
                                if num_labels else {}))
    cls = transformers.BertForSequenceClassification if kind == "cls" else transformers.BertForMaskedLM
    model = cls(cfg)
    # eager = plain matmul / softmax / matmul, the math bertc implements; SDPA picks a
    # kernel by device and dtype, so the reference would depend on the machine
    if getattr(model.config, "_attn_implementation", None) != "eager":
        try:
            model.set_attn_implementation("eager")
        except AttributeError:
            model.config._attn_implementation = "eager"
    impl = getattr(model.config, "_attn_implementation", None)
    if impl != "eager":
        print("!! attention implementation is %r, not eager" % impl, flush=True)
    return model.to(dtype).eval()


def run_hf(model, inp, labels_key="labels"):
    t = {k: torch.from_numpy(v).long() for k, v in inp.items()}
    out = model(input_ids=t["input_ids"], token_type_ids=t["token_type_ids"], attention_mask=t["attention_mask"],
                labels=t[labels_key])
    out.loss.backward()
    return out.loss, out.logits


def run_mosaic(model, inp):
    t = {k: torch.from_numpy(v).long() for k, v in inp.items()}
    loss, logits = model(t["input_ids"], t["token_type_ids"], t["attention_mask"], t["labels"])
    loss.backward()
    return loss, logits


def real_rows(logits, am):
    """[B,S,V] -> [nnz,V] at real tokens, (b,s) row-major."""
    B, S, V = logits.shape
    return logits.reshape(B * S, V)[torch.from_numpy(am.reshape(-1) != 0)]


def grads(model, names):
    p = dict(model.named_parameters())
    return {n: p[n].grad.detach().clone() for n in names}


def rel_l2(a, b):
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def fp32_report(name, loss64, rows64, g64, loss32, rows32, g32):
    dl = abs(float(loss32.detach()) - float(loss64.detach())) / abs(float(loss64.detach()))
    dlog = float((rows32.double() - rows64).abs().max() / rows64.abs().max())
    # classic BERT's attention key bias has an analytically zero gradient (softmax is
    # shift-invariant per query row): both runs hold rounding noise there, reported apart
    zero = [n for n in g64 if n.endswith("attention.self.key.bias")]
    worst = max(((rel_l2(g32[n], g64[n]), n) for n in g64 if n not in zero), default=(0.0, ""))
    znote = ""
    if zero:
        znote = "; key.bias grad norms fp64 <= %.1e, fp32 <= %.1e" % (
            max(float(g64[n].norm()) for n in zero), max(float(g32[n].norm()) for n in zero))
    print("  %s: float32 vs float64: loss rel %.2e, logits max|d|/max|x| %.2e, worst grad rel L2 %.2e (%s)%s"
          % (name, dl, dlog, worst[0], worst[1], znote), flush=True)
    return dl, dlog, worst


def attn_meta(model):
    cfg = getattr(model, "config", None)  # HF models only
    if cfg is None:
        return {"attention": "tools/ref/mosaicbert_ref.py: padded, key bias -10000 + ALiBi"}
    return {"attention": "transformers attn_implementation=%s" % getattr(cfg, "_attn_implementation", "?")}


def meta_common(kind, cfg_dict, names, seed, aliases, extra=None):
    import transformers
    import safetensors
    m = {
        "format": "bertc-ref-fixture-1",
        "model": kind,
        "config": json.dumps(cfg_dict, sort_keys=True),
        "weight_seed": str(seed),
        "weight_rule": "fixture-uniform-0.02 (docs/fixtures.md)",
        "params": json.dumps(names),
        "tied_aliases": json.dumps(aliases),
        "compute": "float64 CPU, eval mode (no dropout)",
        "versions": "torch %s, transformers %s, safetensors %s, numpy %s" % (
            torch.__version__, transformers.__version__, safetensors.__version__, np.__version__),
    }
    m.update(extra or {})
    return m


def save(path, tensors, meta):
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, path, metadata=meta)
    print("  wrote %s (%d tensors, %d bytes)" % (path, len(tensors), os.path.getsize(path)), flush=True)


# ---------------------------------------------------------------- tiny

def tiny_fixture(outdir, fname, kind, build, run, inp, cfg_dict, lab_key="labels", report=None):
    m64 = build(torch.float64)
    W = load_fixture_weights(m64, TINY_SEED)
    names = sorted(W)
    aliases = tied_aliases(m64)
    loss64, out64 = run(m64, inp)
    g64 = grads(m64, names)
    m32 = build(torch.float32)
    load_fixture_weights(m32, TINY_SEED)
    loss32, out32 = run(m32, inp)
    g32 = grads(m32, names)
    if kind.endswith("mlm") and out64.dim() == 3:
        out64, out32 = real_rows(out64, inp["attention_mask"]), real_rows(out32, inp["attention_mask"])
    r = fp32_report(fname, loss64, out64.detach(), g64, loss32, out32.detach(), g32)
    if report is not None:
        report[fname] = r
    t = {n: W[n] for n in names}
    for k, v in inp.items():
        t["input." + k] = v
    t["output.logits"] = out64.detach().numpy().astype(np.float32)
    t["output.loss"] = np.array([float(loss64)], np.float64)
    for n in names:
        t["grad." + n] = g64[n].numpy().astype(np.float32)
    save(os.path.join(outdir, fname + ".safetensors"), t,
         meta_common(kind, cfg_dict, names, TINY_SEED, aliases, attn_meta(m64)))


def make_tiny(outdir, report):
    B, S, L = TINY_B, TINY_S, TINY_LENGTHS
    # classic BERT, MLM
    inp = make_inputs(input_seed("bert_tiny_mlm"), B, S, L, TINY["vocab_size"], TINY["type_vocab_size"])
    tiny_fixture(outdir, "bert_tiny_mlm", "bert-mlm", lambda dt: hf_bert("mlm", TINY, dt), run_hf, inp, TINY,
                 report=report)
    # classic BERT, sequence classification (3 labels, CE)
    inp = make_inputs(input_seed("bert_tiny_cls"), B, S, L, TINY["vocab_size"], TINY["type_vocab_size"])
    del inp["labels"]
    inp["labels"] = np.array([2, 0, 1], np.int32)[:B]
    tiny_fixture(outdir, "bert_tiny_cls", "bert-seqcls", lambda dt: hf_bert("cls", TINY, dt, num_labels=3),
                 run_hf, inp, dict(TINY, num_labels=3), report=report)
    # MosaicBERT
    for name, cfg, B_, S_, L_ in TINY_MOSAIC:
        inp = make_inputs(input_seed(name), B_, S_, L_, cfg.vocab_size, cfg.type_vocab_size)
        tiny_fixture(outdir, name, "mosaicbert-mlm", lambda dt, c=cfg: MosaicBertRef(c, dt), run_mosaic, inp,
                     cfg.to_dict(), report=report)


# ---------------------------------------------------------------- base

_G = {}  # gradients shared with forked workers: name -> float64 flat array


def _proj_job(args):
    seed, p, name = args
    g = _G[name]
    out = np.empty(N_PROJ, np.float64)
    for j, r in philox.projection_vectors(seed, p, g.size, N_PROJ):
        out[j] = float(np.dot(g, r))
    return out


def base_fixture(outdir, fname, kind, build, run, inp, cfg_dict, pool, procs):
    t0 = time.time()
    m64 = build(torch.float64)
    sums = {}
    W = load_fixture_weights(m64, BASE_SEED, pool, sums)
    names = sorted(W)
    aliases = tied_aliases(m64)
    t1 = time.time()
    loss64, out64 = run(m64, inp)
    g64 = grads(m64, names)
    if out64.dim() == 3:
        out64 = real_rows(out64, inp["attention_mask"])
    out64 = out64.detach()
    t2 = time.time()
    m32 = build(torch.float32)
    with torch.no_grad():
        p32 = dict(m32.named_parameters())
        for n in names:
            p32[n].copy_(torch.from_numpy(W[n]))
    loss32, out32 = run(m32, inp)
    if out32.dim() == 3:
        out32 = real_rows(out32, inp["attention_mask"])
    g32 = grads(m32, names)
    fp32_report(fname, loss64, out64, g64, loss32, out32.detach(), g32)
    del m32, g32
    # logit rows: labelled real tokens first, then the rest, at most 8, ascending
    real_lab = inp["labels"].reshape(-1)[inp["attention_mask"].reshape(-1) != 0]
    lab_rows = list(np.nonzero(real_lab > 0)[0])
    other = [i for i in range(real_lab.size) if real_lab[i] <= 0]
    rows = np.array(sorted((lab_rows + other)[:BASE_LOGIT_ROWS]), np.int32)
    t = {"input." + k: v for k, v in inp.items()}
    t["output.loss"] = np.array([float(loss64)], np.float64)
    t["output.logit_rows"] = rows
    t["output.logits"] = out64[torch.from_numpy(rows).long()].numpy().astype(np.float32)
    _G.clear()
    for n in names:
        _G[n] = g64[n].numpy().reshape(-1)
    with mp.get_context("fork").Pool(procs) as pp:  # forked after _G is filled
        projs = pp.map(_proj_job, [(BASE_SEED, p, n) for p, n in enumerate(names)], chunksize=1)
    for p, n in enumerate(names):
        t["gradnorm." + n] = np.array([float(np.linalg.norm(_G[n]))], np.float64)
        t["gradproj." + n] = projs[p]
        t["weightsum." + n] = np.array([sums[n]], np.float64)
    _G.clear()
    t3 = time.time()
    save(os.path.join(outdir, fname + ".safetensors"), t,
         meta_common(kind, cfg_dict, names, BASE_SEED, aliases,
                     dict(attn_meta(m64), n_proj=str(N_PROJ))))
    print("  %s: weights %.1fs, fp64 fwd+bwd %.1fs, rest %.1fs" % (fname, t1 - t0, t2 - t1, t3 - t2), flush=True)


def make_base(outdir, pool, procs):
    bert = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)
    inp = make_inputs(input_seed("bert_base_mlm"), BASE_B, BASE_S, BASE_LENGTHS, 30522, 2)
    base_fixture(outdir, "bert_base_mlm", "bert-mlm", lambda dt: hf_bert("mlm", bert, dt), run_hf, inp, bert,
                 pool, procs)
    cfg = MOSAIC_BASE
    inp = make_inputs(input_seed("mosaic_base_mlm"), BASE_B, BASE_S, BASE_LENGTHS, cfg.vocab_size, 2)
    base_fixture(outdir, "mosaic_base_mlm", "mosaicbert-mlm", lambda dt: MosaicBertRef(cfg, dt), run_mosaic,
                 inp, cfg.to_dict(), pool, procs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--base", action="store_true")
    ap.add_argument("--procs", type=int, default=min(16, os.cpu_count() or 1))
    a = ap.parse_args()
    if not (a.tiny or a.base):
        a.tiny = a.base = True
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(0)  # only HF's throw-away init draws from it
    if not philox.selftest():
        return 1
    report = {}
    if a.tiny:
        make_tiny(a.outdir, report)
    if a.base:
        with mp.get_context("fork").Pool(a.procs) as pool:
            make_base(a.outdir, pool, a.procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
