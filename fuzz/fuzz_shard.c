/* fuzz_shard.c — arbitrary bytes as a token shard: open, verify, walk every document. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/data/shard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t *aligned = malloc(size + 8); /* the reader needs 8-byte alignment, as mmap gives */
    if (!aligned) return 0;
    memcpy(aligned, data, size);
    shard s;
    if (shard_open_memory(&s, aligned, size, "fuzz.bin") == 0) {
        shard_verify(&s);
        uint32_t buf[64];
        for (uint64_t d = 0; d < s.h.n_docs; d++) shard_doc_copy(&s, d, buf, 64);
        shard_close(&s);
    }
    free(aligned);
    return 0;
}
