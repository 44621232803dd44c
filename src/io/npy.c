/* npy.c — see npy.h. Layout: "\x93NUMPY", version 1.0, a little-endian uint16 header
 * length, then a Python dict literal padded with spaces and ended by '\n' so that the
 * data starts at a multiple of 64 bytes, then the data. */
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "file.h"

int npy_write_f32(const char *path, const float *data, size_t rows, size_t cols) {
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    size_t pre = 10, total = pre + (size_t)n + 1, pad = (64 - total % 64) % 64; /* magic+version+len, dict, '\n' */
    size_t hlen = (size_t)n + pad + 1;
    unsigned char head[10 + 128 + 64];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(hlen & 0xff);
    head[9] = (unsigned char)(hlen >> 8);
    memcpy(head + 10, dict, (size_t)n);
    memset(head + 10 + n, ' ', pad);
    head[10 + n + pad] = '\n';
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    if (afile_write(&f, head, 10 + hlen) != 0 || afile_write(&f, data, rows * cols * sizeof(float)) != 0) {
        afile_abort(&f);
        return -1;
    }
    return afile_commit(&f);
}
