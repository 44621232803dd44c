#!/bin/sh
# m2_gpu_check.sh — one device call after a GPU=1 build: the CUDA tests (every op against the CPU,
# M2 included; CPU/GPU pretraining parity; exact GPU resume), then M2-BERT-base and MosaicBERT-base
# benchmarks side by side (training at seq 128 × 256, forward at 512…8192). Needs ./bertc and
# build/test_gpu built with `make GPU=1 bertc build/test_gpu` (carried, e.g. gzipped); logs to $OUT.
#   sh bench/m2_gpu_check.sh [test|bench|all|sanitize]     (default all; sanitize: compute-sanitizer's
#   memcheck over the M2, blockdiag and f32-matmul op tests only)
set -u
what=${1:-all}
out=${OUT:-build}
mkdir -p "$out"
. bench/device_env.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
if [ "$what" = sanitize ]; then
    for t in cuda_m2 cuda_blockdiag cuda_matmul_f32; do
        compute-sanitizer --tool memcheck --error-exitcode 9 ./build/test_gpu $t 2>&1 | tail -4
    done
    exit 0
fi
if [ "$what" != bench ]; then
    start=$(date +%s)
    ./build/test_gpu >"$out/test_gpu.log" 2>&1
    echo "test_gpu: rc $?, $(( $(date +%s) - start )) s: $(tail -1 "$out/test_gpu.log")"
    grep -E "FAIL|failed:|worst error|losses step|worst relative" "$out/test_gpu.log" | grep -iE "fail|m2|longconv|blockdiag|matmul_f32|losses|relative" | head -60
fi
if [ "$what" != test ]; then
    for arch in m2 mosaicbert; do
        ./bertc bench --device cuda --arch $arch --train --seq 128 --batch 256 --steps 5
        for s in 512 1024 2048 4096 8192; do
            ./bertc bench --device cuda --arch $arch --seq $s --batch $((65536 / s)) --steps 5
        done
    done 2>&1 | tee "$out/bench_m2.log" | grep -E "^bench:|tokens/s|BENCH_JSON|MFU|error"
fi
