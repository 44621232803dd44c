/* test.h — bertc's small test harness.
 *
 *   TEST(json_parses_numbers) { EXPECT(x == 1); EXPECT_EQ_INT(a, b); }
 *
 * Tests register themselves at load time; `build/test_bertc [filter]` runs the
 * ones whose name contains the filter. A failed check prints file:line and the
 * test continues; the run ends with "N passed, N failed" and exits non-zero on
 * any failure.
 */
#ifndef BERTC_TEST_H
#define BERTC_TEST_H

#include <stdint.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
/* Returns cond; on failure prints the location and message and marks the test failed. */
int test_check(int cond, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Directory holding tests/fixtures (set by the runner; "tests/fixtures" by default). */
const char *test_fixture_dir(void);
/* A fresh temporary directory for the running test (removed at exit). */
const char *test_tmpdir(void);
/* Runs a printf-formatted shell command; returns its exit status (99 if it did not exit). */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                                        \
    static void test_##name(void);                                                        \
    __attribute__((constructor)) static void test_reg_##name(void) {                      \
        test_register(#name, test_##name);                                                \
    }                                                                                     \
    static void test_##name(void)

#define EXPECT(cond) test_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define EXPECT_MSG(cond, ...) test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define EXPECT_EQ_INT(a, b)                                                               \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        test_check(a_ == b_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", #a, #b, a_, b_); \
    } while (0)
#define EXPECT_STR_EQ(a, b)                                                               \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        test_check(a_ && b_ && strcmp(a_, b_) == 0, __FILE__, __LINE__,                   \
                   "%s == %s (\"%s\" vs \"%s\")", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)
/* Asserting form: stops the current test on failure (use before dereferencing). */
#define REQUIRE(cond)                                                                     \
    do { if (!test_check(!!(cond), __FILE__, __LINE__, "%s", #cond)) return; } while (0)

#endif
