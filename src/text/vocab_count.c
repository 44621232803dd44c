/* vocab_count.c — counting the words of the training input (stage 1 of
 * vocab_train.h): a string → count hash map, UTF-8 checking, parallel counting
 * over chunks of lines, and the .txt / .gz / .jsonl readers.
 *
 * Like the Rust trainer (Tokenizer::train_from_files), every input line is one
 * sequence for the normalizer + pre-tokenizer, and a line that is not valid
 * UTF-8 is an error rather than something to repair silently. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../io/json.h"
#include "vocab_train.h"

/* ---- the map ------------------------------------------------------------------ */

typedef struct {
    uint64_t hash;  /* 0 marks an empty slot (real hashes are forced non-zero) */
    size_t off;     /* key bytes at pool + off */
    uint32_t len;
    uint64_t count;
} vc_slot;

struct vocab_counts {
    vc_slot *slots; /* (cap,) open addressing, linear probing, cap a power of two */
    size_t cap, used;
    char *pool;     /* (pool_len,) all keys back to back; slots refer by offset */
    size_t pool_len, pool_cap;
    uint64_t total;
};

/* FNV-1a over the bytes, then a final mix so the low bits used for the slot
 * index depend on every byte. */
static uint64_t vc_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

vocab_counts *vocab_counts_new(void) {
    vocab_counts *c = xcalloc(1, sizeof *c);
    c->cap = 1024;
    c->slots = xcalloc(c->cap, sizeof *c->slots);
    return c;
}

void vocab_counts_free(vocab_counts *c) {
    if (!c) return;
    free(c->slots);
    free(c->pool);
    free(c);
}

static void vc_grow(vocab_counts *c) {
    size_t ncap = c->cap * 2;
    vc_slot *ns = xcalloc(ncap, sizeof *ns);
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].hash) continue;
        size_t j = c->slots[i].hash & (ncap - 1);
        while (ns[j].hash) j = (j + 1) & (ncap - 1);
        ns[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
}

static void vc_add_hashed(vocab_counts *c, uint64_t h, const char *w, size_t len, uint64_t n) {
    CHECK(len < UINT32_MAX, "word longer than 4 GiB");
    size_t j = h & (c->cap - 1);
    for (;;) {
        vc_slot *s = &c->slots[j];
        if (!s->hash) break;
        if (s->hash == h && s->len == len && memcmp(c->pool + s->off, w, len) == 0) {
            s->count += n;
            c->total += n;
            return;
        }
        j = (j + 1) & (c->cap - 1);
    }
    if (c->pool_len + len > c->pool_cap) {
        c->pool_cap = (c->pool_cap + len) * 2;
        c->pool = xrealloc(c->pool, c->pool_cap);
    }
    if (len) memcpy(c->pool + c->pool_len, w, len);
    c->slots[j] = (vc_slot){h, c->pool_len, (uint32_t)len, n};
    c->pool_len += len;
    c->total += n;
    if (++c->used * 2 > c->cap) vc_grow(c); /* load factor <= 1/2 */
}

void vocab_counts_add(vocab_counts *c, const char *word, size_t len, uint64_t n) {
    vc_add_hashed(c, vc_hash(word, len), word, len, n);
}

uint64_t vocab_counts_get(const vocab_counts *c, const char *w, size_t len) {
    uint64_t h = vc_hash(w, len);
    for (size_t j = h & (c->cap - 1);; j = (j + 1) & (c->cap - 1)) {
        const vc_slot *s = &c->slots[j];
        if (!s->hash) return 0;
        if (s->hash == h && s->len == len && memcmp(c->pool + s->off, w, len) == 0) return s->count;
    }
}

size_t vocab_counts_size(const vocab_counts *c) { return c->used; }
uint64_t vocab_counts_total(const vocab_counts *c) { return c->total; }

/* Slot order: the next occupied slot at or after *pos. */
int vocab_counts_iter(const vocab_counts *c, size_t *pos, const char **w, size_t *len, uint64_t *n) {
    while (*pos < c->cap) {
        const vc_slot *s = &c->slots[(*pos)++];
        if (!s->hash) continue;
        *w = c->pool + s->off;
        *len = s->len;
        *n = s->count;
        return 1;
    }
    return 0;
}

static void vc_merge_into(vocab_counts *dst, const vocab_counts *src) {
    for (size_t i = 0; i < src->cap; i++) {
        const vc_slot *s = &src->slots[i];
        if (s->hash) vc_add_hashed(dst, s->hash, src->pool + s->off, s->len, s->count);
    }
}

/* ---- UTF-8 --------------------------------------------------------------------- */

/* Length of the valid UTF-8 prefix of s[0..n) (n if all valid). Strict: no
 * overlong forms, no surrogates, nothing above U+10FFFF — Rust's str rules. */
static size_t utf8_valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) { i++; continue; }
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) k = 1;
        else if (b == 0xE0) { k = 2; lo = 0xA0; }
        else if (b >= 0xE1 && b <= 0xEC) k = 2;
        else if (b == 0xED) { k = 2; hi = 0x9F; }
        else if (b >= 0xEE && b <= 0xEF) k = 2;
        else if (b == 0xF0) { k = 3; lo = 0x90; }
        else if (b >= 0xF1 && b <= 0xF3) k = 3;
        else if (b == 0xF4) { k = 3; hi = 0x8F; }
        else return i;
        if (i + k >= n) return i; /* truncated sequence */
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return i;
        i += k + 1;
    }
    return n;
}

/* ---- parallel counting ------------------------------------------------------ */

typedef struct {
    const vocab_count_opts *o;
    const char *text;          /* whole text; the worker owns lines in [begin, end) */
    size_t begin, end;
    vocab_counts *counts;      /* this worker's map */
    size_t err_off;            /* byte offset of the first error, SIZE_MAX if none */
    int err_kind;              /* 1 invalid UTF-8, 2 bad JSON line, 3 field missing / not a string */
    char err_detail[160];
} vc_worker;

static void vc_emit(void *ud, const char *w, size_t len) {
    if (len) vocab_counts_add((vocab_counts *)ud, w, len, 1);
}

static void vc_fail(vc_worker *wk, size_t off, int kind, const char *detail) {
    wk->err_off = off;
    wk->err_kind = kind;
    snprintf(wk->err_detail, sizeof wk->err_detail, "%s", detail ? detail : "");
}

static void *vc_run(void *arg) {
    vc_worker *wk = arg;
    const vocab_count_opts *o = wk->o;
    const char *field = o->jsonl_field ? o->jsonl_field : "text";
    size_t p = wk->begin;
    while (p < wk->end) {
        const char *nl = memchr(wk->text + p, '\n', wk->end - p);
        size_t e = nl ? (size_t)(nl - wk->text) : wk->end;
        const char *line = wk->text + p;
        size_t n = e - p;
        size_t v = utf8_valid_prefix((const uint8_t *)line, n);
        if (v != n) {
            vc_fail(wk, p + v, 1, NULL);
            return NULL;
        }
        if (o->jsonl_field) {
            /* blank lines are allowed between records */
            size_t k = 0;
            while (k < n && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
            if (k < n) {
                json_value *j = json_parse(line, n);
                if (!j) {
                    vc_fail(wk, p, 2, err_msg());
                    return NULL;
                }
                size_t slen;
                const char *s = json_str(json_get(j, field), &slen);
                if (!s) {
                    json_free(j);
                    vc_fail(wk, p, 3, field);
                    return NULL;
                }
                o->split(o->split_cfg, s, slen, vc_emit, wk->counts);
                json_free(j);
            }
        } else {
            o->split(o->split_cfg, line, n, vc_emit, wk->counts);
        }
        p = e + 1;
    }
    return NULL;
}

static int vc_threads(const vocab_count_opts *o) {
    if (o->threads > 0) return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int vocab_count_text(vocab_counts *c, const char *text, size_t n, const vocab_count_opts *o,
                     const char *name, uint64_t first_line) {
    CHECK(o && o->split, "vocab_count_opts.split must be set");
    /* Chunks of at least 256 KiB so small inputs stay on one thread. */
    size_t nt = (size_t)vc_threads(o);
    size_t max_nt = n / (256 * 1024) + 1;
    if (nt > max_nt) nt = max_nt;
    if (nt > 256) nt = 256;
    vc_worker *wk = xcalloc(nt, sizeof *wk);
    size_t at = 0;
    for (size_t t = 0; t < nt; t++) {
        size_t end = t + 1 == nt ? n : (n / nt) * (t + 1);
        if (end < at) end = at;
        /* move the cut to just after a newline */
        if (end < n) {
            const char *nl = memchr(text + end, '\n', n - end);
            end = nl ? (size_t)(nl - text) + 1 : n;
        }
        wk[t] = (vc_worker){.o = o, .text = text, .begin = at, .end = end, .err_off = SIZE_MAX};
        wk[t].counts = t == 0 ? c : vocab_counts_new(); /* worker 0 counts straight into c */
        at = end;
    }
    pthread_t *th = xcalloc(nt, sizeof *th);
    size_t started = 1;
    for (size_t t = 1; t < nt; t++) {
        if (pthread_create(&th[t], NULL, vc_run, &wk[t]) != 0) break; /* run the rest inline */
        started++;
    }
    vc_run(&wk[0]);
    for (size_t t = started; t < nt; t++) vc_run(&wk[t]);
    for (size_t t = 1; t < started; t++) pthread_join(th[t], NULL);
    free(th);

    int rc = 0;
    for (size_t t = 0; t < nt; t++) {
        if (wk[t].err_off != SIZE_MAX && rc == 0) {
            /* first failing chunk in text order: report its line (1-based) and the
             * byte offset inside the line */
            size_t off = wk[t].err_off, line_start = 0;
            uint64_t line = first_line;
            for (const char *q = text; (q = memchr(q, '\n', (size_t)(text + off - q))) != NULL; q++) {
                line++;
                line_start = (size_t)(q - text) + 1;
            }
            if (wk[t].err_kind == 1)
                err_set("%s:%llu: invalid UTF-8 at byte %zu of the line", name, (unsigned long long)line,
                        off - line_start);
            else if (wk[t].err_kind == 2)
                err_set("%s:%llu: not a JSON line: %s", name, (unsigned long long)line, wk[t].err_detail);
            else
                err_set("%s:%llu: no string field \"%s\" in this JSON line", name, (unsigned long long)line,
                        wk[t].err_detail);
            rc = -1;
        }
        if (t > 0) {
            if (rc == 0) vc_merge_into(c, wk[t].counts);
            vocab_counts_free(wk[t].counts);
        }
    }
    free(wk);
    return rc;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* gzip input: decompress in blocks, cut each block after its last newline and
 * count whole lines only, carrying the tail over to the next block. */
static int vc_count_gz(vocab_counts *c, const char *path, const vocab_count_opts *o) {
    gzFile g = gzopen(path, "rb");
    if (!g) return err_set("%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(g, 1 << 20);
    enum { BLOCK = 64 << 20 };
    size_t cap = BLOCK, len = 0;
    char *buf = xmalloc(cap); /* (cap,) carried tail + new block */
    uint64_t line = 1;
    int rc = 0;
    for (;;) {
        if (cap - len < BLOCK / 2) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        int got = gzread(g, buf + len, (unsigned)(cap - len));
        if (got < 0) {
            int e;
            const char *m = gzerror(g, &e);
            rc = err_set("%s: gzip read error after %llu lines: %s", path, (unsigned long long)(line - 1), m);
            break;
        }
        len += (size_t)got;
        int eof = got == 0;
        size_t cut = len;
        if (!eof) {
            const char *nl = memrchr(buf, '\n', len);
            if (!nl) continue; /* one very long line: read more */
            cut = (size_t)(nl - buf) + 1;
        }
        if (cut && vocab_count_text(c, buf, cut, o, path, line) != 0) {
            rc = -1;
            break;
        }
        for (const char *q = buf; (q = memchr(q, '\n', (size_t)(buf + cut - q))) != NULL; q++) line++;
        memmove(buf, buf + cut, len - cut);
        len -= cut;
        if (eof) break;
    }
    free(buf);
    gzclose(g);
    return rc;
}

int vocab_count_file(vocab_counts *c, const char *path, const vocab_count_opts *o) {
    vocab_count_opts oo = *o;
    if (ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz")) {
        if (!oo.jsonl_field) oo.jsonl_field = "text";
    } else {
        oo.jsonl_field = NULL;
    }
    if (ends_with(path, ".gz")) return vc_count_gz(c, path, &oo);
    fmap m;
    if (fmap_open(&m, path) != 0) return -1;
    int rc = vocab_count_text(c, (const char *)m.data, m.size, &oo, path, 1);
    fmap_close(&m);
    return rc;
}
