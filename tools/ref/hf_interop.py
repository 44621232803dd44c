#!/usr/bin/env python3
"""Checkpoint interop between bertc and transformers' BertForMaskedLM.

  hf_interop.py check DIR LOGITS [--tol 1e-5] [--fp64]
      Load DIR (config.json + model.safetensors, e.g. written by bertc) with
      BertForMaskedLM.from_pretrained (eager attention, eval mode), run it on the
      inputs stored in LOGITS and compare with the logits stored there.
      LOGITS is a safetensors file with the fixture names (docs/fixtures.md):
        input.input_ids       [B,S] integer
        input.attention_mask  [B,S] integer, optional (all ones)
        input.token_type_ids  [B,S] integer, optional (all zeros)
        output.logits         [B,S,V], or [nnz,V] = real tokens in (b,s) order
      Prints max |diff| and max |diff| / max |logit|; exit 1 above --tol.

  hf_interop.py save OUTDIR [--seed 42] [--size tiny|base]
      Build BertForMaskedLM with the fixture weights (tools/ref/philox.py, the
      tiny or base shapes of make_fixtures.py) in float32 and save_pretrained it
      into OUTDIR; reload it and check every parameter round-trips bit-exactly.

Needs torch, numpy, safetensors, transformers (written against 5.17.0).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402


def load_hf(path, dtype):
    from transformers import BertForMaskedLM
    try:
        m = BertForMaskedLM.from_pretrained(path, attn_implementation="eager")
    except (TypeError, ValueError):
        m = BertForMaskedLM.from_pretrained(path)
        m.set_attn_implementation("eager")
    return m.to(dtype).eval()


def cmd_check(a):
    from safetensors.numpy import load_file
    t = load_file(a.logits)
    ids = torch.from_numpy(t["input.input_ids"].astype(np.int64))
    B, S = ids.shape
    am = torch.from_numpy(t["input.attention_mask"].astype(np.int64)) if "input.attention_mask" in t \
        else torch.ones(B, S, dtype=torch.long)
    tt = torch.from_numpy(t["input.token_type_ids"].astype(np.int64)) if "input.token_type_ids" in t \
        else torch.zeros(B, S, dtype=torch.long)
    want = torch.from_numpy(t["output.logits"].astype(np.float64))
    model = load_hf(a.dir, torch.float64 if a.fp64 else torch.float32)
    with torch.no_grad():
        got = model(input_ids=ids, attention_mask=am, token_type_ids=tt).logits.double()  # [B,S,V]
    real = am.reshape(-1) != 0
    if want.dim() == 2:
        got = got.reshape(B * S, -1)[real]
    else:
        got = got * am[..., None]  # pads: compare only real tokens
        want = want * am[..., None]
    if got.shape != want.shape:
        print("FAIL: logits shape %s, model gives %s" % (tuple(want.shape), tuple(got.shape)))
        return 1
    d = (got - want).abs().max().item()
    r = d / want.abs().max().item()
    ok = r <= a.tol
    print("%s: %s vs %s: max|diff| %.3e, max|diff|/max|logit| %.3e (tol %.1e)"
          % ("PASS" if ok else "FAIL", a.dir, a.logits, d, r, a.tol))
    return 0 if ok else 1


SIZES = {
    "tiny": mf.TINY,
    "base": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2),
}


def cmd_save(a):
    from safetensors.numpy import load_file
    model = mf.hf_bert("mlm", SIZES[a.size], torch.float32)
    W = mf.load_fixture_weights(model, a.seed)
    model.save_pretrained(a.outdir)
    files = sorted(os.listdir(a.outdir))
    saved = load_file(os.path.join(a.outdir, "model.safetensors"))
    back = load_hf(a.outdir, torch.float32)
    bp = dict(back.named_parameters())
    bad = [n for n in W if not np.array_equal(bp[n].detach().numpy(), W[n])]
    print("saved %s: files %s; %d tensors in model.safetensors; not stored (tied): %s"
          % (a.outdir, files, len(saved), sorted(set(W) - set(saved))))
    if bad:
        print("FAIL: parameters that did not round-trip: %s" % bad)
        return 1
    print("PASS: all %d parameters round-trip" % len(W))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("logits")
    c.add_argument("--tol", type=float, default=1e-5)
    c.add_argument("--fp64", action="store_true")
    s = sub.add_parser("save")
    s.add_argument("outdir")
    s.add_argument("--seed", type=int, default=mf.TINY_SEED)
    s.add_argument("--size", choices=sorted(SIZES), default="tiny")
    a = ap.parse_args()
    return cmd_check(a) if a.cmd == "check" else cmd_save(a)


if __name__ == "__main__":
    sys.exit(main())
