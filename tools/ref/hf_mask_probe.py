#!/usr/bin/env python3
"""Prints the additive attention mask that transformers' eager BERT attention
receives (dtype, shape, distinct values), for docs/fixtures.md: it wraps
modeling_bert.eager_attention_forward and runs the tiny fixture model once per
dtype on a padded batch."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
from transformers.models.bert import modeling_bert as mb  # noqa: E402

seen = []
orig = mb.eager_attention_forward


def spy(module, query, key, value, attention_mask, *a, **k):
    seen.append(attention_mask)
    return orig(module, query, key, value, attention_mask, *a, **k)


mb.eager_attention_forward = spy
for dt in (torch.float32, torch.float64):
    seen.clear()
    m = mf.hf_bert("mlm", mf.TINY, dt)
    am = torch.tensor([[1, 1, 1, 0]])
    with torch.no_grad():
        m(input_ids=torch.tensor([[5, 6, 7, 0]]), attention_mask=am)
    if not seen:
        print("%s: eager_attention_forward was not called through the module global" % dt)
        continue
    a = seen[0]
    if a is None:
        print("%s: attention_mask None" % dt)
        continue
    print("%s: %d calls, mask dtype %s shape %s values %s (finfo.min %r)" % (
        dt, len(seen), a.dtype, tuple(a.shape), sorted(set(a.flatten().tolist())), torch.finfo(dt).min))
