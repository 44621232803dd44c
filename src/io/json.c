/* json.c — see json.h. Recursive descent over a byte range; every value is a
 * small heap node. Objects keep members in document order plus a sorted index
 * (for duplicate detection and O(log n) lookup). */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "file.h"

typedef struct {
    char *key; /* NUL-terminated, may contain NUL */
    size_t key_len;
    size_t pos; /* byte offset of the key in the input (error messages) */
    json_value *val;
} json_member;

struct json_value {
    json_type type;
    union {
        int b;
        int64_t i;
        double d;
        struct { char *s; size_t len; } str;
        struct { json_value **items; size_t n; } arr;
        struct { json_member *m; json_member **sorted; size_t n; } obj;
    } u;
};

/* ---- parser ---------------------------------------------------------------- */

typedef struct {
    const unsigned char *s;
    size_t n, pos;
    int depth;
} jparser;

/* Records "line L, column C: msg" for byte offset at; returns NULL. */
static json_value *jp_fail(const jparser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_value *jp_fail(const jparser *p, size_t at, const char *fmt, ...) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->n; i++) {
        if (p->s[i] == '\n') { line++; col = 1; } else col++;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    err_set("line %zu, column %zu: %s", line, col, msg);
    return NULL;
}

/* Describes the byte at p->pos for "found ..." in messages. */
static const char *jp_found(const jparser *p, char *buf, size_t size) {
    if (p->pos >= p->n) return "end of input";
    unsigned char c = p->s[p->pos];
    if (c >= 0x21 && c < 0x7F) snprintf(buf, size, "'%c'", c);
    else snprintf(buf, size, "byte 0x%02X", c);
    return buf;
}

static void jp_skip_ws(jparser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static json_value *jv_new(json_type t) {
    json_value *v = xcalloc(1, sizeof *v);
    v->type = t;
    return v;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
#define CONT(k) (n > (k) && (s[k] & 0xC0) == 0x80)
    if (c >= 0xC2 && c <= 0xDF) return CONT(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!CONT(1) || !CONT(2)) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] > 0x9F) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!CONT(1) || !CONT(2) || !CONT(3)) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] > 0x8F) return 0; /* > U+10FFFF */
        return 4;
    }
#undef CONT
    return 0;
}

static int hex4(const unsigned char *s, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at p->pos (which is '"'). On success returns 0 with a
 * malloc'ed NUL-terminated buffer in *out and its length in *len. The decoded
 * text is never longer than the source, so one allocation of the source span
 * suffices. */
static int jp_string(jparser *p, char **out, size_t *len) {
    size_t start = p->pos++;
    size_t end = p->pos; /* find the closing quote to size the buffer */
    while (end < p->n && p->s[end] != '"') end += (p->s[end] == '\\') ? 2 : 1;
    if (end >= p->n) { jp_fail(p, start, "unterminated string"); return -1; }
    char *o = xmalloc(end - p->pos + 1); /* (source span + NUL) */
    size_t k = 0;
    for (;;) {
        unsigned char c = p->s[p->pos];
        if (c == '"') { p->pos++; break; }
        if (c < 0x20) {
            jp_fail(p, p->pos, "control character 0x%02X in string (must be escaped)", c);
            goto fail;
        }
        if (c != '\\') {
            size_t l = utf8_seq_len(p->s + p->pos, p->n - p->pos);
            if (l == 0) { jp_fail(p, p->pos, "invalid UTF-8 byte 0x%02X in string", c); goto fail; }
            memcpy(o + k, p->s + p->pos, l);
            k += l;
            p->pos += l;
            continue;
        }
        size_t esc = p->pos++;
        if (p->pos >= p->n) { jp_fail(p, esc, "unterminated string"); goto fail; }
        unsigned char e = p->s[p->pos++];
        switch (e) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (p->n - p->pos < 4 || hex4(p->s + p->pos, &cp) != 0) {
                jp_fail(p, esc, "expected 4 hex digits after \\u");
                goto fail;
            }
            p->pos += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                jp_fail(p, esc, "lone low surrogate \\u%04X", cp);
                goto fail;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->n - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
                    hex4(p->s + p->pos + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    jp_fail(p, esc, "lone high surrogate \\u%04X (expected a \\uDC00-\\uDFFF pair)", cp);
                    goto fail;
                }
                p->pos += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            k += utf8_put(o + k, cp); /* ≤ 4 bytes from ≥ 6 source bytes */
            break;
        }
        default:
            if (e >= 0x21 && e < 0x7F) jp_fail(p, esc, "invalid escape \\%c in string", e);
            else jp_fail(p, esc, "invalid escape (backslash followed by byte 0x%02X) in string", e);
            goto fail;
        }
    }
    o[k] = 0;
    *out = o;
    *len = k;
    return 0;
fail:
    free(o);
    return -1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static json_value *jp_number(jparser *p) {
    size_t start = p->pos, i = p->pos;
    int neg = 0, is_int = 1;
    if (i < p->n && p->s[i] == '-') { neg = 1; i++; }
    if (i >= p->n || !is_digit(p->s[i])) { p->pos = i; return jp_fail(p, i, "expected a digit in number"); }
    if (p->s[i] == '0') {
        i++;
        if (i < p->n && is_digit(p->s[i])) return jp_fail(p, start, "number with a leading zero");
    } else {
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    if (i < p->n && p->s[i] == '.') {
        is_int = 0;
        i++;
        if (i >= p->n || !is_digit(p->s[i])) return jp_fail(p, i, "expected a digit after '.' in number");
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        is_int = 0;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !is_digit(p->s[i])) return jp_fail(p, i, "expected a digit in exponent");
        while (i < p->n && is_digit(p->s[i])) i++;
    }
    p->pos = i;
    if (is_int) {
        /* Exact int64 when it fits: magnitude up to 2^63 for negatives. */
        uint64_t mag = 0;
        int overflow = 0;
        for (size_t j = start + (size_t)neg; j < i; j++) {
            unsigned d = p->s[j] - '0';
            if (mag > (UINT64_MAX - d) / 10) { overflow = 1; break; }
            mag = mag * 10 + d;
        }
        if (!overflow && (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
            json_value *v = jv_new(JSON_INT);
            v->u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag; /* 0 - mag wraps correctly for 2^63 */
            return v;
        }
    }
    size_t len = i - start;
    char small[64];
    char *buf = len < sizeof small ? small : xmalloc(len + 1);
    memcpy(buf, p->s + start, len);
    buf[len] = 0;
    double d = strtod(buf, NULL);
    if (buf != small) free(buf);
    if (isinf(d)) return jp_fail(p, start, "number out of range for a double");
    json_value *v = jv_new(JSON_DOUBLE);
    v->u.d = d;
    return v;
}

static int jp_literal(jparser *p, const char *word) {
    size_t l = strlen(word);
    if (p->n - p->pos < l || memcmp(p->s + p->pos, word, l) != 0) return -1;
    p->pos += l;
    return 0;
}

static int key_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int member_ptr_cmp(const void *x, const void *y) {
    const json_member *a = *(json_member *const *)x, *b = *(json_member *const *)y;
    int c = key_cmp(a->key, a->key_len, b->key, b->key_len);
    if (c) return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos; /* stable: later duplicate second */
}

static json_value *jp_value(jparser *p);

/* After an array item or object member: 1 when a ',' (and another item) follows,
 * 0 when `close` ends the container (consumed), -1 after recording the error. */
static int jp_after_item(jparser *p, char close, const char *what) {
    char fb[16];
    jp_skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ',') {
        p->pos++;
        jp_skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == close) { jp_fail(p, p->pos, "trailing comma in %s", what); return -1; }
        return 1;
    }
    if (p->pos < p->n && p->s[p->pos] == close) { p->pos++; return 0; }
    jp_fail(p, p->pos, "expected ',' or '%c' in %s, found %s", close, what, jp_found(p, fb, sizeof fb));
    return -1;
}

static json_value *jp_array(jparser *p) {
    size_t open = p->pos++;
    if (++p->depth > JSON_MAX_DEPTH) return jp_fail(p, open, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    json_value *v = jv_new(JSON_ARRAY);
    size_t cap = 0;
    jp_skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') { p->pos++; p->depth--; return v; }
    for (;;) {
        json_value *item = jp_value(p);
        if (!item) goto fail;
        if (v->u.arr.n == cap) {
            cap = cap ? cap * 2 : 4;
            v->u.arr.items = xrealloc(v->u.arr.items, cap * sizeof *v->u.arr.items);
        }
        v->u.arr.items[v->u.arr.n++] = item;
        int next = jp_after_item(p, ']', "array");
        if (next < 0) goto fail;
        if (next == 0) break;
    }
    p->depth--;
    return v;
fail:
    json_free(v);
    return NULL;
}

static json_value *jp_object(jparser *p) {
    size_t open = p->pos++;
    if (++p->depth > JSON_MAX_DEPTH) return jp_fail(p, open, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    json_value *v = jv_new(JSON_OBJECT);
    size_t cap = 0;
    char fb[16];
    jp_skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') { p->pos++; p->depth--; return v; }
    for (;;) {
        jp_skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != '"') {
            jp_fail(p, p->pos, "expected a string key in object, found %s", jp_found(p, fb, sizeof fb));
            goto fail;
        }
        json_member m = {0};
        m.pos = p->pos;
        if (jp_string(p, &m.key, &m.key_len) != 0) goto fail;
        jp_skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':') {
            jp_fail(p, p->pos, "expected ':' after object key, found %s", jp_found(p, fb, sizeof fb));
            free(m.key);
            goto fail;
        }
        p->pos++;
        m.val = jp_value(p);
        if (!m.val) { free(m.key); goto fail; }
        if (v->u.obj.n == cap) {
            cap = cap ? cap * 2 : 4;
            v->u.obj.m = xrealloc(v->u.obj.m, cap * sizeof *v->u.obj.m);
        }
        v->u.obj.m[v->u.obj.n++] = m;
        int next = jp_after_item(p, '}', "object");
        if (next < 0) goto fail;
        if (next == 0) break;
    }
    /* Sorted index: duplicates end up adjacent. */
    size_t n = v->u.obj.n;
    v->u.obj.sorted = xmalloc(n * sizeof *v->u.obj.sorted); /* (n,) pointers into m */
    for (size_t i = 0; i < n; i++) v->u.obj.sorted[i] = &v->u.obj.m[i];
    qsort(v->u.obj.sorted, n, sizeof *v->u.obj.sorted, member_ptr_cmp);
    for (size_t i = 1; i < n; i++) {
        const json_member *a = v->u.obj.sorted[i - 1], *b = v->u.obj.sorted[i];
        if (key_cmp(a->key, a->key_len, b->key, b->key_len) == 0) {
            jp_fail(p, b->pos, "duplicate key \"%.100s\" in object", b->key);
            goto fail;
        }
    }
    p->depth--;
    return v;
fail:
    json_free(v);
    return NULL;
}

static json_value *jp_value(jparser *p) {
    char fb[16];
    jp_skip_ws(p);
    if (p->pos >= p->n) return jp_fail(p, p->pos, "expected a value, found end of input");
    unsigned char c = p->s[p->pos];
    switch (c) {
    case '{': return jp_object(p);
    case '[': return jp_array(p);
    case '"': {
        json_value *v = jv_new(JSON_STRING);
        if (jp_string(p, &v->u.str.s, &v->u.str.len) != 0) { free(v); return NULL; }
        return v;
    }
    case 't':
    case 'f':
    case 'n':
        if (jp_literal(p, "true") == 0) { json_value *v = jv_new(JSON_BOOL); v->u.b = 1; return v; }
        if (jp_literal(p, "false") == 0) return jv_new(JSON_BOOL);
        if (jp_literal(p, "null") == 0) return jv_new(JSON_NULL);
        break;
    default:
        if (c == '-' || is_digit(c)) return jp_number(p);
    }
    return jp_fail(p, p->pos, "expected a value (object, array, string, number, true, false or null), found %s",
                   jp_found(p, fb, sizeof fb));
}

json_value *json_parse(const char *s, size_t n) {
    jparser p = {(const unsigned char *)s, n, 0, 0};
    char fb[16];
    if (!s && n) { err_set("json: NULL input"); return NULL; }
    json_value *v = jp_value(&p);
    if (!v) return NULL;
    jp_skip_ws(&p);
    if (p.pos != p.n) {
        json_free(v);
        return jp_fail(&p, p.pos, "unexpected %s after the JSON value", jp_found(&p, fb, sizeof fb));
    }
    return v;
}

json_value *json_parse_file(const char *path) {
    size_t n = 0;
    char *s = file_read_all(path, &n);
    if (!s) return NULL;
    json_value *v = json_parse(s, n);
    free(s);
    if (!v) err_prefix("%s", path);
    return v;
}

void json_free(json_value *v) {
    if (!v) return;
    switch (v->type) {
    case JSON_STRING: free(v->u.str.s); break;
    case JSON_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++) json_free(v->u.arr.items[i]);
        free(v->u.arr.items);
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < v->u.obj.n; i++) {
            free(v->u.obj.m[i].key);
            json_free(v->u.obj.m[i].val);
        }
        free(v->u.obj.m);
        free(v->u.obj.sorted);
        break;
    default: break;
    }
    free(v);
}

/* ---- accessors ------------------------------------------------------------- */

const json_value *json_get_n(const json_value *obj, const char *key, size_t key_len) {
    if (!obj || obj->type != JSON_OBJECT || !obj->u.obj.sorted) return NULL;
    size_t lo = 0, hi = obj->u.obj.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const json_member *m = obj->u.obj.sorted[mid];
        int c = key_cmp(key, key_len, m->key, m->key_len);
        if (c == 0) return m->val;
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

const json_value *json_get(const json_value *obj, const char *key) {
    return key ? json_get_n(obj, key, strlen(key)) : NULL;
}

json_type json_typeof(const json_value *v) { return v ? v->type : JSON_NULL; }

const char *json_type_name(json_type t) {
    static const char *names[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

size_t json_len(const json_value *v) {
    if (!v) return 0;
    if (v->type == JSON_ARRAY) return v->u.arr.n;
    if (v->type == JSON_OBJECT) return v->u.obj.n;
    return 0;
}

const json_value *json_at(const json_value *arr, size_t i) {
    if (!arr || arr->type != JSON_ARRAY || i >= arr->u.arr.n) return NULL;
    return arr->u.arr.items[i];
}

const char *json_key_at(const json_value *obj, size_t i, size_t *key_len) {
    if (!obj || obj->type != JSON_OBJECT || i >= obj->u.obj.n) return NULL;
    if (key_len) *key_len = obj->u.obj.m[i].key_len;
    return obj->u.obj.m[i].key;
}

const json_value *json_member_at(const json_value *obj, size_t i) {
    if (!obj || obj->type != JSON_OBJECT || i >= obj->u.obj.n) return NULL;
    return obj->u.obj.m[i].val;
}

const char *json_str(const json_value *v, size_t *len) {
    if (!v || v->type != JSON_STRING) return NULL;
    if (len) *len = v->u.str.len;
    return v->u.str.s;
}

int json_int(const json_value *v, int64_t *out) {
    if (!v || v->type != JSON_INT) return -1;
    *out = v->u.i;
    return 0;
}

int json_number(const json_value *v, double *out) {
    if (!v) return -1;
    if (v->type == JSON_INT) { *out = (double)v->u.i; return 0; }
    if (v->type == JSON_DOUBLE) { *out = v->u.d; return 0; }
    return -1;
}

int json_bool(const json_value *v, int *out) {
    if (!v || v->type != JSON_BOOL) return -1;
    *out = v->u.b;
    return 0;
}

int json_is_null(const json_value *v) { return v && v->type == JSON_NULL; }

/* ---- writer ---------------------------------------------------------------- */

static void jw_put(json_w *w, const char *s, size_t n) {
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (w->len + n + 1 > cap) cap *= 2;
        w->buf = xrealloc(w->buf, cap);
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void jw_putc(json_w *w, char c) { jw_put(w, &c, 1); }

static void jw_newline(json_w *w) {
    if (!w->indent) return;
    jw_putc(w, '\n');
    for (int i = 0; i < w->depth * w->indent; i++) jw_putc(w, ' ');
}

void json_w_init(json_w *w, int indent, int flags) {
    memset(w, 0, sizeof *w);
    w->indent = indent > 0 ? indent : 0;
    w->flags = flags;
    jw_put(w, "", 0); /* buf is never NULL */
}

void json_w_free(json_w *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

/* Separator and indentation before a value (or a key). is_key: a key follows. */
static void jw_before(json_w *w, int is_key) {
    if (w->failed) return;
    if (w->depth == 0) {
        if (w->len > 0 || is_key) w->failed = 1; /* second top-level value / key outside object */
        return;
    }
    uint8_t *top = &w->stack[w->depth - 1];
    int in_obj = *top & 1;
    if (in_obj && !is_key) {
        if (!w->after_key) { w->failed = 1; return; } /* value without key */
        w->after_key = 0;
        return;
    }
    if (!in_obj && is_key) { w->failed = 1; return; }
    if (in_obj && w->after_key) { w->failed = 1; return; } /* two keys in a row */
    if (*top & 2) jw_putc(w, ',');
    *top |= 2;
    jw_newline(w);
}

static void jw_begin(json_w *w, int is_obj) {
    jw_before(w, 0);
    if (w->failed) return;
    if (w->depth == JSON_W_MAX_DEPTH) { w->failed = 1; return; }
    jw_putc(w, is_obj ? '{' : '[');
    w->stack[w->depth++] = (uint8_t)is_obj;
}

static void jw_end(json_w *w, int is_obj) {
    if (w->failed) return;
    if (w->depth == 0 || (w->stack[w->depth - 1] & 1) != is_obj || w->after_key) { w->failed = 1; return; }
    int had_items = w->stack[w->depth - 1] & 2;
    w->depth--;
    if (had_items) jw_newline(w);
    jw_putc(w, is_obj ? '}' : ']');
}

void json_w_begin_object(json_w *w) { jw_begin(w, 1); }
void json_w_end_object(json_w *w) { jw_end(w, 1); }
void json_w_begin_array(json_w *w) { jw_begin(w, 0); }
void json_w_end_array(json_w *w) { jw_end(w, 0); }

/* Writes a quoted, escaped string. Escapes as serde_json / Python json do:
 * \" \\ \b \f \n \r \t, other controls as \u00xx (lowercase hex); with
 * JSON_W_ASCII also DEL and non-ASCII (UTF-16 pairs above U+FFFF). */
static void jw_quoted(json_w *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    char esc[16];
    jw_putc(w, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i; /* copy runs of plain bytes at once */
        while (run < n && u[run] >= 0x20 && u[run] < 0x7F && u[run] != '"' && u[run] != '\\') run++;
        if (run > i) { jw_put(w, s + i, run - i); i = run; continue; }
        unsigned char c = u[i];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        }
        if (e) { jw_put(w, e, 2); i++; continue; }
        if (c < 0x20 || (c == 0x7F && (w->flags & JSON_W_ASCII))) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            jw_put(w, esc, 6);
            i++;
            continue;
        }
        if (c == 0x7F) { jw_putc(w, (char)c); i++; continue; }
        size_t l = utf8_seq_len(u + i, n - i);
        if (l == 0) { w->failed = 1; return; } /* invalid UTF-8 cannot be written as JSON */
        if (!(w->flags & JSON_W_ASCII)) { jw_put(w, s + i, l); i += l; continue; }
        unsigned cp = l == 2 ? (unsigned)(c & 0x1F) << 6 | (u[i + 1] & 0x3F)
                    : l == 3 ? (unsigned)(c & 0x0F) << 12 | (unsigned)(u[i + 1] & 0x3F) << 6 | (u[i + 2] & 0x3F)
                             : (unsigned)(c & 0x07) << 18 | (unsigned)(u[i + 1] & 0x3F) << 12 |
                                   (unsigned)(u[i + 2] & 0x3F) << 6 | (u[i + 3] & 0x3F);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            jw_put(w, esc, 12);
        } else {
            snprintf(esc, sizeof esc, "\\u%04x", cp);
            jw_put(w, esc, 6);
        }
        i += l;
    }
    jw_putc(w, '"');
}

void json_w_key_n(json_w *w, const char *key, size_t n) {
    jw_before(w, 1);
    if (w->failed) return;
    jw_quoted(w, key, n);
    jw_put(w, w->indent ? ": " : ":", w->indent ? 2 : 1);
    w->after_key = 1;
}

void json_w_key(json_w *w, const char *key) { json_w_key_n(w, key, strlen(key)); }

void json_w_string_n(json_w *w, const char *s, size_t n) {
    jw_before(w, 0);
    if (!w->failed) jw_quoted(w, s, n);
}

void json_w_string(json_w *w, const char *s) { json_w_string_n(w, s, strlen(s)); }

void json_w_int(json_w *w, int64_t v) {
    char b[32];
    jw_before(w, 0);
    if (!w->failed) jw_put(w, b, (size_t)snprintf(b, sizeof b, "%lld", (long long)v));
}

void json_w_uint(json_w *w, uint64_t v) {
    char b[32];
    jw_before(w, 0);
    if (!w->failed) jw_put(w, b, (size_t)snprintf(b, sizeof b, "%llu", (unsigned long long)v));
}

int json_format_double(char *buf, size_t size, double v) {
    if (isnan(v) || isinf(v) || size < 32) return -1;
    /* Fewest significant digits that read back exactly. */
    char sci[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v) break;
    }
    if (prec > 17) prec = 17; /* unreachable for IEEE doubles */
    const char *e = strchr(sci, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    /* Python repr: scientific below 1e-4 and from 1e16 on, fixed otherwise. */
    if (exp10 < -4 || exp10 >= 16) {
        snprintf(buf, size, "%s", sci);
    } else {
        int decimals = prec - 1 - exp10;
        snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
        if (!strchr(buf, '.')) strcat(buf, ".0");
    }
    return 0;
}

void json_w_double(json_w *w, double v) {
    char b[48];
    jw_before(w, 0);
    if (w->failed) return;
    if (json_format_double(b, sizeof b, v) != 0) { w->failed = 1; return; }
    jw_put(w, b, strlen(b));
}

void json_w_bool(json_w *w, int v) {
    jw_before(w, 0);
    if (!w->failed) jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_w_null(json_w *w) {
    jw_before(w, 0);
    if (!w->failed) jw_put(w, "null", 4);
}

void json_w_raw(json_w *w, const char *s, size_t n) {
    jw_before(w, 0);
    if (!w->failed) jw_put(w, s, n);
}

const char *json_w_finish(json_w *w, size_t *len) {
    if (w->failed) { err_set("json writer: invalid call sequence, invalid UTF-8, NaN or Inf"); return NULL; }
    if (w->depth != 0 || w->len == 0) { err_set("json writer: document is incomplete"); return NULL; }
    if (len) *len = w->len;
    return w->buf;
}
