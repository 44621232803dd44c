#!/bin/sh
# Diffs tools/ref/philox.py against src/core/rng.c: raw words (several seeds,
# streams, a 64-bit seed) and the fixture weight rule (plain and LayerNorm).
# Needs a C compiler and python3 with numpy. Prints PASS or the first diff.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -o "$tmp/fill_check" tools/ref/fill_check.c src/core/rng.c -lm
PY=${PYTHON:-python3}
$PY tools/ref/philox.py selftest
fail=0
check() {
    "$tmp/fill_check" "$@" >"$tmp/c.txt"
    $PY tools/ref/philox.py "$@" >"$tmp/py.txt"
    if ! cmp -s "$tmp/c.txt" "$tmp/py.txt"; then
        echo "FAIL: $*"
        diff "$tmp/c.txt" "$tmp/py.txt" | head -5
        fail=1
    fi
}
check dump 0 0 1003
check dump 42 0x05000003 1001
check dump 0xfedcba9876543210 0x050003ea 999
check fill 42 0 5000 0
check fill 42 17 5000 1
check fill 1234567 201 4097 0
[ $fail = 0 ] && echo "fill_check: PASS" || { echo "fill_check: FAIL"; exit 1; }
