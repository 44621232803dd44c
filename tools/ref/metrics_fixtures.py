#!/usr/bin/env python3
"""Reference values for tests/test_metrics.c, computed by scikit-learn and scipy.

Draws a few hundred deterministic random inputs (fixed seed): single-label class
predictions (2 to 10 classes, skewed and missing classes, constant predictions),
multi-label 0/1 matrices (all-zero and all-one columns), and regression pairs with
many ties (integer and 0.2-step targets as in STS-B, discretised predictions,
constants, n = 0 and 1). Each metric is computed with sklearn.metrics /
scipy.stats; a call that raises is recorded as raised (the C test then checks
bertc's documented choice).

Writes a C include file to stdout: inputs and expected values as exact hex
literals. Regression targets are rounded to float32 first (bertc keeps targets in
float) and handed to scipy as float64.

    python3 tools/ref/metrics_fixtures.py > tests/fixtures/metrics_sklearn.inc
"""
import sys
import warnings

import numpy as np
import scipy
import scipy.stats
import sklearn
import sklearn.metrics as skm

SEED = 20241122
rng = np.random.default_rng(SEED)
warnings.simplefilter("ignore")  # sklearn/scipy warn on the ill-defined cases we draw on purpose

labels_pool = []   # int32: pred block then gold block of each single-label input
sets_pool = []     # uint8: pred (n, k) then gold (n, k) of each multi-label input
pred_pool = []     # float64 regression predictions
gold_pool = []     # float32 regression targets (same offsets as pred_pool)
cases = []         # (metric, input kind, n, k, pred offset, gold offset, value, raised)


def ref(fn, *args, **kw):
    try:
        v = float(fn(*args, **kw))
        return v, 0
    except Exception:  # noqa: BLE001 -- any refusal is recorded as "raised"
        return float("nan"), 1


# ---- single-label classification ---------------------------------------------
def add_class_input(pred, gold, k):
    pred = np.asarray(pred, dtype=np.int64)
    gold = np.asarray(gold, dtype=np.int64)
    n = len(gold)
    po = len(labels_pool)
    labels_pool.extend(int(v) for v in pred)
    go = len(labels_pool)
    labels_pool.extend(int(v) for v in gold)
    metrics = [
        ("accuracy", lambda: skm.accuracy_score(gold, pred)),
        ("macro_f1", lambda: skm.f1_score(gold, pred, average="macro")),
        ("micro_f1", lambda: skm.f1_score(gold, pred, average="micro")),
        ("mcc", lambda: skm.matthews_corrcoef(gold, pred)),
    ]
    if k == 2:
        metrics += [
            ("f1", lambda: skm.f1_score(gold, pred)),
            ("precision", lambda: skm.precision_score(gold, pred)),
            ("recall", lambda: skm.recall_score(gold, pred)),
        ]
    for name, fn in metrics:
        v, raised = ref(fn)
        cases.append((name, "c", n, k, po, go, v, raised))


def draw_labels(n, k, style):
    if style == "uniform":
        return rng.integers(0, k, n)
    if style == "skewed":
        p = rng.dirichlet(np.full(k, 0.4))
        return rng.choice(k, size=n, p=p)
    if style == "const":
        return np.full(n, rng.integers(0, k))
    raise ValueError(style)


for n in (1, 2, 3, 4, 5, 7, 10, 16, 33, 64, 100, 257, 500):
    for k in (2, 2, 3, 5, 10):
        for style in ("uniform", "skewed"):
            if n >= 257 and style == "skewed" and k != 2:
                continue  # keep the file small: the large sizes once per class count
            gold = draw_labels(n, k, style)
            q = rng.uniform(0.0, 1.0)  # how often the prediction copies the gold label
            noise = draw_labels(n, k, rng.choice(["uniform", "skewed", "const"]))
            pred = np.where(rng.uniform(size=n) < q, gold, noise)
            add_class_input(pred, gold, k)

# hand-picked shapes: perfect, inverse, constant prediction or gold, one class only
for n, k in ((6, 2), (9, 3), (40, 2), (25, 4)):
    gold = rng.integers(0, k, n)
    add_class_input(gold, gold, k)                                   # perfect
    add_class_input((k - 1) - gold, gold, k)                         # inverse (binary: 1 − gold)
    add_class_input(np.zeros(n, dtype=np.int64), gold, k)            # always class 0
    add_class_input(np.ones(n, dtype=np.int64), gold, k)             # always class 1
    add_class_input(gold, np.full(n, k - 1), k)                      # constant gold
    add_class_input(np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), k)  # only class 0
    add_class_input(np.ones(n, dtype=np.int64), np.ones(n, dtype=np.int64), k)    # only class 1
add_class_input([], [], 2)                                           # n = 0


# ---- multi-label --------------------------------------------------------------
def add_set_input(pred, gold):
    pred = np.asarray(pred, dtype=np.int64)
    gold = np.asarray(gold, dtype=np.int64)
    n, k = gold.shape
    po = len(sets_pool)
    sets_pool.extend(int(v) for v in pred.ravel())
    go = len(sets_pool)
    sets_pool.extend(int(v) for v in gold.ravel())
    for name, fn in (
        ("accuracy", lambda: skm.accuracy_score(gold, pred)),
        ("macro_f1", lambda: skm.f1_score(gold, pred, average="macro")),
        ("micro_f1", lambda: skm.f1_score(gold, pred, average="micro")),
    ):
        v, raised = ref(fn)
        cases.append((name, "m", n, k, po, go, v, raised))


for n in (1, 2, 3, 5, 8, 20, 50, 120):
    for k in (2, 3, 5, 12):
        dens = rng.choice([0.0, 0.1, 0.3, 0.5, 0.9, 1.0], size=k)  # per column: some all-0, all-1
        gold = (rng.uniform(size=(n, k)) < dens).astype(np.int64)
        flip = rng.uniform(0.0, 0.6)
        pred = np.where(rng.uniform(size=(n, k)) < flip, 1 - gold, gold)
        add_set_input(pred, gold)
g = (rng.uniform(size=(10, 4)) < 0.5).astype(np.int64)
add_set_input(g, g)                                                  # perfect
add_set_input(1 - g, g)                                              # every bit wrong
add_set_input(np.zeros((7, 3), dtype=np.int64), np.zeros((7, 3), dtype=np.int64))  # empty sets


# ---- regression ------------------------------------------------------------------
def add_value_input(pred, gold):
    pred = np.asarray(pred, dtype=np.float64)
    gold = np.asarray(gold, dtype=np.float32).astype(np.float64)  # what bertc holds
    n = len(gold)
    off = len(pred_pool)
    pred_pool.extend(float(v) for v in pred)
    gold_pool.extend(float(v) for v in gold)
    for name, fn in (
        ("pearson", lambda: scipy.stats.pearsonr(pred, gold)[0]),
        ("spearman", lambda: scipy.stats.spearmanr(pred, gold)[0]),
    ):
        v, raised = ref(fn)
        cases.append((name, "r", n, 0, off, off, v, raised))


def draw_gold(n, style):
    if style == "normal":
        return rng.normal(0.0, 1.0, n)
    if style == "stsb":
        return np.round(rng.uniform(0.0, 5.0, n) * 5.0) / 5.0   # 0.2 steps: ties
    if style == "int":
        return rng.integers(0, 4, n).astype(np.float64)         # 4 values: many ties
    if style == "scaled":
        return rng.normal(1e3, 1e-1, n)                          # large mean, small spread
    raise ValueError(style)


for n in (2, 3, 4, 5, 8, 13, 30, 64, 100, 250, 500):
    for style in ("normal", "stsb", "int", "scaled"):
        if n >= 250 and style in ("normal", "scaled"):
            continue
        gold = draw_gold(n, style).astype(np.float32).astype(np.float64)
        sign = rng.choice([-1.0, 1.0])
        noise = rng.uniform(0.0, 2.0) * np.std(gold) if np.std(gold) > 0 else 1.0
        pred = sign * gold + rng.normal(0.0, noise, n) + rng.normal()
        if rng.uniform() < 0.4:
            pred = np.round(pred * 2.0) / 2.0                    # ties in the prediction too
        add_value_input(pred, gold)
        add_value_input(rng.normal(0.0, 1.0, n), gold)           # unrelated

# hand-picked: perfect, inverse, monotone non-linear, constants, tiny n
x = rng.normal(0.0, 1.0, 20).astype(np.float32).astype(np.float64)
add_value_input(x, x)
add_value_input(-x, x)
add_value_input(np.exp(x), x)                                    # spearman 1, pearson < 1
add_value_input(np.full(20, 0.5), x)                             # constant prediction
add_value_input(x, np.full(20, 3.0))                             # constant target
add_value_input([1.0, 2.0, 2.0, 3.0], [1.0, 1.0, 2.0, 2.0])      # ties on both sides
add_value_input([0.25], [1.0])                                   # n = 1
add_value_input([], [])                                          # n = 0


# ---- output ---------------------------------------------------------------------
def hexd(v):
    if v != v:
        return "NAN"
    return float(v).hex()


def emit_array(ctype, name, vals, fmt, per_line=16):
    out = sys.stdout
    out.write("static const %s %s[%d] = {\n" % (ctype, name, max(len(vals), 1)))
    if not vals:
        out.write("    0,\n")
    for i in range(0, len(vals), per_line):
        out.write("    " + ", ".join(fmt(v) for v in vals[i:i + per_line]) + ",\n")
    out.write("};\n")


out = sys.stdout
out.write("/* generated by tools/ref/metrics_fixtures.py (scikit-learn %s, scipy %s, numpy %s, seed %d);"
          " do not edit */\n" % (sklearn.__version__, scipy.__version__, np.__version__, SEED))
out.write("/* %d cases */\n" % len(cases))
emit_array("int32_t", "mx_labels", labels_pool, str, 40)
emit_array("uint8_t", "mx_sets", sets_pool, str, 40)
emit_array("double", "mx_pred_values", pred_pool, hexd, 6)
emit_array("float", "mx_gold_values", gold_pool, lambda v: hexd(v) + "f", 6)
out.write("typedef struct {\n"
          "    const char *metric;  /* bertc's name of the metric */\n"
          "    char input;          /* 'c' class ids, 'm' multi-label sets, 'r' regression values */\n"
          "    int n, k;            /* examples; classes or label columns */\n"
          "    int pred, gold;      /* offsets into mx_labels / mx_sets / mx_*_values */\n"
          "    double want;         /* sklearn's or scipy's value */\n"
          "    int raised;          /* the reference raised instead of returning a value */\n"
          "} mx_case;\n")
out.write("static const mx_case mx_cases[%d] = {\n" % len(cases))
for name, kind, n, k, po, go, v, raised in cases:
    out.write('    {"%s", \'%s\', %d, %d, %d, %d, %s, %d},\n' % (name, kind, n, k, po, go, hexd(v), raised))
out.write("};\n")
