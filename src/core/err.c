/* err.c — thread-local error messages and abort-on-invariant helpers. */
#include "err.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char err_buf[1024];

int err_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(const char *fmt, ...) {
    char head[512], old[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err_buf, sizeof old);
    snprintf(err_buf, sizeof err_buf, "%s: %s", head, old);
    return -1;
}

const char *err_msg(void) { return err_buf[0] ? err_buf : "unknown error"; }

void err_clear(void) { err_buf[0] = 0; }

void err_die_at(const char *file, int line, const char *what, const char *hint) {
    fprintf(stderr, "bertc: internal error at %s:%d: check `%s` failed", file, line, what);
    if (hint && hint[0]) fprintf(stderr, " (%s)", hint);
    fputc('\n', stderr);
    abort();
}

void *xmalloc_at(size_t n, const char *file, int line) {
    void *p = malloc(n ? n : 1);
    if (!p) err_die_at(file, line, "malloc", "out of memory");
    return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) err_die_at(file, line, "calloc", "out of memory");
    return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line) {
    void *q = realloc(p, n ? n : 1);
    if (!q) err_die_at(file, line, "realloc", "out of memory");
    return q;
}

char *xstrdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *p = xmalloc_at(n, file, line);
    memcpy(p, s, n);
    return p;
}
