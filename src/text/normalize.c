/* normalize.c — BertNormalizer + BertPreTokenizer as one streaming pass.
 *
 * The library runs clean_text → handle_chinese_chars → (NFD, drop Mn) →
 * lowercase over the whole string, then splits on whitespace and punctuation.
 * Every step is a per-character map except the canonical reordering inside
 * NFD, so we map each input character through all steps at once and append
 * the results to the current word. Reordering only matters for marks that
 * survive the stripping (UNI_CCC); each one is inserted into place among the
 * marks since the last starter as it is appended. Deleted marks are invisible
 * to that order (stable sort then delete = delete then stable sort), except
 * those the library treats as starters (ccc 0, e.g. U+034F), which end the
 * run. Lowercase maps every surviving mark to itself, so ordering after
 * lower-casing gives the same bytes. Characters removed by clean_text are gone
 * before NFD, so they do not end a run.
 */
#include "normalize.h"

#include <stdint.h>
#include <string.h>

#include "../core/err.h"
#include "unicode.h"
#include "utf8.h"

void norm_config_default(norm_config *c) {
    c->clean_text = 1;
    c->handle_chinese_chars = 1;
    c->strip_accents = -1;
    c->lowercase = 1;
}

/* Growable byte buffer that starts on the caller's stack (no malloc for
 * ordinary words). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int heap;
    uint8_t stack[256];
} bytebuf;

static void bb_init(bytebuf *b) { b->p = b->stack; b->len = 0; b->cap = sizeof b->stack; b->heap = 0; }
static void bb_free(bytebuf *b) { if (b->heap) free(b->p); }
static void bb_reserve(bytebuf *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap * 2;
    while (cap < b->len + extra) cap *= 2;
    if (b->heap) b->p = xrealloc(b->p, cap);
    else { uint8_t *q = xmalloc(cap); memcpy(q, b->p, b->len); b->p = q; b->heap = 1; }
    b->cap = cap;
}

typedef struct {
    int clean, cjk, strip, lower;
    const uint8_t *cls; /* (UNI_MAX_CP,) */
    word_fn fn;         /* NULL: normalize only, no splitting */
    word_stop_fn stop_fn; /* used instead of fn when set */
    void *ud;
    int stopped;        /* stop_fn asked to stop */
    bytebuf word;
    size_t run_start;   /* word offset after the last starter: marks after it get reordered */
} pass;

/* Appends a reorderable mark (UNI_CCC) after the marks of the current run
 * with a lower or equal combining class (canonical ordering, stable). */
static void word_put_mark(pass *P, uint32_t cp) {
    int c = uni_ccc(cp);
    size_t at = P->word.len;
    while (at > P->run_start) { /* step back over marks of a higher class */
        size_t prev = at - 1;
        while (prev > P->run_start && (P->word.p[prev] & 0xC0) == 0x80) prev--;
        uint32_t q;
        utf8_decode(P->word.p + prev, at - prev, &q);
        if (uni_ccc(q) <= c) break;
        at = prev;
    }
    uint8_t enc[4];
    size_t k = utf8_encode(cp, enc);
    bb_reserve(&P->word, k);
    memmove(P->word.p + at + k, P->word.p + at, P->word.len - at);
    memcpy(P->word.p + at, enc, k);
    P->word.len += k;
}

static void word_flush(pass *P) {
    P->run_start = 0;
    if (!P->word.len) return;
    if (P->stopped) { P->word.len = 0; return; } /* the consumer wants no more words */
    if (P->fn) {
        if (P->stop_fn) P->stopped = P->stop_fn(P->ud, (const char *)P->word.p, P->word.len);
        else P->fn(P->ud, (const char *)P->word.p, P->word.len);
        P->word.len = 0;
    }
}

/* Appends one fully normalized code point, splitting words as BertPreTokenizer. */
static void put_final(pass *P, uint32_t cp) {
    uint8_t k = P->cls[cp];
    if (P->fn) {
        if (k & UNI_WS) { word_flush(P); return; }
        if (k & UNI_PUNCT) {
            word_flush(P);
            bb_reserve(&P->word, 4);
            P->word.len = utf8_encode(cp, P->word.p);
            word_flush(P);
            return;
        }
    }
    if (P->strip && (k & UNI_CCC)) { word_put_mark(P, cp); return; }
    bb_reserve(&P->word, 4);
    P->word.len += utf8_encode(cp, P->word.p + P->word.len);
    P->run_start = P->word.len;
}

/* strip_accents and lowercase of one code point, then put. */
static void put_mapped(pass *P, uint32_t cp) {
    uint32_t s[UNI_MAX_MAP], l[UNI_MAX_MAP];
    int ns = 1;
    s[0] = cp;
    if (P->strip && (P->cls[cp] & UNI_STRIP)) {
        ns = uni_strip(cp, s);
        if (ns == 0 && uni_strip_del_is_starter(cp)) P->run_start = P->word.len;
    }
    for (int i = 0; i < ns; i++) {
        if (P->lower && (P->cls[s[i]] & UNI_LOWER)) {
            int nl = uni_lower(s[i], l);
            for (int j = 0; j < nl; j++) put_final(P, l[j]);
        } else {
            put_final(P, s[i]);
        }
    }
}

static void run(pass *P, const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n && !P->stopped;) {
        uint32_t cp = s[i];
        if (cp < 0x80) { /* ASCII fast path: no CJK, no stripping, lowercase is A-Z */
            i++;
            uint8_t k = P->cls[cp];
            if (P->clean && (k & (UNI_REMOVED | UNI_SPACE))) {
                if (k & UNI_REMOVED) continue;
                cp = ' ', k = P->cls[' '];
            }
            if (P->lower && cp >= 'A' && cp <= 'Z') cp += 32;
            if (P->fn && (k & (UNI_WS | UNI_PUNCT))) { put_final(P, cp); continue; }
            bb_reserve(&P->word, 1);
            P->word.p[P->word.len++] = (uint8_t)cp;
            P->run_start = P->word.len;
            continue;
        }
        i += utf8_decode(s + i, n - i, &cp);
        uint8_t k = P->cls[cp];
        if (P->clean) {
            if (k & UNI_REMOVED) continue;
            if (k & UNI_SPACE) { put_final(P, ' '); continue; }
        }
        if (P->cjk && (k & UNI_CJK)) {
            put_final(P, ' ');
            put_mapped(P, cp);
            put_final(P, ' ');
            continue;
        }
        put_mapped(P, cp);
    }
}

static void pass_init(pass *P, const norm_config *c) {
    P->clean = c->clean_text;
    P->cjk = c->handle_chinese_chars;
    P->lower = c->lowercase;
    P->strip = c->strip_accents < 0 ? c->lowercase : c->strip_accents;
    P->cls = uni_class_table();
    P->run_start = 0;
    P->stop_fn = NULL;
    P->stopped = 0;
    bb_init(&P->word);
}

void text_words(const norm_config *c, const char *s, size_t n, word_fn fn, void *ud) {
    pass P;
    pass_init(&P, c);
    P.fn = fn;
    P.ud = ud;
    run(&P, (const uint8_t *)s, n);
    word_flush(&P);
    bb_free(&P.word);
}

/* The stop callback is called through the word_fn slot's caller. */
static void never_called(void *ud, const char *w, size_t n) { (void)ud, (void)w, (void)n; }

int text_words_until(const norm_config *c, const char *s, size_t n, word_stop_fn fn, void *ud) {
    pass P;
    pass_init(&P, c);
    P.fn = never_called; /* non-NULL: split into words */
    P.stop_fn = fn;
    P.ud = ud;
    run(&P, (const uint8_t *)s, n);
    if (!P.stopped) word_flush(&P);
    bb_free(&P.word);
    return P.stopped;
}

void text_normalize(const norm_config *c, const char *s, size_t n, char **out, size_t *len, size_t *cap) {
    pass P;
    pass_init(&P, c);
    P.fn = NULL;
    run(&P, (const uint8_t *)s, n);
    if (*len + P.word.len + 1 > *cap) {
        *cap = (*len + P.word.len + 1) * 2;
        *out = xrealloc(*out, *cap);
    }
    memcpy(*out + *len, P.word.p, P.word.len);
    *len += P.word.len;
    (*out)[*len] = 0;
    bb_free(&P.word);
}
