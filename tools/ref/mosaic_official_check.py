#!/usr/bin/env python3
"""Compare tools/ref/mosaicbert_ref.py with the official MosaicBERT code.

  mosaic_official_check.py SRC_DIR [--seed N]

SRC_DIR holds bert_layers.py, bert_padding.py and configuration_bert.py from
mosaicml/examples (examples/benchmarks/bert/src at HEAD daddaeff, or
examples/bert/src at v0.0.4); they are never committed here. flash_attn_triton.py
must NOT be in SRC_DIR: without it the official model takes its PyTorch
attention path (the one spec §3.4 calls the fp32 reference); the config also
sets attention_probs_dropout_prob = 0.1 with the model in eval mode, which forces
that path even where the Triton module imports.

Both models get the same fixture weights (tools/ref/philox.py) by state-dict
name, the same inputs, fp32 and fp64. The official model, given labels, always
runs its last-layer subset path and returns logits only at labels > 0 rows;
those rows, the loss and every parameter gradient are compared with the
reference run both without (default) and with the subset flag.

If transformers or einops cannot be imported (or the official files do not
import with the installed transformers), small stand-ins provide the few names
the official files take from them (ACT2FN["gelu"] = exact erf GELU, output
tuples, a PreTrainedModel base with a no-op post_init); the report says which.
Prints a table of max abs / rel differences; exit 1 if a check fails.
"""
import argparse
import importlib
import os
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mosaicbert_ref import MosaicBertRef, MosaicConfig  # noqa: E402
import make_fixtures as mf  # noqa: E402


def _stub_einops():
    """rearrange / repeat for the few patterns bert_padding.py and bert_layers.py use."""
    import re

    def parse(side):  # -> list of name tuples, one per axis of that side
        out, cur = [], None
        for t in re.findall(r"\(|\)|\.\.\.|\w+", side):
            if t == "(":
                cur = []
            elif t == ")":
                out.append(tuple(cur) + ("()",))  # "()" marks a parenthesised group
                cur = None
            elif cur is not None:
                cur.append(t)
            else:
                out.append((t,))
        return out

    def rearrange(x, pattern, **sizes):
        lg, rg = (parse(s) for s in pattern.split("->"))
        dims, shape = dict(sizes), list(x.shape)
        n_ell = len(shape) - (len(lg) - sum(1 for g in lg if g == ("...",)))
        names, flat, i = [], [], 0
        for g in lg:
            if g == ("...",):
                for k in range(n_ell):
                    dims["...%d" % k] = shape[i]
                    names.append("...%d" % k)
                    flat.append(shape[i])
                    i += 1
                continue
            g = tuple(n for n in g if n != "()")
            known = 1
            for n in g:
                known *= dims.get(n, 1)
            for n in g:
                if n not in dims:
                    dims[n] = shape[i] // known
            names.extend(g)
            flat.extend(dims[n] for n in g)
            i += 1
        y = x.reshape(flat)

        def expand(g):
            return [m for n in g if n != "()" for m in (["...%d" % k for k in range(n_ell)] if n == "..." else [n])]
        out_names = [m for g in rg for m in expand(g)]
        y = y.permute([names.index(n) for n in out_names])
        out_shape = []
        for g in rg:
            if g == ("...",):  # a bare ellipsis keeps its axes
                out_shape.extend(dims[n] for n in expand(g))
                continue
            s = 1
            for n in expand(g):
                s *= dims[n]
            out_shape.append(s)
        return y.reshape(out_shape)

    def repeat(x, pattern, **sizes):
        assert pattern.replace(" ", "") == "z->zd", pattern
        return x[:, None].expand(x.shape[0], sizes["d"])

    m = types.ModuleType("einops")
    m.rearrange, m.repeat = rearrange, repeat
    return m


def _stub_transformers():
    import torch.nn as nn

    class Cfg:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class PreTrained(nn.Module):
        def __init__(self, config, *a, **k):
            super().__init__()
            self.config = config

        def post_init(self):
            pass

    tr = types.ModuleType("transformers")
    act = types.ModuleType("transformers.activations")
    act.ACT2FN = {"gelu": nn.GELU(approximate="none")}
    outs = types.ModuleType("transformers.modeling_outputs")
    outs.MaskedLMOutput = dict
    outs.SequenceClassifierOutput = dict
    models = types.ModuleType("transformers.models")
    bert = types.ModuleType("transformers.models.bert")
    mb = types.ModuleType("transformers.models.bert.modeling_bert")
    mb.BertPreTrainedModel = PreTrained
    tr.BertConfig = Cfg
    tr.activations, tr.modeling_outputs, tr.models = act, outs, models
    models.bert, bert.modeling_bert = bert, mb
    return {"transformers": tr, "transformers.activations": act, "transformers.modeling_outputs": outs,
            "transformers.models": models, "transformers.models.bert": bert,
            "transformers.models.bert.modeling_bert": mb}, Cfg


def load_official(src_dir):
    """Returns (bert_layers module, config factory, description of what was stubbed)."""
    if os.path.exists(os.path.join(src_dir, "flash_attn_triton.py")):
        raise SystemExit("remove flash_attn_triton.py from %s (the PyTorch path is the reference)" % src_dir)
    sys.path.insert(0, src_dir)
    stubs = []
    try:
        importlib.import_module("einops")
    except ImportError:
        sys.modules["einops"] = _stub_einops()
        stubs.append("einops")
    try:
        bl = importlib.import_module("bert_layers")
        import transformers

        def make_cfg(cfg):
            c = transformers.BertConfig(
                vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_hidden_layers,
                num_attention_heads=cfg.num_attention_heads, intermediate_size=cfg.intermediate_size,
                type_vocab_size=cfg.type_vocab_size, max_position_embeddings=cfg.max_position_embeddings,
                pad_token_id=cfg.pad_token_id, layer_norm_eps=cfg.layer_norm_eps, hidden_act="gelu",
                hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
            c.alibi_starting_size = 512
            return c
        # construct and run a tiny one: post_init and friends differ between transformers versions
        probe = bl.BertForMaskedLM(make_cfg(mf.TINY_MOSAIC[0][1])).eval()
        ids = torch.ones(1, 3, dtype=torch.long)
        probe(input_ids=ids, attention_mask=ids, token_type_ids=0 * ids, labels=ids, return_dict=False)
        desc = "transformers %s" % transformers.__version__
    except Exception as e:  # official files vs. installed transformers
        for k in [k for k in sys.modules if k.startswith("transformers") or k in ("bert_layers", "bert_padding")]:
            del sys.modules[k]
        mods, Cfg = _stub_transformers()
        sys.modules.update(mods)
        bl = importlib.import_module("bert_layers")

        def make_cfg(cfg):
            return Cfg(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
                       num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
                       intermediate_size=cfg.intermediate_size, type_vocab_size=cfg.type_vocab_size,
                       max_position_embeddings=cfg.max_position_embeddings, pad_token_id=cfg.pad_token_id,
                       layer_norm_eps=cfg.layer_norm_eps, hidden_act="gelu", hidden_dropout_prob=0.1,
                       attention_probs_dropout_prob=0.1, alibi_starting_size=512, is_decoder=False,
                       use_return_dict=False)
        stubs.append("transformers (%s: %s)" % (type(e).__name__, str(e).splitlines()[0][:120]))
    return bl, make_cfg, ("stand-ins for " + ", ".join(stubs)) if stubs else "no stand-ins"


def rel(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def compare(src_dir, seed=42, configs=None):
    bl, make_cfg, desc = load_official(src_dir)
    print("official MosaicBERT (%s): %s" % (src_dir, desc))
    ok = True
    rows = []
    for name, cfg, B, S, lengths in configs or mf.TINY_MOSAIC:
        inp = mf.make_inputs(mf.input_seed(name), B, S, lengths, cfg.vocab_size, cfg.type_vocab_size)
        for dtype, adt in ((torch.float32, None), (torch.float64, None), (torch.float64, torch.float32)):
            ref = MosaicBertRef(cfg, dtype, alibi_dtype=adt)
            mf.load_fixture_weights(ref, seed)
            off = bl.BertForMaskedLM(make_cfg(cfg)).to(dtype).eval()
            osd = off.state_dict()
            rsd = dict(ref.named_parameters())
            with torch.no_grad():
                for k in osd:
                    src = rsd.get(k, rsd["bert.embeddings.word_embeddings.weight"]
                                  if k == "cls.predictions.decoder.weight" else None)
                    if src is None:
                        raise SystemExit("official key %s has no reference parameter" % k)
                    osd[k].copy_(src)
            missing = set(rsd) - set(osd)
            if missing:
                raise SystemExit("reference parameters unknown to the official model: %s" % sorted(missing))
            ids, tt, am, lab = (torch.from_numpy(inp[k]).long() for k in ("input_ids", "token_type_ids",
                                                                             "attention_mask", "labels"))
            out = off(input_ids=ids, attention_mask=am, token_type_ids=tt, labels=lab, return_dict=False)
            oloss, ologits = out[0], out[1]
            oloss.backward()
            ogr = {n: p.grad.detach().clone() for n, p in off.named_parameters()}
            orows = ologits.reshape(B * S, -1)[lab.reshape(-1) > 0].detach()
            for subset in (False, True):
                ref.zero_grad()
                rloss, rlogits = ref(ids, tt, am, lab, last_layer_subset=subset)
                rloss.backward()
                if not subset:
                    real_lab = lab.reshape(-1)[am.reshape(-1) != 0]
                    rrows = rlogits[real_lab > 0].detach()
                else:
                    rrows = rlogits.detach()
                gmax = 0.0
                gname = ""
                for n, p in ref.named_parameters():
                    g_off = ogr[n]
                    r = rel(p.grad, g_off)
                    if r > gmax:
                        gmax, gname = r, n
                dl = abs(float(rloss) - float(oloss))
                da = float((rrows - orows).abs().max())
                dr = float((rrows - orows).abs().max() / orows.abs().max())
                # float64 with exact (float64) ALiBi vs the official float32 ALiBi: ~1e-8 apart;
                # with the ALiBi term in float32 too, agreement to rounding
                tol_l, tol_g = {(torch.float32, None): (1e-5, 1e-4), (torch.float64, None): (1e-8, 1e-6),
                                (torch.float64, torch.float32): (1e-12, 1e-10)}[(dtype, adt)]
                good = dl <= tol_l * abs(float(oloss)) and dr <= tol_l and gmax <= tol_g
                ok &= good
                dname = str(dtype).replace("torch.", "") + ("/alibi32" if adt is not None else "")
                rows.append((name, dname, "subset" if subset else "full",
                             dl, dl / abs(float(oloss)), da, dr, gmax, gname, "ok" if good else "FAIL"))
    print("%-16s %-16s %-6s %10s %10s %10s %10s %10s  %s" % ("fixture", "dtype", "path", "|dloss|", "rel loss",
                                                            "max|dlog|", "rel logit", "grad relL2", "worst grad"))
    for r in rows:
        print("%-16s %-16s %-6s %10.3e %10.3e %10.3e %10.3e %10.3e  %s %s" % r)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src_dir")
    ap.add_argument("--seed", type=int, default=mf.TINY_SEED)
    a = ap.parse_args()
    return 0 if compare(a.src_dir, a.seed) else 1


if __name__ == "__main__":
    sys.exit(main())
