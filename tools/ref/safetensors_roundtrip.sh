#!/usr/bin/env bash
# safetensors_roundtrip.sh — both directions of the bertc ↔ Python safetensors
# cross-check, on a machine with python3 + torch + numpy + safetensors 0.8.0.
#
#   bash tools/ref/safetensors_roundtrip.sh [--fixtures DIR]
#
# Run from the repository root. Builds build/test_bertc if needed, then
#  1. bertc writes bertc_*.safetensors; the Python script checks each one
#     (values, and byte-identical to safetensors.torch.save of the same tensors);
#  2. Python writes py_*.safetensors; bertc checks values and that st_write
#     reproduces the bytes exactly.
# Prints PASS/FAIL per file; exits 1 on any failure. --fixtures DIR also copies
# the Python-written py_common / py_bert_like files into DIR (to commit them as
# tests/fixtures/safetensors/).
set -u
fixtures=""
if [ "${1:-}" = "--fixtures" ]; then fixtures="${2:?--fixtures needs a directory}"; fi

here=$(cd "$(dirname "$0")" && pwd)
[ -x build/test_bertc ] || make -s build/test_bertc || { echo "FAIL build"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bertc" "$work/py"
status=0

echo "== bertc writes, Python reads"
if ! BERTC_ST_OUT="$work/bertc" ./build/test_bertc safetensors_export_for_python >"$work/log" 2>&1; then
    cat "$work/log"; echo "FAIL bertc could not write its files"; status=1
fi
python3 "$here/safetensors_roundtrip.py" check "$work/bertc" || status=1

echo "== Python writes, bertc reads"
python3 "$here/safetensors_roundtrip.py" write "$work/py" || status=1
BERTC_ST_IN="$work/py" ./build/test_bertc safetensors_import_from_python || status=1

if [ -n "$fixtures" ]; then
    mkdir -p "$fixtures"
    cp "$work/py/py_common.safetensors" "$work/py/py_bert_like.safetensors" "$fixtures/" && echo "copied fixtures to $fixtures"
fi
[ $status -eq 0 ] && echo "ALL PASS" || echo "SOME FAILED"
exit $status
