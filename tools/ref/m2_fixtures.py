#!/usr/bin/env python3
"""Writes the M2-BERT reference fixtures (tests/fixtures/models/m2_*.safetensors,
docs/fixtures.md "M2-BERT") by running the official HazyResearch/m2 code.

  m2_fixtures.py SRC OUTDIR [--tiny] [--base] [--procs N]

SRC holds the official files (never committed here), laid out as in the m2
repository's bert/src/: bert_layers.py, bert_padding.py, configuration_bert.py,
src/mm/{monarch_mixer_sequence_mixer,hyena_utils,blockdiag_linear,
structured_linear,blockdiag_multiply}.py, src/utils/train.py. They are
imported as they are; where einops, opt_einsum or transformers is missing (or
the official files do not work with the installed transformers), the small
stand-ins of tools/ref/mosaic_official_check.py step in and the log says so.
The pure-PyTorch paths are forced (use_flash_mm = use_flash_fft = False, no
FlashFFTConv), eval mode (no dropout), no autocast, CPU.

Values are computed in float64 from float32 fixture weights; each fixture also
reports how far a float32 run of the same official model is from them.
"""
import argparse
import importlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import philox  # noqa: E402

TINY_SEED = 42
BASE_SEED = 1234
N_PROJ = 8
BASE_LOGIT_ROWS = 8

# ---------------------------------------------------------------- configs

COMMON = dict(
    type_vocab_size=2, pad_token_id=0, layer_norm_eps=1e-12, hidden_act="gelu",
    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.0, classifier_dropout=None,
    monarch_mixer_sequence_mixing=True, use_glu_mlp=True, use_monarch_mlp=True, monarch_mlp_nblocks=4,
    use_positional_encodings=True, bidirectional=True, residual_long_conv=True,
    hyena_emb_dim=5, hyena_w=10, hyena_w_mod=1, hyena_wd=0.1, hyena_lr_pos_emb=1e-5,
    long_conv_kernel_learning_rate=1e-3, hyena_filter_dropout=0.2,
    use_flash_mm=False, use_flash_fft=False, pool_all=False,
    # read by the official heads; the values of the GLUE / pretraining runs
    use_cls_token=False, sequence_token_planting=False, gather_sentence_embeddings=False,
    expand_positional_embeddings=False, performing_BEIR_evaluation=False, attention_pooling=False,
    is_decoder=False, alibi_starting_size=512,
)
TINY_S = 12
TINY = dict(COMMON, vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, max_position_embeddings=TINY_S, long_conv_l_max=TINY_S,
            hyena_filter_order=16, hyena_training_additions=False)
TINY_B, TINY_LENGTHS = 3, (12, 7, 4)
# the 80M pretraining yaml (spec §5.1); danfu09/m2-bert-80M has the legacy pre-mixer LayerNorm
BASE = dict(COMMON, vocab_size=30528, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
            intermediate_size=3072, max_position_embeddings=128, long_conv_l_max=128,
            hyena_filter_order=128, hyena_training_additions=True)
BASE_B, BASE_S, BASE_LENGTHS = 2, 128, (128, 77)

# ---------------------------------------------------------------- weight rule

# (c, s) by parameter class: x = (float)(c + s * 2*sqrt(3) * (u - 0.5)), uniform with
# standard deviation s around c. Linear and embedding weights and all biases: (0, 0.02),
# LayerNorm weights (1, 0.02): the rule of docs/fixtures.md (HF's init scale). The M2
# parameters that HF's init leaves alone get the scale of their own init, so every path of
# the mixer and the MLP shows in the outputs (with 0.02 everywhere, the gated long conv
# would move the logits by ~1e-6 relative and the MLP by ~3e-5).
def m2_rules(cfg):
    """[(name suffix, c, s)], first match wins."""
    d, inter = cfg["hidden_size"], cfg["intermediate_size"]
    return [
        ("LayerNorm.weight", 1.0, 0.02), ("layernorm.weight", 1.0, 0.02),
        (".freq", 10.0, 0.02),               # Sin frequency, init w = 10
        (".pos_emb.z", 0.0, 0.5),            # positional features, init values in [-1, 1]
        (".short_filter.weight", 0.0, 0.3),  # Conv1d kaiming-uniform, fan-in 3: U(+-0.577), sd 0.33
        (".short_filter.bias", 0.0, 0.3),
        ("filter_fn.bias", 0.0, 1.0),        # D1, init randn
        ("filter_fn2.bias", 0.0, 1.0),       # D2, init randn
        # BlockdiagLinear: kaiming-uniform of the dense [out, in] matrix times 2: U(+-2/sqrt(in))
        ("mlp.gated_layers.weight", 0.0, 2.0 / math.sqrt(3.0 * d)),
        ("mlp.wo.weight", 0.0, 2.0 / math.sqrt(3.0 * inter)),
    ]


def m2_rule(name, rules):
    for suf, c, s in rules:
        if name.endswith(suf):
            return c, s
    return 0.0, 0.02


def m2_param(seed, p, name, shape, rules, chunk=1 << 24):
    """float32 array of `shape`; element i (row-major) from
    u = rng_uniform({seed, RNG_STREAM_FIXTURE | p, 0}, i), in double:
    w = s * 3.4641016151377544 * (u - 0.5) (left to right), x = (float)(c + w) (c = 0: (float)w)."""
    c, s = m2_rule(name, rules)
    n = int(np.prod(shape)) if len(shape) else 1
    out = np.empty(n, np.float32)
    for o in range(0, n, chunk):
        m = min(chunk, n - o)
        w = s * philox.TWO_SQRT3 * (philox.uniform(seed, philox.RNG_STREAM_FIXTURE | p, o, m) - 0.5)
        if c != 0.0:
            w = c + w
        out[o:o + m] = w.astype(np.float32)
    return out.reshape(shape)


def rule_selftest():
    """The (0, 0.02) and (1, 0.02) classes are bit for bit philox.fixture_param."""
    ok = True
    for name in ("a.weight", "a.LayerNorm.weight", "b.layernorm.weight", "c.bias"):
        a = m2_param(7, 3, name, (1000,), m2_rules(TINY))
        b = philox.fixture_param(7, 3, name, (1000,))
        ok &= bool(np.array_equal(a.view(np.uint32), b.view(np.uint32)))
    print("m2 weight rule vs philox.fixture_param:", "PASS" if ok else "FAIL", flush=True)
    return ok


# ---------------------------------------------------------------- official code

def load_official(src):
    """Returns (bert_layers module, make_config(dict) -> config, description)."""
    if os.path.exists(os.path.join(src, "flash_attn_triton.py")):
        raise SystemExit("remove flash_attn_triton.py from %s" % src)
    sys.path.insert(0, src)
    from mosaic_official_check import _stub_einops, _stub_transformers
    stubs = []
    try:
        importlib.import_module("einops")
    except ImportError:
        e = _stub_einops()
        base_re = e.rearrange

        def rearrange(x, pattern, **kw):  # the stand-in lacks '(b s) ... -> b s ...' style ellipses
            p = pattern.replace(" ", "")
            if p == "b...->b(...)":
                return x.reshape(x.shape[0], -1)
            if p == "bs...->(bs)...":
                return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])
            if p == "(bs)...->bs...":
                return x.reshape(kw["b"], x.shape[0] // kw["b"], *x.shape[1:])
            if p == "(bs)d->bsd":
                return x.reshape(kw["b"], x.shape[0] // kw["b"], x.shape[1])
            return base_re(x, pattern, **kw)
        e.rearrange = rearrange
        sys.modules["einops"] = e
        stubs.append("einops")
    try:
        importlib.import_module("opt_einsum")
    except ImportError:
        oe = types.ModuleType("opt_einsum")
        oe.contract = torch.einsum  # imported by the mixer files, never called on the paths used
        sys.modules["opt_einsum"] = oe
        stubs.append("opt_einsum")
    try:
        bl = importlib.import_module("bert_layers")
        cb = importlib.import_module("configuration_bert")
        import transformers

        def make_cfg(d):
            return cb.BertConfig(**d)
        probe(bl, make_cfg)
        desc = "transformers %s" % transformers.__version__
    except Exception as ex:  # official files vs. the installed transformers
        for k in [k for k in sys.modules if k.startswith("transformers") or k in (
                "bert_layers", "bert_padding", "configuration_bert")]:
            del sys.modules[k]
        mods, Cfg = _stub_transformers()
        sys.modules.update(mods)
        bl = importlib.import_module("bert_layers")

        def make_cfg(d):
            return Cfg(**dict(d, use_return_dict=False))
        probe(bl, make_cfg)
        stubs.append("transformers (%s: %s)" % (type(ex).__name__, str(ex).splitlines()[0][:160]))
    return bl, make_cfg, ("stand-ins for " + ", ".join(stubs)) if stubs else "no stand-ins"


def probe(bl, make_cfg):
    d = dict(TINY, num_labels=3, problem_type="single_label_classification")
    with Quiet():
        m = bl.BertForSequenceClassification(make_cfg(d)).eval()
    ids = torch.ones(1, TINY_S, dtype=torch.long)
    m(input_ids=ids, attention_mask=ids, token_type_ids=0 * ids, labels=torch.zeros(1, dtype=torch.long),
      return_dict=False)


class Quiet:
    """The official constructors print a dozen lines per layer."""

    def __enter__(self):
        sys.stdout.flush()
        self.fd = os.dup(1)
        self.null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 1)

    def __exit__(self, *a):
        sys.stdout.flush()
        os.dup2(self.fd, 1)
        os.close(self.fd)
        os.close(self.null)


def build(bl, make_cfg, kind, cfg, dtype):
    with Quiet():
        m = (bl.BertForSequenceClassification if kind == "cls" else bl.BertForMaskedLM)(make_cfg(cfg))
    return m.to(dtype).eval()


def unique_param_names(model):
    """Sorted (byte order) names, one per tensor: an aliased tensor (the tied decoder,
    the shared Sin `freq`) under the name named_parameters() gives it first."""
    names = [n for n, _ in model.named_parameters()]
    assert all(n.isascii() for n in names)
    return sorted(names)


def aliases(model):
    """state_dict names of parameters that are not in the unique list."""
    bufs = set(n for n, _ in model.named_buffers())
    return sorted(set(model.state_dict()) - set(n for n, _ in model.named_parameters()) - bufs)


def buffers(model):
    """Persistent buffers: {name: array} (t, deltas as float32 values, position_ids int64)."""
    sd = model.state_dict()
    out = {}
    for n, b in model.named_buffers():
        if n in sd:
            out[n] = (b.detach().to(torch.float32) if b.is_floating_point() else b.detach()).numpy().copy()
    return out


def _fill_job(args):
    seed, p, name, shape, want_sum, rules = args
    w = m2_param(seed, p, name, shape, rules)
    return w, (math.fsum(w.reshape(-1).tolist()) if want_sum else None)


def load_weights(model, seed, cfg, pool=None, sums=None, W=None):
    params = dict(model.named_parameters())
    names = unique_param_names(model)
    if W is None:
        rules = m2_rules(cfg)
        jobs = [(seed, p, n, tuple(params[n].shape), sums is not None, rules) for p, n in enumerate(names)]
        res = pool.map(_fill_job, jobs, chunksize=1) if pool else [_fill_job(j) for j in jobs]
        W = {}
        for n, (a, s) in zip(names, res):
            W[n] = a
            if sums is not None:
                sums[n] = s
    with torch.no_grad():
        for n in names:
            params[n].copy_(torch.from_numpy(W[n]))
    return W


# ---------------------------------------------------------------- inputs

def input_seed(name):
    import zlib
    return zlib.crc32(name.encode())


def make_inputs(seed, B, S, lengths, V, label_rate=0.3):
    """As tools/ref/make_fixtures.py: real tokens (a prefix of each row) in [1, min(V, 30522)),
    pads 0; token type 0 on the first half of the real tokens, 1 after; ~30% of the real
    positions labelled (never a pad)."""
    rng = np.random.default_rng(seed)
    hi = min(V, 30522)
    ids = np.zeros((B, S), np.int32)
    tt = np.zeros((B, S), np.int32)
    am = np.zeros((B, S), np.int32)
    lab = np.full((B, S), -100, np.int32)
    for b, n in enumerate(lengths):
        ids[b, :n] = rng.integers(1, hi, n)
        am[b, :n] = 1
        tt[b, (n + 1) // 2:n] = 1
        k = max(1, int(round(label_rate * n)))
        pos = np.sort(rng.choice(n, k, replace=False))
        lab[b, pos] = rng.integers(1, hi, k)
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": am, "labels": lab}


def tens(inp):
    return {k: torch.from_numpy(v).long() for k, v in inp.items()}


# ---------------------------------------------------------------- runs

def run_mlm(model, inp):
    """Official forward with labels (loss over labels > 0; logits only at those rows),
    backward; then a forward without labels for the logits at all B*S positions."""
    t = tens(inp)
    model.zero_grad()
    out = model(input_ids=t["input_ids"], attention_mask=t["attention_mask"], token_type_ids=t["token_type_ids"],
                labels=t["labels"], return_dict=False)
    loss, lab_logits = out[0], out[1].detach()
    loss.backward()
    with torch.no_grad():
        full = model(input_ids=t["input_ids"], attention_mask=t["attention_mask"],
                     token_type_ids=t["token_type_ids"], return_dict=False)[0]
    B, S, V = full.shape
    full = full.reshape(B * S, V)
    sel = t["labels"].reshape(-1) > 0
    d = float((full[sel] - lab_logits.reshape(B * S, V)[sel]).abs().max())
    return loss.detach(), full, d


def run_cls(model, inp):
    t = tens(inp)
    model.zero_grad()
    out = model(input_ids=t["input_ids"], attention_mask=t["attention_mask"], token_type_ids=t["token_type_ids"],
                labels=t["labels"], return_dict=False)
    out[0].backward()
    return out[0].detach(), out[1].detach(), 0.0


def grads(model, names):
    p = dict(model.named_parameters())
    return {n: p[n].grad.detach().clone() for n in names}


def rel_l2(a, b):
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def fp32_report(name, l64, o64, g64, l32, o32, g32):
    dl = abs(float(l32) - float(l64)) / abs(float(l64))
    dlog = float((o32.double() - o64).abs().max() / o64.abs().max())
    worst = max((rel_l2(g32[n], g64[n]), n) for n in g64)
    print("  %s: float32 vs float64: loss rel %.2e, logits max|d|/max|x| %.2e, worst grad rel L2 %.2e (%s)"
          % (name, dl, dlog, worst[0], worst[1]), flush=True)
    return dl, dlog, worst


def meta(kind, cfg, names, seed, model, desc, extra=None):
    try:
        import safetensors
        stv = safetensors.__version__
    except ImportError:
        stv = "none (minimal writer)"
    m = {
        "format": "bertc-ref-fixture-1",
        "model": kind,
        "config": json.dumps(cfg, sort_keys=True),
        "weight_seed": str(seed),
        "weight_rule": "fixture-uniform with M2 classes (docs/fixtures.md, M2-BERT)",
        "weight_classes": json.dumps(m2_rules(cfg)),
        "params": json.dumps(names),
        "tied_aliases": json.dumps(aliases(model)),
        "buffers": json.dumps(sorted(buffers(model))),
        "compute": "float64 CPU, eval mode (no dropout), official HazyResearch/m2 code (%s)" % desc,
        "reference": "HazyResearch/m2 @ %s, bert/src" % OFFICIAL_COMMIT,
        "versions": "torch %s, safetensors %s, numpy %s" % (torch.__version__, stv,
                                                            np.__version__),
    }
    m.update(extra or {})
    return m


def _save_minimal(t, path, metadata):
    """safetensors layout by hand, for machines without the package (tensors in name order)."""
    import struct
    codes = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int32): "I32",
             np.dtype(np.int64): "I64"}
    hdr, off, blobs = {"__metadata__": metadata}, 0, []
    for k in sorted(t):
        b = t[k].tobytes()
        hdr[k] = {"dtype": codes[t[k].dtype], "shape": list(t[k].shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def save(path, t, m):
    t = {k: np.ascontiguousarray(v) for k, v in t.items()}
    try:
        from safetensors.numpy import save_file
    except ImportError:
        _save_minimal(t, path, m)
    else:
        save_file(t, path, metadata=m)
    print("  wrote %s (%d tensors, %d bytes)" % (path, len(t), os.path.getsize(path)), flush=True)


OFFICIAL_COMMIT = "?"


def tiny_fixture(bl, make_cfg, desc, outdir, fname, kind, cfg, inp, report):
    run = run_cls if kind == "cls" else run_mlm
    m64 = build(bl, make_cfg, kind, cfg, torch.float64)
    W = load_weights(m64, TINY_SEED, cfg)
    names = sorted(W)
    l64, o64, d64 = run(m64, inp)
    g64 = grads(m64, names)
    m32 = build(bl, make_cfg, kind, cfg, torch.float32)
    load_weights(m32, TINY_SEED, cfg, W=W)
    l32, o32, d32 = run(m32, inp)
    g32 = grads(m32, names)
    if kind != "cls":
        print("  %s: labelled-path vs full-path logits at labelled rows: max|d| %.1e (f64), %.1e (f32)"
              % (fname, d64, d32), flush=True)
    report[fname] = fp32_report(fname, l64, o64, g64, l32, o32, g32)
    t = {n: W[n] for n in names}
    for n, b in buffers(m64).items():
        t["buffer." + n] = b
    for k, v in inp.items():
        t["input." + k] = v
    t["output.logits"] = o64.numpy().astype(np.float32)
    t["output.loss"] = np.array([float(l64)], np.float64)
    for n in names:
        t["grad." + n] = g64[n].numpy().astype(np.float32)
    model_kind = "m2-seqcls" if kind == "cls" else "m2-mlm"
    save(os.path.join(outdir, fname + ".safetensors"), t, meta(model_kind, cfg, names, TINY_SEED, m64, desc))
    return m64


def make_tiny(bl, make_cfg, desc, outdir, report):
    B, S, L = TINY_B, TINY_S, TINY_LENGTHS
    V = TINY["vocab_size"]
    for fname, cfg in (("m2_tiny_mlm", TINY), ("m2_tiny_mlm_ln", dict(TINY, hyena_training_additions=True))):
        inp = make_inputs(input_seed(fname), B, S, L, V)
        tiny_fixture(bl, make_cfg, desc, outdir, fname, "mlm", cfg, inp, report)
    for fname, pool_all in (("m2_tiny_cls", False), ("m2_tiny_cls_meanpool", True)):
        inp = make_inputs(input_seed(fname), B, S, L, V)
        inp["labels"] = np.array([2, 0, 1], np.int32)
        cfg = dict(TINY, num_labels=3, problem_type="single_label_classification", pool_all=pool_all)
        tiny_fixture(bl, make_cfg, desc, outdir, fname, "cls", cfg, inp, report)


# ---------------------------------------------------------------- 80M

_G = {}


def _proj_job(args):
    seed, p, name = args
    g = _G[name]
    out = np.empty(N_PROJ, np.float64)
    for j, r in philox.projection_vectors(seed, p, g.size, N_PROJ):
        out[j] = float(np.dot(g, r))
    return out


def make_base(bl, make_cfg, desc, outdir, procs):
    fname = "m2_80m_mlm"
    cfg = BASE
    inp = make_inputs(input_seed(fname), BASE_B, BASE_S, BASE_LENGTHS, cfg["vocab_size"])
    t0 = time.time()
    m64 = build(bl, make_cfg, "mlm", cfg, torch.float64)
    sums = {}
    with mp.get_context("fork").Pool(procs) as pool:
        W = load_weights(m64, BASE_SEED, cfg, pool, sums)
    names = sorted(W)
    t1 = time.time()
    l64, o64, d64 = run_mlm(m64, inp)
    g64 = grads(m64, names)
    t2 = time.time()
    m32 = build(bl, make_cfg, "mlm", cfg, torch.float32)
    load_weights(m32, BASE_SEED, cfg, W=W)
    l32, o32, d32 = run_mlm(m32, inp)
    g32 = grads(m32, names)
    print("  %s: labelled-path vs full-path logits at labelled rows: max|d| %.1e (f64), %.1e (f32)"
          % (fname, d64, d32), flush=True)
    fp32_report(fname, l64, o64, g64, l32, o32, g32)
    del m32, g32
    # rows into the B*S positions (pads included): 6 labelled rows, then 2 pad rows
    lab = inp["labels"].reshape(-1)
    am = inp["attention_mask"].reshape(-1)
    labelled = list(np.nonzero(lab > 0)[0][:6])
    pads = list(np.nonzero(am == 0)[0])
    rows = np.array(sorted(labelled + [pads[0], pads[-1]]), np.int32)
    t = {"input." + k: v for k, v in inp.items()}
    for n, b in buffers(m64).items():
        t["buffer." + n] = b
    t["output.loss"] = np.array([float(l64)], np.float64)
    t["output.logit_rows"] = rows
    t["output.logits"] = o64[torch.from_numpy(rows).long()].numpy().astype(np.float32)
    _G.clear()
    for n in names:
        _G[n] = g64[n].numpy().reshape(-1)
    with mp.get_context("fork").Pool(procs) as pp:
        projs = pp.map(_proj_job, [(BASE_SEED, p, n) for p, n in enumerate(names)], chunksize=1)
    for p, n in enumerate(names):
        t["gradnorm." + n] = np.array([float(np.linalg.norm(_G[n]))], np.float64)
        t["gradproj." + n] = projs[p]
        t["weightsum." + n] = np.array([sums[n]], np.float64)
    small = sorted((float(t["gradnorm." + n][0]), n) for n in names)[:3]
    print("  %s: smallest gradient norms: %s" % (fname, ", ".join("%s %.2e" % (n, v) for v, n in small)))
    _G.clear()
    t3 = time.time()
    save(os.path.join(outdir, fname + ".safetensors"), t,
         meta("m2-mlm", cfg, names, BASE_SEED, m64, desc, {"n_proj": str(N_PROJ)}))
    print("  %s: weights %.1fs, fp64 fwd+bwd %.1fs, rest %.1fs" % (fname, t1 - t0, t2 - t1, t3 - t2), flush=True)


def main():
    global OFFICIAL_COMMIT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("outdir")
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--base", action="store_true")
    ap.add_argument("--procs", type=int, default=min(16, os.cpu_count() or 1))
    a = ap.parse_args()
    if not (a.tiny or a.base):
        a.tiny = a.base = True
    cf = os.path.join(a.src, "COMMIT")
    if os.path.exists(cf):
        OFFICIAL_COMMIT = open(cf).read().strip()[:12]
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(0)  # only the official constructors' throw-away init draws from it
    if not (philox.selftest() and rule_selftest()):
        return 1
    bl, make_cfg, desc = load_official(a.src)
    print("official M2 code (%s @ %s): %s" % (a.src, OFFICIAL_COMMIT, desc), flush=True)
    report = {}
    if a.tiny:
        make_tiny(bl, make_cfg, desc, a.outdir, report)
    if a.base:
        make_base(bl, make_cfg, desc, a.outdir, a.procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
