/* test_shard.c — token shard writing, reading and rejection of damaged files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/data/shard.h"
#include "../src/io/file.h"
#include "test.h"

static void write_sample(const char *path, uint32_t vocab_size) {
    shard_writer w;
    shard_writer_init(&w, vocab_size, 0x1234abcdull);
    uint32_t a[] = {5, 6, 7}, b[] = {vocab_size - 1}, c[] = {0, 1};
    CHECK(shard_writer_add(&w, a, 3) == 0, "");
    CHECK(shard_writer_add(&w, b, 1) == 0, "");
    CHECK(shard_writer_add(&w, NULL, 0) == 0, ""); /* empty documents are kept */
    CHECK(shard_writer_add(&w, c, 2) == 0, "");
    CHECK(shard_writer_flush(&w, path) == 0, err_msg());
    shard_writer_free(&w);
}

TEST(shard_round_trip_u16_and_u32) {
    uint32_t sizes[] = {30522, 70000};
    for (int k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s/s.bin", test_tmpdir());
        write_sample(path, sizes[k]);
        shard s;
        REQUIRE(shard_open(&s, path) == 0);
        EXPECT_EQ_INT(s.h.token_bytes, k == 0 ? 2 : 4);
        EXPECT_EQ_INT(s.h.n_docs, 4);
        EXPECT_EQ_INT(s.h.n_tokens, 6);
        EXPECT_EQ_INT(s.size, 64 + 5 * 8 + 6 * (k == 0 ? 2 : 4)); /* header + index + tokens, per formats.md */
        EXPECT(shard_verify(&s) == 0);
        EXPECT(shard_check_vocab(&s, sizes[k], 0x1234abcdull) == 0);
        EXPECT(shard_check_vocab(&s, sizes[k], 0x1234abceull) != 0);
        EXPECT(strstr(err_msg(), "different vocabulary") != NULL);
        uint32_t buf[8];
        EXPECT_EQ_INT(shard_doc_copy(&s, 0, buf, 8), 3);
        EXPECT_EQ_INT(buf[2], 7);
        EXPECT_EQ_INT(shard_doc_copy(&s, 1, buf, 8), 1);
        EXPECT_EQ_INT(buf[0], sizes[k] - 1);
        EXPECT_EQ_INT(shard_doc_len(&s, 2), 0);
        EXPECT_EQ_INT(shard_doc_copy(&s, 3, buf, 1), 1); /* capped copy */
        shard_close(&s);
    }
}

TEST(shard_writer_rejects_out_of_range_ids) {
    shard_writer w;
    shard_writer_init(&w, 100, 0);
    uint32_t bad[] = {3, 100};
    EXPECT(shard_writer_add(&w, bad, 2) != 0);
    EXPECT(strstr(err_msg(), "100") != NULL);
    EXPECT_EQ_INT(w.n_docs, 0);
    shard_writer_free(&w);
}

/* Reads the sample into memory, applies a damage, and expects shard_open or shard_verify to fail with `want`. */
static void expect_damage(size_t off, int len_delta, uint8_t xor_byte, const char *want) {
    char path[512];
    snprintf(path, sizeof path, "%s/s.bin", test_tmpdir());
    write_sample(path, 30522);
    size_t n;
    char *bytes = file_read_all(path, &n);
    CHECK(bytes, "sample readable");
    uint64_t *aligned = xmalloc(n + 8);
    memcpy(aligned, bytes, n);
    free(bytes);
    if (off < n) ((uint8_t *)aligned)[off] ^= xor_byte;
    size_t size = (size_t)((long)n + len_delta);
    shard s;
    int rc = shard_open_memory(&s, aligned, size, "damaged.bin");
    if (rc == 0) {
        rc = shard_verify(&s);
        shard_close(&s);
    }
    EXPECT_MSG(rc != 0, "damage at %zu (%+d bytes) was not detected", off, len_delta);
    EXPECT_MSG(strstr(err_msg(), want) != NULL, "message \"%s\" lacks \"%s\"", err_msg(), want);
    EXPECT(strstr(err_msg(), "damaged.bin") != NULL);
    free(aligned);
}

TEST(shard_rejects_damaged_files) {
    expect_damage(0, 0, 0x01, "bad magic");
    expect_damage(8, 0, 0x02, "version");
    expect_damage(12, 0, 0x07, "token_bytes");
    expect_damage(20, 0, 0x01, "reserved");
    expect_damage(32, 0, 0x01, "file size");    /* document count */
    expect_damage(40, 0, 0x01, "file size");    /* token count */
    expect_damage(99999, -1, 0, "file size");   /* truncated by one byte */
    expect_damage(99999, -60, 0, "file size");  /* header only partly there */
    expect_damage(99999, 8, 0, "file size");    /* trailing garbage */
    expect_damage(64 + 8, 0, 0x04, "index");    /* offset of doc 1 moved past doc 2 */
    expect_damage(64 + 40 + 2, 0, 0x01, "checksum"); /* a token flipped */
    expect_damage(48, 0, 0x01, "checksum");
}

TEST(shard_open_reports_missing_file) {
    shard s;
    EXPECT(shard_open(&s, "/nonexistent/x.bin") != 0);
    EXPECT(strstr(err_msg(), "/nonexistent/x.bin") != NULL);
}

TEST(shard_vocab_hash_is_fnv1a_of_vocab_txt_bytes) {
    /* FNV-1a 64 of "a\nb\n", computed by hand from the published algorithm:
       offset 0xcbf29ce484222325, prime 0x100000001b3, h = (h ^ byte) * prime. */
    const char *toks[] = {"a", "b"};
    uint64_t h = 0xcbf29ce484222325ull;
    const char *bytes = "a\nb\n";
    for (const char *p = bytes; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    EXPECT(vocab_hash_tokens(toks, 2) == h);
    /* known value of FNV-1a 64 for "a": 0xaf63dc4c8601ec8c (published test vector) */
    const char *one[] = {"a"};
    uint64_t ha = (0xaf63dc4c8601ec8cull ^ '\n') * 0x100000001b3ull;
    EXPECT(vocab_hash_tokens(one, 1) == ha);
}
