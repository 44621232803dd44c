#!/usr/bin/env node
// tokenizer_parity.js — the golden side of bertc's tokenizer checks, using npm
// tokenizers@0.23.2 (the Rust core) configured as bert-base-uncased's
// tokenizer.json (spec tokenizer.md §8.1). PKG is the unpacked package dir
// (tools/parity/npm_fetch.sh prints it).
//
//   node tokenizer_parity.js PKG encode VOCAB FILE [--pair] [--max-length N] [--type-ids] [normalizer flags]
//        prints one line per input line, in the format of `bertc encode`
//   node tokenizer_parity.js PKG edge-golden VOCAB OUT.jsonl
//        writes the edge-case golden file read by tests/test_tokenizer.c
//   node tokenizer_parity.js PKG bench VOCAB FILE [--pair]
//        encodeBatch throughput (threads: RAYON_NUM_THREADS), one result line
//   node tokenizer_parity.js PKG save-json VOCAB OUT.json
//        the library's own serialization of that tokenizer (read by bertc)
//   node tokenizer_parity.js PKG inputs VOCAB OUT.txt [--random N] [--seed S]
//        writes parity inputs, one per line: the edge cases of edge-golden (line
//        breaks folded to spaces) and N seeded random strings mixing ASCII,
//        Latin-1, Greek, CJK, emoji, combining marks, controls, private use,
//        unassigned code points, long words and [MASK]-like strings (spec §4)
'use strict';
const fs = require('fs');
const path = require('path');

const [pkg, cmd, vocabPath, file, ...rest] = process.argv.slice(2);
if (!pkg || !cmd || !vocabPath || !file) {
  console.error('usage: tokenizer_parity.js PKG encode|edge-golden|bench VOCAB FILE [options]');
  process.exit(2);
}
const tk = require(path.resolve(pkg));

function loadVocab(p) {
  const lines = fs.readFileSync(p, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const vocab = {};
  lines.forEach((t, i) => { vocab[t] = i; });
  return vocab;
}
const vocab = loadVocab(vocabPath);

// A tokenizer.json for bert-base-uncased with optional truncation / padding.
// Normalizer flags as `bertc encode` takes them (vocab.txt mode).
function normFromArgs() {
  const nz = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
  if (rest.includes('--no-lowercase')) nz.lowercase = false;
  if (rest.includes('--lowercase')) nz.lowercase = true;
  if (rest.includes('--strip-accents')) nz.strip_accents = true;
  if (rest.includes('--no-strip-accents')) nz.strip_accents = false;
  if (rest.includes('--no-clean-text')) nz.clean_text = false;
  if (rest.includes('--no-chinese-chars')) nz.handle_chinese_chars = false;
  return nz;
}

function makeTokenizer({ maxLength = 0, padTo = 0, normalizer = null } = {}) {
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((c) => c in vocab);
  const sp = (id, type_id) => ({ SpecialToken: { id, type_id } });
  const sq = (id, type_id) => ({ Sequence: { id, type_id } });
  const j = {
    version: '1.0',
    truncation: maxLength ? { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 } : null,
    padding: padTo ? { strategy: { Fixed: padTo }, direction: 'Right', pad_to_multiple_of: null,
      pad_id: vocab['[PAD]'], pad_type_id: 0, pad_token: '[PAD]' } : null,
    added_tokens: special.map((c) => ({ id: vocab[c], content: c, single_word: false, lstrip: false, rstrip: false,
      normalized: false, special: true })),
    normalizer: normalizer || { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [sp('[CLS]', 0), sq('A', 0), sp('[SEP]', 0)],
      pair: [sp('[CLS]', 0), sq('A', 0), sp('[SEP]', 0), sq('B', 1), sp('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  return tk.Tokenizer.fromString(JSON.stringify(j));
}

function opt(name, dflt) {
  const i = rest.indexOf(name);
  if (i < 0) return dflt;
  return rest[i + 1] === undefined || rest[i + 1].startsWith('--') ? true : rest[i + 1];
}

function readLines(p) {
  const lines = fs.readFileSync(p, 'utf8').split('\n'); // invalid UTF-8 → U+FFFD, as bertc reads it
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function splitPair(line) {
  const k = line.indexOf('\t');
  if (k < 0) throw new Error('expected A<TAB>B: ' + JSON.stringify(line.slice(0, 80)));
  return [line.slice(0, k), line.slice(k + 1)];
}

async function encodeAll(t, lines, pair) {
  const out = [];
  const B = 512;
  for (let i = 0; i < lines.length; i += B) {
    const batch = lines.slice(i, i + B);
    if (pair) out.push(...(await Promise.all(batch.map((l) => t.encode(...splitPair(l)))))); // encodeBatch takes no pairs
    else out.push(...(await t.encodeBatch(batch)));
  }
  return out;
}

async function main() {
  if (cmd === 'encode') {
    const pair = !!opt('--pair', false), typeIds = !!opt('--type-ids', false);
    const t = makeTokenizer({ maxLength: +opt('--max-length', 0), normalizer: normFromArgs() });
    const encs = await encodeAll(t, readLines(file), pair);
    const out = encs.map((e) => e.getIds().join(' ') + (typeIds ? '\t' + e.getTypeIds().join(' ') : ''));
    process.stdout.write(out.length ? out.join('\n') + '\n' : '');
  } else if (cmd === 'bench') {
    const pair = !!opt('--pair', false);
    const t = makeTokenizer({ maxLength: +opt('--max-length', 0) });
    const lines = readLines(file);
    const t0 = process.hrtime.bigint();
    const encs = await encodeAll(t, lines, pair);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    let tokens = 0;
    for (const e of encs) tokens += e.getIds().length;
    console.log(`lines ${lines.length} tokens ${tokens} seconds ${sec.toFixed(4)} tokens_per_s ${(tokens / sec).toFixed(0)}`);
  } else if (cmd === 'edge-golden') {
    await edgeGolden(file);
  } else if (cmd === 'save-json') {
    makeTokenizer().save(file, true); // the library's own tokenizer.json serialization
  } else if (cmd === 'inputs') {
    writeInputs(file, +opt('--random', 100000), +opt('--seed', 1));
  } else {
    throw new Error('unknown command ' + cmd);
  }
}

// ---- edge cases -------------------------------------------------------------------
function edgeCases() {
  const C = (...cps) => String.fromCodePoint(...cps);
  const cases = []; // {a, b?, max_length?, pad_to?}
  const add = (a, b = null, max_length = 0, pad_to = 0) => cases.push({ a, b, max_length, pad_to });
  // spec §3 rows
  ['Hello, world!', 'The quick brown fox jumps over the lazy dog.', 'unaffable', 'Héllo WORLD naïve café', 'ΟΔΟΣ',
    '野口 東京', C(0x2b820) + 'x', C(0x2b920) + 'x', 'a\u2028b', 'a\u00a0b', 'a\u200bb', 'a\u0001b', 'a\ufffdb',
    'a' + C(0xe0001) + 'b', 'a\u0378b', 'İstanbul', '$5 + 3 = <8> ^ `x` | ~y', "don't stop-believing!!!", 'a'.repeat(101),
    'supercalifragilisticexpialidocious', '[MASK] is here [CLS]', '[mask] x', '[unused1]', '5€ °C ©', '½ Ⅳ ＡＢ',
    'e\u0301', 'straße', 'ﬁne', '\t tab\ttab\nnew\rline  ', '‘quoted’ — dash…', '🙂 emoji'].forEach((s) => add(s));
  add('How are you?', 'I am fine.');
  // accents and case
  ['Ångström', 'Crème brûlée', 'Ñandú', 'Ægir œuvre', 'Dvořák Łódź', 'İIıi', 'ΆΈΉ άέή ΐ', 'Ǆǅǆ', 'ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ',
    'Ⅻ ① ™ x² ½ ℃', 'ĳ Ĳ', 'ẞ ß', 'ʼn', 'ΣΊΣΥΦΟΣ', 'Ḱ ṁ ǹ', 'Å Å Å'].forEach((s) => add(s));
  // combining marks, canonical reordering of the marks that survive stripping
  ['a\u0301\u0327', 'e\u0301\u0301', 'q\u0307\u0323', 'a' + C(0x1d16d, 0x1d165) + 'b', 'a' + C(0x08d4, 0x1d165),
    'a' + C(0x1d165, 0x08d4), 'x\u0e38\u0e48', 'x\u0e48\u0e38', '\u0301abc', 'abc\u0301', '\u0345', 'ᾳ ᾼ',
    'a\u200d\u0301b', 'n\u0303\u200b\u0301', 'a' + C(0x1d16d, 0x34f, 0x1d165), 'a' + C(0x1d16d, 0x301, 0x1d165),
    'a' + C(0x1d16d, 0x200d, 0x1d165), 'x' + C(0x0f71, 0x0f72, 0x0f74, 0x0f7a) + 'y', 'a' + C(0x302e, 0x302a),
    'a' + C(0x1d16d, 0x1d16e, 0x1d165, 0x1d166)].forEach((s) => add(s));
  // CJK range boundaries, alone and glued to ASCII
  for (const cp of [0x33ff, 0x3400, 0x4dbf, 0x4dc0, 0x4dff, 0x4e00, 0x9fff, 0xa000, 0xf8ff, 0xf900, 0xfaff, 0xfb00,
    0x1ffff, 0x20000, 0x2a6df, 0x2a6e0, 0x2a6ff, 0x2a700, 0x2b73f, 0x2b740, 0x2b81f, 0x2b820, 0x2b91f, 0x2b920,
    0x2ceaf, 0x2ceb0, 0x2f7ff, 0x2f800, 0x2fa1f, 0x2fa20, 0x3000, 0x3001, 0x3002]) {
    add('a' + C(cp) + 'b');
    add(C(cp));
  }
  // control, format, private use, unassigned, noncharacters, replacement
  for (const cp of [0x0, 0x1, 0x7, 0xb, 0xc, 0x1c, 0x1d, 0x1e, 0x1f, 0x7f, 0x80, 0x85, 0x9f, 0xad, 0x600, 0x61c,
    0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202e, 0x2060, 0x2064, 0x2066, 0xfeff, 0xfff9, 0xfffd,
    0xe000, 0xf8ff, 0xf0000, 0x10fffd, 0xe0001, 0xe0020, 0xe007f, 0x0378, 0x0380, 0x08e2, 0xfdd0, 0xfffe, 0xffff,
    0x10ffff, 0x2e42, 0x2e43, 0xa8c5, 0x111c9, 0x166d, 0x1734, 0x037e, 0x0387, 0x1fee, 0x1680, 0x2000, 0x200a,
    0x2028, 0x2029, 0x202f, 0x205f, 0x3000]) {
    add('x' + C(cp) + 'y');
    add(C(cp));
  }
  // emoji and symbols
  ['👍🏽 ok', '👨‍👩‍👧 family', '🇫🇷🇩🇪', '❤️ love', '☃ ★ ♠ ♥', '→ ← ↑', '∑ ∫ √ ∞ ≠ ≤', '€$£¥₹', '°C °F', '§ ¶ † ‡']
    .forEach((s) => add(s));
  // very long words: 99 / 100 / 101 characters (counted after normalization)
  for (const n of [99, 100, 101]) {
    add('a'.repeat(n));
    add('é'.repeat(n));
    add('x' + 'ab'.repeat(50).slice(0, n - 1));
    add('東'.repeat(n));
    add('e\u0301'.repeat(n));
    add('ab'.repeat(n) + ' ok');
  }
  add('A\u0301'.repeat(60) + 'B'.repeat(50)); // 170 code points, 110 after stripping
  // mixed scripts
  ['Москва 東京 القاهرة मुंबई ไทย 서울', 'Ελληνικά עברית ქართული Հայերեն', '한국어 ᄀ ᅡ ᆨ', 'ひらがな カタカナ ｶﾀｶﾅ',
    'Tiếng Việt', 'नमस्ते दुनिया', 'السلام عليكم', '中文，标点。“引号”！'].forEach((s) => add(s));
  // added-token look-alikes
  ['[MASK]', '[MASK][MASK]', '[MASK]x', 'x[MASK]', '[ MASK ]', '[MASK', 'MASK]', '[Mask]', '[[MASK]]',
    '[UNK][CLS][SEP][PAD]', '[unused0] [unused993] [unused994]', '[MASK]\u0301', 'é[MASK]é', '[CLS]', '[SEP] a [SEP]',
    '[PAD]', '[MASK ]', 'a[SEP]b', '[[[', ']]]', '[]'].forEach((s) => add(s));
  // numbers, urls, code
  ['3.14159 1,000,000 $1.5M', 'e-mail@example.com http://x.y/z?a=b&c=d#f', 'C++ / C# / F#', "it's rock'n'roll",
    'co-operate re-enter', '  leading and trailing  ', '', ' ', '\t', 'a', 'A', '.', '...', '!!!', '##', '##s', 's##']
    .forEach((s) => add(s));
  // pairs: every length combination up to max_length + 3 at max_length 10 (budget 7)
  const words = 'a b c d e f g h i j k l m n o p q r s t u v w x y z'.split(' ');
  for (let na = 0; na <= 13; na++) for (let nb = 0; nb <= 13; nb++)
    add(words.slice(0, na).join(' '), words.slice(13, 13 + nb).join(' '), 10);
  // multi-token words near max_length: the library cuts each sequence at the
  // first word boundary at or past max_length before the pair truncation
  for (let k = 2; k <= 6; k++) for (let m = 8; m <= 14; m++) {
    const u = Array(k).fill('unaffable').join(' '), w = words.slice(0, m).join(' ');
    add(u, w, 10);
    add(w, u, 10);
    add(u + ' [MASK] x', w, 12);
  }
  // spec §2.6 table and odd budgets
  add('a b c d', 'e f g h i j k l', 10); add('e f g h i j k l', 'a b c d', 10);
  add('a b c d e', 'f g h i j', 10); add('a b', 'c d e f g h i j k', 10);
  for (const m of [3, 4, 5, 6, 11, 128]) add('the quick brown fox jumps', 'over the lazy dog again and again', m);
  for (const m of [2, 3, 4, 7]) add('the quick brown fox jumps over', null, m);
  add('a b c', null, 0, 8); add('a b c', 'd e', 0, 8); add('a b c d e f g h i j', 'k l m', 8, 12);
  add('unaffable supercalifragilistic', 'x', 6);
  add('[MASK] [MASK] [MASK]', '[CLS] x', 6);
  add('Héllo', 'WORLD', 0);
  return cases;
}

async function edgeGolden(outPath) {
  const cache = new Map();
  const get = (maxLength, padTo) => {
    const k = maxLength + '/' + padTo;
    if (!cache.has(k)) cache.set(k, makeTokenizer({ maxLength, padTo }));
    return cache.get(k);
  };
  const lines = [];
  for (const c of edgeCases()) {
    const t = get(c.max_length, c.pad_to);
    const e = c.b === null ? await t.encode(c.a) : await t.encode(c.a, c.b);
    const ids = e.getIds();
    lines.push(JSON.stringify({
      a: c.a, b: c.b, max_length: c.max_length, pad_to: c.pad_to,
      ids, type_ids: e.getTypeIds(), mask: e.getAttentionMask(), tokens: e.getTokens(),
      decode: await t.decode(ids, true),
    }));
  }
  fs.writeFileSync(outPath, lines.join('\n') + '\n');
  console.error(`edge-golden: ${lines.length} cases → ${outPath}`);
}

function writeInputs(outPath, n, seed) {
  const fold = (x) => x.replace(/[\n\r]/g, ' ');
  const out = [];
  for (const c of edgeCases()) {
    out.push(fold(c.a));
    if (c.b !== null) out.push(fold(c.b));
  }
  let st = seed >>> 0 || 1;
  const rnd = (k) => { st ^= st << 13; st >>>= 0; st ^= st >>> 17; st ^= st << 5; st >>>= 0; return st % k; };
  const pools = [[0x61, 0x7a], [0x41, 0x5a], [0x20, 0x7e], [0x20, 0x20], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff],
    [0x400, 0x4ff], [0x4e00, 0x9fff], [0x3000, 0x303f], [0xac00, 0xd7a3], [0x1f300, 0x1faff], [0x0, 0x1f],
    [0x7f, 0x9f], [0xe000, 0xf8ff], [0x2000, 0x206f], [0xfff0, 0xffff], [0x1dc0, 0x1dff], [0x591, 0x5c7],
    [0x8d4, 0x8ff], [0x1d165, 0x1d172], [0x20000, 0x2ceaf], [0x10000, 0x10ffff], [0x0, 0xffff]];
  const marks = ['[MASK]', '[CLS]', '[SEP]', '[PAD]', '[UNK]', '[mask]', '[MASK', 'MASK]', '[unused5]', '##', '##ing'];
  for (let i = 0; i < n; i++) {
    let s = '';
    const len = 1 + rnd(rnd(8) === 0 ? 300 : 40);
    for (let j = 0; j < len; j++) {
      const r = rnd(100);
      if (r < 3) { s += marks[rnd(marks.length)]; continue; }
      if (r < 5) { s += 'abcdefghij'.repeat(10).slice(0, 98 + rnd(5)); continue; } // 98..102-char words
      const p = pools[rnd(pools.length)];
      let c = p[0] + rnd(p[1] - p[0] + 1);
      if ((c >= 0xd800 && c <= 0xdfff) || c === 0x0a || c === 0x0d || c === 0x09) c = 0x20;
      s += String.fromCodePoint(c);
    }
    out.push(s);
  }
  // mark-heavy strings: canonical reordering of the marks that survive stripping
  const markPools = [[0x61, 0x63], [0x1d165, 0x1d172], [0x34f, 0x34f], [0x300, 0x36f], [0x8d4, 0x8ff], [0x591, 0x5c7],
    [0xe31, 0xe4e], [0xf71, 0xf84], [0x1dc0, 0x1dff], [0x20d0, 0x20f0], [0x302a, 0x302f], [0x16ff0, 0x16ff1],
    [0x1133b, 0x1134d], [0x200b, 0x200d], [0x20, 0x20]];
  for (let i = 0; i < n / 5; i++) {
    let s = '';
    const len = 1 + rnd(30);
    for (let j = 0; j < len; j++) {
      const p = markPools[rnd(markPools.length)];
      s += String.fromCodePoint(p[0] + rnd(p[1] - p[0] + 1));
    }
    out.push(s);
  }
  fs.writeFileSync(outPath, out.join('\n') + '\n');
  console.error(`inputs: ${out.length} lines → ${outPath}`);
}

main().catch((e) => { console.error('tokenizer_parity.js:', e.message || e); process.exit(1); });
