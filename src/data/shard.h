/* shard.h — token shards: the binary files `bertc tokenize` writes and the
 * loader reads. Layout (little-endian; docs/formats.md has the full table):
 *
 *   [0,64)      header: magic "BERTCSHD", version, token width, vocab size,
 *               vocab hash, document count, token count, checksum
 *   [64, ...)   document index: (n_docs + 1) u64 token offsets, first 0, last n_tokens
 *   [..., end)  tokens: n_tokens × (u16 | u32), documents back to back, no specials
 *
 * The header is checked on open (sizes must add up to the file size exactly and
 * the index must be monotonic); shard_verify() also checks the checksum and
 * that every id is below the vocabulary size.
 */
#ifndef BERTC_SHARD_H
#define BERTC_SHARD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../io/file.h"

#define SHARD_MAGIC "BERTCSHD"
#define SHARD_VERSION 1u
#define SHARD_HEADER_BYTES 64u

typedef struct {
    uint32_t version;
    uint32_t token_bytes;  /* 2 (u16 ids) or 4 (u32 ids) */
    uint32_t vocab_size;   /* every id is < vocab_size */
    uint64_t vocab_hash;   /* vocab_hash() of the vocabulary the ids refer to */
    uint64_t n_docs;
    uint64_t n_tokens;
    uint64_t checksum;     /* FNV-1a 64 over the index and token bytes */
} shard_header;

typedef struct {
    shard_header h;
    fmap map;               /* whole file when opened from a path */
    const uint8_t *base;    /* file bytes (mapped or caller's memory) */
    size_t size;
    const uint64_t *index;  /* (n_docs + 1,) token offsets */
    const uint8_t *tokens;  /* (n_tokens,) ids of width token_bytes */
    char *path;             /* for messages */
} shard;

/* Opens and checks the structure. Errors name the file and field. */
int shard_open(shard *s, const char *path);
/* Same checks on bytes in memory (not copied; must outlive s). */
int shard_open_memory(shard *s, const void *data, size_t size, const char *name);
void shard_close(shard *s);
/* Full check: checksum and id range. */
int shard_verify(const shard *s);
/* Checks the shard was made with this vocabulary (size and hash). */
int shard_check_vocab(const shard *s, uint32_t vocab_size, uint64_t vocab_hash);

static inline uint64_t shard_doc_len(const shard *s, uint64_t doc) { return s->index[doc + 1] - s->index[doc]; }
static inline uint32_t shard_token(const shard *s, uint64_t pos) {
    if (s->h.token_bytes == 2) { uint16_t v; __builtin_memcpy(&v, s->tokens + 2 * pos, 2); return v; }
    uint32_t v; __builtin_memcpy(&v, s->tokens + 4 * pos, 4); return v;
}
/* Copies document `doc` (at most cap ids) into out; returns the number copied. */
size_t shard_doc_copy(const shard *s, uint64_t doc, uint32_t *out, size_t cap);

int shard_info_print(const char *path, FILE *out);

/* FNV-1a 64 of the vocabulary tokens in id order, each followed by '\n' —
 * the bytes of the canonical vocab.txt. */
uint64_t vocab_hash_tokens(const char *const *tokens, size_t n);

/* ---- writing ---------------------------------------------------------------
 * Documents accumulate in memory; shard_writer_flush() writes them as one
 * shard file (atomically) and starts the next. */
typedef struct {
    uint32_t token_bytes, vocab_size;
    uint64_t vocab_hash;
    uint64_t *index;   /* (n_docs + 1,) */
    size_t n_docs, index_cap;
    uint8_t *tokens;   /* (n_tokens × token_bytes,) */
    size_t n_tokens, tokens_cap;
} shard_writer;

void shard_writer_init(shard_writer *w, uint32_t vocab_size, uint64_t vocab_hash);
/* Appends one document; returns -1 (err set) if an id is out of range. */
int shard_writer_add(shard_writer *w, const uint32_t *ids, size_t n);
/* Writes the pending documents to path (atomic) and empties the writer. */
int shard_writer_flush(shard_writer *w, const char *path);
void shard_writer_free(shard_writer *w);

#endif
