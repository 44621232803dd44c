// tasks.js TEXTDIR CATS OUTDIR — labelled finetuning tasks from the derived corpora
// (data-sources spec §3) → OUTDIR/{spam,brown_genre}/{train,dev,test}.tsv, each with the
// header "text<TAB>label". Fields are not quoted: texts never contain tabs or newlines.
//
// spam (from TEXTDIR/spam.jsonl, bodies cleaned by spam.js):
//  - text = the body's first 200 whitespace-separated words, whitespace runs → one space;
//    label = spam | ham;
//  - identical texts are kept once; a text that occurs with both labels is dropped;
//  - near-duplicates are grouped before splitting, so a campaign sent with small edits
//    (names, URLs, numbers) does not land in train and test at once: two texts are linked
//    when the Jaccard similarity of their sets of 5-word shingles (lowercased \w+ words) is
//    ≥ 0.5; candidates come from MinHash LSH (64 hashes, 16 bands of 4) and every linked pair
//    is checked exactly; groups are the connected components;
//  - split by sha256 of the group's first text in byte order: bucket = first 32 bits mod 100,
//    < 80 train, < 90 dev, else test. Rows in a split are ordered by sha256 of the text.
//
// brown_genre (from TEXTDIR/brown.jsonl; genre names from the package's cats.txt):
//  - windows of 100 consecutive words (Brown tokens as in brown.txt), not overlapping; a
//    trailing remainder shorter than 50 words is dropped;
//  - split by document: within each genre the documents are ranked by sha256 of their id
//    (file name, e.g. "ca01"); the first max(1, round(n/10)) go to test, the next as many to
//    dev, the rest to train. Ranking within a genre (instead of one global hash bucket) keeps
//    every genre in every split: science_fiction has only 6 documents.
//    Rows are ordered by sha256 of the document id, then by window position.
'use strict';
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [textDir, catsPath, outDir] = process.argv.slice(2);

const sha = s => crypto.createHash('sha256').update(s, 'utf8').digest();
const shaHex = s => sha(s).toString('hex');
const bucket = s => sha(s).readUInt32BE(0) % 100;
const readJsonl = f => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l));
const oneLine = s => s.replace(/\s+/g, ' ').trim(); // tabs, newlines, U+2028… → one space

function writeSplits(dir, rows /* [{split, text, label}] */) {
  fs.mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'dev', 'test']) {
    const lines = ['text\tlabel'];
    for (const r of rows) if (r.split === split) {
      if (/[\t\n\r]/.test(r.text) || !r.text) throw new Error(`${dir}: bad text ${JSON.stringify(r.text.slice(0, 40))}`);
      lines.push(r.text + '\t' + r.label);
    }
    const f = path.join(dir, split + '.tsv');
    fs.writeFileSync(f + '.tmp', lines.join('\n') + '\n');
    fs.renameSync(f + '.tmp', f);
  }
}
function report(name, rows) {
  const labels = [...new Set(rows.map(r => r.label))].sort();
  const cnt = {};
  for (const r of rows) cnt[r.split + ' ' + r.label] = (cnt[r.split + ' ' + r.label] || 0) + 1;
  const w = Math.max(5, ...labels.map(l => l.length));
  console.error(`[data] ${name}: rows per split and label`);
  console.error(`[data]   ${'label'.padEnd(w)} ${'train'.padStart(6)} ${'dev'.padStart(6)} ${'test'.padStart(6)}`);
  const tot = { train: 0, dev: 0, test: 0 };
  for (const l of labels) {
    const c = ['train', 'dev', 'test'].map(s => cnt[s + ' ' + l] || 0);
    c.forEach((v, i) => tot[['train', 'dev', 'test'][i]] += v);
    console.error(`[data]   ${l.padEnd(w)} ${c.map(v => String(v).padStart(6)).join(' ')}`);
  }
  console.error(`[data]   ${'total'.padEnd(w)} ${['train', 'dev', 'test'].map(s => String(tot[s]).padStart(6)).join(' ')}`);
}

// ---- spam ----------------------------------------------------------------------------
// 32-bit FNV-1a, then a multiply-xorshift mix per seed: 64 fixed hash functions for MinHash.
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}
function mix(h, seed) {
  h = (h ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
const NH = 64, BANDS = 16, ROWS = NH / BANDS, JMIN = 0.5;
const SEEDS = Array.from({ length: NH }, (_, i) => mix(i + 1, 0x9e3779b9));
function shingles(text) {
  const w = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) || [];
  const set = new Set();
  if (w.length < 5) set.add(w.join(' ')); // short texts: the whole word sequence
  for (let i = 0; i + 5 <= w.length; i++) set.add(fnv1a(w.slice(i, i + 5).join(' ')));
  return [...set].map(x => typeof x === 'number' ? x : fnv1a(x));
}
function jaccard(a, b) { // a, b: Sets
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter || 1);
}

function buildSpam() {
  const src = readJsonl(path.join(textDir, 'spam.jsonl'));
  const byText = new Map();
  for (const m of src) {
    const text = oneLine(m.text).split(' ').slice(0, 200).join(' ');
    if (!text) continue;
    const e = byText.get(text);
    if (!e) byText.set(text, { text, label: m.label, n: 1, conflict: false });
    else { e.n++; if (e.label !== m.label) e.conflict = true; }
  }
  const all = [...byText.values()];
  const docs = all.filter(e => !e.conflict).sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const dupes = src.length - all.length, conflicts = all.filter(e => e.conflict).length;

  // near-duplicate groups: MinHash LSH candidates, exact Jaccard check, union-find
  const sets = docs.map(d => new Set(shingles(d.text)));
  const parent = docs.map((_, i) => i);
  const find = i => { while (parent[i] !== i) i = parent[i] = parent[parent[i]]; return i; };
  const buckets = new Map();
  docs.forEach((d, i) => {
    const sig = new Array(NH).fill(0xffffffff);
    for (const h of sets[i]) for (let k = 0; k < NH; k++) { const v = mix(h, SEEDS[k]); if (v < sig[k]) sig[k] = v; }
    for (let b = 0; b < BANDS; b++) {
      const key = b + ':' + sig.slice(b * ROWS, (b + 1) * ROWS).join(',');
      const l = buckets.get(key); if (l) l.push(i); else buckets.set(key, [i]);
    }
  });
  // every pair in a bucket is a candidate; pairs already in one group need no check
  let links = 0;
  for (const l of buckets.values())
    for (let x = 0; x < l.length; x++)
      for (let y = x + 1; y < l.length; y++) {
        const p = find(l[x]), q = find(l[y]);
        if (p !== q && jaccard(sets[l[x]], sets[l[y]]) >= JMIN) { parent[p] = q; links++; }
      }
  // docs are in byte order, so the first member seen for a root is the group's smallest text
  const first = new Map();
  docs.forEach((d, i) => { const r = find(i); if (!first.has(r)) first.set(r, d.text); });
  const size = new Map();
  docs.forEach((_, i) => size.set(find(i), (size.get(find(i)) || 0) + 1));
  const sizes = [...size.values()].sort((a, b) => b - a);
  const rows = docs.map((d, i) => {
    const b = bucket(first.get(find(i)));
    return { split: b < 80 ? 'train' : b < 90 ? 'dev' : 'test', text: d.text, label: d.label, key: shaHex(d.text) };
  }).sort((a, b) => (a.key < b.key ? -1 : 1));
  console.error(`[data] spam: ${src.length} messages; ${dupes} identical repeats and ${conflicts} texts seen with both labels removed; ` +
    `${docs.length} texts in ${sizes.length} near-duplicate groups (Jaccard ≥ ${JMIN} of 5-word shingles; ` +
    `${sizes.filter(s => s > 1).length} groups of 2+, largest ${sizes.slice(0, 5).join(', ')})`);
  writeSplits(path.join(outDir, 'spam'), rows);
  report('spam', rows);
}

// ---- brown_genre ---------------------------------------------------------------------
function buildBrown() {
  const genre = new Map();
  for (const line of fs.readFileSync(catsPath, 'utf8').split('\n')) {
    const [f, g] = line.trim().split(/\s+/);
    if (f && g) genre.set(f, g);
  }
  const src = readJsonl(path.join(textDir, 'brown.jsonl'));
  if (src.length !== 500) throw new Error(`brown.jsonl: expected 500 documents, found ${src.length}`);
  const letterName = new Map();
  const docs = src.map(d => {
    const g = genre.get(d.group);
    if (!g) throw new Error(`cats.txt: no genre for ${d.group}`);
    // the genre letter (second letter of the file name) must name one genre only
    if ((letterName.get(d.label) || g) !== g) throw new Error(`genre letter ${d.label}: ${letterName.get(d.label)} and ${g}`);
    letterName.set(d.label, g);
    return { id: d.group, genre: g, words: oneLine(d.text).split(' '), key: shaHex(d.group) };
  });
  if (letterName.size !== 15) throw new Error(`expected 15 genres, found ${letterName.size}`);
  const split = new Map();
  for (const g of new Set(docs.map(d => d.genre))) {
    const ds = docs.filter(d => d.genre === g).sort((a, b) => (a.key < b.key ? -1 : 1));
    const k = Math.max(1, Math.round(ds.length / 10));
    ds.forEach((d, i) => split.set(d.id, i < k ? 'test' : i < 2 * k ? 'dev' : 'train'));
  }
  const rows = [];
  let dropped = 0;
  for (const d of [...docs].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    for (let i = 0; i < d.words.length; i += 100) {
      const w = d.words.slice(i, i + 100);
      if (w.length < 50) { dropped += w.length; continue; }
      rows.push({ split: split.get(d.id), text: w.join(' '), label: d.genre });
    }
  }
  const nd = s => docs.filter(d => split.get(d.id) === s).length;
  console.error(`[data] brown_genre: ${docs.length} documents (train ${nd('train')}, dev ${nd('dev')}, test ${nd('test')}) → ` +
    `${rows.length} windows of 50–100 words (${dropped} words of short tails dropped)`);
  writeSplits(path.join(outDir, 'brown_genre'), rows);
  report('brown_genre', rows);
}

buildSpam();
buildBrown();
