"""CPU forward throughput of HF BertForMaskedLM (PyTorch), for comparison with
`bertc bench` on the same machine and thread count. Random weights and tokens,
batch × seq tokens per step, fp32, eval mode, MLM logits on 30% of the rows
(as bertc computes them), eager and SDPA attention.

usage: python3 bench_cpu_forward.py [--threads N] [--batch 32] [--seq 128] [--steps 3]
"""
import argparse
import time

import torch
from transformers import BertConfig, BertForMaskedLM

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--seq", type=int, default=128)
ap.add_argument("--steps", type=int, default=3)
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)
for impl in ("sdpa", "eager"):
    model = BertForMaskedLM(BertConfig(attn_implementation=impl)).eval()
    ids = torch.randint(1000, 21000, (a.batch, a.seq))
    rows = torch.rand(a.batch, a.seq) < 0.3
    def step():
        with torch.inference_mode():
            h = model.bert(input_ids=ids).last_hidden_state
            return model.cls(h[rows])
    step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    T = a.batch * a.seq
    mean = sum(times) / len(times)
    print(f"torch {torch.__version__} BertForMaskedLM ({impl}) cpu threads {torch.get_num_threads()}: "
          f"batch {a.batch} x seq {a.seq}: mean {mean:.3f} s/step -> {T / mean:.0f} tokens/s (mean), "
          f"{T / min(times):.0f} tokens/s (best)")
