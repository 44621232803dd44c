#!/usr/bin/env bash
# vocab_golden.sh — regenerate tests/fixtures/vocab_train/kjv_genesis.tokenizers-0.23.2.vocab.txt
# with npm tokenizers@0.23.2 (fetched with `npm pack`, integrity checked). See the README there.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRI=sha512-OS99VXTXuGuyUncICcS0hEawgKQlrFVKNU+UlzRsTN03RpOeJiCmcai5nKg3JrdIvUDo7/RC5puVEjlJd2e5oA==
pkg=$(bash tools/parity/npm_fetch.sh tokenizers 0.23.2 "$SRI")
case $pkg in /*) ;; *) pkg=$PWD/$pkg ;; esac  # node require() wants an absolute path
fx=tests/fixtures/vocab_train
node tools/parity/vocab_jaccard.js train "$pkg" "$fx/kjv_genesis.tokenizers-0.23.2.vocab.txt" bert "$fx/kjv_genesis.txt"
