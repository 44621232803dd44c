// vocab_jaccard.js — reference side of `make vocab-jaccard` and of the vocab golden fixtures.
//
//   node vocab_jaccard.js train TOKENIZERS_DIR OUT.txt bert|ws FILES...
//       trains with npm tokenizers' WordPieceTrainer and writes the vocab in id order.
//       The Node binding (0.23.2) exposes only Tokenizer.train(files), which uses the model's
//       default trainer: vocab_size 30000, min_frequency 0, no special tokens, no alphabet
//       limit, prefix "##". Pre-processing: bert = BertNormalizer(lowercase) + BertPreTokenizer,
//       ws = no normalizer + WhitespaceSplit.
//   node vocab_jaccard.js compare REF.txt OURS.txt [N_REF] [SKIP_OURS]
//       compares token sets: REF's first N_REF tokens (all if omitted) against OURS without its
//       first SKIP_OURS tokens (special tokens) and without trailing [unusedN] padding; prints
//       sizes, |A∩B|, |A∪B|, the Jaccard overlap, merge-order agreement and a few differences.
'use strict';
const fs = require('fs');

function train(dir, out, mode, files) {
  const tk = require(dir);
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: [],
    normalizer: mode === 'bert'
      ? { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true }
      : null,
    pre_tokenizer: mode === 'bert' ? { type: 'BertPreTokenizer' } : { type: 'WhitespaceSplit' },
    post_processor: null, decoder: null,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: {} },
  };
  const t = tk.Tokenizer.fromString(JSON.stringify(json));
  const t0 = process.hrtime.bigint();
  t.train(files);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const v = t.getVocab(false);
  const arr = [];
  for (const [k, i] of Object.entries(v)) arr[i] = k;
  for (let i = 0; i < arr.length; i++) if (arr[i] === undefined) throw new Error(`id ${i} missing`);
  fs.writeFileSync(out, arr.join('\n') + '\n');
  console.log(`reference (npm tokenizers): ${arr.length} tokens in ${secs.toFixed(2)} s`);
}

function readVocab(p) {
  const t = fs.readFileSync(p, 'utf8').split('\n');
  if (t[t.length - 1] === '') t.pop();
  return t;
}
const isMerged = t => [...(t.startsWith('##') ? t.slice(2) : t)].length > 1;

function compare(refPath, oursPath, nRef, skip) {
  let a = readVocab(refPath), b = readVocab(oursPath);
  if (nRef) a = a.slice(0, nRef);
  b = b.slice(skip || 0);
  while (b.length && /^\[unused\d+\]$/.test(b[b.length - 1])) b.pop();
  const A = new Set(a), B = new Set(b);
  let inter = 0;
  for (const x of A) if (B.has(x)) inter++;
  const uni = A.size + B.size - inter;
  const j = inter / uni;
  // merge order: merged tokens (more than one character after "##") in id order, restricted to
  // the common ones; count the positions where the two sequences agree
  const ma = a.filter(t => isMerged(t) && B.has(t)), mb = b.filter(t => isMerged(t) && A.has(t));
  let same = 0;
  for (let i = 0; i < Math.min(ma.length, mb.length); i++) if (ma[i] === mb[i]) same++;
  let firstDiff = -1;
  for (let i = 0; i < Math.min(ma.length, mb.length); i++) if (ma[i] !== mb[i]) { firstDiff = i; break; }
  console.log(`sizes: reference ${A.size}, bertc ${B.size}; common ${inter}, union ${uni}`);
  console.log(`jaccard ${j.toFixed(6)}`);
  console.log(`merge order: ${same}/${ma.length} common merged tokens at the same position` +
    (firstDiff >= 0 ? `; first difference at merge ${firstDiff}: reference '${ma[firstDiff]}' vs bertc '${mb[firstDiff]}'` : ''));
  const onlyA = a.filter(t => !B.has(t)), onlyB = b.filter(t => !A.has(t));
  if (onlyA.length) console.log(`only in reference (${onlyA.length}): ${onlyA.slice(0, 12).join(' ')}${onlyA.length > 12 ? ' …' : ''}`);
  if (onlyB.length) console.log(`only in bertc (${onlyB.length}): ${onlyB.slice(0, 12).join(' ')}${onlyB.length > 12 ? ' …' : ''}`);
  return j;
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'train') {
  const [dir, out, mode, ...files] = rest;
  if (!files.length || !['bert', 'ws'].includes(mode)) throw new Error('usage: train DIR OUT bert|ws FILES...');
  train(dir, out, mode, files);
} else if (cmd === 'compare') {
  const [r, o, n, s] = rest;
  const j = compare(r, o, n ? parseInt(n, 10) : 0, s ? parseInt(s, 10) : 0);
  if (process.env.MIN_JACCARD && j < parseFloat(process.env.MIN_JACCARD)) {
    console.log(`FAIL: jaccard ${j.toFixed(6)} < ${process.env.MIN_JACCARD}`);
    process.exit(1);
  }
} else {
  console.error('usage: vocab_jaccard.js train|compare ...');
  process.exit(2);
}
