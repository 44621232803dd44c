/* fuzz_safetensors.c — arbitrary bytes as a whole safetensors file. Whatever
 * opens must be internally consistent: every tensor lies inside the buffer,
 * is found by name, converts without faults, and re-serialises to a header the
 * reader accepts again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file *f = st_open_memory(data, size, "fuzz");
    if (!f) return 0;
    size_t n = st_count(f);
    st_entry *e = xcalloc(n ? n : 1, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size) abort();
        if (st_find(f, t->name) != t) abort();
        if (t->numel <= 4096) { /* conversions read every element */
            float *fo = xmalloc(((size_t)t->numel + 1) * sizeof *fo);
            int64_t *io = xmalloc(((size_t)t->numel + 1) * sizeof *io);
            st_read_f32(t, fo, (size_t)t->numel);
            st_read_i64(t, io, (size_t)t->numel);
            free(fo);
            free(io);
        }
        e[i] = (st_entry){.name = t->name, .dtype = t->dtype, .ndim = t->ndim, .shape = t->shape, .data = t->data};
    }
    size_t nm = st_metadata_count(f);
    st_meta *m = xcalloc(nm ? nm : 1, sizeof *m);
    for (size_t i = 0; i < nm; i++) m[i] = (st_meta){st_metadata_key(f, i), st_metadata_value(f, i)};
    /* Our own header for the same tensors, with an empty data buffer of the
     * right size, must open again. */
    size_t hl = 0;
    uint8_t *h = st_build_header(e, n, m, nm, &hl);
    if (!h) abort();
    size_t total = hl + st_data_size(f);
    uint8_t *img = xcalloc(total ? total : 1, 1);
    memcpy(img, h, hl);
    st_file *g = st_open_memory(img, total, "fuzz-rewrite");
    if (!g || st_count(g) != n) abort();
    st_close(g);
    free(img);
    free(h);
    free(m);
    free(e);
    st_close(f);
    return 0;
}
