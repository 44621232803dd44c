/* test_loader.c — sequences, rows, shuffling, masks, resume and the prefetch
 * thread of the shard loader, on small hand-made shards. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/data/loader.h"
#include "../src/data/shard.h"
#include "../src/io/file.h"
#include "test.h"

enum { PAD = 0, CLS = 2, SEP = 3, MSK = 4, VOCAB = 30000 };
#define VHASH 0xC0FFEEull

/* Writes docs (each ids[k][0..len[k])) as one shard; returns the path (static buffer per slot). */
static const char *write_shard(const char *name, int n, const uint32_t *const *docs, const int *len) {
    static char paths[4][512];
    static int slot;
    char *p = paths[slot++ & 3];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    shard_writer w;
    shard_writer_init(&w, VOCAB, VHASH);
    for (int i = 0; i < n; i++) CHECK(shard_writer_add(&w, docs[i], (size_t)len[i]) == 0, err_msg());
    CHECK(shard_writer_flush(&w, p) == 0, err_msg());
    shard_writer_free(&w);
    return p;
}

static void base_cfg(loader_config *c, loader_mode mode, int max_len, int batch) {
    loader_config_default(c);
    c->mode = mode;
    c->max_len = max_len;
    c->batch_size = batch;
    c->cls_id = CLS;
    c->sep_id = SEP;
    c->vocab_size = VOCAB;
    c->vocab_hash = VHASH;
    c->mask.mask_id = MSK;
    c->mask.n_random = VOCAB;
    c->mask.special[0] = CLS;
    c->mask.special[1] = SEP;
    c->mask.special[2] = PAD;
    c->mask.n_special = 3;
    c->mask.ratio = 0.0f; /* construction tests: ids untouched */
    c->shuffle = 0;
}

/* The four documents of the small shard: [10 11 12], [13], [], [14 … 23]. */
static const char *small_shard(void) {
    static const uint32_t d0[] = {10, 11, 12}, d1[] = {13}, d3[] = {14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    const uint32_t *docs[] = {d0, d1, NULL, d3};
    int len[] = {3, 1, 0, 10};
    return write_shard("small.bin", 4, docs, len);
}

static int seq_equal(const model_batch *b, int s, const int32_t *want, int n) {
    if (b->cu_seqlens[s + 1] - b->cu_seqlens[s] != n) return 0;
    for (int i = 0; i < n; i++)
        if (b->ids[b->cu_seqlens[s] + i] != want[i] || b->pos[b->cu_seqlens[s] + i] != i ||
            b->types[b->cu_seqlens[s] + i] != 0)
            return 0;
    return 1;
}

TEST(loader_pad_rows_truncate) {
    const char *path = small_shard();
    loader_config c;
    base_cfg(&c, LOADER_PAD, 6, 2); /* chunk = 4 tokens */
    for (int pf = 0; pf < 2; pf++) {
        c.prefetch = pf;
        loader *l = loader_open(&c, &path, 1);
        REQUIRE(l != NULL);
        EXPECT_EQ_INT(loader_n_seqs(l), 4); /* truncate: one sequence per document (pad default) */
        const loader_batch *lb;
        REQUIRE(loader_next(l, &lb) == 1);
        const model_batch *b = &lb->b;
        EXPECT_EQ_INT(b->B, 2);
        EXPECT_EQ_INT(b->T, 8);
        EXPECT_EQ_INT(b->max_seqlen, 5);
        EXPECT_EQ_INT(lb->rows, 2);
        EXPECT_EQ_INT(lb->pad_slots, 2 * 6 - 8);
        EXPECT(seq_equal(b, 0, (int32_t[]){CLS, 10, 11, 12, SEP}, 5));
        EXPECT(seq_equal(b, 1, (int32_t[]){CLS, 13, SEP}, 3));
        EXPECT_EQ_INT(b->M, 0);
        EXPECT(lb->start.epoch == 0 && lb->start.index == 0 && lb->end.epoch == 0 && lb->end.index == 2);
        REQUIRE(loader_next(l, &lb) == 1);
        b = &lb->b;
        EXPECT(seq_equal(b, 0, (int32_t[]){CLS, SEP}, 2));                   /* empty document */
        EXPECT(seq_equal(b, 1, (int32_t[]){CLS, 14, 15, 16, 17, SEP}, 6)); /* doc[:max_len−2] */
        EXPECT_EQ_INT(lb->row_of_seq[0], 0);
        EXPECT_EQ_INT(lb->row_of_seq[1], 1);
        /* training goes on into epoch 1 */
        EXPECT(lb->end.epoch == 0 && lb->end.index == 4); /* (0, 4) ≡ (1, 0) */
        REQUIRE(loader_next(l, &lb) == 1);
        EXPECT(lb->start.epoch == 0 && lb->start.index == 4);
        EXPECT(seq_equal(&lb->b, 0, (int32_t[]){CLS, 10, 11, 12, SEP}, 5));
        loader_pos p = loader_state_get(l);
        EXPECT(p.epoch == 1 && p.index == 2);
        loader_close(l);
    }
}

TEST(loader_pad_rows_split_long_documents) {
    const char *path = small_shard();
    loader_config c;
    base_cfg(&c, LOADER_PAD, 6, 1);
    c.split_long = 1;
    c.eval = 1;
    loader *l = loader_open(&c, &path, 1);
    REQUIRE(l != NULL);
    EXPECT_EQ_INT(loader_n_seqs(l), 6); /* 1 + 1 + 1 + ceil(10/4) */
    const int32_t want[6][6] = {{CLS, 10, 11, 12, SEP}, {CLS, 13, SEP}, {CLS, SEP},
                                {CLS, 14, 15, 16, 17, SEP}, {CLS, 18, 19, 20, 21, SEP}, {CLS, 22, 23, SEP}};
    const int wlen[6] = {5, 3, 2, 6, 6, 4};
    const loader_batch *lb;
    for (int i = 0; i < 6; i++) {
        REQUIRE(loader_next(l, &lb) == 1);
        EXPECT_EQ_INT(lb->b.B, 1);
        EXPECT_MSG(seq_equal(&lb->b, 0, want[i], wlen[i]), "sequence %d", i);
    }
    EXPECT_EQ_INT(loader_next(l, &lb), 0); /* one eval pass */
    EXPECT_EQ_INT(loader_next(l, &lb), 0);
    loader_close(l);
}

TEST(loader_pack_rows) {
    const char *path = small_shard();
    loader_config c;
    base_cfg(&c, LOADER_PACK, 8, 2); /* split by default in pack mode: doc 3 → 6 + 4 tokens */
    loader *l = loader_open(&c, &path, 1);
    REQUIRE(l != NULL);
    EXPECT_EQ_INT(loader_n_seqs(l), 5);
    const loader_batch *lb;
    /* sequence lengths 5 3 2 8 6: row 0 = 5 + 3, row 1 = 2 (8 does not fit) */
    REQUIRE(loader_next(l, &lb) == 1);
    const model_batch *b = &lb->b;
    EXPECT_EQ_INT(b->B, 3);
    EXPECT_EQ_INT(b->T, 10);
    EXPECT_EQ_INT(lb->rows, 2);
    EXPECT(seq_equal(b, 0, (int32_t[]){CLS, 10, 11, 12, SEP}, 5));
    EXPECT(seq_equal(b, 1, (int32_t[]){CLS, 13, SEP}, 3));
    EXPECT(seq_equal(b, 2, (int32_t[]){CLS, SEP}, 2));
    EXPECT_EQ_INT(lb->row_of_seq[0], 0);
    EXPECT_EQ_INT(lb->row_of_seq[1], 0);
    EXPECT_EQ_INT(lb->row_of_seq[2], 1);
    EXPECT_EQ_INT(lb->pad_slots, 16 - 10);
    /* row 0 = 8, row 1 = 6 (epoch 1's first sequence, 5 tokens, does not fit) */
    REQUIRE(loader_next(l, &lb) == 1);
    b = &lb->b;
    EXPECT_EQ_INT(b->B, 2);
    EXPECT(seq_equal(b, 0, (int32_t[]){CLS, 14, 15, 16, 17, 18, 19, SEP}, 8));
    EXPECT(seq_equal(b, 1, (int32_t[]){CLS, 20, 21, 22, 23, SEP}, 6));
    EXPECT_EQ_INT(b->max_seqlen, 8);
    EXPECT(lb->end.epoch == 0 && lb->end.index == 5);
    REQUIRE(loader_next(l, &lb) == 1);
    EXPECT(lb->start.epoch == 0 && lb->start.index == 5); /* wraps inside the batch */
    EXPECT(seq_equal(&lb->b, 0, (int32_t[]){CLS, 10, 11, 12, SEP}, 5));
    EXPECT(lb->end.epoch == 1);
    loader_close(l);
}

/* Random documents over two shards; token = 10 + 64·doc + offset identifies its origin. */
enum { NDOC = 300, MAXDOC = 60 };
static int g_len[NDOC];
static void random_shards(const char *paths[2]) {
    static uint32_t toks[NDOC][MAXDOC];
    const uint32_t *docs[NDOC];
    uint64_t x = 88172645463325252ull;
    for (int d = 0; d < NDOC; d++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        g_len[d] = d % 17 == 0 ? 0 : (int)(x % MAXDOC);
        for (int i = 0; i < g_len[d]; i++) toks[d][i] = (uint32_t)(10 + 64 * d + i);
        docs[d] = toks[d];
    }
    paths[0] = write_shard("r0.bin", NDOC / 3, docs, g_len);
    paths[1] = write_shard("r1.bin", NDOC - NDOC / 3, docs + NDOC / 3, g_len + NDOC / 3);
}

TEST(loader_pack_epoch_has_every_token_once) {
    const char *paths[2];
    random_shards(paths);
    loader_config c;
    base_cfg(&c, LOADER_PACK, 16, 4);
    c.shuffle = 1;
    loader *l = loader_open(&c, paths, 2);
    REQUIRE(l != NULL);
    EXPECT_EQ_INT(loader_n_docs(l), NDOC);
    uint64_t n = loader_n_seqs(l), seen_seqs = 0;
    static uint8_t seen[NDOC][MAXDOC];
    static int empty_seen[NDOC];
    memset(seen, 0, sizeof seen);
    memset(empty_seen, 0, sizeof empty_seen);
    int bad = 0;
    const loader_batch *lb;
    while (seen_seqs < n) {
        REQUIRE(loader_next(l, &lb) == 1);
        const model_batch *b = &lb->b;
        int row_tokens[4] = {0};
        for (int s = 0; s < b->B && seen_seqs < n; s++, seen_seqs++) {
            int a = b->cu_seqlens[s], e = b->cu_seqlens[s + 1];
            row_tokens[lb->row_of_seq[s]] += e - a;
            if (b->ids[a] != CLS || b->ids[e - 1] != SEP || e - a > 16) bad++;
            if (e - a == 2) {
                /* [CLS][SEP]: an empty document (d % 17 == 0), counted below */
                continue;
            }
            int d0 = (b->ids[a + 1] - 10) / 64;
            for (int i = a + 1; i < e - 1; i++) {
                int d = (b->ids[i] - 10) / 64, off = (b->ids[i] - 10) % 64;
                if (d != d0 || (i > a + 1 && b->ids[i] != b->ids[i - 1] + 1)) bad++; /* consecutive chunk */
                seen[d][off]++;
            }
        }
        for (int r = 0; r < 4; r++) EXPECT(row_tokens[r] <= 16);
    }
    EXPECT_EQ_INT(bad, 0);
    int lost = 0, dup = 0, empties = 0;
    for (int d = 0; d < NDOC; d++) {
        if (g_len[d] == 0) empties++;
        for (int i = 0; i < MAXDOC; i++) {
            int want = i < g_len[d];
            if (seen[d][i] < want) lost++;
            if (seen[d][i] > want) dup++;
        }
    }
    EXPECT_EQ_INT(lost, 0);
    EXPECT_EQ_INT(dup, 0);
    /* every sequence of the epoch: chunks of ≤ 14 tokens, one per empty document */
    uint64_t expect_seqs = 0;
    for (int d = 0; d < NDOC; d++) expect_seqs += g_len[d] == 0 ? 1 : (uint64_t)(g_len[d] + 13) / 14;
    EXPECT_EQ_INT(n, expect_seqs);
    EXPECT(empties > 0);
    loader_close(l);
}

TEST(loader_permutation_is_a_bijection_and_unbiased) {
    const uint64_t ns[] = {1, 2, 3, 7, 64, 1000, 4097, 100003};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        uint64_t n = ns[k];
        uint8_t *hit = calloc(n, 1);
        int bad = 0, same_as_other_epoch = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t j = loader_permute(i, n, 17, 0);
            if (j >= n || hit[j]++) bad++;
            if (loader_permute(i, n, 17, 1) == j) same_as_other_epoch++;
        }
        EXPECT_MSG(bad == 0, "n = %" PRIu64 ": %d collisions", n, bad);
        /* another epoch is another order (for n ≥ 64 nearly no fixed agreements: ~1 expected) */
        if (n >= 64) EXPECT_MSG(same_as_other_epoch < 10 + (int)(n / 1000), "n %" PRIu64 ": %d", n, same_as_other_epoch);
        free(hit);
    }
    /* The ModernBERT pitfall (spec §12): order bias between 5e8 and 1e9 samples. At n = 10^9, a
     * window of 10^5 consecutive positions deep in the epoch must map uniformly over [0, n)
     * (χ² over 20 buckets) and consecutive outputs must be unrelated (mean |Δ| ≈ n/3). */
    const uint64_t n = 1000000000ull, i0 = 700000000ull, W = 100000;
    double bucket[20] = {0}, gap = 0;
    uint64_t prev = loader_permute(i0, n, 17, 3);
    for (uint64_t i = i0 + 1; i <= i0 + W; i++) {
        uint64_t j = loader_permute(i, n, 17, 3);
        bucket[j / (n / 20)]++;
        gap += fabs((double)j - (double)prev);
        prev = j;
    }
    double chi2 = 0, e = W / 20.0;
    for (int b = 0; b < 20; b++) chi2 += (bucket[b] - e) * (bucket[b] - e) / e;
    EXPECT_MSG(chi2 < 50.0, "chi2 %.1f over 19 dof (p ≈ 1e-4 threshold 50)", chi2);
    /* E|U−V| = n/3, sd of the mean ≈ 0.236n/√W */
    EXPECT_MSG(fabs(gap / W / (double)n - 1.0 / 3.0) < 5 * 0.236 / sqrt((double)W), "mean gap %.4f n", gap / W / (double)n);
}

/* Copies a batch's arrays into one flat record for comparisons. */
typedef struct {
    int B, T, M;
    int32_t data[4096];
} snap;
static void take(snap *s, const loader_batch *lb) {
    const model_batch *b = &lb->b;
    s->B = b->B, s->T = b->T, s->M = b->M;
    int k = 0;
    for (int i = 0; i < b->T; i++) s->data[k++] = b->ids[i], s->data[k++] = b->pos[i];
    for (int i = 0; i <= b->B; i++) s->data[k++] = b->cu_seqlens[i];
    for (int i = 0; i < b->M; i++) s->data[k++] = b->mlm_rows[i], s->data[k++] = b->mlm_targets[i];
    CHECK(k <= 4096, "snapshot size");
}
static int snap_eq(const snap *a, const snap *b) {
    return a->B == b->B && a->T == b->T && a->M == b->M &&
           memcmp(a->data, b->data, (size_t)(2 * a->T + a->B + 1 + 2 * a->M) * 4) == 0;
}

TEST(loader_resume_gives_the_same_batches) {
    const char *paths[2];
    random_shards(paths);
    for (int mode = 0; mode < 2; mode++) {
        loader_config c;
        base_cfg(&c, mode ? LOADER_PACK : LOADER_PAD, 24, 5);
        c.shuffle = 1;
        c.mask.ratio = 0.3f;
        enum { N = 140 }; /* crosses epochs: 300 sequences / 5 per batch in pad mode */
        static snap full[N], part;
        loader *l = loader_open(&c, paths, 2);
        REQUIRE(l != NULL);
        const loader_batch *lb;
        int masked = 0;
        for (int i = 0; i < N; i++) {
            REQUIRE(loader_next(l, &lb) == 1);
            take(&full[i], lb);
            masked += lb->b.M;
        }
        EXPECT(masked > 0);
        loader_close(l);
        /* first half, save the position, a fresh loader (without prefetch) continues */
        l = loader_open(&c, paths, 2);
        REQUIRE(l != NULL);
        for (int i = 0; i < N / 2; i++) REQUIRE(loader_next(l, &lb) == 1);
        loader_pos p = loader_state_get(l);
        loader_close(l);
        c.prefetch = 0;
        l = loader_open(&c, paths, 2);
        REQUIRE(l != NULL);
        REQUIRE(loader_state_set(l, p) == 0);
        int diff = 0;
        for (int i = N / 2; i < N; i++) {
            REQUIRE(loader_next(l, &lb) == 1);
            take(&part, lb);
            if (!snap_eq(&part, &full[i])) diff++;
        }
        EXPECT_MSG(diff == 0, "mode %d: %d of %d resumed batches differ", mode, diff, N / 2);
        /* a position past the epoch is refused */
        p.index = loader_n_seqs(l) + 1;
        EXPECT(loader_state_set(l, p) != 0);
        EXPECT(strstr(err_msg(), "beyond") != NULL);
        loader_close(l);
    }
}

TEST(loader_masks_depend_on_the_sequence_not_the_batch) {
    /* Eval: the same tokens are masked whatever the batch size or rank split, pass after pass. */
    const char *paths[2];
    random_shards(paths);
    static int32_t ids[3][NDOC * MAXDOC];
    int n[3] = {0};
    int M[3] = {0};
    for (int v = 0; v < 3; v++) {
        loader_config c;
        base_cfg(&c, LOADER_PAD, 32, v == 0 ? 3 : 7);
        c.eval = 1;
        c.mask.ratio = 0.15f;
        c.mask.seed = 5;
        if (v == 2) c.world = 2, c.rank = 0; /* rank 0's rows then rank 1's = one rank with 14 */
        if (v < 2) {
            loader *l = loader_open(&c, paths, 2);
            REQUIRE(l != NULL);
            const loader_batch *lb;
            while (loader_next(l, &lb) == 1) {
                memcpy(ids[v] + n[v], lb->b.ids, (size_t)lb->b.T * 4);
                n[v] += lb->b.T;
                M[v] += lb->b.M;
            }
            loader_close(l);
        } else {
            loader *l0 = loader_open(&c, paths, 2);
            c.rank = 1;
            loader *l1 = loader_open(&c, paths, 2);
            REQUIRE(l0 && l1);
            const loader_batch *a, *b;
            int ra, rb;
            while ((ra = loader_next(l0, &a)) == 1 && (rb = loader_next(l1, &b)) == 1) {
                EXPECT(a->end.index == b->end.index); /* ranks advance together */
                memcpy(ids[v] + n[v], a->b.ids, (size_t)a->b.T * 4);
                n[v] += a->b.T;
                memcpy(ids[v] + n[v], b->b.ids, (size_t)b->b.T * 4);
                n[v] += b->b.T;
                M[v] += a->b.M + b->b.M;
            }
            EXPECT_EQ_INT(ra, 0);
            loader_close(l0);
            loader_close(l1);
        }
    }
    EXPECT(M[0] > 0);
    for (int v = 1; v < 3; v++) {
        EXPECT_EQ_INT(n[v], n[0]);
        EXPECT_EQ_INT(M[v], M[0]);
        EXPECT_MSG(n[v] == n[0] && memcmp(ids[v], ids[0], (size_t)n[0] * 4) == 0, "variant %d differs", v);
    }
    /* roughly 15% of the non-special tokens */
    int nonspecial = 0;
    for (int i = 0; i < n[0]; i++) nonspecial += ids[0][i] != CLS && ids[0][i] != SEP;
    EXPECT_MSG(fabs(M[0] - 0.15 * nonspecial) < 5 * sqrt(nonspecial * 0.15 * 0.85), "%d of %d", M[0], nonspecial);
}

TEST(loader_refuses_other_vocab_and_bad_input) {
    const char *path = small_shard();
    loader_config c;
    base_cfg(&c, LOADER_PAD, 8, 2);
    c.vocab_hash = VHASH + 1;
    EXPECT(loader_open(&c, &path, 1) == NULL);
    EXPECT(strstr(err_msg(), "small.bin") != NULL && strstr(err_msg(), "different vocabulary") != NULL);
    base_cfg(&c, LOADER_PAD, 8, 2);
    c.vocab_size = VOCAB + 64;
    EXPECT(loader_open(&c, &path, 1) == NULL);
    EXPECT(strstr(err_msg(), "different vocabulary") != NULL);
    base_cfg(&c, LOADER_PAD, 8, 2);
    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.bin", test_tmpdir());
    const char *two[2] = {path, missing};
    EXPECT(loader_open(&c, two, 2) == NULL);
    EXPECT(strstr(err_msg(), "missing.bin") != NULL);
    EXPECT(loader_open(&c, two, 0) == NULL);
    base_cfg(&c, LOADER_PAD, 2, 2);
    EXPECT(loader_open(&c, &path, 1) == NULL && strstr(err_msg(), "max_len"));
    base_cfg(&c, LOADER_PAD, 8, 2);
    c.mask.mask_id = -1;
    EXPECT(loader_open(&c, &path, 1) == NULL && strstr(err_msg(), "mask_id"));
    base_cfg(&c, LOADER_PAD, 8, 2);
    c.rank = 2;
    EXPECT(loader_open(&c, &path, 1) == NULL && strstr(err_msg(), "rank"));
    /* a shard with no documents */
    const char *empty = write_shard("empty.bin", 0, NULL, NULL);
    base_cfg(&c, LOADER_PAD, 8, 2);
    EXPECT(loader_open(&c, &empty, 1) == NULL && strstr(err_msg(), "no documents"));
}

TEST(loader_prefetch_thread_shuts_down_cleanly) {
    const char *paths[2];
    random_shards(paths);
    loader_config c;
    base_cfg(&c, LOADER_PACK, 64, 8);
    c.shuffle = 1;
    c.mask.ratio = 0.3f;
    for (int k = 0; k < 20; k++) {
        loader *l = loader_open(&c, paths, 2);
        REQUIRE(l != NULL);
        const loader_batch *lb;
        for (int i = 0; i < k % 4; i++) REQUIRE(loader_next(l, &lb) == 1);
        if (k % 3 == 0) { /* restart the thread mid-stream */
            loader_pos p = {.epoch = 2, .index = 7};
            REQUIRE(loader_state_set(l, p) == 0);
            REQUIRE(loader_next(l, &lb) == 1);
            EXPECT(lb->start.epoch == 2 && lb->start.index == 7);
        }
        loader_close(l); /* the thread may be mid-build */
    }
}

TEST(loader_reports_ids_beyond_the_vocabulary) {
    /* The shard structure is checked on open, ids as they are read: damage one token. */
    static const uint32_t d0[] = {10, 11}, d1[] = {12, 13, 14};
    const uint32_t *docs[] = {d0, d1};
    int len[] = {2, 3};
    const char *path = write_shard("bad_id.bin", 2, docs, len);
    size_t n;
    char *bytes = file_read_all(path, &n);
    REQUIRE(bytes != NULL);
    /* u16 tokens after the 64-byte header and 3 index entries: token 3 = doc 1, offset 1 */
    bytes[64 + 24 + 2 * 3] = (char)0xFF;
    bytes[64 + 24 + 2 * 3 + 1] = (char)0xFF;
    afile f;
    REQUIRE(afile_open(&f, path) == 0);
    REQUIRE(afile_write(&f, bytes, n) == 0 && afile_commit(&f) == 0);
    free(bytes);
    loader_config c;
    base_cfg(&c, LOADER_PAD, 8, 2);
    /* the loader verifies every shard when it opens it (checksum and id range), so
     * the damaged file is refused before any batch is built */
    for (int pf = 0; pf < 2; pf++) {
        c.prefetch = pf;
        loader *l = loader_open(&c, &path, 1);
        EXPECT(l == NULL);
        EXPECT_MSG(strstr(err_msg(), "bad_id.bin") != NULL && strstr(err_msg(), "checksum mismatch") != NULL, "%s", err_msg());
        loader_close(l);
    }
}

TEST(loader_config_from_the_bert_vocab) {
    char path[512];
    snprintf(path, sizeof path, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
    tokenizer *t = tok_load_vocab(path, NULL);
    REQUIRE(t != NULL);
    loader_config c;
    loader_config_default(&c);
    REQUIRE(loader_config_from_tokenizer(&c, t) == 0);
    /* bert-base-uncased: [PAD] 0, [CLS] 101, [SEP] 102, [MASK] 103, 30522 tokens (spec §6) */
    EXPECT_EQ_INT(c.cls_id, 101);
    EXPECT_EQ_INT(c.sep_id, 102);
    EXPECT_EQ_INT(c.mask.mask_id, 103);
    EXPECT_EQ_INT(c.mask.n_random, 30522);
    EXPECT_EQ_INT(c.vocab_size, 30522);
    EXPECT_EQ_INT(c.mask.n_special, 3);
    EXPECT(mask_is_special(&c.mask, 0) && mask_is_special(&c.mask, 101) && mask_is_special(&c.mask, 102));
    EXPECT(!mask_is_special(&c.mask, 103) && !mask_is_special(&c.mask, 100)); /* [MASK], [UNK] */
    /* the hash is FNV-1a 64 of the canonical vocab.txt bytes (the file itself: LF, one token a line) */
    size_t n;
    char *bytes = file_read_all(path, &n);
    REQUIRE(bytes != NULL);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)bytes[i]) * 0x100000001b3ull;
    free(bytes);
    EXPECT(c.vocab_hash == h);
    tok_free(t);
}
