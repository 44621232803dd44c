/* ngram.c — see ngram.h. */
#include "ngram.h"

#include <omp.h>
#include <string.h>

#include "../core/err.h"

/* 2-bit code + 1 of each base letter; 0 = not a base (ends an ACGT run). */
static const uint8_t ng_base[256] = {
    ['A'] = 1, ['C'] = 2, ['G'] = 3, ['T'] = 4, ['a'] = 1, ['c'] = 2, ['g'] = 3, ['t'] = 4,
};

/* One thread's tallies: max_n-grams, and the n-grams (n < max_n) that end a run. */
typedef struct {
    uint64_t *top;                    /* (4^max_n,) */
    uint64_t *tail[NGRAM_MAX_N + 1];  /* tail[n]: (4^n,), n = 1…max_n-1 */
} ng_part;

struct ngram_counter {
    int max_n, nt;
    ng_part *part; /* (nt,) */
    char *buf;     /* short records, each followed by one separator byte */
    size_t buf_len;
    uint64_t seen;
};

/* Records are batched up to this size; a longer record is counted on its own.
 * Large enough that every thread gets megabytes per batch. */
#define NG_BATCH ((size_t)16 << 20)
/* Below this a batch is counted by one thread (thread start-up would dominate). */
#define NG_PAR_MIN ((size_t)1 << 20)

static size_t ng_size(int n) { return (size_t)1 << (2 * n); }

ngram_counter *ngram_counter_new(int max_n, int threads) {
    CHECK(max_n >= 1 && max_n <= NGRAM_MAX_N, "max_n in 1…NGRAM_MAX_N");
    ngram_counter *c = xcalloc(1, sizeof *c);
    c->max_n = max_n;
    c->nt = threads > 0 ? threads : omp_get_max_threads();
    c->part = xcalloc((size_t)c->nt, sizeof *c->part);
    for (int t = 0; t < c->nt; t++) {
        c->part[t].top = xcalloc(ng_size(max_n), sizeof(uint64_t));
        for (int n = 1; n < max_n; n++) c->part[t].tail[n] = xcalloc(ng_size(n), sizeof(uint64_t));
    }
    c->buf = xmalloc(NG_BATCH);
    return c;
}

/* Tallies the n-grams that END in s[a..b) (so slices never count one twice),
 * reading up to max_n-1 bytes before a for the window and one after for the
 * run end. */
static void ng_count_slice(ng_part *p, int max_n, const char *s, size_t len, size_t a, size_t b) {
    const uint64_t mask = ng_size(max_n) - 1;
    size_t i = a >= (size_t)(max_n - 1) ? a - (size_t)(max_n - 1) : 0;
    uint64_t code = 0;
    int run = 0; /* ACGT bases ending at i, capped at max_n */
    for (; i < b; i++) {
        unsigned v = ng_base[(uint8_t)s[i]];
        if (!v) {
            run = 0;
            continue;
        }
        code = ((code << 2) | (v - 1)) & mask;
        if (run < max_n) run++;
        if (i < a) continue; /* warming up the window: owned by the previous slice */
        if (run == max_n) p->top[code]++;
        if (i + 1 == len || !ng_base[(uint8_t)s[i + 1]]) {
            int m = run < max_n ? run : max_n - 1;
            for (int n = 1; n <= m; n++) p->tail[n][code & (ng_size(n) - 1)]++;
        }
    }
}

static void ng_count(ngram_counter *c, const char *s, size_t len) {
    if (len < NG_PAR_MIN || c->nt == 1) {
        ng_count_slice(&c->part[0], c->max_n, s, len, 0, len);
        return;
    }
    const int ns = c->nt;
#pragma omp parallel num_threads(c->nt)
    {
        /* slices are handed out by thread id; a smaller team than asked for
         * (OMP_DYNAMIC) takes several each */
        int t = omp_get_thread_num(), nthr = omp_get_num_threads();
        for (int k = t; k < ns; k += nthr) {
            size_t a = len / (size_t)ns * (size_t)k;
            size_t b = k + 1 == ns ? len : len / (size_t)ns * (size_t)(k + 1);
            ng_count_slice(&c->part[t], c->max_n, s, len, a, b);
        }
    }
}

static void ng_flush(ngram_counter *c) {
    if (c->buf_len) ng_count(c, c->buf, c->buf_len);
    c->buf_len = 0;
}

void ngram_counter_add(ngram_counter *c, const char *seq, size_t len) {
    c->seen += len;
    if (len + 1 > NG_BATCH - c->buf_len) ng_flush(c);
    if (len + 1 > NG_BATCH) {
        ng_count(c, seq, len);
        return;
    }
    memcpy(c->buf + c->buf_len, seq, len);
    c->buf[c->buf_len + len] = 'N'; /* record boundary: no n-gram spans it */
    c->buf_len += len + 1;
}

uint64_t ngram_counter_seen(const ngram_counter *c) { return c->seen; }

void ngram_counter_finish(ngram_counter *c, ngram_counts *out) {
    ng_flush(c);
    memset(out, 0, sizeof *out);
    const int N = c->max_n;
    out->max_n = N;
    for (int n = 1; n <= N; n++) out->count[n] = xcalloc(ng_size(n), sizeof(uint64_t));
    for (int t = 0; t < c->nt; t++) {
        ng_part *p = &c->part[t];
        for (size_t x = 0; x < ng_size(N); x++) out->count[N][x] += p->top[x];
        for (int n = 1; n < N; n++)
            for (size_t x = 0; x < ng_size(n); x++) out->count[n][x] += p->tail[n][x];
    }
    /* an n-gram occurrence is the prefix of an (n+1)-gram occurrence or ends a run */
    for (int n = N - 1; n >= 1; n--)
        for (size_t x = 0; x < ng_size(n); x++)
            for (size_t b = 0; b < 4; b++) out->count[n][x] += out->count[n + 1][4 * x + b];
    for (int n = 1; n <= N; n++)
        for (size_t x = 0; x < ng_size(n); x++) out->total[n] += out->count[n][x];
    ngram_counter_free(c);
}

void ngram_counter_free(ngram_counter *c) {
    for (int t = 0; t < c->nt; t++) {
        free(c->part[t].top);
        for (int n = 1; n < c->max_n; n++) free(c->part[t].tail[n]);
    }
    free(c->part);
    free(c->buf);
    free(c);
}

void ngram_counts_free(ngram_counts *nc) {
    for (int n = 1; n <= NGRAM_MAX_N; n++) free(nc->count[n]);
    memset(nc, 0, sizeof *nc);
}

int64_t ngram_code(const char *s, int n) {
    CHECK(n >= 0 && n <= 16, "n-gram code fits 32 bits");
    int64_t code = 0;
    for (int i = 0; i < n; i++) {
        unsigned v = ng_base[(uint8_t)s[i]];
        if (!v) return -1;
        code = code << 2 | (int64_t)(v - 1);
    }
    return code;
}

void ngram_string(uint64_t code, int n, char *out) {
    for (int i = n - 1; i >= 0; i--, code >>= 2) out[i] = "ACGT"[code & 3];
    out[n] = 0;
}
