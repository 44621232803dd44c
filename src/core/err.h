/* err.h — error reporting for bertc.
 *
 * Two kinds of failure:
 *  - user errors (bad file, bad flag): library functions record a message with
 *    err_set() and return -1 (or NULL); the CLI prints err_msg() and exits 1.
 *  - programming errors / out of memory: CHECK() prints file:line and a hint,
 *    then aborts. These never depend on user input.
 */
#ifndef BERTC_ERR_H
#define BERTC_ERR_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* Records a printf-style message for this thread; always returns -1 so callers
 * can write `return err_set("...")`. */
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prepends "prefix: " to the current message (adds context on the way up). */
int err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *err_msg(void);
void err_clear(void);

void err_die_at(const char *file, int line, const char *what, const char *hint) __attribute__((noreturn));

/* Invariant check: on failure prints "file:line: check `cond` failed (hint)" and aborts. */
#define CHECK(cond, hint) \
    do { if (!(cond)) err_die_at(__FILE__, __LINE__, #cond, (hint)); } while (0)

/* Allocation that never returns NULL (aborts with file:line instead). */
void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
char *xstrdup_at(const char *s, const char *file, int line);
#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, s) xcalloc_at((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) xstrdup_at((s), __FILE__, __LINE__)

#endif
