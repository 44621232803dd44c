/* test_corpus.c — document readers: lines, paragraphs, JSONL, gzip, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../src/core/err.h"
#include "../src/data/corpus.h"
#include "test.h"

static const char *write_tmp(const char *name, const char *content, size_t n, int gz) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f, "gzopen");
        gzwrite(f, content, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f, "fopen");
        fwrite(content, 1, n, f);
        fclose(f);
    }
    return path;
}

/* Reads all documents, joined with '|', into out. Returns corpus_next's last result. */
static int read_all(const char *path, corpus_format fmt, const char *field, char *out, size_t cap) {
    corpus_reader r;
    out[0] = 0;
    if (corpus_open(&r, path, fmt, field) != 0) return -1;
    const char *t;
    size_t n;
    int rc;
    while ((rc = corpus_next(&r, &t, &n)) == 1) {
        EXPECT_EQ_INT(strlen(t), n);
        if (out[0]) strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, t, cap - strlen(out) - 1);
    }
    corpus_close(&r);
    return rc;
}

TEST(corpus_lines_skip_empty_and_strip_crlf) {
    const char *txt = "first doc\r\n\n  \nsecond doc\nlast without newline";
    char out[256];
    const char *p = write_tmp("a.txt", txt, strlen(txt), 0);
    EXPECT_EQ_INT(corpus_format_for(p, 0), CORPUS_LINES);
    EXPECT_EQ_INT(read_all(p, CORPUS_LINES, NULL, out, sizeof out), 0);
    EXPECT_STR_EQ(out, "first doc|second doc|last without newline");
}

TEST(corpus_paragraphs_join_lines) {
    const char *txt = "\n\npara one\nline two\n\n\t\npara two\n";
    char out[256];
    const char *p = write_tmp("b.txt", txt, strlen(txt), 0);
    EXPECT_EQ_INT(read_all(p, CORPUS_PARAGRAPHS, NULL, out, sizeof out), 0);
    EXPECT_STR_EQ(out, "para one\nline two|para two");
}

TEST(corpus_gzip_is_transparent) {
    const char *txt = "zipped one\nzipped two\n";
    char out[256];
    const char *p = write_tmp("c.txt.gz", txt, strlen(txt), 1);
    EXPECT_EQ_INT(read_all(p, CORPUS_LINES, NULL, out, sizeof out), 0);
    EXPECT_STR_EQ(out, "zipped one|zipped two");
}

TEST(corpus_long_lines) {
    size_t n = 300000;
    char *txt = xmalloc(n + 3);
    memset(txt, 'x', n);
    memcpy(txt + n, "\ny", 3);
    const char *p = write_tmp("long.txt", txt, n + 2, 0);
    corpus_reader r;
    REQUIRE(corpus_open(&r, p, CORPUS_LINES, NULL) == 0);
    const char *t;
    size_t len;
    EXPECT_EQ_INT(corpus_next(&r, &t, &len), 1);
    EXPECT_EQ_INT(len, n);
    EXPECT_EQ_INT(corpus_next(&r, &t, &len), 1);
    EXPECT_STR_EQ(t, "y");
    EXPECT_EQ_INT(corpus_next(&r, &t, &len), 0);
    corpus_close(&r);
    free(txt);
}

TEST(corpus_jsonl_field_and_escapes) {
    const char *txt = "{\"text\": \"caf\\u00e9 \\\"q\\\"\", \"label\": 1}\n\n{\"id\": 2, \"text\": \"two\"}\n";
    char out[256];
    const char *p = write_tmp("d.jsonl", txt, strlen(txt), 0);
    EXPECT_EQ_INT(corpus_format_for(p, 0), CORPUS_JSONL);
    EXPECT_EQ_INT(read_all(p, CORPUS_JSONL, "text", out, sizeof out), 0);
    EXPECT_STR_EQ(out, "caf\xc3\xa9 \"q\"|two");
}

TEST(corpus_jsonl_errors_name_file_and_line) {
    const char *txt = "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n";
    char out[256];
    const char *p = write_tmp("e.jsonl", txt, strlen(txt), 0);
    EXPECT_EQ_INT(read_all(p, CORPUS_JSONL, "text", out, sizeof out), -1);
    EXPECT(strstr(err_msg(), "e.jsonl:2") != NULL);
    EXPECT(strstr(err_msg(), "\"text\"") != NULL);
    const char *bad = "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n";
    p = write_tmp("f.jsonl", bad, strlen(bad), 0);
    EXPECT_EQ_INT(read_all(p, CORPUS_JSONL, "text", out, sizeof out), -1);
    EXPECT(strstr(err_msg(), "f.jsonl:2") != NULL);
}

TEST(corpus_rejects_nul_bytes_and_missing_files) {
    char out[256];
    const char txt[] = "good\nba\0d\n";
    const char *p = write_tmp("g.txt", txt, sizeof txt - 1, 0);
    EXPECT_EQ_INT(read_all(p, CORPUS_LINES, NULL, out, sizeof out), -1);
    EXPECT(strstr(err_msg(), "g.txt:2") != NULL);
    EXPECT(strstr(err_msg(), "NUL") != NULL);
    EXPECT_EQ_INT(read_all("/nonexistent/h.txt", CORPUS_LINES, NULL, out, sizeof out), -1);
    EXPECT(strstr(err_msg(), "/nonexistent/h.txt") != NULL);
}
