#!/usr/bin/env bash
# device_run.sh — one device call of the 20-minute GPU run (bench/gpu20/pretrain.cfg
# on the demo shards), resumable across calls: the run directory's latest
# checkpoint travels in $CARRY (copied back from $OUT by the previous call).
#   bash bench/gpu20/device_run.sh SECONDS
# If the loss turns NaN, the run is resumed from its last checkpoint with
# BERTC_CHECK_FINITE=1 so the log names the op that made the first NaN.
set -uo pipefail
secs=${1:-500}
RUN=/tmp/gpu20
CARRY=${CARRY:-.gpu20_carry}
. bench/device_env.sh
nvidia-smi -L
mkdir -p $RUN/checkpoints
if [ -f $CARRY/ckpt_small.tar ]; then # continue the previous call's run
  tar -C $RUN/checkpoints -xf $CARRY/ckpt_small.tar; s=$(cat $RUN/checkpoints/latest)
  cp $CARRY/model.safetensors $CARRY/trainer_state.safetensors $RUN/checkpoints/$s/
  cp $CARRY/metrics_gpu.jsonl $RUN/metrics.jsonl
fi
pre=(./bertc pretrain --run $RUN --config bench/gpu20/pretrain.cfg --set train.device=cuda
     --set data.train=build/demo/shards --set data.val=build/demo/shards --set ckpt.every=2000)
timeout -s TERM "$secs" "${pre[@]}" > $OUT/pretrain.log 2>&1; rc=$?
echo "pretrain exit $rc"; tail -3 $OUT/pretrain.log
if grep -q "the loss is" $OUT/pretrain.log; then
  echo "== NaN: resuming the last checkpoint with BERTC_CHECK_FINITE=1"
  BERTC_CHECK_FINITE=1 timeout 120 "${pre[@]}" > $OUT/check_finite.log 2>&1; echo "check exit $?"
  grep -A8 "BERTC_CHECK_FINITE: op" $OUT/check_finite.log
fi
cp $RUN/metrics.jsonl $OUT/metrics_gpu.jsonl
# back: the latest checkpoint (weights and trainer state as files of < 16 MiB, the rest in a tar)
l=$(cat $RUN/checkpoints/latest); c=$RUN/checkpoints/$l
cp $c/model.safetensors $c/trainer_state.safetensors $OUT/
tar -C $RUN/checkpoints -cf $OUT/ckpt_small.tar latest $l/config.json $l/vocab.txt
ls -la $OUT
