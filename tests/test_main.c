/* test_main.c — the runner behind test.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

typedef struct { const char *name; test_fn fn; } test_entry;

static test_entry tests[1024];
static int n_tests;
static int cur_failed;
static char tmp_root[256];
static char tmp_dir[300];
static int tmp_seq;

void test_register(const char *name, test_fn fn) {
    if (n_tests == (int)(sizeof tests / sizeof tests[0])) {
        fprintf(stderr, "test_main.c: too many tests, raise the limit\n");
        exit(2);
    }
    tests[n_tests++] = (test_entry){name, fn};
}

int test_check(int cond, const char *file, int line, const char *fmt, ...) {
    if (cond) return 1;
    cur_failed = 1;
    fprintf(stderr, "    %s:%d: FAILED: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 0;
}

const char *test_fixture_dir(void) {
    const char *d = getenv("BERTC_FIXTURES");
    return d ? d : "tests/fixtures";
}

const char *test_tmpdir(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "%s/t%d", tmp_root, ++tmp_seq);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", tmp_dir);
    if (system(cmd) != 0) { fprintf(stderr, "cannot create %s\n", tmp_dir); exit(2); }
    return tmp_dir;
}

int test_sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 99;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const test_entry *)a)->name, ((const test_entry *)b)->name);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/bertc-test-%ld", (long)getpid());
    qsort(tests, (size_t)n_tests, sizeof tests[0], by_name);
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        cur_failed = 0;
        tests[i].fn();
        if (cur_failed) { failed++; fprintf(stderr, "FAIL %s\n", tests[i].name); }
        else { passed++; if (getenv("TEST_VERBOSE")) fprintf(stderr, "ok   %s\n", tests[i].name); }
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmp_root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : (passed ? 0 : 1);
}
