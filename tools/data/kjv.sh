#!/usr/bin/env bash
# kjv.sh — King James Bible from Debian bible-kjv-text 4.38 (data) + bible-kjv 4.38 (the
# `bible` decoder) → data/text/kjv.txt (one verse per line, text only) and
# kjv.docs.txt (one chapter per line, for the demo corpus).
. "$(dirname "$0")/common.sh"
TEXT_SHA=d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a
# bible-kjv is architecture-specific (amd64); its hash is recorded here when first fetched
# (not listed in the spec; apt has already verified it against the signed index).
CLI_SHA=75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d
[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || die "bible-kjv hash is pinned for amd64 only"
tdir=$(deb_fetch bible-kjv-text 4.38 "$TEXT_SHA")
cdir=$(deb_fetch bible-kjv 4.38 "$CLI_SHA")
key="$TEXT_SHA $CLI_SHA $(sha256sum "$0" | cut -c1-16)"
if up_to_date "$TEXT/kjv.txt" "$key" && [ -s "$TEXT/kjv.docs.txt" ]; then
  log "kjv.txt up to date"
else
  # -f turns pretty-printing off: one "Ref text" line per verse. -p points the program at
  # the extracted data file (it looks in . and /usr/lib by default); stdin is closed so it
  # never enters interactive mode.
  log "decoding bible.data with the extracted bible program (gen1:1-rev22:21)"
  dump=$RAW/deb/kjv.refs.txt
  LD_LIBRARY_PATH="$cdir/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$cdir/usr/bin/bible" -f -p "$tdir/usr/lib" gen1:1-rev22:21 </dev/null > "$dump.tmp" \
    || die "bible program failed"
  n=$(wc -l < "$dump.tmp"); [ "$n" -eq 31102 ] || die "expected 31102 verses, got $n"
  mv "$dump.tmp" "$dump"
  # "Ge1:1 In the beginning…" → verse text only; chapters = lines grouped by "Ge1".
  sed -E 's/^[^ ]+ //' "$dump" > "$TEXT/kjv.txt.tmp" && mv "$TEXT/kjv.txt.tmp" "$TEXT/kjv.txt"
  awk '{ ref=$1; sub(/:[0-9]+$/, "", ref); $1=""; sub(/^ /, "");
         if (ref != cur) { if (NR > 1) printf "\n"; cur = ref; printf "%s", $0 }
         else printf " %s", $0 } END { printf "\n" }' "$dump" > "$TEXT/kjv.docs.txt.tmp" \
    && mv "$TEXT/kjv.docs.txt.tmp" "$TEXT/kjv.docs.txt"
  stamp "$TEXT/kjv.txt" "$key"
fi
mkdir -p "$TEXT/licenses/bible-kjv"
cp "$tdir/usr/share/doc/bible-kjv-text/copyright" "$TEXT/licenses/bible-kjv/copyright.bible-kjv-text"
cp "$cdir/usr/share/doc/bible-kjv/copyright" "$TEXT/licenses/bible-kjv/copyright.bible-kjv"
counts "$TEXT/kjv.txt" "$TEXT/kjv.docs.txt"
