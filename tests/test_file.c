/* test_file.c — atomic writes and errors of src/io/file.c. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "test.h"

TEST(file_atomic_write_commits) {
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", test_tmpdir());
    afile f;
    REQUIRE(afile_open(&f, path) == 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", f.tmp_path);
    EXPECT(access(path, F_OK) != 0); /* nothing under the real name until commit */
    EXPECT(afile_printf(&f, "hello %d\n", 42) == 0);
    EXPECT(afile_commit(&f) == 0);
    EXPECT(access(tmp, F_OK) != 0);
    size_t n = 0;
    char *s = file_read_all(path, &n);
    REQUIRE(s != NULL);
    EXPECT_STR_EQ(s, "hello 42\n");
    EXPECT_EQ_INT(n, 9);
    free(s);
}

TEST(file_atomic_abort_leaves_nothing) {
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", test_tmpdir());
    afile f;
    REQUIRE(afile_open(&f, path) == 0);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", f.tmp_path);
    afile_write(&f, "x", 1);
    afile_abort(&f);
    EXPECT(access(path, F_OK) != 0);
    EXPECT(access(tmp, F_OK) != 0);
}

TEST(file_errors_name_the_path) {
    size_t n;
    EXPECT(file_read_all("/nonexistent/dir/x", &n) == NULL);
    EXPECT(strstr(err_msg(), "/nonexistent/dir/x") != NULL);
    afile f;
    EXPECT(afile_open(&f, "/nonexistent/dir/y") != 0);
    EXPECT(!strncmp(err_msg(), "/nonexistent/dir/y: cannot write it", 35)); /* the file asked for first, not the temporary */
}
