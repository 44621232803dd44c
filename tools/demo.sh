#!/usr/bin/env bash
# demo.sh — `make demo`: the main job on a small real corpus, on the CPU:
# fetch data → train a vocabulary → tokenize into shards → pretrain a small
# MosaicBERT (a few minutes) → evaluate → fill-mask with the trained model.
set -euo pipefail
cd "$(dirname "$0")/.."
B=./bertc
OUT=build/demo
step() { printf '\n== %s\n' "$*"; }

step "1/5 fetch the demo corpus (Brown, KJV, Moby-Dick, State of the Union; pinned versions, checked hashes)"
bash tools/data/fetch_all.sh
mkdir -p "$OUT"
wc -lw data/text/demo.txt | awk '{printf "demo corpus: %d documents, %d words\n", $1, $2}'

step "2/5 train a WordPiece vocabulary (8,000 tokens, padded to a multiple of 64)"
$B vocab -q -o "$OUT/vocab.txt" --vocab-size 8000 data/text/demo.txt
wc -l < "$OUT/vocab.txt" | awk '{printf "vocab.txt: %d tokens\n", $1}'

step "3/5 tokenize into shards (1% of the documents held out for evaluation)"
$B tokenize --vocab "$OUT/vocab.txt" -o "$OUT/shards" --holdout 0.01 --force data/text/demo.txt
$B info "$OUT"/shards/train-00000.bin

step "4/5 pretrain a small MosaicBERT on the CPU (tools/demo/pretrain.cfg; a few minutes)"
rm -rf "$OUT/run"
$B pretrain --run "$OUT/run" --config tools/demo/pretrain.cfg \
    --set data.train="$OUT/shards" --set data.val="$OUT/shards"
echo "evaluation (MLM on held-out text, 15% masking): first and last"
grep eval_loss "$OUT/run/metrics.jsonl" | sed -n '1p;$p'

step "5/5 fill-mask with the trained model"
ckpt="$OUT/run/checkpoints/$(cat "$OUT/run/checkpoints/latest")"
$B fill-mask --model "$ckpt" -k 5 \
    "In the beginning God created the [MASK] and the earth." \
    "And God said, Let there be [MASK]: and there was light." \
    "The president said that the [MASK] must act now." \
    "He opened the [MASK] and walked into the room."
echo
echo "demo done: model in $ckpt (config.json, model.safetensors, vocab.txt — the Hugging Face layout)"
