#!/usr/bin/env bash
# finetune_grid.sh — issue 7's real tasks over seeds and a small lr grid: each (task, lr,
# seed) finetuned as bench/finetune_tasks.sh does; one TSV row per run with the best dev
# metric and the test scores, so an lr can be chosen on dev (mean over seeds) and its
# test mean ± std reported.
#   bench/finetune_grid.sh MODEL_DIR TASKS_DIR OUT DEVICE "LRS" "SEEDS" [PARALLEL] [MAX_LEN]
# FT_EXTRA adds options to every finetune (e.g. FT_EXTRA="--chunk 192").
set -uo pipefail
m=$1; tasks=$2; out=$3; dev=$4; lrs=$5; seeds=$6; par=${7:-4}; cap=${8:-0}
B=${BERTC:-./bertc}
mkdir -p "$out"
one() { # task metric max_len epochs lr seed
  t=$1; metric=$2; len=$3; ep=$4; lr=$5; seed=$6; d="$out/${t}_${lr}_${seed}"
  if [ "$cap" -gt 0 ] && [ "$len" -gt "$cap" ]; then len=$cap; fi
  $B finetune --model "$m" --train "$tasks/$t/train.tsv" --dev "$tasks/$t/dev.tsv" --test "$tasks/$t/test.tsv" \
    --text text --label label --metric $metric --max-length $len --lr $lr --epochs $ep --batch-size 32 --seed $seed \
    --device $dev ${FT_EXTRA:-} -q --out "$d" > "$d.log" 2>&1 || { echo "$t $lr $seed FAILED" >&2; return 0; }
  best=$(sed -n "s/^best $metric \([0-9.]*\).*/\1/p" "$d.log")
  test=$(sed -n "s/^test ([0-9]* examples): accuracy \([0-9.]*\), $metric \([0-9.]*\).*/\1\t\2/p" "$d.log")
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$lr" "$seed" "$best" "$test"
}
export -f one; export B m tasks out dev cap FT_EXTRA
for lr in $lrs; do for s in $seeds; do
  echo "spam f1 256 8 $lr $s"; echo "brown_genre macro_f1 192 10 $lr $s"
done; done | xargs -P "$par" -L 1 bash -c 'one "$@"' _ | sort -k1,1 -k2,2g -k3,3n > "$out/runs.tsv.tmp"
{ printf 'task\tlr\tseed\tdev_metric\ttest_accuracy\ttest_metric\n'; cat "$out/runs.tsv.tmp"; } > "$out/runs.tsv"; rm -f "$out/runs.tsv.tmp"
awk -F'\t' 'NR > 1 { k = $1 "\t" $2; n[k]++; d[k] += $4; a[k] += $5; t[k] += $6; q[k] += $6 * $6 }
  END { for (k in n) { mt = t[k] / n[k]; v = n[k] > 1 ? (q[k] - n[k] * mt * mt) / (n[k] - 1) : 0;
        printf "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\n", k, d[k] / n[k], a[k] / n[k], mt, sqrt(v > 0 ? v : 0), n[k] } }' \
  "$out/runs.tsv" | sort -k1,1 -k2,2g > "$out/summary.tsv"
echo "task lr mean_dev mean_test_acc mean_test_metric std_test_metric n"; cat "$out/summary.tsv"
