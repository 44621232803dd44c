#!/usr/bin/env bash
# npm_fetch.sh NAME VERSION SRI — fetch a pinned npm package with `npm pack`, check its
# sha512 (dist.integrity) and unpack it under data/raw/npm; prints the package dir.
# Used by the parity tools (e.g. tokenizers@0.23.2) as well as the data scripts.
. "$(dirname "$0")/common.sh"
[ $# -eq 3 ] || die "usage: npm_fetch.sh NAME VERSION SRI"
npm_fetch "$1" "$2" "$3"
