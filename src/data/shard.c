/* shard.c — see shard.h for the layout. */
#include "shard.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"

/* ---- hashing ---------------------------------------------------------------- */

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

uint64_t vocab_hash_tokens(const char *const *tokens, size_t n) {
    uint64_t h = FNV64_OFFSET;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)tokens[i]; *p; p++) h = (h ^ *p) * FNV64_PRIME;
        h = (h ^ '\n') * FNV64_PRIME;
    }
    return h;
}

/* FNV-1a step over 8-byte little-endian words (tail zero-padded): one multiply
 * per 8 bytes keeps verification at memory speed; every single-byte change still
 * changes the result because multiplying by an odd constant is a bijection. */
static uint64_t checksum_update(uint64_t h, const uint8_t *p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * FNV64_PRIME;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i);
        h = (h ^ w) * FNV64_PRIME;
    }
    return h;
}

/* ---- header (de)serialisation ------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Byte offsets of the header fields. */
enum { OFF_MAGIC = 0, OFF_VERSION = 8, OFF_TOKEN_BYTES = 12, OFF_VOCAB_SIZE = 16, OFF_RESERVED = 20,
       OFF_VOCAB_HASH = 24, OFF_N_DOCS = 32, OFF_N_TOKENS = 40, OFF_CHECKSUM = 48, OFF_RESERVED2 = 56 };

static void header_encode(const shard_header *h, uint8_t out[SHARD_HEADER_BYTES]) {
    memset(out, 0, SHARD_HEADER_BYTES);
    memcpy(out + OFF_MAGIC, SHARD_MAGIC, 8);
    put32(out + OFF_VERSION, h->version);
    put32(out + OFF_TOKEN_BYTES, h->token_bytes);
    put32(out + OFF_VOCAB_SIZE, h->vocab_size);
    put64(out + OFF_VOCAB_HASH, h->vocab_hash);
    put64(out + OFF_N_DOCS, h->n_docs);
    put64(out + OFF_N_TOKENS, h->n_tokens);
    put64(out + OFF_CHECKSUM, h->checksum);
}

/* ---- reading ------------------------------------------------------------------ */

int shard_open_memory(shard *s, const void *data, size_t size, const char *name) {
    memset(s, 0, sizeof *s);
    s->path = xstrdup(name);
    s->base = data;
    s->size = size;
    const uint8_t *b = data;
    if ((uintptr_t)b % 8 != 0) {
        err_set("%s: shard bytes are not 8-byte aligned in memory", name);
        goto fail;
    }
    if (size < SHARD_HEADER_BYTES) goto fail_size;
    if (memcmp(b, SHARD_MAGIC, 8) != 0) {
        err_set("%s: not a bertc token shard (bad magic)", name);
        goto fail;
    }
    shard_header *h = &s->h;
    h->version = get32(b + OFF_VERSION);
    h->token_bytes = get32(b + OFF_TOKEN_BYTES);
    h->vocab_size = get32(b + OFF_VOCAB_SIZE);
    h->vocab_hash = get64(b + OFF_VOCAB_HASH);
    h->n_docs = get64(b + OFF_N_DOCS);
    h->n_tokens = get64(b + OFF_N_TOKENS);
    h->checksum = get64(b + OFF_CHECKSUM);
    if (h->version != SHARD_VERSION) {
        err_set("%s: shard format version %u is not supported (this bertc reads version %u)", name, h->version,
                SHARD_VERSION);
        goto fail;
    }
    if (h->token_bytes != 2 && h->token_bytes != 4) {
        err_set("%s: header field token_bytes is %u (must be 2 or 4)", name, h->token_bytes);
        goto fail;
    }
    if (h->vocab_size == 0 || (h->token_bytes == 2 && h->vocab_size > 65536u)) {
        err_set("%s: header field vocab_size %u does not fit token_bytes %u", name, h->vocab_size, h->token_bytes);
        goto fail;
    }
    if (get32(b + OFF_RESERVED) != 0 || get64(b + OFF_RESERVED2) != 0) {
        err_set("%s: reserved header fields are not zero (corrupt header)", name);
        goto fail;
    }
    /* sizes must add up exactly; check each term against the file size first so nothing overflows */
    uint64_t avail = size - SHARD_HEADER_BYTES;
    if (h->n_docs >= avail / 8) goto fail_size;
    uint64_t index_bytes = (h->n_docs + 1) * 8;
    if (h->n_tokens > (avail - index_bytes) / h->token_bytes) goto fail_size;
    if (SHARD_HEADER_BYTES + index_bytes + h->n_tokens * h->token_bytes != size) goto fail_size;
    s->index = (const uint64_t *)(b + SHARD_HEADER_BYTES); /* 8-aligned: header is 64 bytes */
    s->tokens = b + SHARD_HEADER_BYTES + index_bytes;
    if (s->index[0] != 0 || s->index[h->n_docs] != h->n_tokens) {
        err_set("%s: document index does not span the tokens (first %" PRIu64 ", last %" PRIu64 ", tokens %" PRIu64
                ")", name, s->index[0], s->index[h->n_docs], h->n_tokens);
        goto fail;
    }
    for (uint64_t d = 0; d < h->n_docs; d++)
        if (s->index[d + 1] < s->index[d]) {
            err_set("%s: document index decreases at document %" PRIu64, name, d);
            goto fail;
        }
    return 0;
fail_size:
    err_set("%s: file size %zu does not match the header (truncated or corrupt shard)", name, size);
fail:
    free(s->path);
    s->path = NULL;
    return -1;
}

int shard_open(shard *s, const char *path) {
    fmap m;
    if (fmap_open(&m, path) != 0) return -1;
    if (shard_open_memory(s, m.data, m.size, path) != 0) {
        fmap_close(&m);
        return -1;
    }
    s->map = m;
    return 0;
}

void shard_close(shard *s) {
    fmap_close(&s->map);
    free(s->path);
    memset(s, 0, sizeof *s);
}

int shard_verify(const shard *s) {
    const uint8_t *body = s->base + SHARD_HEADER_BYTES;
    uint64_t sum = checksum_update(FNV64_OFFSET, body, s->size - SHARD_HEADER_BYTES);
    if (sum != s->h.checksum)
        return err_set("%s: checksum mismatch (stored %016" PRIx64 ", computed %016" PRIx64 "): the shard is corrupt",
                       s->path, s->h.checksum, sum);
    for (uint64_t i = 0; i < s->h.n_tokens; i++) {
        uint32_t id = shard_token(s, i);
        if (id >= s->h.vocab_size)
            return err_set("%s: token %" PRIu64 " has id %u, not below vocab_size %u", s->path, i, id, s->h.vocab_size);
    }
    return 0;
}

int shard_check_vocab(const shard *s, uint32_t vocab_size, uint64_t vocab_hash) {
    if (s->h.vocab_size != vocab_size || s->h.vocab_hash != vocab_hash)
        return err_set("%s: made with a different vocabulary (shard: %u tokens, hash %016" PRIx64
                       "; given: %u tokens, hash %016" PRIx64 "); re-run `bertc tokenize` with this vocab",
                       s->path, s->h.vocab_size, s->h.vocab_hash, vocab_size, vocab_hash);
    return 0;
}

size_t shard_doc_copy(const shard *s, uint64_t doc, uint32_t *out, size_t cap) {
    uint64_t start = s->index[doc], n = shard_doc_len(s, doc);
    if (n > cap) n = cap;
    for (uint64_t i = 0; i < n; i++) out[i] = shard_token(s, start + i);
    return (size_t)n;
}

int shard_info_print(const char *path, FILE *out) {
    shard s;
    if (shard_open(&s, path) != 0) return -1;
    int ok = shard_verify(&s) == 0;
    uint64_t longest = 0;
    for (uint64_t d = 0; d < s.h.n_docs; d++)
        if (shard_doc_len(&s, d) > longest) longest = shard_doc_len(&s, d);
    fprintf(out, "%s: bertc token shard, format version %u\n", path, s.h.version);
    fprintf(out, "  size         %zu bytes\n", s.size);
    fprintf(out, "  token dtype  u%u\n", s.h.token_bytes * 8);
    fprintf(out, "  vocab size   %u\n", s.h.vocab_size);
    fprintf(out, "  vocab hash   %016" PRIx64 "\n", s.h.vocab_hash);
    fprintf(out, "  documents    %" PRIu64 "\n", s.h.n_docs);
    fprintf(out, "  tokens       %" PRIu64 " (mean %.1f, longest %" PRIu64 " per document)\n", s.h.n_tokens,
            s.h.n_docs ? (double)s.h.n_tokens / (double)s.h.n_docs : 0.0, longest);
    fprintf(out, "  checksum     %016" PRIx64 " (%s)\n", s.h.checksum, ok ? "verified" : "MISMATCH");
    if (!ok) fprintf(out, "  error        %s\n", err_msg());
    shard_close(&s);
    return ok ? 0 : -1;
}

/* ---- writing ------------------------------------------------------------------ */

void shard_writer_init(shard_writer *w, uint32_t vocab_size, uint64_t vocab_hash) {
    memset(w, 0, sizeof *w);
    w->vocab_size = vocab_size;
    w->vocab_hash = vocab_hash;
    w->token_bytes = vocab_size <= 65536u ? 2 : 4;
    w->index_cap = 1024;
    w->index = xmalloc(w->index_cap * sizeof *w->index);
    w->index[0] = 0;
}

int shard_writer_add(shard_writer *w, const uint32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= w->vocab_size)
            return err_set("token id %u is not below the vocabulary size %u", ids[i], w->vocab_size);
    if (w->n_docs + 2 > w->index_cap) {
        w->index_cap *= 2;
        w->index = xrealloc(w->index, w->index_cap * sizeof *w->index);
    }
    size_t need = (w->n_tokens + n) * w->token_bytes;
    if (need > w->tokens_cap) {
        w->tokens_cap = need * 2 > (1u << 20) ? need * 2 : (1u << 20);
        w->tokens = xrealloc(w->tokens, w->tokens_cap);
    }
    if (n > 0) { /* empty documents copy nothing (tokens may still be NULL) */
        uint8_t *dst = w->tokens + w->n_tokens * w->token_bytes;
        if (w->token_bytes == 2) {
            for (size_t i = 0; i < n; i++) { uint16_t v = (uint16_t)ids[i]; memcpy(dst + 2 * i, &v, 2); }
        } else {
            memcpy(dst, ids, n * 4);
        }
    }
    w->n_tokens += n;
    w->index[++w->n_docs] = w->n_tokens;
    return 0;
}

int shard_writer_flush(shard_writer *w, const char *path) {
    shard_header h = {.version = SHARD_VERSION, .token_bytes = w->token_bytes, .vocab_size = w->vocab_size,
                      .vocab_hash = w->vocab_hash, .n_docs = w->n_docs, .n_tokens = w->n_tokens};
    size_t index_bytes = (w->n_docs + 1) * 8, token_bytes = w->n_tokens * w->token_bytes;
    h.checksum = checksum_update(checksum_update(FNV64_OFFSET, (const uint8_t *)w->index, index_bytes), w->tokens,
                                 token_bytes);
    /* the two-part update equals one pass over the file body only if the index part is a multiple of 8 bytes */
    CHECK(index_bytes % 8 == 0, "index entries are u64");
    uint8_t head[SHARD_HEADER_BYTES];
    header_encode(&h, head);
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    if (afile_write(&f, head, sizeof head) || afile_write(&f, w->index, index_bytes) ||
        afile_write(&f, w->tokens, token_bytes)) {
        afile_abort(&f);
        return -1;
    }
    if (afile_commit(&f) != 0) return -1;
    w->n_docs = 0;
    w->n_tokens = 0;
    w->index[0] = 0;
    return 0;
}

void shard_writer_free(shard_writer *w) {
    free(w->index);
    free(w->tokens);
    memset(w, 0, sizeof *w);
}
