#!/bin/sh
# Regenerates every reference fixture and runs the cross-checks, in one go (the
# way tests/fixtures/models/ was made; docs/fixtures.md):
#   tools/ref/make_all.sh MOSAIC_SRC OUTDIR
# MOSAIC_SRC: bert_layers.py, bert_padding.py, configuration_bert.py of
# mosaicml/examples (not committed here; without flash_attn_triton.py).
# Needs python3 with torch, numpy, safetensors, transformers (and einops, or
# the stand-in of mosaic_official_check.py). Writes OUTDIR/models/* and
# OUTDIR/log.txt; a failed cross-check is logged ("!! FAILED") and the rest
# still runs; exit status non-zero if any step failed.
set -eu
src=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/models"
export PYTHONUNBUFFERED=1
{
    python3 -c 'import sys, torch, numpy, safetensors, transformers; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__, "safetensors", safetensors.__version__, "transformers", transformers.__version__)'
    echo "== transformers BERT attention mask (eager path)"
    tdir=$(python3 -c 'import os, transformers; print(os.path.dirname(transformers.__file__))')
    grep -n "finfo\|min_dtype\|def eager_attention_forward\|masking_utils\|create_bidirectional_mask\|_prepare_4d" \
        "$tdir/models/bert/modeling_bert.py" | head -20 || true
    python3 "$here/hf_mask_probe.py" || echo "!! FAILED: mask probe"
    echo "== philox"
    python3 "$here/philox.py" selftest
    echo "== tiny fixtures"
    python3 "$here/make_fixtures.py" "$out/models" --tiny
    echo "== MosaicBERT reference vs official"
    python3 "$here/mosaic_official_check.py" "$src" || echo "!! FAILED: official comparison"
    echo "== hf interop"
    python3 "$here/hf_interop.py" save "$out/models/hf_tiny_bert" || echo "!! FAILED: hf_interop save"
    python3 "$here/hf_interop.py" check "$out/models/hf_tiny_bert" "$out/models/bert_tiny_mlm.safetensors" ||
        echo "!! FAILED: hf_interop check"
    echo "== base fixtures"
    python3 "$here/make_fixtures.py" "$out/models" --base
    echo "== done"
} 2>&1 | tee "$out/log.txt"
grep -q "^== done" "$out/log.txt" && ! grep -q "^!! FAILED" "$out/log.txt"
