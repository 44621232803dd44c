#!/usr/bin/env python3
"""Training curves of one or more bertc runs, from their metrics.jsonl.

  plot_curves.py --out curve.png [--logx] [--smooth 0.9] [--title T] LABEL=PATH [LABEL=PATH ...]
  plot_curves.py --synthetic DIR     write two made-up metrics.jsonl files to try it on

metrics.jsonl: one JSON object a line. Train lines carry "step" and "loss"
(and "lr", "tokens", "tokens_per_s"); eval lines carry "step" and "eval_loss"
and/or "eval_accuracy" (masked-token accuracy, 0..1). Other lines, and lines
that do not parse, are skipped (counted in the summary).

Top panel: train loss vs step, raw (light) and smoothed (exponential moving
average with weight --smooth, bias-corrected so the start is not pulled to 0),
and eval loss (markers). Bottom panel: eval masked accuracy vs step. One colour
a run. --logx: log-scale steps (step 0 is left out there). Prints a summary
line a run (points read, last smoothed train loss, best eval loss, last eval
accuracy, median tokens/s). Needs matplotlib (Agg backend, no display).
"""
import argparse
import json
import math
import os
import random
import sys


def read_metrics(path):
    """-> dict(train=[(step, loss)], eval_loss=[(step, v)], eval_acc=[(step, v)], tps=[...], skipped=n)."""
    out = dict(train=[], eval_loss=[], eval_acc=[], tps=[], skipped=0)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
                step = d["step"]
            except (ValueError, KeyError, TypeError):
                out["skipped"] += 1
                continue
            used = False
            for key, dst in (("loss", "train"), ("eval_loss", "eval_loss"), ("eval_accuracy", "eval_acc")):
                v = d.get(key)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    out[dst].append((step, float(v)))
                    used = True
            v = d.get("tokens_per_s")
            if isinstance(v, (int, float)) and math.isfinite(v):
                out["tps"].append(float(v))
            if not used:
                out["skipped"] += 1
    for k in ("train", "eval_loss", "eval_acc"):
        out[k].sort()
    return out


def ema(values, beta):
    """Bias-corrected exponential moving average (beta 0 = no smoothing)."""
    out, m = [], 0.0
    for i, v in enumerate(values):
        m = beta * m + (1 - beta) * v
        out.append(m / (1 - beta ** (i + 1)) if beta > 0 else v)
    return out


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def parse_runs(specs):
    runs = []
    for s in specs:
        label, sep, path = s.partition("=")
        if not sep:  # a bare path: label it by its folder
            label, path = os.path.basename(os.path.dirname(os.path.abspath(s))) or s, s
        runs.append((label, path))
    return runs


def plot(runs, out, logx=False, smooth=0.9, title=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 8), sharex=True, gridspec_kw=dict(height_ratios=[3, 2]))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    summary = []
    keep = (lambda s: s > 0) if logx else (lambda s: True)
    for i, (label, path) in enumerate(runs):
        m = read_metrics(path)
        c = colors[i % len(colors)]
        tr = [(s, v) for s, v in m["train"] if keep(s)]
        if tr:
            steps, loss = zip(*tr)
            ax1.plot(steps, loss, color=c, alpha=0.2, linewidth=0.8)
            ax1.plot(steps, ema(loss, smooth), color=c, linewidth=1.6, label="%s train" % label)
        ev = [(s, v) for s, v in m["eval_loss"] if keep(s)]
        if ev:
            ax1.plot(*zip(*ev), color=c, marker="o", markersize=5, linestyle="--", linewidth=0.8,
                     label="%s eval" % label)
        ea = [(s, v) for s, v in m["eval_acc"] if keep(s)]
        if ea:
            ax2.plot(*zip(*ea), color=c, marker="o", markersize=5, linewidth=1.2, label=label)
        summary.append(dict(label=label, path=path, train_points=len(m["train"]), eval_points=len(m["eval_loss"]),
                            acc_points=len(m["eval_acc"]), skipped=m["skipped"],
                            last_train_smoothed=ema([v for _, v in m["train"]], smooth)[-1] if m["train"] else None,
                            best_eval_loss=min((v for _, v in m["eval_loss"]), default=None),
                            last_eval_acc=m["eval_acc"][-1][1] if m["eval_acc"] else None,
                            median_tokens_per_s=median(m["tps"]) if m["tps"] else None))
    ax1.set_ylabel("MLM loss")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.set_ylabel("eval masked accuracy")
    ax2.set_xlabel("step")
    ax2.grid(True, alpha=0.3)
    if ax2.lines:
        ax2.legend(fontsize=8)
    else:
        ax2.text(0.5, 0.5, "no eval_accuracy lines", transform=ax2.transAxes, ha="center", va="center")
    if logx:
        ax2.set_xscale("log")
    ax1.set_title(title or "training curves (train: light raw, dark EMA %.2f; eval: markers)" % smooth, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return summary


def write_synthetic(d, seed=1):
    """Two made-up runs (a power-law loss with noise; eval every 100 steps), for
    trying the plotter: cpu = 1000 steps, gpu = 2000 steps and a little lower."""
    os.makedirs(d, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for name, steps, floor in (("cpu", 1000, 2.4), ("gpu", 2000, 2.2)):
        p = os.path.join(d, "metrics_%s.jsonl" % name)
        with open(p, "w") as f:
            for s in range(1, steps + 1):
                base = floor + 8.0 * (s / 10 + 1) ** -0.6
                lr = 5e-4 * min(1.0, s / 100)
                f.write(json.dumps(dict(step=s, loss=round(base + rng.gauss(0, 0.15), 4), lr=lr, tokens=s * 32768,
                                        tokens_per_s=round(3e5 + rng.gauss(0, 5e3)))) + "\n")
                if s % 100 == 0:
                    f.write(json.dumps(dict(step=s, eval_loss=round(base + 0.05, 4),
                                            eval_accuracy=round(0.74 - 0.06 * base, 4))) + "\n")
            f.write("not json: a line the reader must skip\n")
        paths.append(p)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="*", help="LABEL=PATH to a metrics.jsonl")
    ap.add_argument("--out", default="curve.png")
    ap.add_argument("--logx", action="store_true")
    ap.add_argument("--smooth", type=float, default=0.9, help="EMA weight of the past, 0..<1")
    ap.add_argument("--title")
    ap.add_argument("--synthetic", metavar="DIR", help="write two synthetic metrics files into DIR and stop")
    a = ap.parse_args()
    if a.synthetic:
        for p in write_synthetic(a.synthetic):
            print(p)
        return 0
    if not a.runs:
        ap.error("give at least one LABEL=PATH")
    if not 0 <= a.smooth < 1:
        ap.error("--smooth must be in [0, 1)")
    summary = plot(parse_runs(a.runs), a.out, a.logx, a.smooth, a.title)
    fmt = lambda v, f: "-" if v is None else f % v  # noqa: E731
    for s in summary:
        print("%-12s train %5d eval %4d acc %4d skipped %d | last train (EMA) %s best eval %s last acc %s "
              "median tok/s %s  (%s)" % (s["label"], s["train_points"], s["eval_points"], s["acc_points"],
                                         s["skipped"], fmt(s["last_train_smoothed"], "%.3f"),
                                         fmt(s["best_eval_loss"], "%.3f"), fmt(s["last_eval_acc"], "%.3f"),
                                         fmt(s["median_tokens_per_s"], "%.0f"), s["path"]))
    print("wrote", a.out)
    return 0 if all(s["train_points"] or s["eval_points"] for s in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
