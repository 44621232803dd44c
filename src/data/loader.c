/* loader.c — shards → sequences → rows → masked unpadded batches (see loader.h). */
#include "loader.h"

#include <inttypes.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../data/shard.h"
#include "../text/kmer.h"
#include "pmi_rank.h"

#define BLK_DOCS 64 /* split mode: one sequence-count prefix per 64 documents */

typedef struct {
    shard s;
    uint64_t doc0;  /* global id of its first document */
    uint64_t seq0;  /* global id of its first sequence */
    uint64_t nseq;  /* sequences in this shard */
    uint64_t *blk;  /* split mode: (n_blocks + 1,) sequences before block b, relative to seq0 */
} lshard;

/* One batch's memory; bt = batch_size·max_len token slots, bs = most sequences. */
typedef struct {
    loader_batch lb;
    int32_t *ids, *types, *pos, *rows, *targets; /* (bt,) each */
    int32_t *cu, *row_of_seq;                    /* (bs + 1,), (bs,) */
    uint64_t *seq_id;                            /* (bs,) masking key of each sequence: id … */
    uint32_t *seq_step;                          /* … and step (epoch) */
    int32_t *seq_m;                              /* (bs,) masked tokens of each sequence */
} lbuf;

struct loader {
    loader_config c;
    int split;        /* long documents → several sequences */
    int chunk;        /* max_len − 2: tokens of a document per sequence */
    lshard *sh;       /* (n_sh,) */
    int32_t *rank;    /* genemask: the NPMI ranking (4^k,), c.mask.rank points here */
    int n_sh;
    uint64_t n_docs, n_seqs;
    int bt, bs;       /* buffer sizes (see lbuf) */
    lbuf buf[2];
    int next_buf;     /* buffer the next build writes */
    loader_pos build_pos;    /* where the next build starts */
    loader_pos consumed;     /* after the last batch handed out */
    /* prefetch */
    pthread_t thread;
    int running, stop, ready, ready_rc;
    lbuf *ready_buf;
    char ready_err[512];
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

void loader_config_default(loader_config *c) {
    memset(c, 0, sizeof *c);
    c->mode = LOADER_PAD;
    c->max_len = 128;
    c->batch_size = 32;
    c->split_long = -1;
    c->shuffle = 1;
    c->prefetch = 1;
    c->rank = 0;
    c->world = 1;
    c->seed = 17;
    mask_config_default(&c->mask);
    c->mask.seed = 17;
}

int loader_config_from_tokenizer(loader_config *c, const tokenizer *t) {
    int64_t cls = tok_cls_id(t), sep = tok_sep_id(t), pad = tok_pad_id(t), msk = tok_mask_id(t);
    if (cls < 0 || sep < 0 || pad < 0 || msk < 0)
        return err_set("the vocabulary lacks %s (pretraining needs [CLS] [SEP] [PAD] [MASK])",
                       cls < 0 ? "[CLS]" : sep < 0 ? "[SEP]" : pad < 0 ? "[PAD]" : "[MASK]");
    size_t V = tok_vocab_size(t);
    const char **toks = xmalloc((V ? V : 1) * sizeof *toks); /* (V,) token strings in id order */
    for (size_t i = 0; i < V; i++) toks[i] = tok_token(t, (uint32_t)i);
    c->vocab_hash = vocab_hash_tokens(toks, V);
    free(toks);
    c->vocab_size = (uint32_t)V;
    c->cls_id = (int32_t)cls;
    c->sep_id = (int32_t)sep;
    c->mask.mask_id = (int32_t)msk;
    /* DNABERT draws random replacements from its real tokens [0, 5 + 4^k), never
     * from the [unusedN] padding of a bertc k-mer vocab (spec genemask.md §2). */
    c->mask.n_random = (uint32_t)(kmer_vocab_k(t) ? kmer_vocab_real_size(kmer_vocab_k(t)) : V);
    c->mask.special[0] = (int32_t)cls;
    c->mask.special[1] = (int32_t)sep;
    c->mask.special[2] = (int32_t)pad;
    c->mask.n_special = 3;
    return 0;
}

/* ---- permutation -------------------------------------------------------------
 * Balanced Feistel network on 2h bits (4^h ≥ n, h minimal, so 4^h < 4n) with
 * Philox as the round function, then cycle walking: apply the bijection again
 * until the value falls in [0, n). A bijection of [0, 4^h) restricted this way
 * is a bijection of [0, n); expected walks < 4. */
#define FEISTEL_ROUNDS 6

static uint64_t feistel(uint64_t x, int h, uint64_t seed, uint64_t epoch) {
    const uint64_t mask = (h >= 32) ? 0xFFFFFFFFull : ((1ull << h) - 1);
    uint64_t L = x >> h, R = x & mask;
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (uint32_t r = 0; r < FEISTEL_ROUNDS; r++) {
        uint32_t ctr[4] = {(uint32_t)R, r, (uint32_t)epoch, RNG_STREAM_SHUFFLE | (uint32_t)((epoch >> 32) & 0xFFFFFF)},
                 o[4];
        philox4x32(key, ctr, o);
        uint64_t nl = R, nr = (L ^ o[0]) & mask;
        L = nl;
        R = nr;
    }
    return (L << h) | R;
}

uint64_t loader_permute(uint64_t i, uint64_t n, uint64_t seed, uint64_t epoch) {
    CHECK(i < n, "permutation index out of range");
    int h = 1;
    while (h < 32 && (1ull << (2 * h)) < n) h++;
    uint64_t x = i;
    do x = feistel(x, h, seed, epoch);
    while (x >= n);
    return x;
}

uint64_t loader_order(const loader *l, uint64_t epoch, uint64_t index) {
    if (!l->c.shuffle || l->c.eval) return index;
    return loader_permute(index, l->n_seqs, l->c.seed, epoch);
}

uint64_t loader_n_seqs(const loader *l) { return l->n_seqs; }
uint64_t loader_n_docs(const loader *l) { return l->n_docs; }

/* ---- sequences ---------------------------------------------------------------- */

static uint64_t doc_seqs(const loader *l, uint64_t len) {
    if (!l->split || len == 0) return 1;
    return (len + (uint64_t)l->chunk - 1) / (uint64_t)l->chunk;
}

/* Sequence id → shard, first token (in the shard) and token count (without specials). */
static void seq_locate(const loader *l, uint64_t id, const lshard **out, uint64_t *tok0, uint64_t *ntok, uint64_t *doc_out) {
    int lo = 0, hi = l->n_sh - 1; /* last shard with seq0 ≤ id */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (l->sh[mid].seq0 <= id) lo = mid;
        else hi = mid - 1;
    }
    const lshard *s = &l->sh[lo];
    uint64_t rel = id - s->seq0, doc, chunk;
    if (!l->split) {
        doc = rel;
        chunk = 0;
    } else {
        uint64_t nb = (s->s.h.n_docs + BLK_DOCS - 1) / BLK_DOCS, a = 0, b = nb - 1; /* last block with blk ≤ rel */
        while (a < b) {
            uint64_t mid = (a + b + 1) / 2;
            if (s->blk[mid] <= rel) a = mid;
            else b = mid - 1;
        }
        doc = a * BLK_DOCS;
        uint64_t before = s->blk[a];
        for (;;) {
            uint64_t k = doc_seqs(l, shard_doc_len(&s->s, doc));
            if (rel < before + k) break;
            before += k;
            doc++;
        }
        chunk = rel - before;
    }
    uint64_t len = shard_doc_len(&s->s, doc), start = chunk * (uint64_t)l->chunk;
    uint64_t n = len > start ? len - start : 0;
    if (n > (uint64_t)l->chunk) n = (uint64_t)l->chunk; /* truncate mode: doc[:max_len−2] */
    *out = s;
    *tok0 = s->s.index[doc] + start;
    *ntok = n;
    *doc_out = doc;
}

/* ---- batches ------------------------------------------------------------------ */

static void lbuf_alloc(lbuf *b, int bt, int bs) {
    memset(b, 0, sizeof *b);
    b->ids = xmalloc((size_t)bt * 4);
    b->types = xcalloc((size_t)bt, 4); /* token types: always 0 */
    b->pos = xmalloc((size_t)bt * 4);
    b->rows = xmalloc((size_t)bt * 4);
    b->targets = xmalloc((size_t)bt * 4);
    b->cu = xmalloc(((size_t)bs + 1) * 4);
    b->row_of_seq = xmalloc((size_t)bs * 4);
    b->seq_id = xmalloc((size_t)bs * sizeof *b->seq_id);
    b->seq_step = xmalloc((size_t)bs * sizeof *b->seq_step);
    b->seq_m = xmalloc((size_t)bs * sizeof *b->seq_m);
}

static void lbuf_free(lbuf *b) {
    free(b->ids);
    free(b->types);
    free(b->pos);
    free(b->rows);
    free(b->targets);
    free(b->cu);
    free(b->row_of_seq);
    free(b->seq_id);
    free(b->seq_step);
    free(b->seq_m);
}

/* Below this many tokens a batch is masked on the calling thread alone (≈ 10 µs per
 * 512 tokens: a parallel region would cost more than it saves). */
#define MASK_PAR_TOKENS 16384

/* Masks the B sequences of b (ids in place), in parallel: each sequence writes its
 * rows and targets at its own token offset (room for its length), then they are
 * moved down to be contiguous, in sequence order. Returns M. */
static int mask_batch(const mask_config *mc, int threads, lbuf *b, int B) {
    int nt = threads > 0 ? threads : omp_get_max_threads();
    if (b->cu[B] < MASK_PAR_TOKENS) nt = 1;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1)
    for (int s = 0; s < B; s++) {
        int t0 = b->cu[s], len = b->cu[s + 1] - t0;
        b->seq_m[s] = mask_sequence(mc, b->seq_step[s], b->seq_id[s], b->ids + t0, len, t0, b->rows + t0, b->targets + t0);
    }
    int M = 0;
    for (int s = 0; s < B; s++) { /* M ≤ cu[s]: a move never overwrites a later sequence's rows */
        memmove(b->rows + M, b->rows + b->cu[s], (size_t)b->seq_m[s] * sizeof *b->rows);
        memmove(b->targets + M, b->targets + b->cu[s], (size_t)b->seq_m[s] * sizeof *b->targets);
        M += b->seq_m[s];
    }
    return M;
}

/* Builds the global batch starting at l->build_pos into b (this rank's rows) and
 * advances build_pos. 1 batch, 0 end of the eval pass, −1 + err. Touches only
 * build_pos and b, so it may run on the prefetch thread. */
static int build(loader *l, lbuf *b) {
    const loader_config *c = &l->c;
    const int global_rows = c->batch_size * c->world, my0 = c->rank * c->batch_size;
        loader_pos p = l->build_pos;
    loader_batch *lb = &b->lb;
    lb->start = p;
    int T = 0, B = 0, rows = 0, my_rows = 0, max_seqlen = 0;
    int used = c->max_len; /* tokens in the open row; max_len = no row open */
    b->cu[0] = 0;
    for (;;) {
        loader_pos q = p; /* the next sequence; p moves only once it is taken */
        if (q.index >= l->n_seqs) {
            if (c->eval) break;
            q.epoch++;
            q.index = 0;
        }
        uint64_t id = loader_order(l, c->eval ? 0 : q.epoch, q.index);
        const lshard *s;
        uint64_t tok0, ntok, doc;
        seq_locate(l, id, &s, &tok0, &ntok, &doc);
        int len = (int)ntok + 2;
        if (c->mode == LOADER_PAD || used + len > c->max_len) { /* open a new row */
            if (rows == global_rows) break;
            rows++;
            used = 0;
        }
        used += len;
        p = q;
        p.index++;
        int row = rows - 1;
        if (row < my0 || row >= my0 + c->batch_size) continue; /* another rank's row */
        if (row - my0 + 1 > my_rows) my_rows = row - my0 + 1;
        CHECK(T + len <= l->bt && B < l->bs, "batch buffers sized for batch_size·max_len");
        int32_t *ids = b->ids + T;
        ids[0] = c->cls_id;
        for (uint64_t i = 0; i < ntok; i++) {
            uint32_t v = shard_token(&s->s, tok0 + i);
            if (v >= c->vocab_size) /* shards are checked structurally on open; ids here, lazily */
                return err_set("%s: document %" PRIu64 ", token %" PRIu64 " has id %u, not below vocab_size %u",
                               s->s.path, doc, tok0 + i - s->s.index[doc], v, c->vocab_size);
            ids[1 + i] = (int32_t)v;
        }
        ids[len - 1] = c->sep_id;
        for (int i = 0; i < len; i++) b->pos[T + i] = i;
        b->seq_id[B] = id;
        b->seq_step[B] = c->eval ? 0u : (uint32_t)q.epoch;
        b->row_of_seq[B] = row - my0;
        T += len;
        b->cu[++B] = T;
        if (len > max_seqlen) max_seqlen = len;
    }
    if (rows == 0) return 0; /* eval pass done */
    int M = mask_batch(&c->mask, c->threads, b, B);
    l->build_pos = p;
    lb->end = p;
    lb->rows = my_rows;
    lb->row_of_seq = b->row_of_seq;
    lb->pad_slots = (int64_t)my_rows * c->max_len - T;
    lb->b = (model_batch){.B = B, .T = T, .max_seqlen = max_seqlen, .ids = b->ids, .types = b->types,
                          .pos = b->pos, .cu_seqlens = b->cu, .M = M, .mlm_rows = b->rows,
                          .mlm_targets = b->targets};
    return 1;
}

/* ---- prefetch thread ------------------------------------------------------------ */

static void *worker(void *arg) {
    loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && l->ready) pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop) break;
        lbuf *b = &l->buf[l->next_buf];
        pthread_mutex_unlock(&l->mu);
        int rc = build(l, b); /* the main thread does not touch build_pos or b while we run */
        pthread_mutex_lock(&l->mu);
        l->ready = 1;
        l->ready_rc = rc;
        l->ready_buf = b;
        if (rc < 0) snprintf(l->ready_err, sizeof l->ready_err, "%s", err_msg());
        if (rc > 0) l->next_buf ^= 1;
        pthread_cond_broadcast(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void stop_thread(loader *l) {
    if (!l->running) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->running = 0;
    l->stop = 0;
    l->ready = 0;
}

int loader_next(loader *l, const loader_batch **out) {
    *out = NULL;
    if (!l->c.prefetch) {
        lbuf *b = &l->buf[l->next_buf];
        int rc = build(l, b);
        if (rc <= 0) return rc;
        l->next_buf ^= 1;
        l->consumed = b->lb.end;
        *out = &b->lb;
        return 1;
    }
    if (!l->running) {
        l->ready = 0;
        l->stop = 0;
        if (pthread_create(&l->thread, NULL, worker, l) != 0) return err_set("loader: cannot start the prefetch thread");
        l->running = 1;
    }
    pthread_mutex_lock(&l->mu);
    while (!l->ready) pthread_cond_wait(&l->cv, &l->mu);
    int rc = l->ready_rc;
    lbuf *b = l->ready_buf;
    char msg[sizeof l->ready_err];
    memcpy(msg, l->ready_err, sizeof msg);
    if (rc > 0) l->ready = 0; /* an end or an error stays: every later call sees it too */
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (rc < 0) return err_set("%s", msg);
    if (rc == 0) return 0;
    l->consumed = b->lb.end;
    *out = &b->lb;
    return 1;
}

loader_pos loader_state_get(const loader *l) { return l->consumed; }

int loader_state_set(loader *l, loader_pos p) {
    if (p.index > l->n_seqs)
        return err_set("loader state: index %" PRIu64 " is beyond the %" PRIu64 " sequences of an epoch "
                       "(were the shards or max_len/split settings changed?)",
                       p.index, l->n_seqs);
    stop_thread(l);
    l->build_pos = p;
    l->consumed = p;
    return 0;
}

/* ---- open / close ----------------------------------------------------------------- */

static int config_check(const loader_config *c) {
    if (c->mode != LOADER_PAD && c->mode != LOADER_PACK) return err_set("loader: unknown mode %d", c->mode);
    if (c->max_len < 3 || c->max_len > MASK_MAX_SEQLEN)
        return err_set("loader: max_len %d must be in [3, %d]", c->max_len, MASK_MAX_SEQLEN);
    if (c->batch_size < 1) return err_set("loader: batch_size %d must be >= 1", c->batch_size);
    if (c->world < 1 || c->rank < 0 || c->rank >= c->world)
        return err_set("loader: rank %d must be in [0, world %d)", c->rank, c->world);
    if ((int64_t)c->batch_size * c->max_len * c->world > INT32_MAX)
        return err_set("loader: batch_size·max_len·world = %lld tokens is too large",
                       (long long)c->batch_size * c->max_len * c->world);
    if (c->vocab_size == 0) return err_set("loader: vocab_size is 0 (set it from the tokenizer)");
    if (c->cls_id < 0 || (uint32_t)c->cls_id >= c->vocab_size || c->sep_id < 0 || (uint32_t)c->sep_id >= c->vocab_size)
        return err_set("loader: [CLS] %d / [SEP] %d must be ids below vocab_size %u", c->cls_id, c->sep_id, c->vocab_size);
    if (mask_config_check(&c->mask) != 0) return err_prefix("loader");
    return 0;
}

/* genemask: reads cfg->pmi_ranking into l->rank for l->c.mask. */
static int load_ranking(loader *l, const loader_config *cfg) {
    const mask_config *m = &cfg->mask;
    if (m->strategy != MASK_GENEMASK && m->strategy != MASK_GENEMASK_REF) return 0;
    if (!cfg->pmi_ranking || !cfg->pmi_ranking[0])
        return err_set("loader: mask.strategy %s needs mask.pmi_ranking (the k-mer NPMI ranking of bertc pmi)",
                       mask_strategy_name(m->strategy));
    if (m->kmer < 3 || m->kmer > MASK_MAX_K) return 0; /* config_check names it */
    l->rank = xmalloc(((size_t)1 << (2 * m->kmer)) * sizeof *l->rank);
    if (pmi_rank_load(cfg->pmi_ranking, m->kmer, l->rank) != 0) return err_prefix("mask.pmi_ranking");
    l->c.mask.rank = l->rank;
    return 0;
}

loader *loader_open(const loader_config *cfg, const char *const *paths, int n_paths) {
    if (n_paths < 1) {
        err_set("loader: no shard files given");
        return NULL;
    }
    loader *l = xcalloc(1, sizeof *l);
    l->c = *cfg;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (load_ranking(l, cfg) != 0 || config_check(&l->c) != 0) goto fail;
    l->c.mask.stream = cfg->eval ? 1 : 0;
    l->split = cfg->split_long < 0 ? cfg->mode == LOADER_PACK : cfg->split_long != 0;
    l->chunk = cfg->max_len - 2;
    l->sh = xcalloc((size_t)n_paths, sizeof *l->sh);
    for (int i = 0; i < n_paths; i++) {
        lshard *s = &l->sh[i];
        if (shard_open(&s->s, paths[i]) != 0) goto fail;
        l->n_sh++;
        if (shard_check_vocab(&s->s, cfg->vocab_size, cfg->vocab_hash) != 0) goto fail;
        /* checksum and id range: one pass at memory speed, before any training step trusts the data */
        if (shard_verify(&s->s) != 0) goto fail;
        s->doc0 = l->n_docs;
        s->seq0 = l->n_seqs;
        uint64_t nd = s->s.h.n_docs;
        if (!l->split) {
            s->nseq = nd;
        } else {
            uint64_t nb = (nd + BLK_DOCS - 1) / BLK_DOCS;
            s->blk = xmalloc((nb + 1) * sizeof *s->blk);
            uint64_t acc = 0;
            for (uint64_t d = 0; d < nd; d++) {
                if (d % BLK_DOCS == 0) s->blk[d / BLK_DOCS] = acc;
                acc += doc_seqs(l, shard_doc_len(&s->s, d));
            }
            s->blk[nb] = acc;
            s->nseq = acc;
        }
        l->n_docs += nd;
        l->n_seqs += s->nseq;
    }
    if (l->n_seqs == 0) {
        err_set("loader: the %d shard file(s) hold no documents", n_paths);
        goto fail;
    }
    l->bt = cfg->batch_size * cfg->max_len;
    l->bs = cfg->mode == LOADER_PAD ? cfg->batch_size : cfg->batch_size * (cfg->max_len / 2); /* sequences ≥ 2 tokens */
    lbuf_alloc(&l->buf[0], l->bt, l->bs);
    lbuf_alloc(&l->buf[1], l->bt, l->bs);
    return l;
fail:
    loader_close(l);
    return NULL;
}

void loader_close(loader *l) {
    if (!l) return;
    stop_thread(l);
    for (int i = 0; i < l->n_sh; i++) {
        shard_close(&l->sh[i].s);
        free(l->sh[i].blk);
    }
    free(l->sh);
    free(l->rank);
    if (l->bt) {
        lbuf_free(&l->buf[0]);
        lbuf_free(&l->buf[1]);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}
