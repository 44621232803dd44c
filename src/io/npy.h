/* npy.h — NumPy .npy files (format version 1.0): a little-endian float32 matrix,
 * C order, written atomically. Readable by numpy.load. */
#ifndef BERTC_NPY_H
#define BERTC_NPY_H

#include <stddef.h>

/* Writes data (rows × cols floats, row-major) to path. -1 + err naming the file. */
int npy_write_f32(const char *path, const float *data, size_t rows, size_t cols);

#endif
