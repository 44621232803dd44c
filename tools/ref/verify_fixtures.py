#!/usr/bin/env python3
"""Checks tests/fixtures/models/ with numpy alone (no torch, no safetensors):

  verify_fixtures.py [DIR] [--base]

- every stored weight equals the fixture rule (tools/ref/philox.py) for its
  parameter number in the file's `params` list (sorted, one name per tensor);
- with --base, the `weightsum.*` entries of the base fixtures equal the sums
  of the regenerated weights (regenerates ~250M weights: a minute or two);
- names, shapes and dtypes follow docs/fixtures.md; inputs are sane (no label
  on a pad, labels > 0 where set, token types 0/1 both used, lengths as stated);
- prints the gradient norms that are analytically zero (attention key biases
  of classic BERT) so their size is on record.
Exit status 1 on any failure.
"""
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import philox  # noqa: E402

DT = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_st(path):
    """Minimal safetensors reader: ({name: array}, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    hdr = json.loads(data[8:8 + n])
    meta = hdr.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[base + a:base + b], dtype=DT[v["dtype"]]).reshape(v["shape"])
    return out, meta


class Checker:
    def __init__(self):
        self.fails = 0

    def expect(self, cond, what):
        if not cond:
            print("FAIL:", what)
            self.fails += 1


def check_inputs(c, name, t, kind):
    ids, tt, am = t["input.input_ids"], t["input.token_type_ids"], t["input.attention_mask"]
    lab = t["input.labels"]
    c.expect(ids.dtype == np.int32 and ids.shape == am.shape == tt.shape, name + ": input shapes/dtypes")
    c.expect(np.all(ids[am == 0] == 0) and np.all(ids[am == 1] > 0), name + ": ids 0 exactly at pads")
    c.expect(set(np.unique(tt[am == 1])) == {0, 1}, name + ": both token types used")
    for b in range(am.shape[0]):  # real tokens first, then pads
        n = int(am[b].sum())
        c.expect(np.all(am[b, :n] == 1), name + ": mask is a prefix")
    if kind == "bert-seqcls":
        c.expect(lab.shape == (am.shape[0],) and set(lab.tolist()) <= {0, 1, 2}, name + ": class labels")
        return
    c.expect(lab.shape == am.shape, name + ": label shape")
    c.expect(np.all(lab[am == 0] == -100), name + ": no label on a pad")
    c.expect(np.all((lab == -100) | (lab > 0)), name + ": labels are -100 or > 0")
    c.expect(np.all((lab > 0).sum(axis=1) >= 1), name + ": every sequence has a label")


def verify(path, base_weights, c):
    name = os.path.basename(path)
    t, meta = read_st(path)
    kind = meta.get("model", "?")
    cfg = json.loads(meta["config"])
    params = json.loads(meta["params"])
    seed = int(meta["weight_seed"])
    c.expect(params == sorted(params) and len(set(params)) == len(params), name + ": params sorted, unique")
    check_inputs(c, name, t, kind)
    nnz = int(t["input.attention_mask"].sum())
    V = cfg["vocab_size"]
    tiny = "output.logit_rows" not in t
    if tiny:
        want = (t["input.attention_mask"].shape[0], cfg.get("num_labels", 0)) if kind == "bert-seqcls" else (nnz, V)
        c.expect(t["output.logits"].shape == want, name + ": logits shape %s" % (t["output.logits"].shape,))
        for p, n in enumerate(params):
            w = t.get(n)
            c.expect(w is not None and w.dtype == np.float32, name + ": weight " + n)
            if w is None:
                continue
            c.expect(np.array_equal(w, philox.fixture_param(seed, p, n, w.shape)), name + ": rule for " + n)
            g = t.get("grad." + n)
            c.expect(g is not None and g.shape == w.shape and g.dtype == np.float32, name + ": grad " + n)
        extra = set(t) - set(params) - {"grad." + n for n in params} - {k for k in t if k.startswith(("input.", "output."))}
        c.expect(not extra, name + ": unexpected tensors %s" % sorted(extra))
    else:
        rows = t["output.logit_rows"]
        c.expect(rows.dtype == np.int32 and rows.size <= 8 and np.all(np.diff(rows) > 0) and rows.max() < nnz,
                 name + ": logit rows")
        c.expect(t["output.logits"].shape == (rows.size, V), name + ": logits shape")
        k = int(meta["n_proj"])
        for n in params:
            c.expect(t["gradnorm." + n].shape == (1,) and t["gradproj." + n].shape == (k,), name + ": grad stats " + n)
            c.expect(n not in t, name + ": base weights must not be stored (%s)" % n)
        if base_weights:
            shapes = base_shapes(kind, cfg)
            c.expect(sorted(shapes) == params, name + ": parameter list vs shapes")
            for p, n in enumerate(params):
                w = philox.fixture_param(seed, p, n, shapes[n])
                s = math.fsum(w.reshape(-1).tolist())
                c.expect(s == float(t["weightsum." + n][0]), name + ": weightsum " + n)
    gn = {n: float(np.linalg.norm(t["grad." + n])) if tiny else float(t["gradnorm." + n][0]) for n in params}
    zero = {n: v for n, v in gn.items() if n.endswith("key.bias")}
    others = [v for n, v in gn.items() if n not in zero]
    c.expect(all(v > 0 for v in others), name + ": a gradient is exactly zero")
    loss = float(t["output.loss"][0])
    print("%-28s %-15s loss %.9f  %d params, min nonzero-expected grad norm %.2e%s" % (
        name, kind, loss, len(params), min(others),
        ", key.bias grad norms (analytically 0) <= %.1e" % max(zero.values()) if zero else ""))


def base_shapes(kind, cfg):
    H, I, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    if kind == "mosaicbert-mlm":
        from mosaicbert_ref import MosaicConfig, _param_names
        return _param_names(MosaicConfig(**cfg))
    s = {"bert.embeddings.word_embeddings.weight": (V, H),
         "bert.embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
         "bert.embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
         "bert.embeddings.LayerNorm.weight": (H,), "bert.embeddings.LayerNorm.bias": (H,),
         "cls.predictions.bias": (V,),
         "cls.predictions.transform.dense.weight": (H, H), "cls.predictions.transform.dense.bias": (H,),
         "cls.predictions.transform.LayerNorm.weight": (H,), "cls.predictions.transform.LayerNorm.bias": (H,)}
    for l in range(L):
        p = "bert.encoder.layer.%d." % l
        for q in ("query", "key", "value"):
            s[p + "attention.self.%s.weight" % q] = (H, H)
            s[p + "attention.self.%s.bias" % q] = (H,)
        s.update({p + "attention.output.dense.weight": (H, H), p + "attention.output.dense.bias": (H,),
                  p + "attention.output.LayerNorm.weight": (H,), p + "attention.output.LayerNorm.bias": (H,),
                  p + "intermediate.dense.weight": (I, H), p + "intermediate.dense.bias": (I,),
                  p + "output.dense.weight": (H, I), p + "output.dense.bias": (H,),
                  p + "output.LayerNorm.weight": (H,), p + "output.LayerNorm.bias": (H,)})
    return s


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    d = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/fixtures/models")
    c = Checker()
    # m2_* fixtures have their own checker (m2_spec_check.py)
    files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors") and not f.startswith("m2_"))
    c.expect(len(files) == 7, "expected 7 fixtures, found %d" % len(files))
    for f in files:
        verify(os.path.join(d, f), "--base" in argv, c)
    # the HF checkpoint holds bert_tiny_mlm's weights under save_pretrained's names
    hf, _ = read_st(os.path.join(d, "hf_tiny_bert", "model.safetensors"))
    fx, meta = read_st(os.path.join(d, "bert_tiny_mlm.safetensors"))
    params = json.loads(meta["params"])
    c.expect(sorted(hf) == params, "hf_tiny_bert: tensor names = bert_tiny_mlm params")
    c.expect(all(np.array_equal(hf[n], fx[n]) for n in params if n in hf), "hf_tiny_bert: weights = bert_tiny_mlm")
    print("verify_fixtures: %s" % ("PASS" if c.fails == 0 else "FAIL (%d)" % c.fails))
    return 1 if c.fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
