/* task.c — see task.h. */
#include "task.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../io/json.h"
#include "../text/utf8.h"

/* ---- string pool: every example's texts and label sets live here ------------ */

typedef struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    _Alignas(16) char data[];
} pool_block;

struct task_pool {
    pool_block *head;
};

#define POOL_BLOCK (1u << 20)

static void *pool_alloc(task_pool *p, size_t n) {
    n = (n + 7) & ~(size_t)7; /* keeps int32_t label sets aligned */
    pool_block *b = p->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > POOL_BLOCK ? n : POOL_BLOCK;
        b = xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = p->head;
        p->head = b;
    }
    void *r = b->data + b->used;
    b->used += n;
    return r;
}

static char *pool_strndup(task_pool *p, const char *s, size_t n) {
    char *r = pool_alloc(p, n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

static void pool_free(task_pool *p) {
    if (!p) return;
    for (pool_block *b = p->head, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    free(p);
}

/* ---- label vocabulary --------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

int32_t task_labels_find(const task_labels *v, const char *name) {
    if (!v || v->cap == 0) return -1;
    size_t mask = v->cap - 1;
    for (size_t i = hash_str(name) & mask;; i = (i + 1) & mask) {
        int32_t s = v->slots[i];
        if (s == 0) return -1;
        if (strcmp(v->names[s - 1], name) == 0) return s - 1;
    }
}

static void labels_rehash(task_labels *v, size_t cap) {
    free(v->slots);
    v->cap = cap;
    v->slots = xcalloc(cap, sizeof *v->slots);
    for (int32_t id = 0; id < v->n; id++) {
        size_t i = hash_str(v->names[id]) & (cap - 1);
        while (v->slots[i]) i = (i + 1) & (cap - 1);
        v->slots[i] = id + 1;
    }
}

/* Id of name, appended (copied) if new. */
static int32_t labels_add(task_labels *v, const char *name) {
    int32_t id = task_labels_find(v, name);
    if (id >= 0) return id;
    if ((size_t)(v->n + 1) * 2 > v->cap) { /* load factor ≤ 1/2; names holds cap/2 */
        size_t cap = v->cap ? v->cap * 2 : 16;
        v->names = xrealloc(v->names, cap / 2 * sizeof *v->names);
        labels_rehash(v, cap);
    }
    id = v->n++;
    v->names[id] = xstrdup(name);
    size_t i = hash_str(name) & (v->cap - 1);
    while (v->slots[i]) i = (i + 1) & (v->cap - 1);
    v->slots[i] = id + 1;
    return id;
}

int task_labels_init(task_labels *v, const char *const *names, int32_t n) {
    memset(v, 0, sizeof *v);
    for (int32_t i = 0; i < n; i++) {
        if (task_labels_find(v, names[i]) >= 0) {
            task_labels_free(v);
            return err_set("label \"%s\" listed twice", names[i]);
        }
        labels_add(v, names[i]);
    }
    return 0;
}

void task_labels_free(task_labels *v) {
    for (int32_t i = 0; i < v->n; i++) free(v->names[i]);
    free(v->names);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

/* ---- numbers ------------------------------------------------------------------ */

/* Strict decimal number: [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?
 * — no spaces, hex, inf or nan, and within float range. Sets *is_int when it is [+-]? digits alone. */
static int parse_decimal(const char *s, double *out, int *is_int) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    size_t nd = 0, nf = 0;
    while (isdigit((unsigned char)*p)) p++, nd++;
    int frac = 0, expo = 0;
    if (*p == '.') {
        frac = 1;
        p++;
        while (isdigit((unsigned char)*p)) p++, nf++;
    }
    if (nd + nf == 0) return -1;
    if (*p == 'e' || *p == 'E') {
        expo = 1;
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (*p) return -1;
    double v = strtod(s, NULL);
    if (!isfinite(v) || fabs(v) > FLT_MAX) return -1; /* targets are stored as float */
    if (out) *out = v;
    if (is_int) *is_int = !frac && !expo;
    return 0;
}

/* ---- reader state ------------------------------------------------------------- */

typedef struct {
    const char *p;
    size_t n;
} span;

/* A label as found in a row: absent, one text, or a list of texts (JSONL arrays). */
typedef struct {
    int kind;        /* LAB_NONE, LAB_TEXT, LAB_LIST */
    span text;
    span *items;     /* (n_items,) LAB_LIST */
    size_t n_items;
} raw_label;
enum { LAB_NONE, LAB_TEXT, LAB_LIST };

typedef struct {
    const char *path;
    task_data *d;
    task_pool *pool;
    task_label_kind kind;      /* requested: AUTO, CLASS, REGRESSION or MULTI */
    const task_labels *fixed;  /* vocabulary fixed in advance, or NULL */
    const char *sep;           /* multi-label separator in a text field */
    int skip_bad;
    size_t cap;                /* capacity of d->ex and the raw arrays */
    /* labels whose ids wait for the vocabulary (no fixed one): */
    const char **raw;          /* (cap,) CLASS / AUTO: the label text */
    const char ***raw_items;   /* (cap,) MULTI: the item texts */
    int32_t *raw_n;            /* (cap,) MULTI: number of items */
    int list_mode;             /* AUTO: -1 undecided, 0 scalar labels, 1 list labels */
    uint64_t list_mode_line;   /* the row that decided list_mode */
    span *items;               /* (items_cap,) scratch: split label items */
    size_t items_cap;
} builder;

/* A malformed row: fails the read, or (skip_bad) records the message and returns 0. */
__attribute__((format(printf, 3, 4)))
static int row_bad(builder *b, uint64_t line, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!b->skip_bad) return err_set("%s:%" PRIu64 ": %s", b->path, line, msg);
    task_data *d = b->d;
    if (d->n_skipped < TASK_MAX_SKIP_MSGS) {
        char full[1024];
        snprintf(full, sizeof full, "%s:%" PRIu64 ": %s", b->path, line, msg);
        d->skipped[d->n_skipped] = xstrdup(full);
    }
    d->n_skipped++;
    return 0;
}

/* Up to 60 bytes of a label for a message (never splits a UTF-8 sequence). */
static int shown_len(const char *s, size_t n) {
    if (n <= 60) return (int)n;
    size_t k = 60;
    while (k > 0 && ((uint8_t)s[k] & 0xC0) == 0x80) k--;
    return (int)k;
}

/* "a, b, c" (at most 8 names) for messages about unknown labels. */
static void names_list(const task_labels *v, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < v->n && i < 8 && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", v->names[i]);
    if (v->n > 8 && len < cap) snprintf(buf + len, cap - len, ", ... (%d in all)", (int)v->n);
}

/* Checks one text field: no NUL byte, valid UTF-8. 0 or an error message (static). */
static const char *text_problem(span s) {
    if (memchr(s.p, 0, s.n)) return "contains a NUL byte";
    if (!utf8_valid((const uint8_t *)s.p, s.n)) return "is not valid UTF-8";
    return NULL;
}

static void builder_grow(builder *b) {
    if (b->d->n < b->cap) return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    b->d->ex = xrealloc(b->d->ex, cap * sizeof *b->d->ex);
    b->raw = xrealloc(b->raw, cap * sizeof *b->raw);
    b->raw_items = xrealloc(b->raw_items, cap * sizeof *b->raw_items);
    b->raw_n = xrealloc(b->raw_n, cap * sizeof *b->raw_n);
    b->cap = cap;
}

/* Splits s on b->sep into b->items (an empty s is the empty set). */
static size_t split_items(builder *b, span s) {
    size_t n = 0, sl = strlen(b->sep);
    if (s.n == 0) return 0;
    const char *p = s.p, *end = s.p + s.n;
    for (;;) {
        const char *q = p;
        while (q < end && !(sl && (size_t)(end - q) >= sl && memcmp(q, b->sep, sl) == 0)) q++;
        if (n == b->items_cap) {
            b->items_cap = b->items_cap ? b->items_cap * 2 : 16;
            b->items = xrealloc(b->items, b->items_cap * sizeof *b->items);
        }
        b->items[n++] = (span){p, (size_t)(q - p)};
        if (q >= end) break;
        p = q + sl;
    }
    return n;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts ids[0..n) and drops repeats; returns the new count. */
static int32_t sort_unique(int32_t *ids, int32_t n) {
    qsort(ids, (size_t)n, sizeof *ids, cmp_i32);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (k == 0 || ids[k - 1] != ids[i]) ids[k++] = ids[i];
    return k;
}

/* Adds one example. Texts must be checked by the caller (row_text). Returns 0 (added
 * or skipped as malformed) or -1 (failed). */
static int row_add(builder *b, uint64_t line, span a, const span *pair, const raw_label *lab) {
    task_data *d = b->d;
    task_example ex = {0};
    ex.label = -1;
    ex.value = NAN;
    ex.line = (uint32_t)line;
    int ex_raw = 0; /* 1: the label waits in raw[], 2: in raw_items[] */
    const char *raw_text = NULL;
    const char **raw_items = NULL;
    int32_t raw_n = 0;

    if (lab->kind != LAB_NONE) {
        /* The effective kind of this row. */
        task_label_kind k = b->kind;
        int is_list = lab->kind == LAB_LIST;
        if (k == TASK_LABEL_AUTO) {
            if (b->list_mode < 0) { b->list_mode = is_list; b->list_mode_line = line; }
            if (b->list_mode != is_list)
                return row_bad(b, line, "label is %s, but on line %" PRIu64 " it is %s", is_list ? "a list" : "not a list",
                               b->list_mode_line, is_list ? "not a list" : "a list");
            if (is_list) k = TASK_LABEL_MULTI;
            else if (b->fixed) k = TASK_LABEL_CLASS;
        } else if (is_list && k != TASK_LABEL_MULTI) {
            return row_bad(b, line, "label is a list, but the task is %s", task_label_kind_name(k));
        }

        /* Items of a multi-label: the list, or the text split on the separator. */
        span one = lab->text;
        const span *items = lab->items;
        size_t n_items = lab->n_items;
        if (k == TASK_LABEL_MULTI && !is_list) {
            n_items = split_items(b, one);
            items = b->items;
        }
        if (k == TASK_LABEL_MULTI) {
            for (size_t i = 0; i < n_items; i++) {
                const char *why = text_problem(items[i]);
                if (why) return row_bad(b, line, "label %s", why);
                if (items[i].n == 0) return row_bad(b, line, "empty label in the label list (item %zu)", i + 1);
            }
        } else {
            const char *why = text_problem(one);
            if (why) return row_bad(b, line, "label %s", why);
            if (one.n == 0) return row_bad(b, line, "empty label");
        }

        if (k == TASK_LABEL_REGRESSION) {
            char tmp[128];
            double v;
            if (one.n >= sizeof tmp) return row_bad(b, line, "bad number \"%.*s...\"", shown_len(one.p, one.n), one.p);
            memcpy(tmp, one.p, one.n);
            tmp[one.n] = 0;
            if (parse_decimal(tmp, &v, NULL) != 0) return row_bad(b, line, "bad number \"%s\"", tmp);
            ex.value = (float)v;
        } else if (k == TASK_LABEL_CLASS && b->fixed) {
            char *name = pool_strndup(b->pool, one.p, one.n); /* lost if the row is bad: a few bytes */
            int32_t id = task_labels_find(b->fixed, name);
            if (id < 0) {
                char known[512];
                names_list(b->fixed, known, sizeof known);
                return row_bad(b, line, "unknown label \"%.*s\" (labels: %s)", shown_len(one.p, one.n), one.p, known);
            }
            ex.label = id;
        } else if (k == TASK_LABEL_MULTI && b->fixed) {
            int32_t *ids = pool_alloc(b->pool, (n_items ? n_items : 1) * sizeof *ids);
            for (size_t i = 0; i < n_items; i++) {
                char *name = pool_strndup(b->pool, items[i].p, items[i].n);
                ids[i] = task_labels_find(b->fixed, name);
                if (ids[i] < 0) {
                    char known[512];
                    names_list(b->fixed, known, sizeof known);
                    return row_bad(b, line, "unknown label \"%.*s\" (labels: %s)", shown_len(name, items[i].n), name, known);
                }
            }
            ex.n_labels = sort_unique(ids, (int32_t)n_items);
            ex.labels = ids;
        } else if (k == TASK_LABEL_MULTI) {
            raw_items = pool_alloc(b->pool, (n_items ? n_items : 1) * sizeof *raw_items);
            for (size_t i = 0; i < n_items; i++) raw_items[i] = pool_strndup(b->pool, items[i].p, items[i].n);
            raw_n = (int32_t)n_items;
            ex_raw = 2;
        } else { /* CLASS or AUTO without a vocabulary: decided after the last row */
            raw_text = pool_strndup(b->pool, one.p, one.n);
            ex_raw = 1;
        }
    }

    ex.text_a = pool_strndup(b->pool, a.p, a.n);
    if (pair) ex.text_b = pool_strndup(b->pool, pair->p, pair->n);
    builder_grow(b);
    b->raw[d->n] = ex_raw == 1 ? raw_text : NULL;
    b->raw_items[d->n] = ex_raw == 2 ? raw_items : NULL;
    b->raw_n[d->n] = raw_n;
    d->ex[d->n++] = ex;
    return 0;
}

/* Checks the text fields of a row, then adds it. */
static int row_text(builder *b, uint64_t line, span a, const char *a_name, const span *pair, const char *b_name,
                    const raw_label *lab) {
    const char *why = text_problem(a);
    if (why) return row_bad(b, line, "text \"%s\" %s", a_name, why);
    if (pair && (why = text_problem(*pair))) return row_bad(b, line, "text \"%s\" %s", b_name, why);
    return row_add(b, line, a, pair, lab);
}

static int int_label(const char *s) {
    const char *p = s + (*s == '+' || *s == '-');
    if (!*p || strlen(p) > 18) return 0; /* 18 digits always fit in long long */
    for (; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

typedef struct {
    const char *name;
    long long num;   /* its value when every label is an integer */
    int numeric;     /* the same for all entries of one sort */
} label_key;

/* Label order of an inferred vocabulary (task.h): numeric when all are integers, then bytes. */
static int cmp_label(const void *x, const void *y) {
    const label_key *a = x, *b = y;
    if (a->numeric && a->num != b->num) return a->num < b->num ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Builds `out` in the documented order from the distinct names in `seen`, and
 * returns the map seen-id → final id. */
static int32_t *labels_sorted(task_labels *out, task_labels *seen) {
    size_t n = (size_t)seen->n;
    int numeric = 1;
    for (size_t i = 0; i < n; i++) numeric &= int_label(seen->names[i]);
    label_key *keys = xmalloc((n ? n : 1) * sizeof *keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = (label_key){seen->names[i], numeric ? strtoll(seen->names[i], NULL, 10) : 0, numeric};
    qsort(keys, n, sizeof *keys, cmp_label);
    const char **sorted = xmalloc((n ? n : 1) * sizeof *sorted);
    for (size_t i = 0; i < n; i++) sorted[i] = keys[i].name;
    CHECK(task_labels_init(out, sorted, seen->n) == 0, "distinct names");
    int32_t *map = xmalloc((n ? n : 1) * sizeof *map);
    for (size_t i = 0; i < n; i++) map[i] = task_labels_find(out, seen->names[i]);
    free(sorted);
    free(keys);
    return map;
}

/* After the last row: settles the label kind and turns raw labels into ids or values. */
static void builder_finish(builder *b, int has_labels) {
    task_data *d = b->d;
    d->has_labels = has_labels;
    task_label_kind k = b->kind;
    if (k == TASK_LABEL_AUTO) {
        if (b->list_mode == 1) k = TASK_LABEL_MULTI;
        else if (b->fixed || !has_labels || d->n == 0) k = TASK_LABEL_CLASS;
        else {
            int all_num = 1, any_frac = 0;
            for (size_t i = 0; i < d->n && all_num; i++) {
                int is_int;
                if (!b->raw[i] || parse_decimal(b->raw[i], NULL, &is_int) != 0) all_num = 0;
                else if (!is_int) any_frac = 1;
            }
            k = all_num && any_frac ? TASK_LABEL_REGRESSION : TASK_LABEL_CLASS;
        }
    }
    d->kind = k;
    if (k == TASK_LABEL_REGRESSION) {
        if (b->kind == TASK_LABEL_AUTO)
            for (size_t i = 0; i < d->n; i++) {
                double v = 0;
                if (b->raw[i]) parse_decimal(b->raw[i], &v, NULL);
                d->ex[i].value = b->raw[i] ? (float)v : NAN;
                d->ex[i].label = -1;
            }
        return;
    }
    if (b->fixed) {
        CHECK(task_labels_init(&d->labels, (const char *const *)b->fixed->names, b->fixed->n) == 0, "fixed labels");
        return;
    }
    task_labels seen = {0};
    for (size_t i = 0; i < d->n; i++) {
        if (b->raw[i]) labels_add(&seen, b->raw[i]);
        for (int32_t j = 0; b->raw_items[i] && j < b->raw_n[i]; j++) labels_add(&seen, b->raw_items[i][j]);
    }
    int32_t *map = labels_sorted(&d->labels, &seen);
    for (size_t i = 0; i < d->n; i++) {
        task_example *e = &d->ex[i];
        if (b->raw[i]) e->label = map[task_labels_find(&seen, b->raw[i])];
        if (k == TASK_LABEL_MULTI && has_labels && !e->labels) {
            int32_t n = b->raw_n[i];
            int32_t *ids = pool_alloc(b->pool, (size_t)(n ? n : 1) * sizeof *ids);
            for (int32_t j = 0; j < n; j++) ids[j] = map[task_labels_find(&seen, b->raw_items[i][j])];
            e->n_labels = sort_unique(ids, n);
            e->labels = ids;
        }
    }
    free(map);
    task_labels_free(&seen);
}

static void builder_free(builder *b) {
    free(b->raw);
    free(b->raw_items);
    free(b->raw_n);
    free(b->items);
}

static task_data *data_new(const char *path, builder *b, const task_options *o) {
    task_data *d = xcalloc(1, sizeof *d);
    d->path = xstrdup(path);
    d->pool = xcalloc(1, sizeof *d->pool);
    memset(b, 0, sizeof *b);
    b->path = d->path;
    b->d = d;
    b->pool = d->pool;
    b->list_mode = -1;
    if (o) {
        b->kind = o->kind;
        b->fixed = o->labels;
        b->sep = o->multi_sep;
        b->skip_bad = o->skip_bad;
    }
    if (!b->sep || !b->sep[0]) b->sep = ",";
    return d;
}

void task_free(task_data *d) {
    if (!d) return;
    free(d->path);
    free(d->ex);
    task_labels_free(&d->labels);
    for (size_t i = 0; i < d->n_skipped && i < TASK_MAX_SKIP_MSGS; i++) free(d->skipped[i]);
    pool_free(d->pool);
    free(d);
}

const char *task_label_kind_name(task_label_kind k) {
    switch (k) {
    case TASK_LABEL_CLASS: return "class";
    case TASK_LABEL_REGRESSION: return "regression";
    case TASK_LABEL_MULTI: return "multi-label";
    default: return "auto";
    }
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

task_format task_format_for(const char *path) {
    if (ends_with(path, ".csv") || ends_with(path, ".CSV")) return TASK_FORMAT_CSV;
    if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") || ends_with(path, ".JSONL")) return TASK_FORMAT_JSONL;
    if (ends_with(path, ".tsv") || ends_with(path, ".TSV")) return TASK_FORMAT_TSV;
    return TASK_FORMAT_AUTO;
}

/* ---- lines and fields ------------------------------------------------------------ */

typedef struct {
    const char *p, *end;  /* unread part of the file */
    uint64_t line;        /* number of the last line returned */
} line_reader;

static void lines_init(line_reader *r, const fmap *m) {
    r->p = m->data ? (const char *)m->data : ""; /* an empty file maps to NULL */
    r->end = r->p + m->size;
    r->line = 0;
    if (m->size >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0) r->p += 3;
}

/* Next line without its LF / CRLF: 1, or 0 at the end. */
static int lines_next(line_reader *r, span *out) {
    if (r->p >= r->end) return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    const char *e = nl ? nl : r->end;
    out->p = r->p;
    out->n = (size_t)(e - r->p);
    if (out->n && out->p[out->n - 1] == '\r') out->n--;
    r->p = nl ? nl + 1 : r->end;
    r->line++;
    return 1;
}

typedef struct {
    span *f;   /* (cap,) */
    size_t n, cap;
} fields;

static void fields_push(fields *fs, span s) {
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? fs->cap * 2 : 16;
        fs->f = xrealloc(fs->f, fs->cap * sizeof *fs->f);
    }
    fs->f[fs->n++] = s;
}

static void split_tabs(fields *fs, span line) {
    fs->n = 0;
    const char *p = line.p, *end = line.p + line.n;
    for (;;) {
        const char *t = memchr(p, '\t', (size_t)(end - p));
        if (!t) { fields_push(fs, (span){p, (size_t)(end - p)}); break; }
        fields_push(fs, (span){p, (size_t)(t - p)});
        p = t + 1;
    }
}

static int span_is(span s, const char *name) { return s.n == strlen(name) && memcmp(s.p, name, s.n) == 0; }

/* Column index of name in the header, -1 if absent, -2 if it appears twice. */
static int header_find(const fields *h, const char *name) {
    int at = -1;
    for (size_t i = 0; i < h->n; i++)
        if (span_is(h->f[i], name)) {
            if (at >= 0) return -2;
            at = (int)i;
        }
    return at;
}

/* "a, b, c" of a header for messages. */
static void header_list(const fields *h, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (size_t i = 0; i < h->n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s\"%.*s\"", i ? ", " : "", shown_len(h->f[i].p, h->f[i].n),
                                h->f[i].p);
}

/* Columns of one file: the text, pair and label positions, and the field count. */
typedef struct {
    int a, b, label;   /* -1: absent (b, label) */
    const char *a_name, *b_name;
    size_t n_cols;
} col_map;

/* Resolves the named columns in a header. -1 + err (path:line) when one is missing. */
static int header_map(const char *path, uint64_t line, const fields *h, const task_columns *c, col_map *m) {
    const char *want[3] = {c->text, c->text_pair, c->label};
    int *at[3] = {&m->a, &m->b, &m->label};
    for (int k = 0; k < 3; k++) {
        *at[k] = -1;
        if (!want[k]) continue;
        int i = header_find(h, want[k]);
        if (i == -2) return err_set("%s:%" PRIu64 ": column \"%s\" appears twice in the header", path, line, want[k]);
        if (i < 0) {
            char cols[512];
            header_list(h, cols, sizeof cols);
            return err_set("%s:%" PRIu64 ": no column \"%s\" in the header (columns: %s)", path, line, want[k], cols);
        }
        *at[k] = i;
    }
    m->a_name = c->text;
    m->b_name = c->text_pair;
    m->n_cols = h->n;
    return 0;
}

/* One row of already-split fields into the builder. */
static int row_fields(builder *b, uint64_t line, const fields *fs, const col_map *m, const char *what) {
    if (fs->n != m->n_cols)
        return row_bad(b, line, "%zu %s fields, expected %zu", fs->n, what, m->n_cols);
    raw_label lab = {0};
    if (m->label >= 0) {
        lab.kind = LAB_TEXT;
        lab.text = fs->f[m->label];
    }
    return row_text(b, line, fs->f[m->a], m->a_name, m->b >= 0 ? &fs->f[m->b] : NULL, m->b_name, &lab);
}

/* Every remaining line of a TSV file as a row. */
static int tsv_rows(builder *b, line_reader *r, const col_map *m) {
    fields fs = {0};
    span line;
    int rc = 0;
    while (lines_next(r, &line)) {
        if (line.n == 0) continue;
        split_tabs(&fs, line);
        if ((rc = row_fields(b, r->line, &fs, m, "tab-separated")) != 0) break;
    }
    free(fs.f);
    return rc;
}

/* ---- CSV (RFC 4180) ------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
    uint64_t line;      /* line of p (1-based) */
    char *buf;          /* (cap,) unescaped fields of the current record, back to back */
    size_t len, cap;
    size_t *off;        /* (off_cap,) start of each field in buf */
    size_t off_cap;
} csv_reader;

static void csv_put(csv_reader *c, const char *s, size_t n) {
    if (c->len + n + 1 > c->cap) {
        while (c->len + n + 1 > c->cap) c->cap = c->cap ? c->cap * 2 : 4096;
        c->buf = xrealloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

/* Skips to the start of the next physical line (recovery after a bad record). */
static void csv_skip_line(csv_reader *c) {
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    c->p = nl ? nl + 1 : c->end;
    if (nl) c->line++;
}

/* Reads one record into fs (spans into c->buf). Returns 1 (a record; *start = its first
 * line), 0 at the end, 2 for a malformed record (message in *why, the rest of its line
 * skipped), or -1 for a quote left open (message in *why). Empty lines are skipped. */
static int csv_next(csv_reader *c, fields *fs, uint64_t *start, char *why, size_t why_cap) {
    while (c->p < c->end && (*c->p == '\n' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n'))) {
        c->p += *c->p == '\n' ? 1 : 2;
        c->line++;
    }
    if (c->p >= c->end) return 0;
    *start = c->line;
    c->len = 0;
    size_t nf = 0;
    for (;;) { /* one field per pass */
        if (nf == c->off_cap) {
            c->off_cap = c->off_cap ? c->off_cap * 2 : 16;
            c->off = xrealloc(c->off, c->off_cap * sizeof *c->off);
        }
        c->off[nf++] = c->len;
        if (c->p < c->end && *c->p == '"') {
            uint64_t open_line = c->line;
            c->p++;
            for (;;) {
                const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
                if (!q) {
                    snprintf(why, why_cap, "quoted field opened on this line is never closed (the rest of the file would be one field)");
                    *start = open_line;
                    return -1;
                }
                for (const char *t = c->p; t < q; t++) c->line += *t == '\n';
                csv_put(c, c->p, (size_t)(q - c->p));
                c->p = q + 1;
                if (c->p < c->end && *c->p == '"') { csv_put(c, "\"", 1); c->p++; continue; }
                break;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && !(*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')) {
                snprintf(why, why_cap, "text after the closing quote of field %zu (a quote inside a quoted field is written \"\")", nf);
                csv_skip_line(c);
                return 2;
            }
        } else {
            const char *q = c->p;
            while (q < c->end && *q != ',' && *q != '\n' && *q != '"') q++;
            if (q < c->end && *q == '"') {
                snprintf(why, why_cap, "quote inside unquoted field %zu (quote the whole field and write a quote as \"\")", nf);
                c->p = q;
                csv_skip_line(c);
                return 2;
            }
            size_t n = (size_t)(q - c->p);
            if (q < c->end && *q == '\n' && n && q[-1] == '\r') n--;
            csv_put(c, c->p, n);
            c->p = q;
        }
        csv_put(c, "", 0);
        c->buf[c->len++] = 0; /* NUL between fields keeps field ends visible in a debugger */
        if (c->p < c->end && *c->p == ',') { c->p++; continue; }
        if (c->p < c->end && *c->p == '\r') c->p++;
        if (c->p < c->end && *c->p == '\n') { c->p++; c->line++; }
        break;
    }
    fs->n = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t e = i + 1 < nf ? c->off[i + 1] - 1 : c->len - 1;
        fields_push(fs, (span){c->buf + c->off[i], e - c->off[i]});
    }
    return 1;
}

static int csv_read(builder *b, const fmap *m, const task_columns *cols) {
    csv_reader c = {0};
    c.p = m->data ? (const char *)m->data : "";
    c.end = c.p + m->size;
    c.line = 1;
    if (m->size >= 3 && memcmp(c.p, "\xEF\xBB\xBF", 3) == 0) c.p += 3;
    fields fs = {0};
    col_map cm;
    char why[256];
    uint64_t start = 0;
    int got = csv_next(&c, &fs, &start, why, sizeof why), rc;
    if (got == 0) rc = err_set("%s: empty file (a header row is needed)", b->path);
    else if (got != 1) rc = err_set("%s:%" PRIu64 ": header: %s", b->path, start, why);
    else rc = header_map(b->path, start, &fs, cols, &cm);
    while (rc == 0) {
        got = csv_next(&c, &fs, &start, why, sizeof why);
        if (got == 0) break;
        if (got < 0) rc = err_set("%s:%" PRIu64 ": %s", b->path, start, why);
        else if (got == 2) rc = row_bad(b, start, "%s", why);
        else rc = row_fields(b, start, &fs, &cm, "comma-separated");
    }
    free(fs.f);
    free(c.buf);
    free(c.off);
    return rc;
}

/* ---- JSONL ---------------------------------------------------------------------- */

/* The label value of a JSON line as text(s); int and double become decimal text.
 * *nums holds the text of numbers; 0 or a message for row_bad. */
static const char *json_label(const json_value *v, raw_label *lab, char (*nums)[40], size_t max_items, span *items) {
    json_type t = json_typeof(v);
    if (t == JSON_STRING) {
        size_t n;
        const char *s = json_str(v, &n);
        lab->kind = LAB_TEXT;
        lab->text = (span){s, n};
        return NULL;
    }
    if (t == JSON_INT || t == JSON_DOUBLE) {
        int64_t i;
        double d;
        if (t == JSON_INT && json_int(v, &i) == 0) snprintf(nums[0], sizeof nums[0], "%" PRId64, i);
        else if (json_number(v, &d) != 0 || json_format_double(nums[0], sizeof nums[0], d) != 0)
            return "label is not a finite number";
        lab->kind = LAB_TEXT;
        lab->text = (span){nums[0], strlen(nums[0])};
        return NULL;
    }
    if (t == JSON_ARRAY) {
        size_t n = json_len(v);
        if (n > max_items) return "label list is too long";
        for (size_t k = 0; k < n; k++) {
            const json_value *it = json_at(v, k);
            int64_t i;
            if (json_typeof(it) == JSON_STRING) {
                size_t len;
                const char *s = json_str(it, &len);
                items[k] = (span){s, len};
            } else if (json_typeof(it) == JSON_INT && json_int(it, &i) == 0) {
                snprintf(nums[k + 1], sizeof nums[k + 1], "%" PRId64, i);
                items[k] = (span){nums[k + 1], strlen(nums[k + 1])};
            } else {
                return "label list items must be strings or integers";
            }
        }
        lab->kind = LAB_LIST;
        lab->items = items;
        lab->n_items = n;
        return NULL;
    }
    return "label must be a string, a number or a list";
}

static int jsonl_read(builder *b, const fmap *m, const task_columns *cols) {
    line_reader r;
    lines_init(&r, m);
    span line;
    enum { MAX_ITEMS = 4096 };
    char (*nums)[40] = xmalloc((MAX_ITEMS + 1) * sizeof *nums);
    span *items = xmalloc(MAX_ITEMS * sizeof *items);
    int rc = 0;
    while (rc == 0 && lines_next(&r, &line)) {
        size_t k = 0;
        while (k < line.n && (line.p[k] == ' ' || line.p[k] == '\t' || line.p[k] == '\r')) k++;
        if (k == line.n) continue;
        json_value *v = json_parse(line.p, line.n);
        if (!v) {
            const char *msg = err_msg();
            if (strncmp(msg, "line 1, ", 8) == 0) msg += 8; /* one line: the column is enough */
            char copy[512];
            snprintf(copy, sizeof copy, "%s", msg);
            rc = row_bad(b, r.line, "invalid JSON: %s", copy);
            continue;
        }
        const char *keys[2] = {cols->text, cols->text_pair};
        span txt[2] = {{0}};
        const char *why = NULL;
        char whybuf[256];
        if (json_typeof(v) != JSON_OBJECT) why = "not a JSON object";
        for (int i = 0; i < 2 && !why; i++) {
            if (!keys[i]) continue;
            const json_value *f = json_get(v, keys[i]);
            if (!f) snprintf(whybuf, sizeof whybuf, "no key \"%s\"", keys[i]), why = whybuf;
            else if (json_typeof(f) != JSON_STRING)
                snprintf(whybuf, sizeof whybuf, "\"%s\" is not a string (%s)", keys[i], json_type_name(json_typeof(f))),
                    why = whybuf;
            else txt[i].p = json_str(f, &txt[i].n);
        }
        raw_label lab = {0};
        if (!why && cols->label) {
            const json_value *f = json_get(v, cols->label);
            if (!f) snprintf(whybuf, sizeof whybuf, "no key \"%s\"", cols->label), why = whybuf;
            else why = json_label(f, &lab, nums, MAX_ITEMS, items);
        }
        if (why) rc = row_bad(b, r.line, "%s", why);
        else rc = row_text(b, r.line, txt[0], cols->text, cols->text_pair ? &txt[1] : NULL, cols->text_pair, &lab);
        json_free(v);
    }
    free(nums);
    free(items);
    return rc;
}

/* ---- generic reader ------------------------------------------------------------- */

task_data *task_read_table(const char *path, task_format format, const task_columns *cols, const task_options *opts) {
    if (!cols || !cols->text) { err_set("%s: no text column named", path); return NULL; }
    if (format == TASK_FORMAT_AUTO) format = task_format_for(path);
    if (format == TASK_FORMAT_AUTO) {
        err_set("%s: cannot tell the format from the name (.tsv, .csv, .jsonl); name it", path);
        return NULL;
    }
    if (opts && opts->labels && opts->kind == TASK_LABEL_REGRESSION) {
        err_set("%s: a fixed label vocabulary was given for a regression task", path);
        return NULL;
    }
    fmap m;
    if (fmap_open(&m, path) != 0) return NULL;
    builder b;
    task_data *d = data_new(path, &b, opts);
    int rc = 0;
    if (format == TASK_FORMAT_JSONL) {
        rc = jsonl_read(&b, &m, cols);
    } else if (format == TASK_FORMAT_CSV) {
        rc = csv_read(&b, &m, cols);
    } else {
        line_reader r;
        lines_init(&r, &m);
        span line = {0};
        while (lines_next(&r, &line) && line.n == 0) {}
        if (line.n == 0) rc = err_set("%s: empty file (a header row is needed)", path);
        else {
            fields h = {0};
            col_map cm;
            split_tabs(&h, line);
            rc = header_map(path, r.line, &h, cols, &cm);
            free(h.f);
            if (rc == 0) rc = tsv_rows(&b, &r, &cm);
        }
    }
    fmap_close(&m);
    if (rc == 0) {
        d->has_pair = cols->text_pair != NULL;
        builder_finish(&b, cols->label != NULL);
    }
    builder_free(&b);
    if (rc != 0) { task_free(d); return NULL; }
    return d;
}

/* ---- GLUE --------------------------------------------------------------------------- */

const glue_task *glue_task_find(const char *name) {
    char key[32];
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < sizeof key; p++)
        if (*p != '-' && *p != '_') key[k++] = (char)tolower((unsigned char)*p);
    key[k] = 0;
    for (int i = 0; i < glue_n_tasks; i++)
        if (strcmp(glue_tasks[i].name, key) == 0) return &glue_tasks[i];
    return NULL;
}

task_data *task_read_glue(const char *task, const char *path, const task_options *opts) {
    const glue_task *t = glue_task_find(task);
    if (!t) {
        err_set("unknown GLUE task \"%s\" (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli)", task);
        return NULL;
    }
    const glue_layout *L = &t->layout;
    fmap m;
    if (fmap_open(&m, path) != 0) return NULL;
    task_options o = {.kind = t->kind, .skip_bad = opts ? opts->skip_bad : 0};
    task_labels canon = {0};
    if (t->kind == TASK_LABEL_CLASS) {
        CHECK(task_labels_init(&canon, t->labels, t->n_labels) == 0, "GLUE label table");
        o.labels = &canon;
    }
    builder b;
    task_data *d = data_new(path, &b, &o);
    line_reader r;
    lines_init(&r, &m);
    span line = {0};
    fields h = {0};
    col_map cm = {.a = -1, .b = -1, .label = -1};
    int rc = 0;
    while (lines_next(&r, &line) && line.n == 0) {}
    if (line.n == 0) {
        rc = err_set("%s: empty file", path);
    } else {
        split_tabs(&h, line);
        if (!L->header && !(h.n == 2 && span_is(h.f[0], "index") && span_is(h.f[1], L->a))) {
            /* CoLA train/dev: no header; the first line is a row. */
            cm = (col_map){.a = L->a_col, .b = -1, .label = L->label_col, .a_name = L->a, .n_cols = (size_t)L->n_cols};
            rc = row_fields(&b, r.line, &h, &cm, "tab-separated");
        } else {
            /* Columns by header name; a labelled file must also have them where the
             * published layout puts them (test files differ and are taken by name). */
            task_columns c = {L->a, L->b, NULL};
            rc = header_map(path, r.line, &h, &c, &cm);
            if (rc == 0 && L->label) {
                cm.label = header_find(&h, L->label);
                if (cm.label == -2) rc = err_set("%s:%" PRIu64 ": column \"%s\" appears twice in the header", path, r.line, L->label);
            }
            if (rc == 0 && cm.label >= 0) {
                const char *names[3] = {L->a, L->b, L->label};
                int want[3] = {L->a_col, L->b_col, L->label_col < 0 ? (int)h.n - 1 : L->label_col};
                int got[3] = {cm.a, cm.b, cm.label};
                for (int k = 0; k < 3 && rc == 0; k++)
                    if (names[k] && got[k] != want[k])
                        rc = err_set("%s:%" PRIu64 ": not the published GLUE %s layout: \"%s\" is column %d, expected %d",
                                     path, r.line, t->dir, names[k], got[k] + 1, want[k] + 1);
            }
        }
    }
    free(h.f);
    if (rc == 0) rc = tsv_rows(&b, &r, &cm);
    fmap_close(&m);
    if (rc == 0) {
        d->has_pair = L->b != NULL;
        builder_finish(&b, cm.label >= 0);
    }
    builder_free(&b);
    task_labels_free(&canon);
    if (rc != 0) { task_free(d); return NULL; }
    return d;
}

/* The task table. Layouts: the GLUE distribution's TSVs (the GLUE download script's
 * files, as transformers' glue processors and HF datasets' glue builder read them).
 * Recipes: mosaicbert.md §7 (MosaicBERT-base; WNLI excluded there) and m2bert.md §5.2
 * (M2-BERT 80M). Seeds listed as "(N seeds)" there are the first N of 19, 8364, 717,
 * 10536, 90166; where the M2 table gives no count, n_seeds is 0. */
#define SEEDS1 1, {19}
#define SEEDS3 3, {19, 8364, 717}
#define SEEDS4 4, {19, 8364, 717, 10536}
#define SEEDS5 5, {19, 8364, 717, 10536, 90166}
#define NOSEEDS 0, {0}
/*                         lr     wd    dec ep batch eval  seeds   mnli pool len */
const glue_task glue_tasks[] = {
    {"cola", "CoLA", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"0", "1"}, {"unacceptable", "acceptable"}, {"mcc"}, 1, NULL,
     {0, "sentence", NULL, NULL, 3, -1, 1, 4}, /* no header: source, label, original mark, sentence */
     {5e-5, 5e-6, 1, 10, 32, 250, SEEDS4, 0, 0, 256},
     {5e-5, 5e-6, 1, 10, 32, 0, SEEDS4, 0, 0, 128}},
    {"sst2", "SST-2", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"0", "1"}, {"negative", "positive"}, {"accuracy"}, 1, NULL,
     {1, "sentence", NULL, "label", 0, -1, 1, 0},
     {3e-5, 3e-6, 1, 3, 16, 500, SEEDS3, 0, 0, 256},
     {3e-5, 3e-6, 1, 3, 16, 0, SEEDS3, 0, 0, 128}},
    {"mrpc", "MRPC", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"0", "1"}, {"not_equivalent", "equivalent"}, {"accuracy", "f1"}, 2, NULL,
     {1, "#1 String", "#2 String", "Quality", 3, 4, 0, 0},
     {8e-5, 8e-6, 1, 10, 32, 100, SEEDS5, 1, 0, 256},
     {5e-5, 0.01, 0, 10, 32, 0, SEEDS5, 1, 0, 128}},
    {"stsb", "STS-B", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_REGRESSION, 1, {NULL}, {NULL}, {"spearman"}, 1, "pearson",
     {1, "sentence1", "sentence2", "score", 7, 8, 9, 0},
     {3e-5, 3e-6, 1, 10, 32, 200, SEEDS5, 1, 0, 256},
     {7e-5, 0.01, 0, 10, 32, 0, SEEDS5, 1, 0, 128}},
    {"qqp", "QQP", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"0", "1"}, {"not_duplicate", "duplicate"}, {"accuracy", "f1"}, 2, NULL,
     {1, "question1", "question2", "is_duplicate", 3, 4, 5, 0},
     {3e-5, 3e-6, 1, 5, 16, 2000, SEEDS1, 0, 0, 256},
     {3e-5, 0.01, 0, 10, 16, 0, NOSEEDS, 0, 0, 128}},
    {"mnli", "MNLI", "train.tsv", {"dev_matched.tsv", "dev_mismatched.tsv"}, {"matched", "mismatched"},
     {"test_matched.tsv", "test_mismatched.tsv"},
     TASK_LABEL_CLASS, 3, {"entailment", "neutral", "contradiction"}, {"entailment", "neutral", "contradiction"},
     {"accuracy"}, 1, NULL,
     {1, "sentence1", "sentence2", "gold_label", 8, 9, -1, 0},
     {5e-5, 5e-6, 1, 3, 48, 2300, SEEDS1, 0, 0, 256},
     {5e-5, 5e-6, 1, 3, 48, 0, NOSEEDS, 0, 0, 128}},
    {"qnli", "QNLI", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"entailment", "not_entailment"}, {"entailment", "not_entailment"}, {"accuracy"}, 1, NULL,
     {1, "question", "sentence", "label", 1, 2, 3, 0},
     {1e-5, 1e-6, 1, 10, 16, 1000, SEEDS1, 0, 0, 256},
     {5e-5, 1e-6, 1, 10, 16, 0, NOSEEDS, 0, 1, 128}},
    {"rte", "RTE", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"entailment", "not_entailment"}, {"entailment", "not_entailment"}, {"accuracy"}, 1, NULL,
     {1, "sentence1", "sentence2", "label", 1, 2, 3, 0},
     {1e-5, 1e-5, 1, 3, 16, 100, SEEDS5, 1, 0, 256},
     {5e-5, 0.01, 0, 6, 16, 0, SEEDS5, 1, 0, 128}},
    /* WNLI: the files write 0/1 with 1 = entailment (HF names: not_entailment, entailment). */
    {"wnli", "WNLI", "train.tsv", {"dev.tsv", NULL}, {"validation", NULL}, {"test.tsv", NULL},
     TASK_LABEL_CLASS, 2, {"0", "1"}, {"not_entailment", "entailment"}, {"accuracy"}, 1, NULL,
     {1, "sentence1", "sentence2", "label", 1, 2, 3, 0},
     {0, 0, 0, 0, 0, 0, NOSEEDS, 0, 0, 0},
     {0, 0, 0, 0, 0, 0, NOSEEDS, 0, 0, 0}},
};
const int glue_n_tasks = (int)(sizeof glue_tasks / sizeof glue_tasks[0]);
