#!/usr/bin/env bash
# demo_models.sh — the `make demo` pretraining (tools/demo/pretrain.cfg) of MosaicBERT
# (800 steps) and M2-BERT (300 steps, as in bench/NOTES.md) on the CPU, on a machine
# with more cores than the development one; both checkpoints in one tar ($1).
set -euo pipefail
out=$1; threads=${2:-6}
d=/tmp/demo_models; rm -rf $d; mkdir -p $d
common=(--config tools/demo/pretrain.cfg --set data.train=build/demo/shards --set data.val=build/demo/shards
        --set train.threads=$threads)
./bertc pretrain --run $d/run "${common[@]}" > $d/mosaic.log 2>&1 &
./bertc pretrain --run $d/run_m2 "${common[@]}" --set model.arch=m2 --set train.steps=300 > $d/m2.log 2>&1
wait
for r in run run_m2; do
  c=$d/$r/checkpoints/$(cat $d/$r/checkpoints/latest); mkdir -p $d/pack/$r
  cp $c/config.json $c/model.safetensors $c/vocab.txt $d/pack/$r/; grep eval_loss $d/$r/metrics.jsonl | sed -n '1p;$p'
done
tar -C $d/pack -cf "$out" run run_m2
