#!/usr/bin/env bash
# vocab_jaccard.sh — `make vocab-jaccard`: train a WordPiece vocab on data/text/demo.txt with
# npm tokenizers@0.23.2 and with `bertc vocab`, and print the Jaccard overlap of the token
# sets (before the [unusedN] padding), sizes, merge-order agreement and both timings.
#
# The Node binding can only train with the default WordPieceTrainer (vocab_size 30000,
# min_frequency 0, no special tokens, no alphabet limit), so the reference is that run:
#   A. bertc with the same settings, vocab 30000                      → Jaccard vs all 30000
#   B. bertc --vocab-size 8000 (same settings)                        → vs the reference's ids < 8000
#      (training is sequential: stopping at 8000 gives exactly the first 8000 ids)
#   C. bertc with the BERT defaults (30522, min_frequency 2, limit_alphabet 1000, 5 specials)
#      → its ids 5…30004 vs the reference's 30000 (the reference cannot go past 30000)
#   D. bertc with the reference run's "##c" id order (--cont-order): must be byte-identical.
# Required: Jaccard >= 0.99 for A, B, C.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRI=sha512-OS99VXTXuGuyUncICcS0hEawgKQlrFVKNU+UlzRsTN03RpOeJiCmcai5nKg3JrdIvUDo7/RC5puVEjlJd2e5oA==
CORPUS=${CORPUS:-data/text/demo.txt}
[ -s "$CORPUS" ] || { echo "vocab-jaccard: $CORPUS missing: run 'make data' first" >&2; exit 1; }
[ -x ./bertc ] || { echo "vocab-jaccard: ./bertc missing: run 'make' first" >&2; exit 1; }
pkg=$(bash tools/parity/npm_fetch.sh tokenizers 0.23.2 "$SRI")
case $pkg in /*) ;; *) pkg=$PWD/$pkg ;; esac  # node require() wants an absolute path
out=build/vocab-jaccard; mkdir -p "$out"
J=tools/parity/vocab_jaccard.js
export MIN_JACCARD=0.99
wc -w "$CORPUS" | awk '{printf "corpus: %s, %d words\n", $2, $1}'

echo "== reference: npm tokenizers@0.23.2 WordPieceTrainer (defaults), BertNormalizer + BertPreTokenizer"
{ node "$J" train "$pkg" "$out/ref.txt" bert "$CORPUS" 2>"$out/ref.log" || { cat "$out/ref.log" >&2; exit 1; }; } | { grep -v "^[[:space:]]*$" || true; }

plain="--special= --min-frequency 0 --limit-alphabet 0 --pad-multiple 1"
timed() { # timed LABEL ARGS… : run bertc vocab and print its wall time
  local label=$1; shift
  local t0 t1; t0=$(date +%s.%N)
  ./bertc vocab -q "$@"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v l="$label" 'BEGIN{printf "bertc (%s): %.2f s\n", l, b-a}'
}
echo "== A: vocab 30000, same settings as the reference"
timed "30000" -o "$out/bertc_30000.txt" --vocab-size 30000 $plain "$CORPUS"
node "$J" compare "$out/ref.txt" "$out/bertc_30000.txt"
echo "== B: vocab 8000"
timed "8000" -o "$out/bertc_8000.txt" --vocab-size 8000 $plain "$CORPUS"
node "$J" compare "$out/ref.txt" "$out/bertc_8000.txt" 8000
echo "== C: BERT defaults (30522, min_frequency 2, limit_alphabet 1000, 5 specials; padded to 64)"
timed "bert defaults" -o "$out/bertc_bert.txt" --vocab-size 30522 "$CORPUS"
echo "bertc vocab.txt: $(wc -l < "$out/bertc_bert.txt") lines, ids 5..30004 compared"
head -n 30005 "$out/bertc_bert.txt" > "$out/bertc_bert_head.txt"
node "$J" compare "$out/ref.txt" "$out/bertc_bert_head.txt" 0 5
echo "== D: vocab 30000 with the reference run's \"##c\" order"
timed "30000, --cont-order" -o "$out/bertc_order.txt" --vocab-size 30000 $plain --cont-order "$out/ref.txt" "$CORPUS"
if cmp -s "$out/ref.txt" "$out/bertc_order.txt"; then echo "identical to the reference, token for token"
else echo "FAIL: differs from the reference"; node "$J" compare "$out/ref.txt" "$out/bertc_order.txt"; exit 1; fi
