"""flash_sdpa_bench.py — PyTorch scaled_dot_product_attention at the shapes of
bench/flash_bench.cu, for comparison in the same device call.

Padded (B, nh, L, dh) bf16 tensors (all sequences have length L, so padding costs
nothing here), random normal inputs, CUDA events, median of `reps` after 3 warm-ups.
Rows:
  sdpa        no mask: PyTorch picks its fastest backend (the one used is printed);
  sdpa+bias   an additive ALiBi bias (1, nh, L, L) bf16 as attn_mask (a backend that
              takes a bias; skipped when the bias would not fit).
FLOPs as flash_bench.cu: forward 4·B·L²·dh·nh, backward 2.5× that.

Usage: python3 tools/ref/flash_sdpa_bench.py [reps]
"""
import sys

import torch
import torch.nn.functional as F

SHAPES = [(256, 128, 12, 64), (32, 512, 12, 64), (4, 4096, 12, 64), (1, 8192, 12, 64),
          (256, 128, 6, 128), (32, 512, 6, 128), (4, 4096, 6, 128), (1, 8192, 6, 128)]


def median_ms(fn, reps):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def alibi_bias(nh, L, device):
    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / nh) for h in range(nh)], device=device)
    pos = torch.arange(L, device=device)
    dist = (pos[None, :] - pos[:, None]).abs().float()
    return (-slopes[:, None, None] * dist[None]).to(torch.bfloat16)[None]  # (1, nh, L, L)


def backend_name(q, k, v, mask):
    """Which SDPA backend PyTorch takes for these inputs (first that accepts them)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    for be in (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
               SDPBackend.MATH):
        try:
            with sdpa_kernel([be]):
                F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return be.name
        except RuntimeError:
            continue
    return "?"


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}; median of {reps} runs after 3 warm-ups")
    print(f"{'B':>5} {'L':>5} {'nh':>3} {'dh':>4} {'kind':>10} | {'fwd ms':>9} {'TFLOP/s':>8} | "
          f"{'bwd ms':>9} {'TFLOP/s':>8} | backend (first accepted)")
    for B, L, nh, dh in SHAPES:
        for kind in ("sdpa", "sdpa+bias"):
            try:
                torch.manual_seed(0)
                q, k, v = (torch.randn(B, nh, L, dh, device=dev, dtype=torch.bfloat16, requires_grad=True)
                           for _ in range(3))
                dout = torch.randn(B, nh, L, dh, device=dev, dtype=torch.bfloat16)
                mask = None
                if kind == "sdpa+bias":
                    if nh * L * L * 2 > 4 << 30:
                        print(f"{B:>5} {L:>5} {nh:>3} {dh:>4} {kind:>10} | skipped: bias too large")
                        continue
                    mask = alibi_bias(nh, L, dev)
                out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
                fwd = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), reps)
                bwd = median_ms(lambda: torch.autograd.grad(out, (q, k, v), dout, retain_graph=True), reps)
                fl = 4.0 * B * L * L * dh * nh
                print(f"{B:>5} {L:>5} {nh:>3} {dh:>4} {kind:>10} | {fwd:9.4f} {fl / fwd / 1e9:8.1f} | "
                      f"{bwd:9.4f} {2.5 * fl / bwd / 1e9:8.1f} | {backend_name(q, k, v, mask)}", flush=True)
                del q, k, v, dout, out, mask
                torch.cuda.empty_cache()
            except Exception as e:  # record and go on
                print(f"{B:>5} {L:>5} {nh:>3} {dh:>4} {kind:>10} | error: {str(e).splitlines()[0][:120]}", flush=True)
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
