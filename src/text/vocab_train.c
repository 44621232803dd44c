/* vocab_train.c — the WordPiece trainer (stage 2 of vocab_train.h).
 *
 * This follows the Rust tokenizers BpeTrainer (which WordPieceTrainer runs with
 * continuing_subword_prefix "##") step by step, because its exact behaviour —
 * not textbook BPE — is what the reference vocabularies come from:
 *
 *  - specials first; alphabet = characters weighted by word count, the
 *    limit_alphabet most frequent kept, added sorted by code point; characters
 *    outside it are dropped from the words (pairs form across the gap);
 *  - every non-initial character becomes "##c" (initial = first character of the
 *    word, even if that one was dropped);
 *  - pair counts weighted by word count; a max-heap of entries (pair, count,
 *    set of word indices); ties → smaller (left id, right id);
 *  - a popped entry whose count is stale is pushed back with the current count
 *    (lazy re-count); merging a pair only touches the words of the popped entry,
 *    and the merged pair's own count is NOT decremented (only its neighbours'
 *    pairs change), exactly as Word::merge reports changes. Entries for new
 *    pairs carry only the words where the pair was newly formed.
 *
 * The one choice HF leaves to hash-map order is the id order of the "##c"
 * symbols (and thereby some ties); bertc assigns them in code-point order, so
 * its output is deterministic. Compare vocabularies as sets (spec §7). */
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../io/file.h"
#include "utf8.h"
#include "vocab_train.h"

void vocab_train_opts_default(vocab_train_opts *o) {
    static const char *const bert_special[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    memset(o, 0, sizeof *o);
    o->vocab_size = 30000;
    o->min_frequency = 2;
    o->limit_alphabet = 1000;
    o->special = bert_special;
    o->n_special = 5;
    o->pad_multiple = 64;
}

/* ---- token table: id → string, string → id ---------------------------------- */

typedef struct {
    char **tok;      /* (n,) owned strings */
    size_t n, cap;
    uint32_t *slot;  /* (scap,) id + 1, 0 = empty; open addressing on the string hash */
    size_t scap;
} vt_vocab;

static uint64_t vt_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static long vt_find(const vt_vocab *v, const char *s, size_t n) {
    for (size_t j = vt_hash(s, n) & (v->scap - 1);; j = (j + 1) & (v->scap - 1)) {
        uint32_t id = v->slot[j];
        if (!id) return -1;
        const char *t = v->tok[id - 1];
        if (strlen(t) == n && memcmp(t, s, n) == 0) return (long)id - 1;
    }
}

static void vt_rehash(vt_vocab *v) {
    free(v->slot);
    v->slot = xcalloc(v->scap, sizeof *v->slot);
    for (size_t id = 0; id < v->n; id++) {
        const char *t = v->tok[id];
        size_t j = vt_hash(t, strlen(t)) & (v->scap - 1);
        while (v->slot[j]) j = (j + 1) & (v->scap - 1);
        v->slot[j] = (uint32_t)id + 1;
    }
}

/* Adds s[0..n) and returns its id (the existing id if already present). */
static uint32_t vt_add(vt_vocab *v, const char *s, size_t n) {
    long f = vt_find(v, s, n);
    if (f >= 0) return (uint32_t)f;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->tok = xrealloc(v->tok, v->cap * sizeof *v->tok);
    }
    char *t = xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = 0;
    v->tok[v->n++] = t;
    if (v->n * 2 > v->scap) {
        v->scap *= 2;
        vt_rehash(v);
    } else {
        size_t j = vt_hash(s, n) & (v->scap - 1);
        while (v->slot[j]) j = (j + 1) & (v->scap - 1);
        v->slot[j] = (uint32_t)v->n;
    }
    return (uint32_t)v->n - 1;
}

/* ---- pair → count map ----------------------------------------------------------- */

typedef struct {
    uint64_t key;    /* (left << 32 | right) + 1; 0 = empty */
    int64_t count;
    uint32_t last;   /* scratch while building the initial position lists */
    uint32_t nwords;
    uint32_t *pos;
} vt_pslot;

typedef struct {
    vt_pslot *s; /* (cap,) */
    size_t cap, used;
} vt_pairs;

static inline uint64_t pkey(uint32_t a, uint32_t b) { return ((uint64_t)a << 32 | b) + 1; }
static inline size_t pidx(uint64_t k, size_t cap) {
    k ^= k >> 31;
    k *= 0x9e3779b97f4a7c15ull;
    return (size_t)(k >> 17) & (cap - 1);
}

static vt_pslot *vt_pair(vt_pairs *m, uint32_t a, uint32_t b) {
    uint64_t k = pkey(a, b);
    size_t j = pidx(k, m->cap);
    while (m->s[j].key && m->s[j].key != k) j = (j + 1) & (m->cap - 1);
    if (m->s[j].key) return &m->s[j];
    if ((m->used + 1) * 2 > m->cap) {
        size_t ncap = m->cap * 2;
        vt_pslot *ns = xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->s[i].key) continue;
            size_t q = pidx(m->s[i].key, ncap);
            while (ns[q].key) q = (q + 1) & (ncap - 1);
            ns[q] = m->s[i];
        }
        free(m->s);
        m->s = ns;
        m->cap = ncap;
        j = pidx(k, m->cap);
        while (m->s[j].key) j = (j + 1) & (m->cap - 1);
    }
    m->used++;
    m->s[j] = (vt_pslot){.key = k, .last = UINT32_MAX};
    return &m->s[j];
}

/* ---- max-heap of merge candidates -------------------------------------------- */

typedef struct {
    uint64_t count;
    uint32_t a, b;
    uint32_t *pos; /* (npos,) distinct word indices, owned */
    uint32_t npos;
} vt_entry;

typedef struct {
    vt_entry *e;
    size_t n, cap;
} vt_heap;

/* x pops before y: higher count, then smaller (a, b) — HF's Merge ordering. */
static inline int vt_before(const vt_entry *x, const vt_entry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static void vt_push(vt_heap *h, vt_entry e) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4096;
        h->e = xrealloc(h->e, h->cap * sizeof *h->e);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!vt_before(&e, &h->e[p])) break;
        h->e[i] = h->e[p];
        i = p;
    }
    h->e[i] = e;
}

static vt_entry vt_pop(vt_heap *h) {
    vt_entry top = h->e[0], last = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const vt_entry *best = &last;
        if (l < h->n && vt_before(&h->e[l], best)) { m = l; best = &h->e[l]; }
        if (r < h->n && vt_before(&h->e[r], best)) m = r;
        if (m == i) break;
        h->e[i] = h->e[m];
        i = m;
    }
    if (h->n) h->e[i] = last;
    return top;
}

/* ---- words --------------------------------------------------------------------- */

typedef struct {
    const char *w;
    size_t len;
    uint64_t count;
} vt_word;

static int vt_word_cmp(const void *x, const void *y) {
    const vt_word *a = x, *b = y;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->w, b->w, n);
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
}

typedef struct { uint32_t cp; uint64_t count; } vt_char;

/* Per character of the input: weighted count, and the ids it maps to. */
typedef struct {
    uint32_t key;      /* code point + 1; 0 = empty slot */
    uint8_t cont;      /* occurs at a non-initial position */
    uint8_t kept;      /* in the (limited) alphabet */
    uint32_t init_id;  /* id + 1 of "c" */
    uint32_t cont_id;  /* id + 1 of "##c" */
    uint64_t count;
} vt_cslot;

typedef struct {
    vt_cslot *s; /* (cap,) open addressing */
    size_t cap, used;
} vt_chars;

/* The slot of cp; with create, added if absent (else NULL when absent). */
static vt_cslot *vt_char_slot(vt_chars *m, uint32_t cp, int create) {
    uint32_t key = cp + 1;
    size_t j = (key * 2654435761u) & (m->cap - 1);
    while (m->s[j].key && m->s[j].key != key) j = (j + 1) & (m->cap - 1);
    if (m->s[j].key || !create) return m->s[j].key ? &m->s[j] : NULL;
    if ((m->used + 1) * 2 > m->cap) {
        vt_chars n = {.cap = m->cap * 2, .used = m->used};
        n.s = xcalloc(n.cap, sizeof *n.s);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->s[i].key) continue;
            size_t q = (m->s[i].key * 2654435761u) & (n.cap - 1);
            while (n.s[q].key) q = (q + 1) & (n.cap - 1);
            n.s[q] = m->s[i];
        }
        free(m->s);
        *m = n;
        j = (key * 2654435761u) & (m->cap - 1);
        while (m->s[j].key) j = (j + 1) & (m->cap - 1);
    }
    m->used++;
    m->s[j] = (vt_cslot){.key = key};
    return &m->s[j];
}

/* Removal order under limit_alphabet: least frequent first; on equal counts the
 * larger code point goes first (HF's order there is hash order — unspecified). */
static int vt_char_by_count(const void *x, const void *y) {
    const vt_char *a = x, *b = y;
    if (a->count != b->count) return a->count < b->count ? -1 : 1;
    return a->cp > b->cp ? -1 : a->cp < b->cp;
}
static int vt_char_by_cp(const void *x, const void *y) {
    const vt_char *a = x, *b = y;
    return (a->cp > b->cp) - (a->cp < b->cp);
}

/* One change reported by a word merge: pair (a, b) gained (+1) or lost (-1) an
 * occurrence in word w. */
typedef struct {
    uint32_t a, b, w;
    int32_t delta;
} vt_change;

typedef struct {
    vt_change *c;
    size_t n, cap;
} vt_changes;

static inline void vt_note(vt_changes *v, uint32_t a, uint32_t b, uint32_t w, int32_t d) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 1024;
        v->c = xrealloc(v->c, v->cap * sizeof *v->c);
    }
    v->c[v->n++] = (vt_change){a, b, w, d};
}

/* Word::merge: replaces every (c1, c2) left to right by r in sym[0..*len),
 * reporting the neighbour pairs that disappear and appear. */
static void vt_merge_word(uint32_t *sym, uint32_t *len, uint32_t c1, uint32_t c2, uint32_t r, uint32_t w,
                          vt_changes *ch) {
    uint32_t n = *len;
    for (uint32_t i = 0; i < n; i++) {
        if (sym[i] != c1 || i + 1 >= n || sym[i + 1] != c2) continue;
        if (i > 0) {
            vt_note(ch, sym[i - 1], c1, w, -1);
            vt_note(ch, sym[i - 1], r, w, +1);
        }
        sym[i] = r;
        memmove(sym + i + 1, sym + i + 2, (size_t)(n - i - 2) * sizeof *sym);
        n--;
        if (i + 1 < n) {
            vt_note(ch, c2, sym[i + 1], w, -1);
            vt_note(ch, r, sym[i + 1], w, +1);
        }
    }
    *len = n;
}

static int vt_change_cmp(const void *x, const void *y) {
    const vt_change *a = x, *b = y;
    if (a->a != b->a) return a->a < b->a ? -1 : 1;
    if (a->b != b->b) return a->b < b->b ? -1 : 1;
    return (a->w > b->w) - (a->w < b->w);
}

/* ---- training ------------------------------------------------------------------ */

static void vt_vocab_free(vt_vocab *v) {
    for (size_t i = 0; i < v->n; i++) free(v->tok[i]);
    free(v->tok);
    free(v->slot);
}

int vocab_train(const vocab_counts *c, const vocab_train_opts *o, vocab_result *r) {
    memset(r, 0, sizeof *r);
    if (o->vocab_size == 0) return err_set("vocab size must be at least 1");
    if (o->vocab_size > (size_t)INT32_MAX) return err_set("vocab size %zu is too large", o->vocab_size);
    if (o->n_special > o->vocab_size)
        return err_set("vocab size %zu is smaller than the %zu special tokens", o->vocab_size, o->n_special);
    FILE *pg = o->progress;

    vt_vocab v = {0};
    v.scap = 4096;
    v.slot = xcalloc(v.scap, sizeof *v.slot);

    /* 1. special tokens */
    for (size_t i = 0; i < o->n_special; i++) {
        const char *s = o->special[i];
        if (!s || !*s) { vt_vocab_free(&v); return err_set("special token %zu is empty", i + 1); }
        if (vt_find(&v, s, strlen(s)) >= 0) {
            vt_vocab_free(&v);
            return err_set("special token \"%s\" is given twice", s);
        }
        vt_add(&v, s, strlen(s));
    }
    r->n_special = v.n;

    /* words, sorted by bytes so every later step is deterministic */
    size_t nw = vocab_counts_size(c);
    if (nw > UINT32_MAX - 1) { vt_vocab_free(&v); return err_set("too many distinct words (%zu)", nw); }
    vt_word *words = xcalloc(nw ? nw : 1, sizeof *words);
    {
        size_t pos = 0, i = 0;
        while (vocab_counts_iter(c, &pos, &words[i].w, &words[i].len, &words[i].count)) i++;
        CHECK(i == nw, "word count mismatch");
    }
    qsort(words, nw, sizeof *words, vt_word_cmp);

    /* 2. alphabet: characters weighted by word count */
    vt_chars cm = {.cap = 256};
    cm.s = xcalloc(cm.cap, sizeof *cm.s);
    size_t total_syms = 0;
    for (size_t i = 0; i < nw; i++) {
        const uint8_t *s = (const uint8_t *)words[i].w;
        size_t p = 0, k = 0;
        while (p < words[i].len) {
            uint32_t cp;
            p += utf8_decode(s + p, words[i].len - p, &cp);
            vt_cslot *e = vt_char_slot(&cm, cp, 1);
            e->count += words[i].count;
            if (k++) e->cont = 1;
        }
        total_syms += k;
    }
    size_t nchars = cm.used;
    vt_char *chars = xcalloc(nchars ? nchars : 1, sizeof *chars);
    for (size_t j = 0, q = 0; j < cm.cap; j++)
        if (cm.s[j].key) chars[q++] = (vt_char){cm.s[j].key - 1, cm.s[j].count};
    r->alphabet_seen = nchars;
    size_t keep = nchars;
    if (o->limit_alphabet && nchars > o->limit_alphabet) {
        qsort(chars, nchars, sizeof *chars, vt_char_by_count);
        memmove(chars, chars + (nchars - o->limit_alphabet), o->limit_alphabet * sizeof *chars);
        keep = o->limit_alphabet;
    }
    qsort(chars, keep, sizeof *chars, vt_char_by_cp);
    size_t before = v.n;
    for (size_t j = 0; j < keep; j++) {
        uint8_t buf[4];
        vt_cslot *e = vt_char_slot(&cm, chars[j].cp, 0);
        e->kept = 1;
        e->init_id = vt_add(&v, (const char *)buf, utf8_encode(chars[j].cp, buf)) + 1;
    }
    r->n_alphabet = v.n - before;
    /* 3. "##c" symbols: first those named in cont_order, then code-point order
     * (HF: hash-map order) */
    before = v.n;
    for (size_t j = 0; j < o->n_cont_order; j++) {
        const char *t = o->cont_order[j];
        size_t tl = t ? strlen(t) : 0;
        if (tl < 3 || strncmp(t, "##", 2) != 0) continue;
        uint32_t cp;
        size_t k = utf8_decode((const uint8_t *)t + 2, tl - 2, &cp);
        vt_cslot *e = vt_char_slot(&cm, cp, 0);
        if (k != tl - 2 || !e || !e->kept || !e->cont || e->cont_id) continue;
        e->cont_id = vt_add(&v, t, tl) + 1;
    }
    for (size_t j = 0; j < keep; j++) {
        char buf[8] = "##";
        vt_cslot *e = vt_char_slot(&cm, chars[j].cp, 0);
        if (e->cont && !e->cont_id) e->cont_id = vt_add(&v, buf, 2 + utf8_encode(chars[j].cp, (uint8_t *)buf + 2)) + 1;
    }
    r->n_continuing = v.n - before;
    free(chars);
    if (pg)
        fprintf(pg, "vocab: %zu distinct words, alphabet %zu characters (kept %zu), %zu \"##\" symbols\n", nw,
                nchars, keep, r->n_continuing);

    /* word → symbol ids; characters outside the alphabet are skipped */
    uint32_t *sym = xmalloc((total_syms ? total_syms : 1) * sizeof *sym); /* (total_syms,) */
    size_t *woff = xmalloc((nw ? nw : 1) * sizeof *woff);
    uint32_t *wlen = xmalloc((nw ? nw : 1) * sizeof *wlen);
    uint64_t *wcount = xmalloc((nw ? nw : 1) * sizeof *wcount);
    {
        size_t at = 0;
        for (size_t i = 0; i < nw; i++) {
            const uint8_t *s = (const uint8_t *)words[i].w;
            size_t p = 0, k = 0;
            woff[i] = at;
            wcount[i] = words[i].count;
            while (p < words[i].len) {
                uint32_t cp;
                p += utf8_decode(s + p, words[i].len - p, &cp);
                const vt_cslot *e = vt_char_slot(&cm, cp, 0);
                uint32_t id = !e->kept ? 0 : k ? e->cont_id : e->init_id;
                k++;
                if (id) sym[at++] = id - 1;
            }
            wlen[i] = (uint32_t)(at - woff[i]);
        }
    }
    free(cm.s);
    free(words);

    /* 4. pair counts and, per pair, the words containing it */
    vt_pairs pm = {.cap = 1 << 10};
    pm.s = xcalloc(pm.cap, sizeof *pm.s);
    for (uint32_t i = 0; i < nw; i++) {
        const uint32_t *w = sym + woff[i];
        for (uint32_t k = 0; k + 1 < wlen[i]; k++) {
            vt_pslot *p = vt_pair(&pm, w[k], w[k + 1]);
            p->count += (int64_t)wcount[i];
            if (p->last != i) { p->last = i; p->nwords++; }
        }
    }
    for (size_t j = 0; j < pm.cap; j++)
        if (pm.s[j].key) {
            pm.s[j].pos = xmalloc(pm.s[j].nwords * sizeof *pm.s[j].pos);
            pm.s[j].last = UINT32_MAX;
            pm.s[j].nwords = 0;
        }
    for (uint32_t i = 0; i < nw; i++) {
        const uint32_t *w = sym + woff[i];
        for (uint32_t k = 0; k + 1 < wlen[i]; k++) {
            vt_pslot *p = vt_pair(&pm, w[k], w[k + 1]);
            if (p->last != i) { p->last = i; p->pos[p->nwords++] = i; }
        }
    }
    vt_heap heap = {0};
    for (size_t j = 0; j < pm.cap; j++) {
        vt_pslot *p = &pm.s[j];
        if (!p->key) continue;
        uint64_t k = p->key - 1;
        if (p->count > 0)
            vt_push(&heap, (vt_entry){(uint64_t)p->count, (uint32_t)(k >> 32), (uint32_t)k, p->pos, p->nwords});
        else
            free(p->pos);
        p->pos = NULL;
    }

    /* 5. merges */
    vt_changes ch = {0};
    char *tbuf = NULL;
    size_t tcap = 0;
    size_t next_report = 5000;
    while (v.n < o->vocab_size && heap.n) {
        vt_entry top = vt_pop(&heap);
        int64_t cur = vt_pair(&pm, top.a, top.b)->count;
        if (top.count != (uint64_t)cur) { /* stale: re-queue with the current count */
            top.count = (uint64_t)cur;
            vt_push(&heap, top);
            continue;
        }
        if (top.count < 1 || o->min_frequency > top.count) {
            free(top.pos);
            break;
        }
        const char *ta = v.tok[top.a], *tb = v.tok[top.b];
        if (strncmp(tb, "##", 2) == 0) tb += 2;
        size_t la = strlen(ta), lb = strlen(tb);
        if (la + lb + 1 > tcap) {
            tcap = (la + lb + 1) * 2;
            tbuf = xrealloc(tbuf, tcap);
        }
        memcpy(tbuf, ta, la);
        memcpy(tbuf + la, tb, lb);
        uint32_t nid = vt_add(&v, tbuf, la + lb);
        r->n_merges++;
        r->last_count = top.count;

        ch.n = 0;
        for (uint32_t k = 0; k < top.npos; k++) {
            uint32_t i = top.pos[k];
            vt_merge_word(sym + woff[i], &wlen[i], top.a, top.b, nid, i, &ch);
        }
        free(top.pos);
        for (size_t k = 0; k < ch.n; k++)
            vt_pair(&pm, ch.c[k].a, ch.c[k].b)->count += (int64_t)ch.c[k].delta * (int64_t)wcount[ch.c[k].w];
        /* new entries: pairs that gained occurrences, with the words that gained them */
        size_t np = 0;
        for (size_t k = 0; k < ch.n; k++)
            if (ch.c[k].delta > 0) ch.c[np++] = ch.c[k];
        if (np > 1) qsort(ch.c, np, sizeof *ch.c, vt_change_cmp);
        for (size_t k = 0; k < np;) {
            size_t e = k;
            while (e < np && ch.c[e].a == ch.c[k].a && ch.c[e].b == ch.c[k].b) e++;
            int64_t cnt = vt_pair(&pm, ch.c[k].a, ch.c[k].b)->count;
            if (cnt > 0) {
                uint32_t *pos = xmalloc((e - k) * sizeof *pos), npos = 0;
                for (size_t q = k; q < e; q++)
                    if (!npos || pos[npos - 1] != ch.c[q].w) pos[npos++] = ch.c[q].w;
                vt_push(&heap, (vt_entry){(uint64_t)cnt, ch.c[k].a, ch.c[k].b, pos, npos});
            }
            k = e;
        }
        if (pg && v.n >= next_report) {
            fprintf(pg, "vocab: %zu merges, vocab %zu, last pair count %llu\n", r->n_merges, v.n,
                    (unsigned long long)top.count);
            next_report += 5000;
        }
    }
    for (size_t k = 0; k < heap.n; k++) free(heap.e[k].pos);
    free(heap.e);
    free(ch.c);
    free(tbuf);
    free(pm.s);
    free(sym);
    free(woff);
    free(wlen);
    free(wcount);

    /* 6. pad to a multiple of pad_multiple with [unusedN], skipping names in use */
    r->n_unpadded = v.n;
    if (o->pad_multiple > 1) {
        size_t target = (v.n + o->pad_multiple - 1) / o->pad_multiple * o->pad_multiple;
        for (size_t u = 0; v.n < target; u++) {
            char name[32];
            int len = snprintf(name, sizeof name, "[unused%zu]", u);
            if (vt_find(&v, name, (size_t)len) < 0) vt_add(&v, name, (size_t)len);
        }
    }
    r->tokens = v.tok;
    r->n = v.n;
    free(v.slot);
    return 0;
}

void vocab_result_free(vocab_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->tokens[i]);
    free(r->tokens);
    memset(r, 0, sizeof *r);
}

int vocab_write(const vocab_result *r, const char *path) {
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    for (size_t i = 0; i < r->n; i++) {
        if (strchr(r->tokens[i], '\n')) {
            afile_abort(&f);
            return err_set("%s: token %zu contains a newline; vocab.txt cannot hold it", path, i);
        }
        afile_write(&f, r->tokens[i], strlen(r->tokens[i]));
        afile_write(&f, "\n", 1);
    }
    return afile_commit(&f);
}
