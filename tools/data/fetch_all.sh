#!/usr/bin/env bash
# fetch_all.sh — `make data`: fetch every pinned source, check its hash, and derive the
# text files under data/text/. Idempotent: finished, verified steps are skipped.
. "$(dirname "$0")/common.sh"
D=$ROOT/tools/data
log "== Brown Corpus";        bash "$D/brown.sh"
log "== King James Bible";    bash "$D/kjv.sh"
log "== SpamAssassin";        bash "$D/spam.sh"
log "== Moby-Dick + SOTU";    bash "$D/extra.sh"
log "== demo corpus";         bash "$D/demo.sh"
log "== summary (docs = lines)"
counts "$TEXT/brown.txt" "$TEXT/kjv.txt" "$TEXT/spam.txt" "$TEXT/spam.jsonl" "$TEXT/demo.txt"
total=$(cat "$TEXT/brown.txt" "$TEXT/kjv.txt" "$TEXT/spam.txt" | wc -w)
log "brown + kjv + spam: $total words"
[ "$total" -ge 1000000 ] || die "expected at least 1M words in total"
