#!/usr/bin/env bash
# demo.sh — `make demo`: the pipeline on a small real corpus, on the CPU.
# Stages: fetch data → train a vocabulary → tokenize into shards → inspect.
# (Pretraining and fill-mask join this demo when `bertc pretrain` lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
B=./bertc
OUT=build/demo
step() { printf '\n== %s\n' "$*"; }

step "1/4 fetch the demo corpus (Brown, KJV, Moby-Dick, SOTU; pinned versions, checked hashes)"
bash tools/data/fetch_all.sh
mkdir -p "$OUT"
wc -lw data/text/demo.txt | awk '{printf "demo corpus: %d documents, %d words\n", $1, $2}'

step "2/4 train a WordPiece vocabulary (8,000 tokens, padded to a multiple of 64)"
$B vocab -o "$OUT/vocab.txt" --vocab-size 8000 data/text/demo.txt
wc -l < "$OUT/vocab.txt" | awk '{printf "vocab.txt: %d tokens\n", $1}'

step "3/4 tokenize into shards (1% held out for evaluation)"
$B tokenize --vocab "$OUT/vocab.txt" -o "$OUT/shards" --holdout 0.01 --force data/text/demo.txt

step "4/4 inspect"
$B info "$OUT"/shards/train-00000.bin
printf 'In the beginning God created the heaven and the earth.\nThe quick brown fox jumps over the lazy dog.\n' \
  | $B encode --vocab "$OUT/vocab.txt" --tokens -
echo
echo "demo done: shards in $OUT/shards (pretraining arrives with \`bertc pretrain\`)"
