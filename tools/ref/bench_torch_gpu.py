#!/usr/bin/env python3
"""PyTorch baselines for bertc's GPU benchmarks (issue 6): one invocation
measures everything below, prints one table and writes JSON.

  bench_torch_gpu.py [--out FILE] [--mosaic-src DIR] [--quick] [--only K1,K2]
                     [--no-dropout] [--peak-tflops X] [--deadline-s S]

What is measured (each measurement is wrapped: a failure records its error
string and the script goes on; the JSON is rewritten after every row):
  peak       bf16 8192^3 GEMM TFLOP/s (random data; median of 10 after 3
             warm-ups, CUDA events) and device-to-device copy TB/s (1 GiB,
             bytes read + bytes written). MFU below is against this GEMM rate
             (or --peak-tflops).
  train      one full step = forward + backward + fused AdamW step +
             zero_grad(set_to_none), bf16 autocast, fp32 weights; tokens/s from
             the median of 10 steps after warm-up (CUDA events around each
             step); peak memory = torch.cuda.max_memory_allocated over the timed
             steps (weights, grads, Adam moments, activations). Same batch every
             step (no data loading), every sequence full length (no padding, so
             MosaicBERT's unpadding removes nothing), exactly round(0.3*S)
             positions of each sequence masked (labels -100 elsewhere).
             (a) hf:     transformers BertForMaskedLM, BERT-base (V 30528, d 768,
                         12 layers, 12 heads, 3072), attn_implementation "sdpa".
             (b) mosaic: the official MosaicBERT BertForMaskedLM (mosaicml/examples
                         examples/benchmarks/bert/src/bert_layers.py: unpadding,
                         GLU 3072, ALiBi, MLM head on labelled rows only) on its
                         PyTorch attention path (flash_attn_triton.py is not
                         loaded; its 2022 Triton kernel does not run on current
                         Triton). Files from --mosaic-src (fetch_mosaic_src.sh).
             Each eager and torch.compile(dynamic=False) (the first compiled
             step's time is reported as compile_s; a compile failure is
             recorded and the rest goes on), at seq 128 batch 256 and seq 512
             batch 64. Dropout as the recipes: hf hidden 0.1 / attention 0.1,
             mosaic hidden 0.1 / attention 0.0; --no-dropout sets all to 0.
  infer      forward only, no_grad, eval mode, bf16 AUTOCAST over fp32 weights
             (the official MosaicBERT keeps its ALiBi tensor in fp32, so with
             bf16 weights its PyTorch path would mix dtypes in a matmul);
             hf = BertModel (no head, no pooler, max_position_embeddings 8192),
             mosaic = the official BertModel (no head, no pooler); seq 512, 1024,
             2048, 4096, 8192 at batch 2^18/seq, halved on OOM until it fits
             (the row says which batch ran and which ran out of memory); median
             of 5 after 2 warm-ups; tokens/ms.

Useful FLOPs (flops_per_token; the definition of issue 6, the same for every
implementation so MFU compares work done, not work spent):
  train:  6 * P * 1                      (P = non-embedding parameters: the
                                          encoder layers' matrix weights,
                                          bert L*(4d^2 + 2dI), mosaic
                                          L*(4d^2 + 3dI); biases and LayerNorm
                                          left out, 0.1% of P)
        + 3 * L * 4 * seq * d            (attention scores and weighted sum, fwd
                                          4*seq*d per token per layer, x3 fwd+bwd)
        + 6 * (d*d + d*V) * mask_frac    (MLM head transform + decoder, masked
                                          rows only)
  infer:  2 * P + L * 4 * seq * d        (no head)
So HF BERT, which runs its decoder on every row, does more work than it is
credited with; that is the point: the number says how fast the useful work got
done. MFU = tokens/s * flops_per_token / measured GEMM peak.

--only K1,K2: run only the measurements whose key contains one of the given
substrings (keys look like peak_gemm, train_hf_eager_s128_b256,
train_mosaic_compile_s512_b64, infer_hf_s8192); e.g. --only peak,mosaic.
--quick: tiny model (2 layers, d 256) and sizes, few repetitions: a smoke test.
--deadline-s S: measurements not started S seconds after launch are recorded
as skipped, so a device call's time limit still leaves a complete JSON.
--profile: each train row also records the 10 kernels with the most device
time in one profiled step (which attention kernel ran, say).
--device cpu runs the same code on the CPU (host-clock timing, no fused AdamW;
for checking the script where there is no GPU, with --quick).

Needs torch and transformers (written against torch 2.11, transformers 5.17)
and einops for the official MosaicBERT files (mosaic_official_check.py's
stand-ins are used where transformers or einops do not import).
"""
import argparse
import gc
import json
import math
import os
import sys
import time
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BASE = dict(d=768, layers=12, heads=12, d_ff=3072, vocab=30528)
QUICK = dict(d=256, layers=2, heads=4, d_ff=1024, vocab=30528)
REAL_VOCAB = 30522  # bert-base-uncased ids; the table is padded to 30528


# ------------------------------------------------------------ useful FLOPs

def nonembed_params(arch, d, layers, d_ff):
    """Matrix weights of the encoder layers: Wqkv 3d^2 + Wo d^2, then the FFN
    (bert: d*I in, I*d out; mosaic GLU: d*2I in, I*d out)."""
    ffn = {"bert": 2 * d * d_ff, "mosaic": 3 * d * d_ff}[arch]
    return layers * (4 * d * d + ffn)


def flops_per_token(arch, seq, mask_frac, d=768, layers=12, d_ff=3072, vocab=30528, train=True):
    """Useful FLOPs per token (see the module docstring). arch: "bert" or "mosaic"."""
    p = nonembed_params(arch, d, layers, d_ff)
    attn = layers * 4 * seq * d  # forward: QK^T 2*seq*d + PV 2*seq*d
    if not train:
        return 2 * p + attn
    return 6 * p + 3 * attn + 6 * (d * d + d * vocab) * mask_frac


# ------------------------------------------------------------ timing

class Clock:
    def __init__(self, dev):
        self.dev = dev

    def sync(self):
        if self.dev == "cuda":
            torch.cuda.synchronize()

    def time_ms(self, fn, warm, reps):
        """Per-repetition times in ms: CUDA events on the GPU, host clock on the CPU."""
        for _ in range(warm):
            fn()
        self.sync()
        out = []
        for _ in range(reps):
            if self.dev == "cuda":
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                fn()
                e.record()
                torch.cuda.synchronize()
                out.append(s.elapsed_time(e))
            else:
                t0 = time.perf_counter()
                fn()
                out.append((time.perf_counter() - t0) * 1e3)
        return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def err_string(e):
    s = " ".join(str(e).split())
    return ("%s: %s" % (type(e).__name__, s))[:600]


def is_oom(e):
    return isinstance(e, torch.cuda.OutOfMemoryError) if hasattr(torch.cuda, "OutOfMemoryError") \
        else "out of memory" in str(e)


def free_memory(dev):
    gc.collect()
    if dev == "cuda":
        torch.cuda.empty_cache()


# ------------------------------------------------------------ models

def hf_config(sz, max_pos, hidden_p, attn_p):
    from transformers import BertConfig
    return BertConfig(vocab_size=sz["vocab"], hidden_size=sz["d"], num_hidden_layers=sz["layers"],
                      num_attention_heads=sz["heads"], intermediate_size=sz["d_ff"],
                      max_position_embeddings=max_pos, hidden_dropout_prob=hidden_p,
                      attention_probs_dropout_prob=attn_p, hidden_act="gelu", layer_norm_eps=1e-12,
                      pad_token_id=0, tie_word_embeddings=True, attn_implementation="sdpa")


def hf_sdpa(model):
    """Make sure the model runs SDPA attention; returns the implementation it reports."""
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        try:
            model.set_attn_implementation("sdpa")
        except AttributeError:
            model.config._attn_implementation = "sdpa"
    impl = getattr(model.config, "_attn_implementation", None)
    if impl != "sdpa":
        raise RuntimeError("HF BERT attention implementation is %r, not sdpa" % impl)
    return impl


class Mosaic:
    """The official MosaicBERT files, loaded once (mosaic_official_check.load_official)."""

    def __init__(self, src_dir):
        if not src_dir:
            raise RuntimeError("no --mosaic-src (or MOSAIC_SRC): see tools/ref/fetch_mosaic_src.sh")
        from mosaic_official_check import load_official
        from mosaicbert_ref import MosaicConfig
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.bl, self.make_cfg, desc = load_official(src_dir)
        # the PyTorch attention path is taken when this is None (or attention dropout > 0)
        forced = self.bl.flash_attn_qkvpacked_func is not None
        self.bl.flash_attn_qkvpacked_func = None
        src = os.path.join(src_dir, "SOURCE")
        self.desc = desc + ("; Triton attention import found and switched off" if forced else "")
        self.source = open(src).read().strip() if os.path.exists(src) else "(no SOURCE file in %s)" % src_dir
        self.MosaicConfig = MosaicConfig

    def config(self, sz, hidden_p, attn_p):
        c = self.make_cfg(self.MosaicConfig(vocab_size=sz["vocab"], hidden_size=sz["d"],
                                            num_hidden_layers=sz["layers"], num_attention_heads=sz["heads"],
                                            intermediate_size=sz["d_ff"]))
        c.hidden_dropout_prob = hidden_p
        c.attention_probs_dropout_prob = attn_p
        c.alibi_starting_size = 512  # recipe; rebuilt (once, in warm-up) for longer inputs
        return c


def quiet_transformers():
    """transformers logs advice on GenerationMixin for every model built; errors only."""
    try:
        import transformers
        transformers.logging.set_verbosity_error()
    except (ImportError, AttributeError):  # absent, or mosaic_official_check's stand-in
        pass


def build(kind, sz, dev, hidden_p, attn_p, mosaic, head=True, max_pos=512):
    """kind "hf" or "mosaic"; head=True: BertForMaskedLM, else BertModel without pooler."""
    if kind == "hf":
        import transformers
        quiet_transformers()
        cfg = hf_config(sz, max_pos, hidden_p, attn_p)
        cls = transformers.BertForMaskedLM if head else (lambda c: transformers.BertModel(c, add_pooling_layer=False))
        if dev == "cuda":
            with torch.device(dev):  # initialise on the device: CPU init of 110M params takes seconds
                m = cls(cfg)
        else:
            m = cls(cfg)
        hf_sdpa(m)
        return m.to(dev)
    cfg = mosaic.config(sz, hidden_p, attn_p)
    quiet_transformers()
    # built on the CPU: its ALiBi slopes come from the legacy torch.Tensor constructor
    m = mosaic.bl.BertForMaskedLM(cfg) if head else mosaic.bl.BertModel(cfg, add_pooling_layer=False)
    return m.to(dev)


def make_batch(B, S, mask_frac, dev, seed=0):
    """ids [B,S], token types [B,S] zeros, attention mask [B,S] ones, labels [B,S]
    (-100 except round(mask_frac*S) random positions per row; labels > 0, which
    MosaicBERT takes as its masked-row test)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.randint(1, REAL_VOCAB, (B, S), generator=g)
    k = int(round(mask_frac * S))
    pos = torch.rand(B, S, generator=g).argsort(dim=1)[:, :k]  # [B,k]
    masked = torch.zeros(B, S, dtype=torch.bool).scatter_(1, pos, True)
    labels = torch.where(masked, torch.randint(1, REAL_VOCAB, (B, S), generator=g), torch.full((B, S), -100))
    return dict(input_ids=ids.to(dev), token_type_ids=torch.zeros_like(ids).to(dev),
                attention_mask=torch.ones_like(ids).to(dev), labels=labels.to(dev),
                mask_frac=float(masked.float().mean()))


def mlm_loss(kind, model, b):
    if kind == "hf":
        return model(input_ids=b["input_ids"], labels=b["labels"]).loss
    return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                 token_type_ids=b["token_type_ids"], labels=b["labels"], return_dict=False)[0]


def encode(kind, model, b):
    if kind == "hf":
        return model(input_ids=b["input_ids"]).last_hidden_state
    return model(b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"])[0]


# ------------------------------------------------------------ the bench

class Bench:
    def __init__(self, a):
        self.a = a
        self.dev = a.device
        self.clock = Clock(self.dev)
        self.sz = QUICK if a.quick else BASE
        self.t0 = time.monotonic()
        self.only = [s for s in (a.only or "").split(",") if s]
        self.rows = []
        self.peak_tflops = a.peak_tflops
        self.mosaic = None
        self.mosaic_err = None
        if a.no_dropout:
            self.dropout = {"hf": (0.0, 0.0), "mosaic": (0.0, 0.0)}
        else:
            self.dropout = {"hf": (0.1, 0.1), "mosaic": (0.1, 0.0)}
        self.meta = self.describe()

    def describe(self):
        m = dict(torch=torch.__version__, python=sys.version.split()[0], device_kind=self.dev,
                 argv=sys.argv[1:], sizes=self.sz, quick=bool(self.a.quick),
                 dropout={k: dict(hidden=v[0], attention=v[1]) for k, v in self.dropout.items()},
                 train_precision="bf16 autocast, fp32 weights, fused AdamW",
                 infer_precision="bf16 autocast, fp32 weights, no_grad, eval",
                 tf32=True, flops_def="tools/ref/bench_torch_gpu.py flops_per_token (docstring)")
        if self.dev == "cuda":
            p = torch.cuda.get_device_properties(0)
            m.update(device=p.name, sms=p.multi_processor_count, memory_gib=round(p.total_memory / 2**30, 1),
                     cuda=torch.version.cuda)
        for mod in ("transformers", "triton", "einops"):
            try:
                m[mod] = __import__(mod).__version__
            except Exception as e:  # noqa: BLE001  (recorded, not fatal)
                m[mod] = "not importable: " + err_string(e)
        return m

    def wanted(self, key):
        return not self.only or any(s in key for s in self.only)

    def save(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.a.out)), exist_ok=True)
        tmp = self.a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(meta=self.meta, peak_tflops_used=self.peak_tflops, rows=self.rows), f, indent=1)
        os.replace(tmp, self.a.out)

    def run(self, key, fn, **info):
        """Runs fn() -> dict of results for one row; records errors and wall time."""
        if not self.wanted(key):
            return
        row = dict(key=key, **info)
        t = time.monotonic()
        if self.a.deadline_s and t - self.t0 > self.a.deadline_s:
            row["error"] = "skipped: past --deadline-s %g" % self.a.deadline_s
        else:
            print("[%6.1f s] %s ..." % (t - self.t0, key), flush=True)
            try:
                row.update(fn())
            except Exception as e:  # noqa: BLE001  (every failure is a row, not the end)
                row["error"] = err_string(e)
            row["wall_s"] = round(time.monotonic() - t, 2)
            free_memory(self.dev)
        self.rows.append(row)
        print("           %s" % self.line(row), flush=True)
        for name, ms in row.get("top_kernels", []):
            print("             %8.3f ms  %s" % (ms, name))
        self.save()

    # ---- peak

    def peak(self):
        n = 2048 if self.a.quick else 8192
        reps = 10

        def gemm():
            a = torch.randn(n, n, device=self.dev, dtype=torch.bfloat16)
            b = torch.randn(n, n, device=self.dev, dtype=torch.bfloat16)
            ms = median(self.clock.time_ms(lambda: a @ b, 3, reps))
            tf = 2 * n ** 3 / ms / 1e9
            if self.peak_tflops is None:
                self.peak_tflops = tf
            return dict(n=n, ms=ms, tflops=tf)

        def copy():
            nbytes = 2 ** 26 if self.a.quick else 2 ** 30
            x = torch.randint(0, 255, (nbytes,), device=self.dev, dtype=torch.uint8)
            y = torch.empty_like(x)
            ms = median(self.clock.time_ms(lambda: y.copy_(x), 3, reps))
            if not torch.equal(x[:4096], y[:4096]) or not torch.equal(x[-4096:], y[-4096:]):
                raise RuntimeError("copy result differs from its source")
            return dict(bytes=nbytes, ms=ms, tbps=2 * nbytes / ms / 1e9)

        self.run("peak_gemm_bf16", gemm, part="peak")
        self.run("peak_copy_d2d", copy, part="peak")

    # ---- training

    def top_kernels(self, fn, n=10):
        """[(kernel name, ms)] of the n kernels with the most device time in one call of fn."""
        from torch.profiler import ProfilerActivity, profile
        acts = [ProfilerActivity.CUDA] if self.dev == "cuda" else [ProfilerActivity.CPU]
        with profile(activities=acts) as prof:
            fn()
            self.clock.sync()
        ev = prof.key_averages()

        def t(e):
            return getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0) or e.cpu_time_total
        return [(e.key[:100], round(t(e) / 1e3, 3)) for e in sorted(ev, key=t, reverse=True)[:n]]

    def get_mosaic(self):
        if self.mosaic is None and self.mosaic_err is None:
            try:
                self.mosaic = Mosaic(self.a.mosaic_src)
                self.meta["mosaic_src"] = self.mosaic.source
                self.meta["mosaic_load"] = self.mosaic.desc
            except Exception as e:  # noqa: BLE001
                self.mosaic_err = "loading the official MosaicBERT: " + err_string(e)
                self.meta["mosaic_load"] = self.mosaic_err
        if self.mosaic is None:
            raise RuntimeError(self.mosaic_err)
        return self.mosaic

    def train(self, kind, compiled, S, B):
        arch = "bert" if kind == "hf" else "mosaic"
        sz = self.sz
        warm, reps = (1, 3) if self.a.quick else (3, 10)
        mask_frac = 0.3

        def fn():
            mosaic = self.get_mosaic() if kind == "mosaic" else None
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = build(kind, sz, self.dev, *self.dropout[kind], mosaic, head=True).train()
            # the recipe's optimizer settings; fused: one kernel for all parameters (CUDA only)
            opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=1e-5,
                                    **(dict(fused=True) if self.dev == "cuda" else {}))
            b = make_batch(B, S, mask_frac, self.dev)
            fwd = torch.compile(model, dynamic=False) if compiled else model
            last = []

            def step():
                with torch.autocast(self.dev, dtype=torch.bfloat16):
                    loss = mlm_loss(kind, fwd, b)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                last[:] = [loss.detach()]

            res = {}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.monotonic()
                step()  # the first step compiles (torch.compile) and allocates the Adam moments
                self.clock.sync()
                res["first_step_s" if not compiled else "compile_s"] = round(time.monotonic() - t, 2)
                for _ in range(warm):
                    step()
                self.clock.sync()
                if self.dev == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                times = self.clock.time_ms(step, 0, reps)
            ms = median(times)
            if self.a.profile:
                res["top_kernels"] = self.top_kernels(step)
            # the masked fraction actually drawn: round(0.3*S)/S
            fpt = flops_per_token(arch, S, b["mask_frac"], sz["d"], sz["layers"], sz["d_ff"], sz["vocab"], True)
            tok_s = B * S / ms * 1e3
            # the FLOP formula's P against the model actually built: its encoder layers' matrices
            enc = sum(p.numel() for n, p in model.named_parameters() if ".encoder.layer." in "." + n and p.dim() == 2)
            if enc != nonembed_params(arch, sz["d"], sz["layers"], sz["d_ff"]):
                res["note"] = "encoder matrices hold %d parameters, flops_per_token assumes %d" % (
                    enc, nonembed_params(arch, sz["d"], sz["layers"], sz["d_ff"]))
            res.update(ms=ms, ms_min=min(times), ms_max=max(times), tok_s=tok_s, useful_flops_per_token=fpt,
                       tflops=tok_s * fpt / 1e12, loss=float(last[0]), mask_frac=b["mask_frac"],
                       params=sum(p.numel() for p in model.parameters()))
            if self.dev == "cuda":
                res["peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
            if not math.isfinite(res["loss"]):
                res["note"] = (res.get("note", "") + "; loss not finite").lstrip("; ")
            if self.peak_tflops:
                res["mfu"] = res["tflops"] / self.peak_tflops
            return res

        def fn_reset():
            try:
                return fn()
            finally:
                if compiled and hasattr(torch, "_dynamo"):
                    torch._dynamo.reset()  # drop the compiled graphs (and what they hold) before the next row

        mode = "compile" if compiled else "eager"
        self.run("train_%s_%s_s%d_b%d" % (kind, mode, S, B), fn_reset, part="train", model=kind, mode=mode, seq=S, batch=B)

    # ---- inference

    def infer(self, kind, seqs, tokens):
        arch = "bert" if kind == "hf" else "mosaic"
        sz = self.sz
        warm, reps = (1, 2) if self.a.quick else (2, 5)
        model = []  # built on the first row, kept for the others of this kind

        def fn_for(S):
            def fn():
                if not model:
                    mosaic = self.get_mosaic() if kind == "mosaic" else None
                    torch.manual_seed(0)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model.append(build(kind, sz, self.dev, 0.0, 0.0, mosaic, head=False,
                                           max_pos=max(seqs)).eval())
                m = model[0]
                if self.dev == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                B, tried = max(1, tokens // S), []
                while True:
                    b = make_batch(B, S, 0.0, self.dev)

                    def fwd():
                        with torch.no_grad(), torch.autocast(self.dev, dtype=torch.bfloat16):
                            return encode(kind, m, b)
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            times = self.clock.time_ms(fwd, warm, reps)
                        break
                    except Exception as e:  # noqa: BLE001
                        if not is_oom(e) or B == 1:
                            raise
                    # out of the except block, so the traceback's tensors can go
                    tried.append(B)
                    del b
                    free_memory(self.dev)
                    B //= 2
                ms = median(times)
                fpt = flops_per_token(arch, S, 0.0, sz["d"], sz["layers"], sz["d_ff"], sz["vocab"], False)
                tok_ms = B * S / ms
                res = dict(batch=B, ms=ms, tok_ms=tok_ms, useful_flops_per_token=fpt, tflops=tok_ms * 1e3 * fpt / 1e12)
                if tried:
                    res["oom_at_batch"] = tried
                if self.dev == "cuda":
                    res["peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
                if self.peak_tflops:
                    res["mfu"] = res["tflops"] / self.peak_tflops
                return res
            return fn

        for S in seqs:
            self.run("infer_%s_s%d" % (kind, S), fn_for(S), part="infer", model=kind, mode="eager", seq=S)
        model.clear()
        free_memory(self.dev)

    # ---- report

    @staticmethod
    def line(r):
        if "error" in r:
            return "%-34s ERROR %s" % (r["key"], r["error"][:300])
        if r["part"] == "peak":
            if "tflops" in r:
                return "%-34s %.1f TFLOP/s (bf16 %d^3, %.3f ms)" % (r["key"], r["tflops"], r["n"], r["ms"])
            return "%-34s %.2f TB/s (%d MiB copied, %.3f ms)" % (r["key"], r["tbps"], r["bytes"] >> 20, r["ms"])
        mfu = "%5.1f%%" % (100 * r["mfu"]) if "mfu" in r else "    - "
        mem = "%6.2f" % r["peak_mem_gib"] if "peak_mem_gib" in r else "     -"
        if r["part"] == "train":
            extra = "compile %.0f s" % r["compile_s"] if "compile_s" in r else ""
            return "%-34s %10.0f tok/s %8.2f ms %6.1f TF/s MFU %s mem %s GiB loss %.2f %s%s" % (
                r["key"], r["tok_s"], r["ms"], r["tflops"], mfu, mem, r["loss"], extra,
                " NOTE " + r["note"] if "note" in r else "")
        oom = " (OOM at batch %s)" % ",".join(map(str, r["oom_at_batch"])) if r.get("oom_at_batch") else ""
        return "%-34s %10.1f tok/ms %8.2f ms %6.1f TF/s MFU %s mem %s GiB batch %d%s" % (
            r["key"], r["tok_ms"], r["ms"], r["tflops"], mfu, mem, r["batch"], oom)

    def table(self):
        m = self.meta
        print()
        print("== PyTorch baselines: %s, torch %s, transformers %s%s" % (
            m.get("device", self.dev), m["torch"], m.get("transformers"), " (QUICK sizes)" if self.a.quick else ""))
        print("   MFU against %s" % ("%.1f TFLOP/s (%s)" % (self.peak_tflops, "measured bf16 GEMM"
                                                             if self.a.peak_tflops is None else "--peak-tflops")
                                   if self.peak_tflops else "no peak (none measured or given)"))
        print("   train: fwd+bwd+fused AdamW+zero_grad, bf16 autocast, 30%% masked; dropout hf %s, mosaic %s" % (
            self.dropout["hf"], self.dropout["mosaic"]))
        print("   infer: forward, no_grad, bf16 autocast over fp32 weights, no head")
        if "mosaic_src" in m or "mosaic_load" in m:
            print("   mosaic: %s; %s" % (m.get("mosaic_src", "?"), m.get("mosaic_load", "?")))
        for part in ("peak", "train", "infer"):
            rows = [r for r in self.rows if r["part"] == part]
            if rows:
                print("-- %s" % part)
                for r in rows:
                    print("   " + self.line(r) + ("  [%.0f s]" % r["wall_s"] if "wall_s" in r else ""))
        print("total %.0f s; JSON: %s" % (time.monotonic() - self.t0, self.a.out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.environ.get("OUT", "."), "torch_bench.json"))
    ap.add_argument("--mosaic-src", default=os.environ.get("MOSAIC_SRC"),
                    help="folder with the official bert_layers.py, bert_padding.py, configuration_bert.py")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-dropout", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=None, help="MFU denominator instead of the measured GEMM")
    ap.add_argument("--deadline-s", type=float, default=0.0)
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--profile", action="store_true", help="train rows: record the top kernels of one profiled step")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device (use --device cpu --quick to check the script)")
    torch.backends.cuda.matmul.allow_tf32 = True  # fp32 matmuls left outside autocast, if any
    torch.backends.cudnn.allow_tf32 = True
    bench = Bench(a)
    bench.save()
    q = a.quick
    train_shapes = [(128, 8), (256, 4)] if q else [(128, 256), (512, 64)]
    seqs = [512, 1024] if q else [512, 1024, 2048, 4096, 8192]
    tokens = 2 ** 13 if q else 2 ** 18
    bench.peak()
    # eager and inference first, compile last: a slow compile must not cost the other rows
    for kind in ("hf", "mosaic"):
        for S, B in train_shapes:
            bench.train(kind, False, S, B)
    for kind in ("hf", "mosaic"):
        bench.infer(kind, seqs, tokens)
    for kind in ("hf", "mosaic"):
        for S, B in train_shapes:
            bench.train(kind, True, S, B)
    bench.save()
    bench.table()


if __name__ == "__main__":
    main()
