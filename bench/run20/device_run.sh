#!/usr/bin/env bash
# device_run.sh — one device call of the 20-minute run (bench/run20/pretrain.cfg on the
# demo shards): the GPU run and the CPU run of the same config side by side.
#   bash bench/run20/device_run.sh start|continue END_S
# start: a 1,000-step calibration on the GPU sets train.steps so that the schedule ends
# after ~20 minutes (saved in $S/steps), then both runs start. continue: both resume
# from their checkpoints under $S (build/ persists on the device while it is held).
# Each run stops END_S seconds after this script began (SIGTERM: a checkpoint is written).
# CPU_THREADS (14) and CPU_NICE (0) set the CPU run's threads and priority; CPU_THREADS=0
# leaves it out. The calls made (bench/NOTES.md): `start 575` (after make test-gpu),
# `continue 588` with CPU_NICE=19 CPU_THREADS=12, `continue 400` with CPU_THREADS=0.
set -uo pipefail
mode=$1; end=$(( $(date +%s) + $2 ))
S=build/run20; mkdir -p $S
. bench/device_env.sh
common=(--config bench/run20/pretrain.cfg --set data.train=build/demo/shards --set data.val=build/demo/shards)
if [ "$mode" = start ]; then
  rm -rf $S/cal $S/cuda $S/cpu $S/cuda.log $S/cpu.log
  ./bertc pretrain --run $S/cal "${common[@]}" --set train.device=cuda --set train.steps=1000000 \
    --set train.stop_after=1000 --set eval.every=0 --set log.every=100 > $S/cal.log 2>&1
  # steps/s from the median tokens/s of the logged rows after the first 200 steps
  tps=$(grep '"tokens_per_s"' $S/cal/metrics.jsonl | sed -n '3,$s/.*"tokens_per_s": \([0-9.]*\).*/\1/p' | sort -g |
        awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  steps=$(awk -v t="$tps" 'BEGIN { printf "%d", t / (64 * 128) * 1200 * 0.96 / 1000 + 0.5 }')000
  echo "$steps" > $S/steps; echo "calibration: median $tps tokens/s -> train.steps = $steps"
fi
steps=$(cat $S/steps)
run() { # device threads
  timeout -s TERM $(( end - $(date +%s) )) nice -n ${CPU_NICE:-0} ./bertc pretrain --run $S/$1 "${common[@]}" --set train.device=$1 \
    --set train.steps=$steps --set train.threads=$2 >> $S/$1.log 2>&1
  echo "$1 run exit $?"; tail -2 $S/$1.log
}
cpu=
if [ "${CPU_THREADS:-14}" -gt 0 ]; then CPU_NICE=${CPU_NICE:-0} run cpu ${CPU_THREADS:-14} & cpu=$!; fi
CPU_NICE=0 run cuda 2; [ -n "$cpu" ] && wait $cpu
cp $S/cuda/metrics.jsonl $OUT/metrics_gpu.jsonl; [ -f $S/cpu/metrics.jsonl ] && cp $S/cpu/metrics.jsonl $OUT/metrics_cpu.jsonl
cp $S/cuda.log $OUT/pretrain_gpu.log; [ -f $S/cpu.log ] && cp $S/cpu.log $OUT/pretrain_cpu.log; [ -f $S/cal.log ] && cp $S/cal.log $OUT/
