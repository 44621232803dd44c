/* fuzz_dna.c — arbitrary bytes as a DNA file (src/data/dna.c), handed over
 * through a memfd (gzip is detected by content, so compressed inputs are
 * reached too). The first byte picks the format (auto / FASTA / FASTQ /
 * GenBank). Every record that comes back is checked: NUL-terminated at len,
 * upper-case letters only; its k-mers (k from the first byte) are in range.
 * A failure must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/data/dna.h"
#include "../src/text/kmer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int fd = memfd_create("dna", 0);
    if (fd < 0) return 0;
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int k = 1 + (data[0] >> 2) % KMER_MAX_K;
    err_clear();
    dna_reader *r = dna_open(path, (dna_format)(data[0] & 3));
    if (!r) {
        if (!err_msg()[0]) abort();
        close(fd);
        return 0;
    }
    dna_record rec;
    int got;
    uint32_t *ids = NULL;
    size_t n_ids = 0, cap = 0;
    while ((got = dna_next(r, &rec)) == 1) {
        if (!rec.name || !rec.seq || rec.seq[rec.len] || strlen(rec.seq) != rec.len) abort();
        for (size_t i = 0; i < rec.len; i++)
            if (rec.seq[i] < 'A' || rec.seq[i] > 'Z') abort();
        n_ids = 0;
        kmer_encode(rec.seq, rec.len, k, 0, &ids, &n_ids, &cap);
        if (n_ids != (rec.len >= (size_t)k ? rec.len - (size_t)k + 1 : 0)) abort();
        for (size_t i = 0; i < n_ids; i++)
            if (ids[i] != KMER_UNK_ID && (ids[i] < KMER_FIRST_ID || ids[i] >= kmer_vocab_real_size(k))) abort();
    }
    if (got < 0 && !err_msg()[0]) abort();
    free(ids);
    dna_close(r);
    close(fd);
    return 0;
}
