/* json.h — strict RFC 8259 JSON: a tree parser and a small streaming writer.
 *
 * Parser: objects, arrays, strings (all escapes, \uXXXX with surrogate pairs;
 * lone surrogates and invalid UTF-8 are errors; strings come back as UTF-8 with
 * a length and may contain NUL), numbers kept exact (a number written without
 * fraction or exponent that fits in int64 is JSON_INT, any other is
 * JSON_DOUBLE), true/false/null. No trailing commas, comments, leading zeros,
 * NaN/Infinity or byte-order mark. Nesting is limited to JSON_MAX_DEPTH.
 * Duplicate keys in one object are an error (safetensors needs that, and a
 * config with two values for one key is a mistake we would rather report).
 * Errors: json_parse returns NULL and err_set("line L, column C: ...");
 * columns count bytes from 1.
 *
 * Writer: json_w builds a document in memory, optionally indented like
 * Python's json.dumps(indent=N) (", " / ": " → "," / ": ", newline per item),
 * or compact like serde_json (no spaces) for safetensors headers.
 */
#ifndef BERTC_JSON_H
#define BERTC_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 512

typedef enum {
    JSON_NULL,
    JSON_BOOL,
    JSON_INT,    /* integral literal within int64 */
    JSON_DOUBLE, /* any other number (has '.', 'e' or is out of int64 range) */
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json_value json_value;

/* Parses n bytes (no NUL terminator needed). NULL + err_set on any error. */
json_value *json_parse(const char *s, size_t n);
void json_free(json_value *v);
/* Reads and parses a whole file; errors read "path: line L, column C: ...". */
json_value *json_parse_file(const char *path);

/* Member of an object by key (exact bytes, NUL-terminated key);
 * NULL if absent or obj is not an object. O(log members). */
const json_value *json_get(const json_value *obj, const char *key);
/* Same with an explicit key length (keys may contain NUL). */
const json_value *json_get_n(const json_value *obj, const char *key, size_t key_len);

json_type json_typeof(const json_value *v);
const char *json_type_name(json_type t); /* "null", "boolean", "integer", ... */

/* Number of array items or object members; 0 for any other type or NULL. */
size_t json_len(const json_value *v);
/* i-th array item; NULL if out of range or not an array. */
const json_value *json_at(const json_value *arr, size_t i);
/* i-th object member in document order; NULL if out of range or not an object.
 * The key is NUL-terminated; *key_len (if non-NULL) receives its byte length. */
const char *json_key_at(const json_value *obj, size_t i, size_t *key_len);
const json_value *json_member_at(const json_value *obj, size_t i);

/* Getters return 0 on success, -1 (no err_set) if v has another type. */
/* String bytes (NUL-terminated, may contain NUL; length in *len if non-NULL);
 * NULL if v is not a string. */
const char *json_str(const json_value *v, size_t *len);
int json_int(const json_value *v, int64_t *out);      /* JSON_INT only */
int json_number(const json_value *v, double *out);    /* JSON_INT or JSON_DOUBLE */
int json_bool(const json_value *v, int *out);         /* JSON_BOOL only */
int json_is_null(const json_value *v);                /* 1 if JSON null */

/* ---- writer ---------------------------------------------------------------- */

enum {
    JSON_W_ASCII = 1, /* escape every non-ASCII char as \uXXXX (Python ensure_ascii) */
};

#define JSON_W_MAX_DEPTH 64

typedef struct {
    char *buf; /* (cap,) output so far, NUL-terminated */
    size_t len, cap;
    int indent; /* spaces per level; 0 = compact, no spaces at all */
    int flags;
    int depth;
    uint8_t stack[JSON_W_MAX_DEPTH]; /* per open container: 1 = object, |2 = has items */
    int after_key;                           /* a key was written, value pending */
    int failed;                              /* misuse or unrepresentable value */
} json_w;

void json_w_init(json_w *w, int indent, int flags);
void json_w_free(json_w *w);
void json_w_begin_object(json_w *w);
void json_w_end_object(json_w *w);
void json_w_begin_array(json_w *w);
void json_w_end_array(json_w *w);
void json_w_key(json_w *w, const char *key);
void json_w_key_n(json_w *w, const char *key, size_t n);
void json_w_string(json_w *w, const char *s);
void json_w_string_n(json_w *w, const char *s, size_t n);
void json_w_int(json_w *w, int64_t v);
void json_w_uint(json_w *w, uint64_t v);
/* Shortest "%.{1..17}g" text that reads back to exactly v, with ".0" added when
 * it would look like an integer (Python repr style: 0.02, 1e-12, 100.0).
 * NaN/Inf are not JSON: the writer is marked failed. */
void json_w_double(json_w *w, double v);
void json_w_bool(json_w *w, int v);
void json_w_null(json_w *w);
/* Appends raw bytes verbatim (caller guarantees they are valid JSON text). */
void json_w_raw(json_w *w, const char *s, size_t n);
/* Finishes: returns the NUL-terminated text (owned by w) and its length, or
 * NULL + err_set if the document is incomplete, misused or held NaN/Inf. */
const char *json_w_finish(json_w *w, size_t *len);

/* Formats v like json_w_double into buf (at least 32 bytes). -1 for NaN/Inf. */
int json_format_double(char *buf, size_t size, double v);

#endif
