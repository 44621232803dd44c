/* safetensors.h — read (mmap, fully validated) and write (atomic, streamed)
 * safetensors files, byte-compatible with the reference writer (formats.md §1).
 *
 *   st_file *f = st_open("model.safetensors");          // NULL + err on bad file
 *   const st_tensor *t = st_find(f, "bert.embeddings.word_embeddings.weight");
 *   float *w = xmalloc(t->numel * sizeof *w);
 *   st_read_f32(t, w, t->numel);                          // F32/F16/BF16 → fp32
 *   st_close(f);
 *
 * Every check of formats.md §1.2 is applied at open; error messages name the
 * file, the tensor and the field at fault. Tensor data pointers point into the
 * map (or the caller's buffer for st_open_memory) and may be unaligned when a
 * foreign writer produced the file; the st_read_* helpers copy safely.
 */
#ifndef BERTC_SAFETENSORS_H
#define BERTC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ST_MAX_HEADER_SIZE 100000000u /* reference MAX_HEADER_SIZE */

/* In the reference enum order (ascending): the writer sorts by it, descending. */
typedef enum {
    ST_BOOL, ST_F4, ST_F6_E2M3, ST_F6_E3M2, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_F8_E8M0,
    ST_F8_E4M3FNUZ, ST_F8_E5M2FNUZ, ST_I16, ST_U16, ST_F16, ST_BF16, ST_I32, ST_U32, ST_F32,
    ST_C64, ST_F64, ST_I64, ST_U64,
    ST_NUM_DTYPES
} st_dtype;

const char *st_dtype_name(st_dtype d);            /* "F32"; "?" if out of range */
int st_dtype_from_name(const char *s, size_t n);  /* the dtype, or -1 if unknown */
int st_dtype_bits(st_dtype d);                    /* 4, 6, 8, 16, 32 or 64; 0 if out of range */

typedef struct {
    const char *name;     /* NUL-terminated UTF-8 */
    st_dtype dtype;
    int ndim;
    const int64_t *shape; /* (ndim,) non-negative */
    int64_t numel;        /* product of shape; 1 for a scalar, 0 if any dim is 0 */
    const void *data;     /* nbytes bytes, little-endian, C order; maybe unaligned */
    size_t nbytes;
    uint64_t begin, end;  /* data_offsets, relative to the byte buffer */
} st_tensor;

typedef struct st_file st_file;

/* Maps and validates path. NULL + err_set("path: ...") on failure. */
st_file *st_open(const char *path);
/* Validates a file image already in memory (not copied: data must outlive the
 * st_file). name is used in error messages. */
st_file *st_open_memory(const void *data, size_t size, const char *name);
void st_close(st_file *f);

size_t st_count(const st_file *f);
/* i-th tensor in data_offsets order. */
const st_tensor *st_tensor_at(const st_file *f, size_t i);
/* Tensor by name, NULL if absent (no err_set). */
const st_tensor *st_find(const st_file *f, const char *name);
uint64_t st_header_size(const st_file *f); /* N, the JSON header length incl. padding */
size_t st_data_size(const st_file *f);     /* byte-buffer length */

/* __metadata__ entries in file order; st_metadata_get → NULL if absent. */
size_t st_metadata_count(const st_file *f);
const char *st_metadata_key(const st_file *f, size_t i);
const char *st_metadata_value(const st_file *f, size_t i);
const char *st_metadata_get(const st_file *f, const char *key);

/* Converts the tensor to fp32 into out (n must equal numel). Supported dtypes:
 * F32, F16, BF16, F64 (rounded) and the integer types (I8..I64, U8..U64, BOOL;
 * rounded when above 2^24). -1 + err otherwise. */
int st_read_f32(const st_tensor *t, float *out, size_t n);
/* Integer tensors (BOOL, U8, I8, I16, U16, I32, U32, I64; U64 ≤ INT64_MAX) to
 * int64 into out (n == numel). -1 + err for other dtypes or a U64 overflow. */
int st_read_i64(const st_tensor *t, int64_t *out, size_t n);

/* ---- writer ---------------------------------------------------------------- */

/* Produces bytes [off, off + n) of a tensor's data into buf (streaming source,
 * e.g. converting fp32 master weights to bf16 chunk by chunk). 0 or -1 + err. */
typedef int (*st_fill_fn)(void *ctx, void *buf, size_t off, size_t n);

typedef struct {
    const char *name;
    st_dtype dtype;
    int ndim;
    const int64_t *shape; /* (ndim,) */
    const void *data;     /* numel × bits / 8 bytes, little-endian C order; or NULL with fill */
    st_fill_fn fill;      /* used when data is NULL */
    void *fill_ctx;
} st_entry;

typedef struct {
    const char *key, *value; /* UTF-8 strings */
} st_meta;

/* Writes tensors to path atomically in the reference layout: sorted by dtype
 * descending then name ascending, contiguous; header = {"__metadata__": {...},
 * tensors...} compact, padded with spaces to a multiple of 8. Metadata is
 * {"format": "pt"} followed by meta[] in order (a "format" entry in meta
 * replaces the default value). Data is streamed from the callers' buffers. */
int st_write(const char *path, const st_entry *tensors, size_t n, const st_meta *meta, size_t n_meta);

/* Builds the header (8-byte length + padded JSON) that st_write would write,
 * for tests and tools. Returns a malloc'ed buffer and its length, NULL + err
 * on invalid input. */
uint8_t *st_build_header(const st_entry *tensors, size_t n, const st_meta *meta, size_t n_meta,
                         size_t *len_out);

/* Prints a human-readable summary (header size, metadata, tensor count, total
 * bytes, a table of name/dtype/shape/offsets, long lists truncated). 0 or -1 + err. */
int st_info_print(const char *path, FILE *out);
/* Same for an open file; max_rows tensors are listed in full (0 = all). */
void st_info_fprint(const st_file *f, FILE *out, size_t max_rows);

#endif
