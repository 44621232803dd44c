// dna.js — real DNA for issue 8 (GeneMask): parsing and task construction for tools/data/dna.sh.
//
//   node dna.js corpus LIST OUTDIR     FASTA/GenBank files → OUTDIR/{pretrain,eval}.fa + manifest.tsv
//   node dna.js task   LIST OUTDIR     annotated GenBank records → OUTDIR/tasks/coding/*.tsv
//   node dna.js stats  LIST L...       window counts per source for window lengths L (exploration)
//
// LIST is a TSV written by dna.sh, one input a line: "role<TAB>package<TAB>file" (role:
// pretrain | eval | task; file plain or .gz). Everything is deterministic: inputs in LIST
// order, records in file order, every choice by sha256 of fixed strings, so two runs
// write byte-identical files.
//
// Sequences: upper-cased; any character other than A, C, G, T (IUPAC ambiguity codes, N,
// gaps) becomes N. FASTA output wraps at 80 columns; a header is
// ">ID DESCRIPTION [package]".
//
// corpus: every record of a pretrain/eval file is one FASTA record of that split (the split
// is by whole genome, chosen in dna.sh). A record whose sequence is identical to an earlier
// one (the same genome shipped by two packages) is written once, in the first split that
// has it; eval records are read first, so a genome in both never reaches pretrain.
//
// task "coding" (coding vs non-coding windows; documented in full at buildTask below).
'use strict';
const fs = require('fs'), path = require('path'), zlib = require('zlib'), crypto = require('crypto');

const sha = s => crypto.createHash('sha256').update(s).digest('hex');
const readText = f => (f.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(f)) : fs.readFileSync(f)).toString('latin1');
const clean = s => s.toUpperCase().replace(/[^ACGT]/g, 'N');
const readList = f => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map(l => {
  const [role, pkg, file] = l.split('\t');
  if (!file) throw new Error(`${f}: bad line ${JSON.stringify(l)}`);
  return { role, pkg, file };
});

// ---- FASTA -------------------------------------------------------------------------------
function parseFasta(text, file) {
  const recs = [];
  let cur = null;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('>')) {
      const h = line.slice(1).trim();
      const sp = h.search(/\s/);
      cur = { id: sp < 0 ? h : h.slice(0, sp), desc: sp < 0 ? '' : h.slice(sp + 1).trim(), parts: [] };
      recs.push(cur);
    } else if (line.trim()) {
      if (!cur) throw new Error(`${file}: sequence before the first '>' header`);
      cur.parts.push(line.replace(/\s+/g, ''));
    }
  }
  return recs.map(r => ({ id: r.id, desc: r.desc, seq: clean(r.parts.join('')) }));
}

// ---- GenBank -----------------------------------------------------------------------------
// Only what the task needs: LOCUS name, DEFINITION, the CDS features (location and whether
// /pseudo or /pseudogene is set) and the ORIGIN sequence. Feature lines: key at column 6,
// location from column 22, continued on following lines (column 22) until the first
// qualifier ("/name…").
function parseGenbank(text, file) {
  const recs = [];
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    if (!lines[i].startsWith('LOCUS')) { i++; continue; }
    const rec = { id: lines[i].split(/\s+/)[1], desc: '', features: [], seq: '' };
    const start = i;
    i++;
    let inFeat = false, seqParts = [], f = null;
    for (; i < lines.length && !lines[i].startsWith('//'); i++) {
      const l = lines[i];
      if (l.startsWith('DEFINITION')) {
        rec.desc = l.slice(12).trim();
        while (i + 1 < lines.length && lines[i + 1].startsWith('            ')) rec.desc += ' ' + lines[++i].trim();
      } else if (l.startsWith('FEATURES')) inFeat = true;
      else if (l.startsWith('ORIGIN')) {
        inFeat = false;
        for (i++; i < lines.length && !lines[i].startsWith('//'); i++) seqParts.push(lines[i].replace(/[\s0-9]/g, ''));
        break;
      } else if (inFeat && /^ {5}\S/.test(l)) {
        f = { key: l.slice(5, 21).trim(), loc: l.slice(21).trim(), pseudo: false, quals: false };
        rec.features.push(f);
      } else if (inFeat && f && l.startsWith('                     ')) {
        const t = l.trim();
        if (t.startsWith('/')) {
          f.quals = true;
          if (t === '/pseudo' || t.startsWith('/pseudogene')) f.pseudo = true;
        } else if (!f.quals) f.loc += t;
      } else if (/^\S/.test(l)) inFeat = false; // another top-level section
    }
    if (i >= lines.length) throw new Error(`${file}: record ${rec.id} (line ${start + 1}) has no '//' terminator`);
    i++;
    rec.seq = clean(seqParts.join(''));
    recs.push(rec);
  }
  return recs;
}

// parseLocation("complement(join(1..10,<20..>30))") → [[1,10],[20,30]] (1-based, inclusive).
// Strand does not matter here (a window is coding on either strand), so complement() only
// unwraps. join/order list parts; "<" and ">" (partial ends) are dropped; a single base "N"
// is [N,N]; "N^M" (a site between two bases) and references to other records ("ACC:1..2")
// give no interval. Anything else is an error, so an unexpected form stops the build.
function parseLocation(loc, where) {
  let pos = 0;
  const out = [];
  const fail = () => { throw new Error(`${where}: cannot parse location ${JSON.stringify(loc)} at ${pos}`); };
  function item() {
    const m = /^(complement|join|order)\(/.exec(loc.slice(pos));
    if (m) {
      pos += m[0].length;
      item();
      while (loc[pos] === ',') { pos++; item(); }
      if (loc[pos] !== ')') fail();
      pos++;
      return;
    }
    const r = /^([A-Za-z0-9_.]+:)?<?(\d+)(?:(\.\.|\^)>?(\d+))?>?/.exec(loc.slice(pos));
    if (!r) fail();
    pos += r[0].length;
    if (r[1] || r[3] === '^') return;
    const a = +r[2], b = r[4] !== undefined ? +r[4] : a;
    if (b < a) fail(); // no origin-spanning ranges in a single part (GenBank uses join)
    out.push([a, b]);
  }
  item();
  if (pos !== loc.length) fail();
  return out;
}

function writeFasta(f, recs) {
  const out = [];
  for (const r of recs) {
    out.push(`>${r.id}${r.desc ? ' ' + r.desc : ''} [${r.pkg}]`);
    for (let i = 0; i < r.seq.length; i += 80) out.push(r.seq.slice(i, i + 80));
  }
  fs.writeFileSync(f + '.tmp', out.join('\n') + '\n');
  fs.renameSync(f + '.tmp', f);
}
function writeAtomic(f, text) { fs.writeFileSync(f + '.tmp', text); fs.renameSync(f + '.tmp', f); }
const gc = s => { let g = 0, n = 0; for (const c of s) { if (c === 'G' || c === 'C') g++; else if (c === 'N') n++; } return { g, n }; };

function readRecords(e) {
  const text = readText(e.file);
  return /^LOCUS/m.test(text.slice(0, 200)) ? parseGenbank(text, e.file) : parseFasta(text, e.file);
}

// ---- corpus ------------------------------------------------------------------------------
function buildCorpus(list, outDir) {
  const entries = readList(list);
  const seen = new Map(); // sha256(sequence) → record id
  const splits = { eval: [], pretrain: [] };
  const manifest = ['split\tpackage\tfile\tid\tlength\tgc\tn\tdescription'];
  let dups = 0;
  for (const role of ['eval', 'pretrain']) {
    for (const e of entries.filter(x => x.role === role)) {
      for (const r of readRecords(e)) {
        if (!r.seq.length) throw new Error(`${e.file}: record ${r.id} is empty`);
        const h = sha(r.seq);
        if (seen.has(h)) { dups++; console.error(`[data] dna: ${r.id} (${e.pkg}) repeats ${seen.get(h)}: written once`); continue; }
        seen.set(h, `${r.id} (${e.pkg})`);
        const c = gc(r.seq);
        splits[role].push({ ...r, pkg: e.pkg });
        manifest.push([role, e.pkg, path.basename(e.file), r.id, r.seq.length,
          (c.g / Math.max(1, r.seq.length - c.n)).toFixed(4), c.n, r.desc.replace(/\t/g, ' ')].join('\t'));
      }
    }
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const role of ['pretrain', 'eval']) writeFasta(path.join(outDir, role + '.fa'), splits[role]);
  writeAtomic(path.join(outDir, 'manifest.tsv'), manifest.join('\n') + '\n');
  for (const role of ['pretrain', 'eval']) {
    const rs = splits[role], bp = rs.reduce((s, r) => s + r.seq.length, 0), n = rs.reduce((s, r) => s + gc(r.seq).n, 0);
    console.error(`[data] dna ${role}.fa: ${rs.length} records, ${bp} bases (${(bp / 1e6).toFixed(2)} Mb), ${n} N`);
  }
  if (dups) console.error(`[data] dna: ${dups} repeated records written once`);
}

// ---- windows -----------------------------------------------------------------------------
// For one annotated record: the coding and non-coding windows of length L.
//  - coding: the window lies fully inside one part of one CDS (either strand) that is not
//    /pseudo; windows tile each part without overlap, centred (the remainder split between
//    both ends, the left end getting the smaller half);
//  - non-coding: the window overlaps no CDS at all (pseudo or not, partial or not); windows
//    tile each maximal CDS-free stretch the same way;
//  - a window with an N, or a coding window that also touches a pseudo CDS, is dropped.
function windows(rec, L) {
  const n = rec.seq.length;
  const any = new Uint8Array(n), pseudo = new Uint8Array(n);
  const parts = [];
  for (const f of rec.features) {
    if (f.key !== 'CDS') continue;
    for (const [a, b] of parseLocation(f.loc, rec.id)) {
      if (b > n) throw new Error(`${rec.id}: CDS ${f.loc} beyond the sequence (${n} bp)`);
      for (let i = a - 1; i < b; i++) { any[i] = 1; if (f.pseudo) pseudo[i] = 1; }
      if (!f.pseudo) parts.push([a - 1, b]); // 0-based, end exclusive
    }
  }
  const tile = (a, b, out) => {
    const k = Math.floor((b - a) / L);
    let s = a + Math.floor((b - a - k * L) / 2);
    for (let j = 0; j < k; j++, s += L) out.push(s);
  };
  const cod = [], non = [];
  for (const [a, b] of parts) tile(a, b, cod);
  for (let i = 0; i < n;) {
    if (any[i]) { i++; continue; }
    let j = i;
    while (j < n && !any[j]) j++;
    tile(i, j, non);
    i = j;
  }
  const ok = s => !rec.seq.slice(s, s + L).includes('N');
  const coding = [...new Set(cod)].sort((x, y) => x - y).filter(s => ok(s) && !pseudo.subarray(s, s + L).some(v => v));
  const noncoding = non.filter(ok);
  return { coding: coding.map(s => rec.seq.slice(s, s + L)), noncoding: noncoding.map(s => rec.seq.slice(s, s + L)) };
}

const COMP = { A: 'T', C: 'G', G: 'C', T: 'A', N: 'N' };
const revcomp = s => { let o = ''; for (let i = s.length - 1; i >= 0; i--) o += COMP[s[i]]; return o; };
const canon = s => { const r = revcomp(s); return r < s ? r : s; };

function stats(list, Ls) {
  const entries = readList(list).filter(e => e.role === 'task');
  for (const e of entries) {
    const recs = readRecords(e);
    for (const L of Ls) {
      let c = 0, nc = 0;
      const uc = new Set(), un = new Set();
      for (const r of recs) { const w = windows(r, L); c += w.coding.length; nc += w.noncoding.length; w.coding.forEach(x => uc.add(canon(x))); w.noncoding.forEach(x => un.add(canon(x))); }
      console.log(`${path.basename(e.file)}\t${recs.length} rec\tL=${L}\tcoding ${c} (${uc.size} unique)\tnoncoding ${nc} (${un.size} unique)`);
    }
  }
}

// ---- task "coding" -------------------------------------------------------------------------
// Coding vs non-coding 100-bp windows of an annotated bacterial genome (the GenBank records
// of the `task` files; dna.sh passes the Leptospira kirschneri str. H1 draft genome of
// any2fasta-examples: 75 contigs, 4.59 Mb, RefSeq annotation with 4,162 CDS).
//  - windows: see windows() above; label "coding" or "noncoding";
//  - L = 100: long enough for codon structure (33 codons) and 95 overlapping 6-mers (as
//    GeneMask's Prom-core, 70 6-mers), short enough for bacterial intergenic stretches,
//    which are mostly 50–300 bp: at 150 / 200 bp the non-coding windows drop by 38% / 57%
//    and the rest come from atypical long gaps;
//  - identity is up to the reverse complement (a window and its reverse complement are one
//    sequence, canonical form = the smaller of the two): a sequence seen with both labels is
//    dropped; split by whole record (contig), then a sequence that occurs in the test
//    records is removed from train, and each split keeps one copy;
//  - split: records ranked by sha256("dna-coding-split:" + record id); records go to test in
//    that order until the test records hold ≥ 30% of all non-coding windows; the rest is
//    train. Test is balanced: every test non-coding window up to TEST_MAX, and as many coding
//    windows, the first in the order of sha256("dna-coding-test:" + sequence); its rows
//    ordered by sha256 of the sequence;
//  - shots: one order per class over the train windows, by sha256("dna-coding-shot:" +
//    sequence) (the fixed "seed"); train_N.tsv holds the first N windows of each class (N
//    per class, 2N rows), rows alternating coding, noncoding, coding, … so each train_N is a
//    prefix of every larger one, and every window of a smaller set is in all larger sets.
// Also writes records.tsv (record → split, window counts) for the documentation.
const TASK_L = 100, TEST_FRAC = 0.3, TEST_MAX = 2500, SHOTS = [10, 50, 100, 500, 1000];
function buildTask(list, outDir) {
  const entries = readList(list).filter(e => e.role === 'task');
  const recs = [];
  for (const e of entries) for (const r of readRecords(e)) {
    if (!r.features) throw new Error(`${e.file}: task inputs must be GenBank`);
    const w = windows(r, TASK_L);
    recs.push({ id: r.id, pkg: e.pkg, len: r.seq.length, w, key: sha('dna-coding-split:' + r.id) });
  }
  // identity up to reverse complement; labels per canonical sequence
  const labelsOf = new Map();
  for (const r of recs) for (const lab of ['coding', 'noncoding']) for (const s of r.w[lab]) {
    const c = canon(s); const m = labelsOf.get(c) || new Set(); m.add(lab); labelsOf.set(c, m);
  }
  const conflict = c => labelsOf.get(c).size > 1;
  const totalNon = recs.reduce((a, r) => a + r.w.noncoding.length, 0);
  const order = [...recs].sort((a, b) => (a.key < b.key ? -1 : 1));
  let testNon = 0;
  for (const r of order) {
    r.split = testNon < TEST_FRAC * totalNon ? 'test' : 'train';
    if (r.split === 'test') testNon += r.w.noncoding.length;
  }
  const pool = { test: { coding: new Map(), noncoding: new Map() }, train: { coding: new Map(), noncoding: new Map() } };
  let dropConflict = 0, dropDup = 0;
  for (const split of ['test', 'train']) for (const r of recs.filter(x => x.split === split)) for (const lab of ['coding', 'noncoding']) {
    for (const s of r.w[lab]) {
      const c = canon(s);
      if (conflict(c)) { dropConflict++; continue; }
      if (pool.test[lab].has(c) || pool[split][lab].has(c)) { dropDup++; continue; }
      pool[split][lab].set(c, s); // keep the first orientation seen (the record's + strand)
    }
  }
  const ranked = (m, tag) => [...m.values()].map(s => ({ s, k: sha(tag + s) })).sort((a, b) => (a.k < b.k ? -1 : 1)).map(x => x.s);
  const nTest = Math.min(TEST_MAX, pool.test.noncoding.size, pool.test.coding.size);
  const test = [];
  for (const lab of ['coding', 'noncoding'])
    for (const s of ranked(pool.test[lab], 'dna-coding-test:').slice(0, nTest)) test.push({ s, lab });
  test.sort((a, b) => { const x = sha(a.s), y = sha(b.s); return x < y ? -1 : x > y ? 1 : 0; });
  const shotOrder = { coding: ranked(pool.train.coding, 'dna-coding-shot:'), noncoding: ranked(pool.train.noncoding, 'dna-coding-shot:') };
  const maxShot = SHOTS[SHOTS.length - 1];
  for (const lab of ['coding', 'noncoding'])
    if (shotOrder[lab].length < maxShot) throw new Error(`train has only ${shotOrder[lab].length} ${lab} windows (< ${maxShot})`);

  const dir = path.join(outDir, 'tasks', 'coding');
  fs.mkdirSync(dir, { recursive: true });
  const tsv = rows => 'sequence\tlabel\n' + rows.map(r => r.s + '\t' + r.lab + '\n').join('');
  writeAtomic(path.join(dir, 'test.tsv'), tsv(test));
  for (const n of SHOTS) {
    const rows = [];
    for (let i = 0; i < n; i++) rows.push({ s: shotOrder.coding[i], lab: 'coding' }, { s: shotOrder.noncoding[i], lab: 'noncoding' });
    writeAtomic(path.join(dir, `train_${n}.tsv`), tsv(rows));
  }
  writeAtomic(path.join(dir, 'records.tsv'), 'record\tpackage\tlength\tsplit\tcoding_windows\tnoncoding_windows\n' +
    recs.map(r => [r.id, r.pkg, r.len, r.split, r.w.coding.length, r.w.noncoding.length].join('\t')).join('\n') + '\n');
  const nr = s => recs.filter(r => r.split === s);
  const bp = rs => rs.reduce((a, r) => a + r.len, 0);
  console.error(`[data] coding: ${recs.length} records, L = ${TASK_L}; windows coding ${recs.reduce((a, r) => a + r.w.coding.length, 0)}, ` +
    `noncoding ${totalNon}; ${dropConflict} with both labels and ${dropDup} repeats (up to reverse complement) dropped`);
  for (const s of ['train', 'test'])
    console.error(`[data] coding ${s}: ${nr(s).length} records, ${bp(nr(s))} bp; unique windows coding ${pool[s].coding.size}, noncoding ${pool[s].noncoding.size}`);
  console.error(`[data] coding test.tsv: ${nTest} per class (${2 * nTest} rows); train_N.tsv: N per class for N = ${SHOTS.join(', ')}`);
}

const [cmd, list, ...rest] = process.argv.slice(2);
if (cmd === 'corpus') buildCorpus(list, rest[0]);
else if (cmd === 'stats') stats(list, rest.map(Number));
else if (cmd === 'task') buildTask(list, rest[0]);
else { console.error('usage: node dna.js corpus|task|stats LIST OUTDIR|L...'); process.exit(2); }
