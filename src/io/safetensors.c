/* safetensors.c — see safetensors.h and formats.md §1. */
#include "safetensors.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/bf16.h"
#include "../core/err.h"
#include "file.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; bertc assumes a little-endian host"
#endif

static const struct { const char *name; int bits; } dtypes[ST_NUM_DTYPES] = {
    [ST_BOOL] = {"BOOL", 8},          [ST_F4] = {"F4", 4},
    [ST_F6_E2M3] = {"F6_E2M3", 6},    [ST_F6_E3M2] = {"F6_E3M2", 6},
    [ST_U8] = {"U8", 8},              [ST_I8] = {"I8", 8},
    [ST_F8_E5M2] = {"F8_E5M2", 8},    [ST_F8_E4M3] = {"F8_E4M3", 8},
    [ST_F8_E8M0] = {"F8_E8M0", 8},    [ST_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [ST_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [ST_I16] = {"I16", 16},           [ST_U16] = {"U16", 16},
    [ST_F16] = {"F16", 16},           [ST_BF16] = {"BF16", 16},
    [ST_I32] = {"I32", 32},           [ST_U32] = {"U32", 32},
    [ST_F32] = {"F32", 32},           [ST_C64] = {"C64", 64},
    [ST_F64] = {"F64", 64},           [ST_I64] = {"I64", 64},
    [ST_U64] = {"U64", 64},
};

const char *st_dtype_name(st_dtype d) { return (unsigned)d < ST_NUM_DTYPES ? dtypes[d].name : "?"; }
int st_dtype_bits(st_dtype d) { return (unsigned)d < ST_NUM_DTYPES ? dtypes[d].bits : 0; }

int st_dtype_from_name(const char *s, size_t n) {
    for (int d = 0; d < ST_NUM_DTYPES; d++)
        if (strlen(dtypes[d].name) == n && memcmp(dtypes[d].name, s, n) == 0) return d;
    return -1;
}

struct st_file {
    fmap map;            /* when opened from a path */
    const uint8_t *base; /* (size,) whole file image */
    size_t size;
    char *name;          /* path or caller's label, for messages */
    uint64_t header_n;
    st_tensor *tensors;  /* (n,) in data_offsets order */
    st_tensor **by_name; /* (n,) sorted by name */
    size_t n;
    char **meta_keys, **meta_vals; /* (n_meta,) */
    size_t n_meta;
};

/* ---- reader ------------------------------------------------------------------ */

static void st_free(st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->tensors[i].name);
        free((int64_t *)f->tensors[i].shape);
    }
    for (size_t i = 0; i < f->n_meta; i++) { free(f->meta_keys[i]); free(f->meta_vals[i]); }
    free(f->tensors);
    free(f->by_name);
    free(f->meta_keys);
    free(f->meta_vals);
    fmap_close(&f->map);
    free(f->name);
    free(f);
}

void st_close(st_file *f) { st_free(f); }

static int cmp_by_offsets(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp((*(st_tensor *const *)a)->name, (*(st_tensor *const *)b)->name);
}

/* Reads a non-negative JSON integer; describes the value in *what on failure. */
static int get_uint(const json_value *v, int64_t *out, const char **what) {
    int64_t i;
    if (json_int(v, &i) == 0) {
        if (i >= 0) { *out = i; return 0; }
        *what = "a negative integer";
        return -1;
    }
    json_type t = json_typeof(v);
    *what = t == JSON_DOUBLE ? "a non-integer number (or one beyond int64)" : json_type_name(t);
    return -1;
}

static int parse_metadata(st_file *f, const json_value *m) {
    if (json_is_null(m)) return 0; /* the reference reads an Option: null means none */
    if (json_typeof(m) != JSON_OBJECT)
        return err_set("%s: __metadata__ must be an object of strings, got %s", f->name,
                       json_type_name(json_typeof(m)));
    size_t n = json_len(m);
    f->meta_keys = xcalloc(n ? n : 1, sizeof *f->meta_keys);
    f->meta_vals = xcalloc(n ? n : 1, sizeof *f->meta_vals);
    for (size_t i = 0; i < n; i++) {
        size_t kl, vl;
        const char *k = json_key_at(m, i, &kl);
        const char *v = json_str(json_member_at(m, i), &vl);
        if (!v)
            return err_set("%s: __metadata__ \"%.200s\": value must be a string, got %s", f->name, k,
                           json_type_name(json_typeof(json_member_at(m, i))));
        if (strlen(k) != kl || strlen(v) != vl)
            return err_set("%s: __metadata__ \"%.200s\": NUL bytes are not supported", f->name, k);
        f->meta_keys[f->n_meta] = xstrdup(k);
        f->meta_vals[f->n_meta] = xstrdup(v);
        f->n_meta++;
    }
    return 0;
}

/* Parses one tensor entry of the header into t (name already set). */
static int parse_tensor(st_file *f, st_tensor *t, const json_value *info) {
    const char *nm = t->name;
    if (json_typeof(info) != JSON_OBJECT)
        return err_set("%s: tensor \"%.200s\": entry must be an object, got %s", f->name, nm,
                       json_type_name(json_typeof(info)));
    const json_value *dt = json_get(info, "dtype"), *sh = json_get(info, "shape"),
                     *off = json_get(info, "data_offsets");
    if (!dt) return err_set("%s: tensor \"%.200s\": missing \"dtype\"", f->name, nm);
    if (!sh) return err_set("%s: tensor \"%.200s\": missing \"shape\"", f->name, nm);
    if (!off) return err_set("%s: tensor \"%.200s\": missing \"data_offsets\"", f->name, nm);
    size_t dl;
    const char *ds = json_str(dt, &dl);
    if (!ds) return err_set("%s: tensor \"%.200s\": dtype must be a string", f->name, nm);
    int d = st_dtype_from_name(ds, dl);
    if (d < 0) return err_set("%s: tensor \"%.200s\": unknown dtype \"%.40s\"", f->name, nm, ds);
    t->dtype = (st_dtype)d;

    if (json_typeof(sh) != JSON_ARRAY)
        return err_set("%s: tensor \"%.200s\": shape must be an array, got %s", f->name, nm,
                       json_type_name(json_typeof(sh)));
    t->ndim = (int)json_len(sh);
    if (json_len(sh) > 1024) return err_set("%s: tensor \"%.200s\": shape has %zu dimensions", f->name, nm, json_len(sh));
    int64_t *shape = xcalloc(t->ndim ? (size_t)t->ndim : 1, sizeof *shape); /* (ndim,) */
    t->shape = shape;
    /* numel overflow is checked dimension by dimension, like the reference's
     * checked fold (an early huge product errs even if a later dim is 0). */
    uint64_t numel = 1;
    for (int k = 0; k < t->ndim; k++) {
        const char *what;
        if (get_uint(json_at(sh, (size_t)k), &shape[k], &what) != 0)
            return err_set("%s: tensor \"%.200s\": shape[%d] must be a non-negative integer, got %s", f->name, nm, k,
                           what);
        uint64_t dim = (uint64_t)shape[k];
        if (dim && numel > (uint64_t)INT64_MAX / dim)
            return err_set("%s: tensor \"%.200s\": shape overflows: the element count exceeds 2^63", f->name, nm);
        numel *= dim;
    }
    t->numel = (int64_t)numel;
    uint64_t bits = (uint64_t)st_dtype_bits(t->dtype);
    if (numel > UINT64_MAX / bits)
        return err_set("%s: tensor \"%.200s\": shape overflows: the byte count exceeds 2^64", f->name, nm);
    if ((numel * bits) % 8)
        return err_set("%s: tensor \"%.200s\": %" PRIu64 " elements of %s (%d bits) are not a whole number of bytes",
                       f->name, nm, numel, st_dtype_name(t->dtype), st_dtype_bits(t->dtype));
    uint64_t nbytes = numel * bits / 8;

    if (json_typeof(off) != JSON_ARRAY || json_len(off) != 2)
        return err_set("%s: tensor \"%.200s\": data_offsets must be an array of two integers", f->name, nm);
    int64_t b, e;
    const char *what;
    if (get_uint(json_at(off, 0), &b, &what) != 0 || get_uint(json_at(off, 1), &e, &what) != 0)
        return err_set("%s: tensor \"%.200s\": data_offsets must be non-negative integers, got %s", f->name, nm, what);
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e;
    if (t->end < t->begin)
        return err_set("%s: tensor \"%.200s\": data_offsets [%" PRIu64 ", %" PRIu64 "] end before begin", f->name, nm,
                       t->begin, t->end);
    if (t->end - t->begin != nbytes)
        return err_set("%s: tensor \"%.200s\": data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                       " bytes but %s%s has %" PRIu64 " elements × %d bits = %" PRIu64 " bytes",
                       f->name, nm, t->begin, t->end, t->end - t->begin, st_dtype_name(t->dtype),
                       t->ndim ? " shape" : " scalar", numel, st_dtype_bits(t->dtype), nbytes);
    t->nbytes = (size_t)nbytes;
    return 0;
}

static int st_parse(st_file *f) {
    if (f->size < 8)
        return err_set("%s: file is %zu bytes, shorter than the 8-byte header length field", f->name, f->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | f->base[i];
    f->header_n = n;
    if (n > ST_MAX_HEADER_SIZE)
        return err_set("%s: header length %" PRIu64 " exceeds the limit of %u bytes", f->name, n, ST_MAX_HEADER_SIZE);
    if (n > f->size - 8)
        return err_set("%s: header length %" PRIu64 " runs past the end of the file (%zu bytes)", f->name, n, f->size);
    const char *hdr = (const char *)f->base + 8;
    if (n == 0 || hdr[0] != '{') return err_set("%s: header does not start with '{'", f->name);
    json_value *root = json_parse(hdr, (size_t)n);
    if (!root) return err_prefix("%s: header JSON", f->name);
    if (json_typeof(root) != JSON_OBJECT) {
        json_free(root);
        return err_set("%s: header is not a JSON object", f->name);
    }
    size_t members = json_len(root);
    f->tensors = xcalloc(members ? members : 1, sizeof *f->tensors);
    int rc = 0;
    for (size_t i = 0; i < members && rc == 0; i++) {
        size_t kl;
        const char *key = json_key_at(root, i, &kl);
        const json_value *val = json_member_at(root, i);
        if (strcmp(key, "__metadata__") == 0 && kl == 12) {
            rc = parse_metadata(f, val);
            continue;
        }
        if (strlen(key) != kl) {
            rc = err_set("%s: tensor name \"%.200s...\" contains a NUL byte (not supported)", f->name, key);
            break;
        }
        st_tensor *t = &f->tensors[f->n++];
        t->name = xstrdup(key);
        rc = parse_tensor(f, t, val);
    }
    json_free(root);
    if (rc != 0) return -1;

    /* Offsets: sorted, starting at 0, contiguous, inside the buffer, covering it. */
    size_t data_size = f->size - 8 - (size_t)n;
    qsort(f->tensors, f->n, sizeof *f->tensors, cmp_by_offsets);
    uint64_t pos = 0;
    for (size_t i = 0; i < f->n; i++) {
        const st_tensor *t = &f->tensors[i];
        if (t->begin != pos) {
            if (i == 0)
                return err_set("%s: tensor \"%.200s\": data_offsets begin %" PRIu64
                               ", but the first tensor must begin at 0 (a hole at the start of the buffer)",
                               f->name, t->name, t->begin);
            if (t->begin > pos)
                return err_set("%s: tensor \"%.200s\": data_offsets begin %" PRIu64 " leaves a hole after \"%.200s\""
                               " (which ends at %" PRIu64 ")", f->name, t->name, t->begin, f->tensors[i - 1].name, pos);
            return err_set("%s: tensor \"%.200s\": data_offsets [%" PRIu64 ", %" PRIu64 "] overlap \"%.200s\""
                           " (which ends at %" PRIu64 ")", f->name, t->name, t->begin, t->end,
                           f->tensors[i - 1].name, pos);
        }
        if (t->end > data_size)
            return err_set("%s: tensor \"%.200s\": data_offsets end %" PRIu64 " is beyond the data buffer "
                           "(%zu bytes; file truncated?)", f->name, t->name, t->end, data_size);
        pos = t->end;
    }
    if (pos != data_size)
        return err_set("%s: %" PRIu64 " trailing bytes after the last tensor (the data buffer is %zu bytes, "
                       "tensors cover %" PRIu64 ")", f->name, (uint64_t)data_size - pos, data_size, pos);
    const uint8_t *data = f->base + 8 + n;
    f->by_name = xmalloc((f->n ? f->n : 1) * sizeof *f->by_name); /* (n,) */
    for (size_t i = 0; i < f->n; i++) {
        f->tensors[i].data = data + f->tensors[i].begin;
        f->by_name[i] = &f->tensors[i];
    }
    qsort(f->by_name, f->n, sizeof *f->by_name, cmp_by_name);
    return 0;
}

st_file *st_open_memory(const void *data, size_t size, const char *name) {
    st_file *f = xcalloc(1, sizeof *f);
    f->base = data;
    f->size = size;
    f->name = xstrdup(name ? name : "<memory>");
    if (st_parse(f) != 0) { st_free(f); return NULL; }
    return f;
}

st_file *st_open(const char *path) {
    st_file *f = xcalloc(1, sizeof *f);
    f->name = xstrdup(path);
    if (fmap_open(&f->map, path) != 0) { st_free(f); return NULL; }
    f->base = f->map.data;
    f->size = f->map.size;
    if (st_parse(f) != 0) { st_free(f); return NULL; }
    return f;
}

size_t st_count(const st_file *f) { return f->n; }
const st_tensor *st_tensor_at(const st_file *f, size_t i) { return i < f->n ? &f->tensors[i] : NULL; }
uint64_t st_header_size(const st_file *f) { return f->header_n; }
size_t st_data_size(const st_file *f) { return f->size - 8 - (size_t)f->header_n; }
size_t st_metadata_count(const st_file *f) { return f->n_meta; }
const char *st_metadata_key(const st_file *f, size_t i) { return i < f->n_meta ? f->meta_keys[i] : NULL; }
const char *st_metadata_value(const st_file *f, size_t i) { return i < f->n_meta ? f->meta_vals[i] : NULL; }

const char *st_metadata_get(const st_file *f, const char *key) {
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
    return NULL;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->by_name[mid]->name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

/* ---- conversions --------------------------------------------------------------- */

/* Element i of an integer tensor as int64 (memcpy: data may be unaligned).
 * Returns 0, or -1 for a U64 value above INT64_MAX. */
static int load_int(const st_tensor *t, size_t i, int64_t *out) {
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_BOOL: case ST_U8: *out = p[i]; return 0;
    case ST_I8: *out = (int8_t)p[i]; return 0;
    case ST_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); *out = v; return 0; }
    case ST_U16: { uint16_t v; memcpy(&v, p + 2 * i, 2); *out = v; return 0; }
    case ST_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); *out = v; return 0; }
    case ST_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); *out = v; return 0; }
    case ST_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); *out = v; return 0; }
    case ST_U64: {
        uint64_t v;
        memcpy(&v, p + 8 * i, 8);
        if (v > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)v;
        return 0;
    }
    default: return -1;
    }
}

static int is_int_dtype(st_dtype d) {
    return d == ST_BOOL || d == ST_U8 || d == ST_I8 || d == ST_I16 || d == ST_U16 || d == ST_I32 || d == ST_U32 ||
           d == ST_I64 || d == ST_U64;
}

int st_read_f32(const st_tensor *t, float *out, size_t n) {
    if (n != (size_t)t->numel)
        return err_set("tensor \"%.200s\": asked for %zu values, it has %" PRId64, t->name, n, t->numel);
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32: memcpy(out, p, n * 4); return 0;
    case ST_F16:
        for (size_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = f16_to_f32(h); }
        return 0;
    case ST_BF16:
        for (size_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); out[i] = bf16_to_f32(h); }
        return 0;
    case ST_F64:
        for (size_t i = 0; i < n; i++) { double d; memcpy(&d, p + 8 * i, 8); out[i] = (float)d; }
        return 0;
    default: break;
    }
    if (!is_int_dtype(t->dtype))
        return err_set("tensor \"%.200s\": cannot convert dtype %s to F32", t->name, st_dtype_name(t->dtype));
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == ST_U64) { uint64_t v; memcpy(&v, p + 8 * i, 8); out[i] = (float)v; continue; }
        int64_t v;
        load_int(t, i, &v);
        out[i] = (float)v;
    }
    return 0;
}

int st_read_i64(const st_tensor *t, int64_t *out, size_t n) {
    if (n != (size_t)t->numel)
        return err_set("tensor \"%.200s\": asked for %zu values, it has %" PRId64, t->name, n, t->numel);
    if (!is_int_dtype(t->dtype))
        return err_set("tensor \"%.200s\": dtype %s is not an integer type", t->name, st_dtype_name(t->dtype));
    for (size_t i = 0; i < n; i++)
        if (load_int(t, i, &out[i]) != 0)
            return err_set("tensor \"%.200s\": U64 element %zu does not fit in int64", t->name, i);
    return 0;
}

/* ---- writer ---------------------------------------------------------------------- */

static int cmp_entry_layout(const void *a, const void *b) {
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    if (x->dtype != y->dtype) return x->dtype > y->dtype ? -1 : 1; /* dtype descending */
    return strcmp(x->name, y->name);                              /* then name ascending */
}

static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(const st_entry *const *)a)->name, (*(const st_entry *const *)b)->name);
}

/* Validates entries and returns them in layout order with their byte sizes.
 * *order_out: (n,) pointers into tensors; *sizes_out: (n,) bytes, same order. */
static int plan_layout(const st_entry *tensors, size_t n, const st_entry ***order_out, uint64_t **sizes_out) {
    const st_entry **order = xmalloc((n ? n : 1) * sizeof *order);
    uint64_t *sizes = xmalloc((n ? n : 1) * sizeof *sizes);
    for (size_t i = 0; i < n; i++) order[i] = &tensors[i];
    for (size_t i = 0; i < n; i++) {
        const st_entry *e = &tensors[i];
        if (!e->name) { err_set("safetensors write: tensor %zu has no name", i); goto fail; }
        if (strcmp(e->name, "__metadata__") == 0) { err_set("safetensors write: \"__metadata__\" is reserved"); goto fail; }
        if ((unsigned)e->dtype >= ST_NUM_DTYPES) { err_set("safetensors write: tensor \"%.200s\": bad dtype", e->name); goto fail; }
        if (e->ndim < 0 || (e->ndim > 0 && !e->shape)) {
            err_set("safetensors write: tensor \"%.200s\": bad shape", e->name);
            goto fail;
        }
        uint64_t numel = 1;
        for (int k = 0; k < e->ndim; k++) {
            if (e->shape[k] < 0) { err_set("safetensors write: tensor \"%.200s\": shape[%d] < 0", e->name, k); goto fail; }
            uint64_t dim = (uint64_t)e->shape[k];
            if (dim && numel > (uint64_t)INT64_MAX / dim) {
                err_set("safetensors write: tensor \"%.200s\": element count overflows", e->name);
                goto fail;
            }
            numel *= dim;
        }
        uint64_t bits = (uint64_t)st_dtype_bits(e->dtype);
        if (numel > UINT64_MAX / bits || (numel * bits) % 8) {
            err_set("safetensors write: tensor \"%.200s\": %" PRIu64 " × %d bits is not a whole number of bytes",
                    e->name, numel, (int)bits);
            goto fail;
        }
        sizes[i] = numel * bits / 8;
        if (sizes[i] && !e->data && !e->fill) {
            err_set("safetensors write: tensor \"%.200s\": no data", e->name);
            goto fail;
        }
    }
    qsort(order, n, sizeof *order, cmp_entry_name);
    for (size_t i = 1; i < n; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            err_set("safetensors write: duplicate tensor name \"%.200s\"", order[i]->name);
            goto fail;
        }
    qsort(order, n, sizeof *order, cmp_entry_layout);
    uint64_t *sorted_sizes = xmalloc((n ? n : 1) * sizeof *sorted_sizes);
    for (size_t i = 0; i < n; i++) sorted_sizes[i] = sizes[order[i] - tensors];
    free(sizes);
    *order_out = order;
    *sizes_out = sorted_sizes;
    return 0;
fail:
    free(order);
    free(sizes);
    return -1;
}

/* Header for entries already in layout order. */
static uint8_t *build_header(const st_entry **order, const uint64_t *sizes, size_t n, const st_meta *meta,
                             size_t n_meta, size_t *len_out) {
    for (size_t i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value) { err_set("safetensors write: metadata %zu is NULL", i); return NULL; }
        for (size_t j = 0; j < i; j++)
            if (strcmp(meta[i].key, meta[j].key) == 0) {
                err_set("safetensors write: duplicate metadata key \"%.200s\"", meta[i].key);
                return NULL;
            }
    }
    json_w w;
    json_w_init(&w, 0, 0); /* compact, non-ASCII raw: serde_json's output */
    json_w_begin_object(&w);
    json_w_key(&w, "__metadata__");
    json_w_begin_object(&w);
    const char *format = "pt";
    for (size_t i = 0; i < n_meta; i++)
        if (strcmp(meta[i].key, "format") == 0) format = meta[i].value;
    json_w_key(&w, "format");
    json_w_string(&w, format);
    for (size_t i = 0; i < n_meta; i++) {
        if (strcmp(meta[i].key, "format") == 0) continue;
        json_w_key(&w, meta[i].key);
        json_w_string(&w, meta[i].value);
    }
    json_w_end_object(&w);
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const st_entry *e = order[i];
        json_w_key(&w, e->name);
        json_w_begin_object(&w);
        json_w_key(&w, "dtype");
        json_w_string(&w, st_dtype_name(e->dtype));
        json_w_key(&w, "shape");
        json_w_begin_array(&w);
        for (int k = 0; k < e->ndim; k++) json_w_int(&w, e->shape[k]);
        json_w_end_array(&w);
        json_w_key(&w, "data_offsets");
        json_w_begin_array(&w);
        json_w_uint(&w, off);
        json_w_uint(&w, off + sizes[i]);
        json_w_end_array(&w);
        json_w_end_object(&w);
        off += sizes[i];
    }
    json_w_end_object(&w);
    size_t jn = 0;
    const char *js = json_w_finish(&w, &jn);
    if (!js) {
        json_w_free(&w);
        err_set("safetensors write: a tensor name or metadata string is not valid UTF-8");
        return NULL;
    }
    size_t padded = jn + (8 - jn % 8) % 8; /* header length is a multiple of 8 */
    uint8_t *buf = xmalloc(8 + padded);    /* (8 + padded,) length field + JSON + spaces */
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, js, jn);
    memset(buf + 8 + jn, ' ', padded - jn);
    json_w_free(&w);
    *len_out = 8 + padded;
    return buf;
}

uint8_t *st_build_header(const st_entry *tensors, size_t n, const st_meta *meta, size_t n_meta, size_t *len_out) {
    const st_entry **order;
    uint64_t *sizes;
    if (plan_layout(tensors, n, &order, &sizes) != 0) return NULL;
    uint8_t *h = build_header(order, sizes, n, meta, n_meta, len_out);
    free(order);
    free(sizes);
    return h;
}

int st_write(const char *path, const st_entry *tensors, size_t n, const st_meta *meta, size_t n_meta) {
    const st_entry **order;
    uint64_t *sizes;
    if (plan_layout(tensors, n, &order, &sizes) != 0) return err_prefix("%s", path);
    size_t hlen = 0;
    uint8_t *hdr = build_header(order, sizes, n, meta, n_meta, &hlen);
    uint8_t *chunk = NULL;
    afile af;
    int opened = 0;
    if (!hdr) { err_prefix("%s", path); goto fail; }
    if (afile_open(&af, path) != 0) goto fail;
    opened = 1;
    if (afile_write(&af, hdr, hlen) != 0) goto fail;
    for (size_t i = 0; i < n; i++) {
        const st_entry *e = order[i];
        if (sizes[i] == 0) continue;
        if (e->data) {
            if (afile_write(&af, e->data, (size_t)sizes[i]) != 0) goto fail;
            continue;
        }
        /* Streamed source: 1 MiB at a time, never the whole tensor. */
        const size_t chunk_size = 1 << 20;
        if (!chunk) chunk = xmalloc(chunk_size); /* (1 MiB,) */
        for (uint64_t off = 0; off < sizes[i]; off += chunk_size) {
            size_t len = sizes[i] - off < chunk_size ? (size_t)(sizes[i] - off) : chunk_size;
            if (e->fill(e->fill_ctx, chunk, (size_t)off, len) != 0) {
                err_prefix("%s: tensor \"%.200s\"", path, e->name);
                goto fail;
            }
            if (afile_write(&af, chunk, len) != 0) goto fail;
        }
    }
    opened = 0;
    if (afile_commit(&af) != 0) goto fail;
    free(chunk);
    free(hdr);
    free(order);
    free(sizes);
    return 0;
fail:
    if (opened) afile_abort(&af);
    free(chunk);
    free(hdr);
    free(order);
    free(sizes);
    return -1;
}

/* ---- info ------------------------------------------------------------------------ */

static void fprint_shape(FILE *out, const st_tensor *t, int width) {
    char buf[128];
    size_t k = 0;
    buf[k++] = '[';
    for (int i = 0; i < t->ndim && k < sizeof buf - 24; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%" PRId64, i ? ", " : "", t->shape[i]);
    if (k >= sizeof buf - 24) k += (size_t)snprintf(buf + k, sizeof buf - k, ", ...");
    snprintf(buf + k, sizeof buf - k, "]");
    fprintf(out, "%-*s", width, buf);
}

/* Display width of UTF-8 text: one column per code point. */
static int utf8_width(const char *s) {
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void fprint_row(FILE *out, const st_tensor *t, size_t idx, int name_w) {
    const char *name = t->name;
    int w = utf8_width(name);
    fprintf(out, "  %5zu  ", idx);
    if (w > name_w) { /* keep the informative tail: "...layer.11.output.dense.weight" */
        while (w > name_w - 3) w -= ((unsigned char)*++name & 0xC0) != 0x80;
        while (((unsigned char)*name & 0xC0) == 0x80) name++;
        fprintf(out, "...");
        w += 3;
    }
    fprintf(out, "%s%*s", name, name_w - w, "");
    fprintf(out, "  %-11s ", st_dtype_name(t->dtype));
    fprint_shape(out, t, 20);
    fprintf(out, "  [%" PRIu64 ", %" PRIu64 ")\n", t->begin, t->end);
}

void st_info_fprint(const st_file *f, FILE *out, size_t max_rows) {
    fprintf(out, "file:        %s (safetensors)\n", f->name);
    fprintf(out, "size:        %zu bytes = 8 + header %" PRIu64 " + data %zu\n", f->size, f->header_n, st_data_size(f));
    fprintf(out, "metadata:    ");
    if (!f->n_meta) fprintf(out, "(none)");
    for (size_t i = 0; i < f->n_meta; i++) fprintf(out, "%s%.80s=%.200s", i ? ", " : "", f->meta_keys[i], f->meta_vals[i]);
    uint64_t count[ST_NUM_DTYPES] = {0}, bytes[ST_NUM_DTYPES] = {0}, params = 0;
    for (size_t i = 0; i < f->n; i++) {
        count[f->tensors[i].dtype]++;
        bytes[f->tensors[i].dtype] += f->tensors[i].nbytes;
        params += (uint64_t)f->tensors[i].numel;
    }
    fprintf(out, "\ntensors:     %zu (%" PRIu64 " elements)\n", f->n, params);
    int first = 1;
    for (int d = ST_NUM_DTYPES - 1; d >= 0; d--) {
        if (!count[d]) continue;
        fprintf(out, "%-13s%-5s %" PRIu64 " tensors, %" PRIu64 " bytes\n", first ? "dtypes:" : "", st_dtype_name(d),
                count[d], bytes[d]);
        first = 0;
    }
    if (!f->n) return;
    int name_w = 4;
    for (size_t i = 0; i < f->n; i++) {
        int l = utf8_width(f->tensors[i].name);
        if (l > name_w) name_w = l;
    }
    if (name_w > 60) name_w = 60;
    fprintf(out, "  %5s  %-*s  %-11s %-20s  %s\n", "#", name_w, "name", "dtype", "shape", "data_offsets");
    size_t head = f->n, tail = 0;
    if (max_rows && f->n > max_rows) { tail = max_rows / 4; head = max_rows - tail; }
    for (size_t i = 0; i < head; i++) fprint_row(out, &f->tensors[i], i, name_w);
    if (tail) {
        fprintf(out, "  %5s  ... %zu more tensors ...\n", "", f->n - head - tail);
        for (size_t i = f->n - tail; i < f->n; i++) fprint_row(out, &f->tensors[i], i, name_w);
    }
}

int st_info_print(const char *path, FILE *out) {
    st_file *f = st_open(path);
    if (!f) return -1;
    st_info_fprint(f, out, 40);
    st_close(f);
    return 0;
}
