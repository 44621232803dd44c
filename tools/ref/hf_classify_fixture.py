#!/usr/bin/env python3
"""Fixture for `bertc classify` against transformers (issue 7): a
BertForSequenceClassification saved with save_pretrained, and the logits
transformers computes for single texts and text pairs, tokenized by its own
BertTokenizerFast from the same vocab.txt.

  hf_classify_fixture.py WORDLIST OUTDIR     (WORDLIST: tokens, one per line; the
                                             five BERT specials are put in front)

OUTDIR gets config.json, model.safetensors, vocab.txt (the model), single.txt and
pairs.tsv (text_a<TAB>text_b), input_ids.txt (the ids the reference tokenizer gave),
and logits_single.tsv / logits_pairs.tsv (one row of num_labels logits per input, %.9g). The weights are random (seeded), not a
finetuned model: what the fixture pins is that bertc's tokenizer, pooler and
classifier compute what transformers computes from the same checkpoint.
Eval mode (no dropout), eager attention, float32. Written against transformers 5.17.
"""
import os
import sys

import torch
from tokenizers import BertWordPieceTokenizer
from transformers import BertConfig, BertForSequenceClassification

src_vocab, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
# the given word list with BERT's special tokens in front (a small model, a real vocabulary)
words = [w.rstrip("\n") for w in open(src_vocab, encoding="utf-8")]
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
vocab = os.path.join(out, "vocab.in.txt")
with open(vocab, "w", encoding="utf-8") as f:
    f.writelines(w + "\n" for w in specials + [w for w in words if w not in specials])
torch.manual_seed(20261122)
n_vocab = sum(1 for _ in open(vocab, encoding="utf-8"))
cfg = BertConfig(vocab_size=n_vocab, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=96, max_position_embeddings=64, num_labels=3, type_vocab_size=2)
cfg._attn_implementation = "eager"
m = BertForSequenceClassification(cfg).eval()
with torch.no_grad():  # larger than the init's 0.02 so that the logits spread out
    for p in m.parameters():
        p.mul_(5.0)
m.save_pretrained(out, safe_serialization=True)
# Tokenized by the Rust `tokenizers` WordPiece (what bertc's tokenizer is proven equal to);
# transformers 5.17's BertTokenizer(vocab_file=...) ignored the file here and gave [UNK]s.
tok = BertWordPieceTokenizer(vocab, lowercase=True)
os.replace(vocab, os.path.join(out, "vocab.txt"))
single = ["In the beginning God created the heaven and the earth.",
          "And God said, Let there be light: and there was light.",
          "And the evening and the morning were the first day.",
          "waters",
          "And God called the dry land Earth; and the gathering together of the waters called he Seas: and God saw that it was good."]
pairs = [("And God saw the light, that it was good.", "And God divided the light from the darkness."),
         ("And the earth was without form, and void;", "and darkness was upon the face of the deep."),
         ("Let the waters under the heaven be gathered together unto one place,", "and let the dry land appear: and it was so."),
         ("day", "night")]


ids_log = open(os.path.join(out, "input_ids.txt"), "w")


def logits(a, b=None):
    e = tok.encode(a, b) if b is not None else tok.encode(a)
    ids_log.write(" ".join(str(i) for i in e.ids) + "\n")
    ids, types = torch.tensor([e.ids]), torch.tensor([e.type_ids])
    with torch.no_grad():
        return m(input_ids=ids, token_type_ids=types, attention_mask=torch.ones_like(ids)).logits[0].tolist()


with open(os.path.join(out, "single.txt"), "w") as f:
    f.writelines(t + "\n" for t in single)
with open(os.path.join(out, "pairs.tsv"), "w") as f:
    f.writelines(a + "\t" + b + "\n" for a, b in pairs)
with open(os.path.join(out, "logits_single.tsv"), "w") as f:
    for t in single:
        f.write("\t".join("%.9g" % v for v in logits(t)) + "\n")
with open(os.path.join(out, "logits_pairs.tsv"), "w") as f:
    for a, b in pairs:
        f.write("\t".join("%.9g" % v for v in logits(a, b)) + "\n")
ids_log.close()
print("wrote", out, "transformers", __import__("transformers").__version__, "torch", torch.__version__)
