/* fuzz_tokenizer.c — arbitrary bytes as text for the WordPiece tokenizer, with
 * a small built-in vocab (specials, ASCII, a few multi-byte and ## pieces).
 * Byte 0 picks the options (pair split, max_length, padding, normalizer flags);
 * checks: every id in range, lengths respect max_length/pad_to, type ids and
 * mask well formed, words from text_words are non-empty valid UTF-8, decode
 * succeeds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/text/normalize.h"
#include "../src/text/tokenizer.h"
#include "../src/text/utf8.h"

static const char vocab_txt[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n!\n\"\n#\n'\n(\n)\n,\n-\n.\n/\n:\n;\n?\n[\n]\n0\n1\n2\n3\n"
    "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\nq\nr\ns\nt\nu\nv\nw\nx\ny\nz\n"
    "##a\n##b\n##c\n##d\n##e\n##s\n##t\n##ing\n##ed\nthe\nan\nand\nun\n##aff\n##able\n"
    "\xc3\xa9\n##\xc3\xa9\n\xe6\x9d\xb1\n\xce\xbf\n##\xce\xb4\n\xe2\x82\xac\n##\xe2\x82\xac\n";

static tokenizer *tok;

static void check_word(void *ud, const char *w, size_t n) {
    (void)ud;
    if (n == 0 || !utf8_valid((const uint8_t *)w, n)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok) {
        tok = tok_load_vocab_mem("builtin", vocab_txt, sizeof vocab_txt - 1, NULL);
        if (!tok) abort();
    }
    if (size < 1) return 0;
    uint8_t op = data[0];
    const char *text = (const char *)data + 1;
    size_t n = size - 1;

    norm_config c = {op & 1, (op >> 1) & 1, (op >> 2) & 1 ? -1 : 0, (op >> 3) & 1};
    text_words(&c, text, n, check_word, NULL);

    tok_encode_opts o;
    tok_encode_opts_default(&o);
    o.max_length = (op >> 4) & 1 ? 3 + (op >> 5) : 0; /* 3..10 */
    o.pad_to = (op >> 7) ? 12 : 0;
    const char *b = NULL;
    size_t na = n, nb = 0;
    if (op & 0x40) { /* pair: split at the first TAB or in the middle */
        const char *tab = memchr(text, '\t', n);
        na = tab ? (size_t)(tab - text) : n / 2;
        b = text + na + (tab ? 1 : 0);
        nb = n - na - (tab ? 1 : 0);
    }
    tok_encoding e = {0};
    if (tok_encode(tok, text, na, b, nb, &o, &e) < 0) abort(); /* options are always valid here */
    size_t V = tok_vocab_size(tok);
    if (o.max_length && e.n > (o.pad_to > o.max_length ? o.pad_to : o.max_length)) abort();
    if (o.pad_to && e.n < o.pad_to) abort();
    for (size_t i = 0; i < e.n; i++)
        if (e.ids[i] >= V || e.type_ids[i] > 1 || e.mask[i] > 1 || (!b && e.type_ids[i])) abort();
    char *s = tok_decode(tok, e.ids, e.n, (op & 2) != 0);
    if (!s) abort();
    free(s);
    uint32_t *ids = NULL;
    size_t k = 0, cap = 0;
    tok_encode_ids(tok, text, n, &ids, &k, &cap);
    for (size_t i = 0; i < k; i++)
        if (ids[i] >= V) abort();
    free(ids);
    tok_encoding_free(&e);
    return 0;
}
