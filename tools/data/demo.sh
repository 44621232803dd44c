#!/usr/bin/env bash
# demo.sh — the demo pretraining corpus data/text/demo.txt, one document per line:
# Brown samples (500) + KJV chapters (1,189) + Moby-Dick chapters + SOTU addresses.
# The SpamAssassin text is a finetuning task and is deliberately kept out.
. "$(dirname "$0")/common.sh"
parts="brown.docs.txt kjv.docs.txt moby.docs.txt sotu.docs.txt"
key=""; for p in $parts; do [ -s "$TEXT/$p" ] || die "$p missing: run brown.sh, kjv.sh and extra.sh first"
  key="$key $(sha256sum "$TEXT/$p" | cut -c1-16)"; done
if up_to_date "$TEXT/demo.txt" "$key"; then
  log "demo.txt up to date"
else
  log "concatenating $parts → demo.txt (spam excluded)"
  (cd "$TEXT" && cat $parts) | grep -v '^$' > "$TEXT/demo.txt.tmp"
  mv "$TEXT/demo.txt.tmp" "$TEXT/demo.txt"
  stamp "$TEXT/demo.txt" "$key"
fi
counts "$TEXT/demo.txt"
