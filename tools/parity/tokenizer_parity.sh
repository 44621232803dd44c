#!/usr/bin/env bash
# tokenizer_parity.sh [TEXT_FILE...] — `make parity-tokenizer`.
# Compares `bertc encode` with npm tokenizers@0.23.2 (the Rust core) on real
# corpora (default: data/text/{brown,kjv,spam}.txt from `make data`; DATA_DIR
# overrides data/text), on the edge cases and on 100,000 seeded random strings:
# single texts and pairs of consecutive lines, without truncation and at
# max_length 128. Prints documents compared and mismatches; exits 1 on any.
set -euo pipefail
cd "$(dirname "$0")/../.."
vocab=tests/fixtures/bert-base-uncased-vocab.txt
out=build/parity
mkdir -p "$out"
pkg=$(bash tools/parity/npm_fetch.sh tokenizers 0.23.2 \
    sha512-OS99VXTXuGuyUncICcS0hEawgKQlrFVKNU+UlzRsTN03RpOeJiCmcai5nKg3JrdIvUDo7/RC5puVEjlJd2e5oA==)
js=tools/parity/tokenizer_parity.js
[ -x ./bertc ] || make bertc >/dev/null

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    data=${DATA_DIR:-data/text}
    for f in brown kjv spam; do
        if [ ! -f "$data/$f.txt" ]; then
            echo "tokenizer_parity: $data/$f.txt missing — run 'make data' first (or pass files)" >&2; exit 1
        fi
        files+=("$data/$f.txt")
    done
fi
echo "parity: generating edge-case and random inputs" >&2
node "$js" "$pkg" inputs "$vocab" "$out/edge_random.txt" --random 100000 --seed 20261122
files+=("$out/edge_random.txt")

total_docs=0 total_bad=0
printf '%-28s %-44s %10s %10s\n' file mode documents mismatches
for f in "${files[@]}"; do
    name=$(basename "$f")
    # pairs: consecutive lines joined by a TAB (TABs inside a line become spaces)
    awk '{ gsub(/\t/, " "); if (NR % 2) a = $0; else print a "\t" $0 }' "$f" > "$out/$name.pairs"
    for mode in single single@128 pair pair@128; do
        args=() in=$f
        case $mode in
            single@128) args=(--max-length 128) ;;
            pair) args=(--pair --type-ids) in=$out/$name.pairs ;;
            pair@128) args=(--pair --type-ids --max-length 128) in=$out/$name.pairs ;;
        esac
        ./bertc encode --vocab "$vocab" "${args[@]}" "$in" > "$out/$name.$mode.bertc"
        node "$js" "$pkg" encode "$vocab" "$in" "${args[@]}" > "$out/$name.$mode.ref"
        docs=$(wc -l < "$out/$name.$mode.ref")
        bad=$(awk 'NR == FNR { a[NR] = $0; n = NR; next } { if (a[FNR] != $0) m++; c = FNR }
                   END { if (c != n) m += (c > n ? c - n : n - c); print m + 0 }' \
                  "$out/$name.$mode.ref" "$out/$name.$mode.bertc")
        printf '%-28s %-44s %10d %10d\n' "$name" "$mode" "$docs" "$bad"
        total_docs=$((total_docs + docs)) total_bad=$((total_bad + bad))
        if [ "$bad" -ne 0 ]; then
            echo "  first differences (reference < > bertc), full outputs in $out/:" >&2
            diff "$out/$name.$mode.ref" "$out/$name.$mode.bertc" | head -6 >&2 || true
        fi
    done
done
# other normalizer settings (the flags of `bertc encode`), on the edge/random inputs
for flags in "--no-lowercase" "--no-lowercase --strip-accents" "--no-strip-accents" \
             "--no-clean-text --no-chinese-chars" "--no-clean-text --no-lowercase --strip-accents"; do
    # shellcheck disable=SC2086
    ./bertc encode --vocab "$vocab" $flags "$out/edge_random.txt" > "$out/flags.bertc"
    # shellcheck disable=SC2086
    node "$js" "$pkg" encode "$vocab" "$out/edge_random.txt" $flags > "$out/flags.ref"
    docs=$(wc -l < "$out/flags.ref")
    bad=$(diff "$out/flags.ref" "$out/flags.bertc" | grep -c '^<' || true)
    printf '%-28s %-44s %10d %10d\n' "edge_random.txt" "${flags// --/,}" "$docs" "$bad"
    total_docs=$((total_docs + docs)) total_bad=$((total_bad + bad))
done

# bertc reading the library's own tokenizer.json must agree with its vocab.txt run
node "$js" "$pkg" save-json "$vocab" "$out/tokenizer.json"
./bertc encode --vocab "$out/tokenizer.json" --pair --type-ids --max-length 128 "$out/edge_random.txt.pairs" > "$out/json.pair@128.bertc"
docs=$(wc -l < "$out/edge_random.txt.pair@128.ref")
bad=$(diff "$out/edge_random.txt.pair@128.ref" "$out/json.pair@128.bertc" | grep -c '^<' || true)
printf '%-28s %-44s %10d %10d\n' "edge_random (tokenizer.json)" "pair@128" "$docs" "$bad"
total_docs=$((total_docs + docs)) total_bad=$((total_bad + bad))
printf '%-28s %-44s %10d %10d\n' TOTAL "" "$total_docs" "$total_bad"
[ "$total_bad" -eq 0 ] || { echo "tokenizer_parity: FAILED ($total_bad mismatched documents)" >&2; exit 1; }
echo "tokenizer_parity: OK — 0 mismatches" >&2
