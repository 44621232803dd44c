#!/usr/bin/env bash
# tokenizer_bench.sh [FILE] — `make bench-tokenizer`: tokens/s of `bertc encode`
# vs npm tokenizers@0.23.2 (Rust core, encodeBatch) on the same file, same
# vocab (bert-base-uncased) and the same thread counts.
#   THREADS="1 2"   thread counts to run (bertc --threads N; RAYON_NUM_THREADS=N)
#   REPEAT=3        runs per cell; the best is reported
#   PAIR=1          encode consecutive-line pairs instead of single lines
# Default FILE: data/text/brown.txt + kjv.txt + spam.txt concatenated (make data).
# Timings cover encoding only (not reading the file, loading the vocab or printing).
set -euo pipefail
cd "$(dirname "$0")/../.."
vocab=tests/fixtures/bert-base-uncased-vocab.txt
out=build/parity
mkdir -p "$out"
threads=${THREADS:-1 2}
repeat=${REPEAT:-3}
pkg=$(bash tools/parity/npm_fetch.sh tokenizers 0.23.2 \
    sha512-OS99VXTXuGuyUncICcS0hEawgKQlrFVKNU+UlzRsTN03RpOeJiCmcai5nKg3JrdIvUDo7/RC5puVEjlJd2e5oA==)
js=tools/parity/tokenizer_parity.js
[ -x ./bertc ] || make bertc >/dev/null

file=${1:-}
if [ -z "$file" ]; then
    data=${DATA_DIR:-data/text}
    for f in brown kjv spam; do
        [ -f "$data/$f.txt" ] || { echo "tokenizer_bench: $data/$f.txt missing — run 'make data' first (or pass a file)" >&2; exit 1; }
    done
    file=$out/bench_corpus.txt
    cat "$data/brown.txt" "$data/kjv.txt" "$data/spam.txt" > "$file"
fi
args=()
if [ "${PAIR:-0}" = 1 ]; then
    awk '{ gsub(/\t/, " "); if (NR % 2) a = $0; else print a "\t" $0 }' "$file" > "$out/bench_pairs.txt"
    file=$out/bench_pairs.txt args=(--pair)
fi
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }
best() { sort -g | tail -1; }

echo "tokenizer_bench: $file ($(wc -l < "$file") lines, $(wc -c < "$file") bytes), best of $repeat, $(nproc) CPUs" >&2
printf '%-8s %14s %14s %10s %12s\n' threads bertc_tok/s npm_tok/s speedup tokens
for t in $threads; do
    b=() n=() tb= tn=
    for ((r = 0; r < repeat; r++)); do
        lb=$(./bertc encode --vocab "$vocab" --bench --threads "$t" "${args[@]}" "$file")
        ln=$(RAYON_NUM_THREADS=$t TOKENIZERS_PARALLELISM=true node "$js" "$pkg" bench "$vocab" "$file" "${args[@]}")
        b+=("$(echo "$lb" | field tokens_per_s)") n+=("$(echo "$ln" | field tokens_per_s)")
        tb=$(echo "$lb" | field tokens) tn=$(echo "$ln" | field tokens)
    done
    [ "$tb" = "$tn" ] || echo "tokenizer_bench: WARNING token counts differ (bertc $tb, npm $tn)" >&2
    bb=$(printf '%s\n' "${b[@]}" | best) nb=$(printf '%s\n' "${n[@]}" | best)
    printf '%-8s %14.0f %14.0f %9.2fx %12s\n' "$t" "$bb" "$nb" "$(awk -v a="$bb" -v b="$nb" 'BEGIN { print a / b }')" "$tb"
done
