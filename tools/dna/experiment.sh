#!/usr/bin/env bash
# experiment.sh — issue 8's comparison: pretrain with random, contiguous,
# GeneMask (content ranks) and GeneMask-reference (position ranks) masking (same config, data, steps, seed), then few-shot finetune each
# on the coding task at 10/50/100/500/1000 shots per class with GeneMask's
# protocol (spec genemask.md §4.2), several seeds; one TSV row per run.
#   tools/dna/experiment.sh PRETRAIN_FASTA RANKING TASK_DIR OUT [DEVICE] [STEPS] [SEEDS]
# No dev set in the protocol: the best epoch is chosen on the training shots
# themselves (--dev = the train file); the test set is scored once.
set -euo pipefail
fa=$1; ranking=$2; task=$3; out=$4; dev=${5:-cuda}; steps=${6:-6000}; seeds=${7:-"1 2 3"}
B=${BERTC:-./bertc}
mkdir -p "$out"
$B vocab --kmer 6 -o "$out/vocab.txt"
# 131 bases = 126 6-mers: one 128-token row with [CLS] and [SEP]
$B tokenize --vocab "$out/vocab.txt" -o "$out/shards" --holdout 0.01 --dna-doc-bases 131 --force "$fa"
declare -A ratio=([random]=0.15 [contiguous]=0.025 [genemask]=0.0176 [genemask-reference]=0.0176)
strategies="random contiguous genemask genemask-reference"
for s in $strategies; do
  $B pretrain --run "$out/pre_$s" --config tools/dna/pretrain.cfg --set train.device=$dev --set train.steps=$steps \
     --set data.train="$out/shards" --set data.val="$out/shards" --set mask.strategy=$s \
     $(case $s in genemask*) echo --set mask.pmi_ranking="$ranking";; esac) --set data.mask_ratio=${ratio[$s]} --set data.eval_mask_ratio=${ratio[$s]} \
     > "$out/pre_$s.log" 2>&1 &
done
wait
for s in $strategies; do tail -2 "$out/pre_$s.log"; done
jobs_file=$out/jobs.txt; : > "$jobs_file"
for s in $strategies; do
  m="$out/pre_$s/checkpoints/$(cat "$out/pre_$s/checkpoints/latest")"
  for n in 10 50 100 500 1000; do
    if [ $n -le 100 ]; then hp="--lr 1e-4 --epochs 20 --batch-size 5"; else hp="--lr 5e-5 --epochs 5 --batch-size 15"; fi
    for seed in $seeds; do
      echo "$s $n $seed $m $hp" >> "$jobs_file"
    done
  done
done
run_one() {
  s=$1; n=$2; seed=$3; m=$4; shift 4
  d="$out/ft_${s}_${n}_${seed}"
  $B finetune --model "$m" --train "$task/train_$n.tsv" --dev "$task/train_$n.tsv" --test "$task/test.tsv" \
     --text sequence --label label --max-length 128 --warmup 0.1 --optimizer adamw --wd 0.01 --seed $seed --device $dev -q \
     --out "$d" "$@" > "$d.log" 2>&1 || { echo "$s $n $seed FAILED"; tail -3 "$d.log"; return 0; }
  acc=$(sed -n 's/^test ([0-9]* examples): accuracy \([0-9.]*\).*/\1/p' "$d.log")
  printf '%s\t%s\t%s\t%s\n' "$s" "$n" "$seed" "$acc"
}
export -f run_one; export B out task dev
printf 'masking\tshots\tseed\ttest_accuracy\n' > "$out/fewshot.tsv"
xargs -P 8 -L 1 bash -c 'run_one "$@"' _ < "$jobs_file" | sort -k1,1 -k2,2n -k3,3n >> "$out/fewshot.tsv"
awk -F'\t' 'NR > 1 && $4 != "" { k = $1 "\t" $2; n[k]++; s[k] += $4; q[k] += $4 * $4 }
  END { for (k in n) { m = s[k] / n[k]; v = n[k] > 1 ? (q[k] - n[k] * m * m) / (n[k] - 1) : 0;
        printf "%s\t%.4f\t%.4f\t%d\n", k, m, sqrt(v > 0 ? v : 0), n[k] } }' "$out/fewshot.tsv" | sort -k1,1 -k2,2n > "$out/summary.tsv"
cat "$out/summary.tsv"
