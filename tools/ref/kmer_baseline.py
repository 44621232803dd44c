#!/usr/bin/env python3
"""Bag-of-k-mers logistic-regression baseline for a few-shot DNA task of `make dna`.

    python3 tools/ref/kmer_baseline.py data/dna/tasks/coding [--k 6] [--canonical]
        [--seeds 0,1,2,3,4] [--shots 10,50,100,500,1000] [--novel 32] [--orf-rule] [--json FILE]

Reads TASKDIR/train_N.tsv for each shot count N and TASKDIR/test.tsv (header
"sequence<TAB>label", raw upper-case bases, no quoting). Pure standard library.

Features: counts of every k-mer of the window for each k in --k (e.g. "6" or "3,4,5,6";
k-mers with a base other than ACGT are skipped); --canonical merges a k-mer with its
reverse complement (strand-symmetric features). Each row is L2-normalised. The feature
space is all 4^k (or canonical) k-mers, so no vocabulary is learned from train.

Model: multinomial logistic regression trained by bow_baseline.train_epoch (AdaGrad, one
example per step, order shuffled each epoch by random.Random(seed), lazy L2, weights at 0).
The few-shot protocol has no dev set, so nothing is selected: lr 0.1, l2 1e-4 and the
epoch counts of GeneMask's finetuning script (20 epochs for N <= 100, 5 for N >= 500) are
fixed. Test is scored once per (N, seed); the table reports mean and sample standard
deviation over the seeds.

--novel K also scores the test windows that share no K-mer (on either strand) with any
window of that train_N.tsv, to show how much of the score comes from repeated sequence.
--orf-rule adds the rule "coding when one of the six reading frames has no stop codon"
(no training; only for labels coding/noncoding).
"""
import argparse
import json
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from itertools import product

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bow_baseline import metrics, predict, train_epoch  # noqa: E402

COMP = str.maketrans("ACGT", "TGCA")
LR, L2 = 0.1, 1e-4


def revcomp(s):
    return s.translate(COMP)[::-1]


def read_tsv(path):
    with open(path, encoding="ascii", newline="\n") as f:
        lines = f.read().split("\n")
    if lines[0] != "sequence\tlabel":
        sys.exit(f"{path}:1: expected the header 'sequence<TAB>label'")
    seqs, labels = [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            sys.exit(f"{path}:{n}: expected 'sequence<TAB>label'")
        seqs.append(parts[0])
        labels.append(parts[1])
    return seqs, labels


def kmer_index(ks, canonical):
    """{k-mer: feature id} over all k-mers of the lengths ks (canonical: one id per pair)."""
    idx, n = {}, 0
    for k in ks:
        for t in product("ACGT", repeat=k):
            s = "".join(t)
            key = min(s, revcomp(s)) if canonical else s
            if key not in idx:
                idx[key] = n
                n += 1
            idx[s] = idx[key]
    return idx


def featurize(seqs, ks, idx):
    rows = []
    for s in seqs:
        c = Counter()
        for k in ks:
            for i in range(len(s) - k + 1):
                j = idx.get(s[i:i + k])
                if j is not None:
                    c[j] += 1
        ids = tuple(sorted(c))
        norm = math.sqrt(sum(v * v for v in c.values())) or 1.0
        vals = tuple(c[j] / norm for j in ids)
        rows.append((lambda w, ids=ids: [w[j] for j in ids], ids, vals))
    return rows


def kmers_both_strands(s, k):
    out = set()
    for t in (s, revcomp(s)):
        out.update(t[i:i + k] for i in range(len(t) - k + 1))
    return out


def orf_open(s):
    stops = ("TAA", "TAG", "TGA")
    for t in (s, revcomp(s)):
        for f in range(3):
            if all(t[i:i + 3] not in stops for i in range(f, len(t) - 2, 3)):
                return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("taskdir")
    ap.add_argument("--k", default="6", help="comma-separated k-mer lengths (default 6)")
    ap.add_argument("--canonical", action="store_true", help="merge each k-mer with its reverse complement")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--shots", default="10,50,100,500,1000")
    ap.add_argument("--novel", type=int, default=32, help="K of the novel-test subset (0: off)")
    ap.add_argument("--orf-rule", action="store_true")
    ap.add_argument("--json", default=None, help="also append the JSON lines to this file")
    args = ap.parse_args()
    ks = [int(x) for x in args.k.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    shots = [int(x) for x in args.shots.split(",")]
    task = os.path.basename(os.path.normpath(args.taskdir))
    feats = ("canonical " if args.canonical else "") + "k=" + ",".join(map(str, ks))

    test_x, test_y = read_tsv(os.path.join(args.taskdir, "test.tsv"))
    labels = sorted(set(test_y))
    lid = {l: i for i, l in enumerate(labels)}
    k = len(labels)
    idx = kmer_index(ks, args.canonical)
    nfeat = len(set(idx.values()))
    test_rows = featurize(test_x, ks, idx)
    ty = [lid[l] for l in test_y]
    print(f"{task}: {k} labels {labels}, test {len(ty)} rows, features {feats} ({nfeat} ids), "
          f"lr {LR} l2 {L2:g}, seeds {seeds}")
    out_lines = []
    if args.orf_rule:
        if set(labels) != {"coding", "noncoding"}:
            sys.exit("--orf-rule needs the labels coding and noncoding")
        pred = [lid["coding"] if orf_open(s) else lid["noncoding"] for s in test_x]
        m = metrics(ty, pred, k, None)
        print(f"| stop-free frame rule | — | — | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | | |")
        out_lines.append({"task": task, "model": "orf-rule", "test": m})

    print("| model | N per class | epochs | test acc (mean ± sd) | test macro-F1 | novel test acc | novel rows |")
    print("|---|---|---|---|---|---|---|")
    for n in shots:
        t0 = time.time()
        tr_x, tr_y = read_tsv(os.path.join(args.taskdir, f"train_{n}.tsv"))
        unknown = set(tr_y) - set(labels)
        if unknown:
            sys.exit(f"train_{n}.tsv: labels not in test: {sorted(unknown)}")
        rows = featurize(tr_x, ks, idx)
        ys = [lid[l] for l in tr_y]
        epochs = 20 if n <= 100 else 5
        novel = None
        if args.novel:
            seen = set()
            for s in tr_x:
                seen |= kmers_both_strands(s, args.novel)
            novel = [i for i, s in enumerate(test_x)
                     if not any(s[j:j + args.novel] in seen for j in range(len(s) - args.novel + 1))]
        accs, f1s, naccs = [], [], []
        for seed in seeds:
            rng = random.Random(seed)
            W = [[0.0] * nfeat for _ in range(k)]
            G = [[0.0] * nfeat for _ in range(k)]
            b, Gb = [0.0] * k, [0.0] * k
            order = list(range(len(rows)))
            for _ in range(epochs):
                rng.shuffle(order)
                train_epoch(W, b, G, Gb, rows, ys, order, LR, L2)
            pred = predict(W, b, test_rows)
            m = metrics(ty, pred, k, None)
            accs.append(m["accuracy"])
            f1s.append(m["macro_f1"])
            if novel:
                naccs.append(sum(pred[i] == ty[i] for i in novel) / len(novel))
        sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
        nov = f"{statistics.mean(naccs):.4f} ± {sd(naccs):.4f}" if naccs else "—"
        print(f"| kmer-logreg ({feats}) | {n} | {epochs} | {statistics.mean(accs):.4f} ± {sd(accs):.4f} | "
              f"{statistics.mean(f1s):.4f} ± {sd(f1s):.4f} | {nov} | {len(novel) if novel is not None else '—'} |",
              flush=True)
        out_lines.append({
            "task": task, "model": "kmer-logreg", "features": feats, "shots": n, "epochs": epochs,
            "lr": LR, "l2": L2, "seeds": seeds, "test_accuracy": accs, "test_macro_f1": f1s,
            "novel_k": args.novel, "novel_rows": len(novel) if novel is not None else None,
            "novel_accuracy": naccs, "seconds": round(time.time() - t0, 1),
        })
    for line in out_lines:
        s = json.dumps(line)
        print(s)
        if args.json:
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(s + "\n")


if __name__ == "__main__":
    main()
