#!/usr/bin/env bash
# unicode_tables.sh — regenerates src/text/unicode_tables.c by probing npm
# tokenizers@0.23.2 (see unicode_tables.js). Needs node 20, npm, and Debian's
# unicode-data package (apt-get install unicode-data) for the cross-check.
set -euo pipefail
cd "$(dirname "$0")/../.."
ud=${UNICODEDATA:-/usr/share/unicode/UnicodeData.txt}
[ -f "$ud" ] || { echo "unicode_tables: $ud missing (apt-get install unicode-data)" >&2; exit 1; }
pkg=$(bash tools/parity/npm_fetch.sh tokenizers 0.23.2 \
    sha512-OS99VXTXuGuyUncICcS0hEawgKQlrFVKNU+UlzRsTN03RpOeJiCmcai5nKg3JrdIvUDo7/RC5puVEjlJd2e5oA==)
node tools/gen/unicode_tables.js "$pkg" "$ud" src/text/unicode_tables.c
