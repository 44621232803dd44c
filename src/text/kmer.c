/* kmer.c — DNABERT k-mer ids, stride-1 encoding and the k-mer vocab.txt. See kmer.h. */
#include "kmer.h"

#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../io/file.h"

/* 2-bit code of a byte in ATCG order: A0 T1 C2 G3 (either case); 4 = any other
 * byte (a base that is not ACGT); 5 = whitespace (skipped by kmer_encode). */
static const uint8_t base_code[256] = {
    4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 0, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 0, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};
static const char code_letter[4] = {'A', 'T', 'C', 'G'};

int32_t kmer_index(const char *bases, int k) {
    CHECK(k >= 1 && k <= KMER_MAX_K, "k must be in 1..8");
    int32_t x = 0;
    for (int i = 0; i < k; i++) {
        uint8_t c = base_code[(uint8_t)bases[i]];
        if (c > 3) return -1;
        x = x << 2 | c;
    }
    return x;
}

int32_t kmer_id(const char *bases, int k) {
    int32_t x = kmer_index(bases, k);
    return x < 0 ? KMER_UNK_ID : KMER_FIRST_ID + x;
}

void kmer_string(int32_t index, int k, char *out) {
    CHECK(k >= 1 && k <= KMER_MAX_K && index >= 0 && (size_t)index < kmer_count(k), "k-mer index out of range");
    for (int i = k - 1; i >= 0; i--, index >>= 2) out[i] = code_letter[index & 3];
    out[k] = 0;
}

void kmer_encode(const char *s, size_t n, int k, size_t limit, uint32_t **ids, size_t *n_ids, size_t *cap) {
    CHECK(k >= 1 && k <= KMER_MAX_K, "k must be in 1..8");
    const uint8_t *p = (const uint8_t *)s;
    uint32_t mask = (uint32_t)(kmer_count(k) - 1), code = 0;
    size_t seen = 0;     /* bases so far */
    size_t good = 0;     /* ACGT bases in a row ending at the current one */
    size_t produced = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = base_code[p[i]];
        if (c == 5) continue;
        seen++;
        if (c == 4) good = 0;
        else code = (code << 2 | c) & mask, good++;
        if (seen < (size_t)k) continue;
        if (*n_ids == *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *ids = xrealloc(*ids, *cap * sizeof **ids);
        }
        (*ids)[(*n_ids)++] = good >= (size_t)k ? KMER_FIRST_ID + code : KMER_UNK_ID;
        if (limit && ++produced == limit) return;
    }
}

int kmer_vocab_write(int k, size_t pad_multiple, const char *path) {
    if (k < 1 || k > KMER_MAX_K) return err_set("%s: k-mer length %d is not in 1..%d", path, k, KMER_MAX_K);
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    static const char specials[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    afile_write(&f, specials, sizeof specials - 1);
    char s[KMER_MAX_K + 2];
    for (size_t i = 0; i < kmer_count(k); i++) {
        kmer_string((int32_t)i, k, s);
        s[k] = '\n';
        afile_write(&f, s, (size_t)k + 1);
    }
    size_t n = kmer_vocab_real_size(k);
    size_t target = pad_multiple > 1 ? (n + pad_multiple - 1) / pad_multiple * pad_multiple : n;
    for (size_t u = 0; n < target; u++, n++) afile_printf(&f, "[unused%zu]\n", u);
    return afile_commit(&f); /* a failed write makes the commit refuse */
}
