#!/usr/bin/env python3
"""Bag-of-words logistic-regression baseline for a task directory of `make tasks`.

    python3 tools/ref/bow_baseline.py data/tasks/spam [--features tfidf|binary] [--json FILE]

Reads TASKDIR/{train,dev,test}.tsv (header "text<TAB>label", fields split on tabs, no
quoting). Pure standard library, so it runs where numpy and scikit-learn are absent.

Features: lowercased \\w+ tokens; vocabulary = train tokens seen at least twice in train
(sorted, so ids are deterministic). `tfidf` (default): sublinear tf 1 + ln(tf) times
idf = ln((1 + N) / (1 + df)) + 1 (N, df from train), each row L2-normalised.
`binary`: 1 for a present token, each row L2-normalised. A bias is always learned.

Model: multinomial logistic regression (softmax over all labels, also for two), one example
per step in an order shuffled each epoch by random.Random(seed), AdaGrad (step
lr * g / sqrt(sum g^2), accumulators start at 0), L2 penalty l2/2 * |w|^2 added to the
gradient of the weights an example touches (lazy: untouched weights are not decayed; the
bias is not penalised). Weights start at 0.

Model selection on dev only: the grid lr in {0.1, 0.5} x l2 in {0, 1e-4, 1e-3} x epochs
1..4 (dev evaluated after every epoch; on brown_genre dev stops improving after 1-5
epochs and l2 up to 1e-2 did not help); the best dev score (spam: F1 of the positive class;
otherwise macro-F1) wins, ties to the earlier grid point. Test is scored once, for the
selected model. Seed 0 unless --seed.

Prints a table (majority-class and selected model, dev and test) and a JSON line, which
--json FILE also appends to FILE.
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from operator import itemgetter, mul

TOKEN = re.compile(r"\w+")
LRS = (0.1, 0.5)
L2S = (0.0, 1e-4, 1e-3)
EPOCHS = 4


def read_tsv(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = f.read().split("\n")
    if lines[0] != "text\tlabel":
        sys.exit(f"{path}:1: expected the header 'text<TAB>label'")
    texts, labels = [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            sys.exit(f"{path}:{n}: expected 2 tab-separated fields, found {len(parts)}")
        texts.append(parts[0])
        labels.append(parts[1])
    return texts, labels


def featurize(token_lists, vocab, idf, kind):
    """token_lists → list of (getter, idx tuple, value tuple): one sparse row per example."""
    rows = []
    for toks in token_lists:
        tf = Counter(vocab[t] for t in toks if t in vocab)
        idx = tuple(sorted(tf))
        if kind == "tfidf":
            vals = [(1.0 + math.log(tf[j])) * idf[j] for j in idx]
        else:
            vals = [1.0] * len(idx)
        norm = math.sqrt(sum(v * v for v in vals)) or 1.0
        vals = tuple(v / norm for v in vals)
        # itemgetter(*idx)(w) gathers the row's weights in C; one index returns a scalar
        if len(idx) >= 2:
            get = itemgetter(*idx)
        elif idx:
            j0 = idx[0]
            get = lambda w, j0=j0: (w[j0],)
        else:
            get = lambda w: ()
        rows.append((get, idx, vals))
    return rows


def predict_proba(W, b, row):
    get, _, vals = row
    s = [bk + sum(map(mul, get(Wk), vals)) for Wk, bk in zip(W, b)]  # (K,) logits
    m = max(s)
    e = [math.exp(x - m) for x in s]
    z = sum(e)
    return [x / z for x in e]


def predict(W, b, rows):
    out = []
    for row in rows:
        p = predict_proba(W, b, row)
        out.append(max(range(len(p)), key=p.__getitem__))
    return out


def metrics(gold, pred, k, pos):
    """accuracy, macro-F1 over all k labels, and F1 of label pos (None when pos is None)."""
    tp, fp, fn = [0] * k, [0] * k, [0] * k
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    f1 = [2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) if tp[c] + fp[c] + fn[c] else 0.0 for c in range(k)]
    return {
        "accuracy": sum(tp) / len(gold),
        "macro_f1": sum(f1) / k,
        "f1": f1[pos] if pos is not None else None,
    }


def train_epoch(W, b, G, Gb, rows, ys, order, lr, l2):
    k = len(W)
    for i in order:
        get, idx, vals = rows[i]
        p = predict_proba(W, b, (get, idx, vals))
        y = ys[i]
        for c in range(k):
            g = p[c] - (1.0 if c == y else 0.0)  # d(cross-entropy)/d(logit c)
            Wc, Gc = W[c], G[c]
            for j, x in zip(idx, vals):
                w = Wc[j]
                gr = g * x + l2 * w
                a = Gc[j] + gr * gr
                Gc[j] = a
                if a > 0.0:
                    Wc[j] = w - lr * gr / math.sqrt(a)
            Gb[c] += g * g
            if Gb[c] > 0.0:
                b[c] -= lr * g / math.sqrt(Gb[c])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("taskdir")
    ap.add_argument("--features", choices=("tfidf", "binary"), default="tfidf")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--positive", default=None, help="label scored by F1 (default: 'spam' when it is a label)")
    ap.add_argument("--json", default=None, help="also append the JSON line to this file")
    args = ap.parse_args()
    t0 = time.time()
    task = os.path.basename(os.path.normpath(args.taskdir))
    data = {s: read_tsv(os.path.join(args.taskdir, s + ".tsv")) for s in ("train", "dev", "test")}

    labels = sorted(set(data["train"][1]))
    lid = {l: i for i, l in enumerate(labels)}
    for s in ("dev", "test"):
        unknown = set(data[s][1]) - set(labels)
        if unknown:
            sys.exit(f"{s}.tsv: labels not in train: {sorted(unknown)}")
    pos_name = args.positive or ("spam" if "spam" in lid else None)
    pos = lid[pos_name] if pos_name is not None else None
    headline = "f1" if pos is not None else "macro_f1"

    toks = {s: [TOKEN.findall(t.lower()) for t in data[s][0]] for s in data}
    counts = Counter(t for ts in toks["train"] for t in ts)
    vocab = {t: i for i, t in enumerate(sorted(t for t, c in counts.items() if c >= 2))}
    df = Counter(j for ts in toks["train"] for j in {vocab[t] for t in ts if t in vocab})
    n = len(toks["train"])
    idf = [math.log((1 + n) / (1 + df[j])) + 1.0 for j in range(len(vocab))]
    rows = {s: featurize(toks[s], vocab, idf, args.features) for s in data}
    ys = {s: [lid[l] for l in data[s][1]] for s in data}
    k, v = len(labels), len(vocab)

    # majority class of train, for scale
    maj = Counter(ys["train"]).most_common(1)[0][0]
    base = {s: metrics(ys[s], [maj] * len(ys[s]), k, pos) for s in ("dev", "test")}

    best = None  # (dev score, lr, l2, epochs, W, b)
    for lr in LRS:
        for l2 in L2S:
            rng = random.Random(args.seed)
            W = [[0.0] * v for _ in range(k)]  # (K, V) weights
            G = [[0.0] * v for _ in range(k)]  # (K, V) AdaGrad sums of squared gradients
            b, Gb = [0.0] * k, [0.0] * k  # (K,) bias and its accumulator
            order = list(range(n))
            for ep in range(1, EPOCHS + 1):
                rng.shuffle(order)
                train_epoch(W, b, G, Gb, rows["train"], ys["train"], order, lr, l2)
                m = metrics(ys["dev"], predict(W, b, rows["dev"]), k, pos)
                print(f"  lr {lr:<4} l2 {l2:<6g} epoch {ep}: dev acc {m['accuracy']:.4f} {headline} {m[headline]:.4f}",
                      file=sys.stderr)
                if best is None or m[headline] > best[0]:
                    best = (m[headline], lr, l2, ep, [list(r) for r in W], list(b))
    _, lr, l2, ep, W, b = best
    res = {s: metrics(ys[s], predict(W, b, rows[s]), k, pos) for s in ("dev", "test")}
    secs = time.time() - t0

    print(f"{task}: {k} labels, train {n} / dev {len(ys['dev'])} / test {len(ys['test'])}, "
          f"vocab {v} ({args.features}), selected lr {lr} l2 {l2:g} epochs {ep}, {secs:.1f} s")
    cols = ["accuracy", "macro_f1"] + (["f1"] if pos is not None else [])
    names = {"accuracy": "acc", "macro_f1": "macro-F1", "f1": f"F1({pos_name})"}
    print(f"| model | split | " + " | ".join(names[c] for c in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for model, r in (("majority", base), ("bow-logreg", res)):
        for s in ("dev", "test"):
            print(f"| {model} | {s} | " + " | ".join(f"{r[s][c]:.4f}" for c in cols) + " |")
    line = json.dumps({
        "task": task, "model": "bow-logreg", "features": args.features, "seed": args.seed,
        "labels": k, "vocab": v, "n": {s: len(ys[s]) for s in ys},
        "selected": {"lr": lr, "l2": l2, "epochs": ep, "by": "dev " + headline},
        "dev": res["dev"], "test": res["test"], "majority": base, "seconds": round(secs, 1),
    })
    print(line)
    if args.json:
        with open(args.json, "a", encoding="utf-8") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
