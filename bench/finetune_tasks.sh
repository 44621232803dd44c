#!/usr/bin/env bash
# finetune_tasks.sh — issue 7's comparison on the real tasks (make tasks): finetune a
# model directory on spam and brown_genre, best epoch by the dev metric, test once.
#   bench/finetune_tasks.sh MODEL_DIR TASKS_DIR OUT DEVICE [THREADS] [MAX_LEN]
# MAX_LEN caps the per-task lengths (256, 192): M2 models take at most their l_max.
set -uo pipefail
m=$1; tasks=$2; out=$3; dev=$4; thr=${5:-0}; cap=${6:-0}
B=${BERTC:-./bertc}
mkdir -p "$out"
[ "$thr" -gt 0 ] && export OMP_NUM_THREADS=$thr
run() { # task metric max_len lr epochs
  if [ "$cap" -gt 0 ] && [ "$3" -gt "$cap" ]; then set -- "$1" "$2" "$cap" "$4" "$5"; fi
  $B finetune --model "$m" --train "$tasks/$1/train.tsv" --dev "$tasks/$1/dev.tsv" --test "$tasks/$1/test.tsv" \
    --text text --label label --metric $2 --max-length $3 --lr $4 --epochs $5 --batch-size 32 --device $dev -q \
    --out "$out/$1" > "$out/$1.log" 2>&1
  echo "== $m $1 (max_length $3, lr $4, $5 epochs): exit $?"; grep -E "^(best|test)" "$out/$1.log" || tail -3 "$out/$1.log"
}
run spam f1 256 5e-4 8
run brown_genre macro_f1 192 5e-4 10
