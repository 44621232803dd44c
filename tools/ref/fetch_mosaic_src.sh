#!/bin/sh
# Copies the three official MosaicBERT files that bench_torch_gpu.py,
# mosaic_official_check.py and make_all.sh load, out of a git copy of
# mosaicml/examples, into OUTDIR (never into this repository: they are not ours):
#   tools/ref/fetch_mosaic_src.sh GIT_DIR OUTDIR [COMMIT]
# GIT_DIR: the .git directory (or a bare mirror) of a mosaicml/examples clone.
# COMMIT defaults to daddaeff, the HEAD the fixtures were checked against
# (docs/fixtures.md). flash_attn_triton.py is left out on purpose: without it the
# official model takes its PyTorch attention path (its Triton kernel needs a 2022
# Triton). OUTDIR/SOURCE records where the files came from.
set -eu
git_dir=$1
out=$2
commit=${3:-daddaeff}
mkdir -p "$out"
full=$(git --git-dir "$git_dir" rev-parse "$commit^{commit}")
for f in bert_layers.py bert_padding.py configuration_bert.py; do
    git --git-dir "$git_dir" show "$full:examples/benchmarks/bert/src/$f" >"$out/$f"
done
rm -f "$out/flash_attn_triton.py"
echo "mosaicml/examples $full examples/benchmarks/bert/src (without flash_attn_triton.py)" >"$out/SOURCE"
cat "$out/SOURCE"
