/* test_cli_tokenize.c — `bertc tokenize` end to end through the built binary:
 * ids equal the library encoder's, output independent of the thread count,
 * refusals leave nothing behind. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/data/shard.h"
#include "../src/io/file.h"
#include "../src/text/tokenizer.h"
#include "test.h"


static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "fopen");
    fputs(s, f);
    fclose(f);
}

static const char *docs[] = {"Hello, world!", "The quick brown fox jumps over the lazy dog.", "unaffable [MASK] is here",
                             "Héllo WORLD naïve café", "野口 東京", "don't stop-believing!!!"};

TEST(cli_tokenize_ids_match_the_encoder_and_threads_do_not_matter) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built (make test builds it)"); return; }
    const char *d = test_tmpdir();
    char in[600], vocab[600];
    snprintf(in, sizeof in, "%s/in.txt", d);
    snprintf(vocab, sizeof vocab, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
    FILE *f = fopen(in, "wb");
    REQUIRE(f != NULL);
    for (int rep = 0; rep < 300; rep++) /* enough documents for several slices and two shards */
        for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) fprintf(f, "%s\n", docs[i]);
    fclose(f);
    REQUIRE(test_sh("./bertc tokenize -q --vocab %s -o %s/a --threads 1 --shard-tokens 5000 %s >/dev/null", vocab, d, in) == 0);
    REQUIRE(test_sh("./bertc tokenize -q --vocab %s -o %s/b --threads 2 --shard-tokens 5000 %s >/dev/null", vocab, d, in) == 0);
    EXPECT(test_sh("cmp -s %s/a/train-00000.bin %s/b/train-00000.bin && cmp -s %s/a/train-00001.bin %s/b/train-00001.bin",
              d, d, d, d) == 0);
    tokenizer *t = tok_load(vocab, NULL);
    REQUIRE(t != NULL);
    char path[700];
    uint64_t doc = 0;
    uint32_t got[64];
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s/a/train-%05d.bin", d, s);
        if (access(path, F_OK) != 0) break;
        shard sh_;
        REQUIRE(shard_open(&sh_, path) == 0);
        EXPECT(shard_verify(&sh_) == 0);
        for (uint64_t i = 0; i < sh_.h.n_docs; i++, doc++) {
            const char *text = docs[doc % (sizeof docs / sizeof docs[0])];
            uint32_t *ids = NULL;
            size_t n = 0, cap = 0;
            tok_encode_ids(t, text, strlen(text), &ids, &n, &cap);
            size_t m = shard_doc_copy(&sh_, i, got, 64);
            EXPECT_EQ_INT(m, n);
            EXPECT(m == n && memcmp(got, ids, n * 4) == 0);
            free(ids);
        }
        shard_close(&sh_);
    }
    EXPECT_EQ_INT(doc, 300 * (sizeof docs / sizeof docs[0]));
    tok_free(t);
    /* the copied vocab is the same vocabulary */
    EXPECT(test_sh("cmp -s %s %s/a/vocab.txt", vocab, d) == 0);
}

TEST(cli_tokenize_refuses_and_leaves_no_output) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    const char *d = test_tmpdir();
    char in[600], bad[600], vocab[600];
    snprintf(in, sizeof in, "%s/in.txt", d);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", d);
    snprintf(vocab, sizeof vocab, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
    write_text(in, "one doc\nanother doc\n");
    /* a broken JSONL line late in the run: the shards written before it are removed */
    FILE *f = fopen(bad, "wb");
    REQUIRE(f != NULL);
    for (int i = 0; i < 2000; i++) fprintf(f, "{\"text\": \"document number %d\"}\n", i);
    fprintf(f, "{\"text\": \"broken\n");
    fclose(f);
    EXPECT(test_sh("./bertc tokenize -q --vocab %s -o %s/o --shard-tokens 100 %s %s 2>%s/err.txt", vocab, d, in, bad, d) == 1);
    char p[700];
    snprintf(p, sizeof p, "%s/err.txt", d);
    char *err = file_read_all(p, NULL);
    REQUIRE(err != NULL);
    EXPECT_MSG(strstr(err, "bad.jsonl:2001") != NULL, "error names file:line: %s", err);
    free(err);
    EXPECT(test_sh("ls %s/o/*.bin >/dev/null 2>&1", d) != 0);
    /* an earlier run's shards are not silently mixed with a new run's */
    EXPECT(test_sh("./bertc tokenize -q --vocab %s -o %s/o %s >/dev/null", vocab, d, in) == 0);
    EXPECT(test_sh("./bertc tokenize -q --vocab %s -o %s/o %s >/dev/null 2>&1", vocab, d, in) == 1);
    EXPECT(test_sh("./bertc tokenize -q --vocab %s -o %s/o --force %s >/dev/null", vocab, d, in) == 0);
    /* bad flags and missing inputs */
    EXPECT(test_sh("./bertc tokenize -q --vocab %s -o %s/o2 %s/missing.txt 2>/dev/null", vocab, d, d) == 1);
    EXPECT(test_sh("./bertc tokenize --vocab %s -o %s/o3 --holdout 1.5 %s 2>/dev/null", vocab, d, in) == 1);
    EXPECT(test_sh("./bertc tokenize --bogus 2>/dev/null") == 1);
    /* normalizer flags with a tokenizer.json would be silently ignored: refused instead */
    EXPECT(test_sh("./bertc tokenize -q --vocab %s/tokenizer.json --no-lowercase -o %s/o4 %s 2>&1 | grep -q 'normalizer flags'",
              d, d, in) == 0);
    EXPECT(test_sh("./bertc tokenize --help >/dev/null") == 0);
    /* a corrupt shard is refused by info */
    EXPECT(test_sh("./bertc info %s/o/train-00000.bin >/dev/null", d) == 0);
    EXPECT(test_sh("printf 'X' | dd of=%s/o/train-00000.bin bs=1 seek=70 conv=notrunc 2>/dev/null", d) == 0);
    EXPECT(test_sh("./bertc info %s/o/train-00000.bin >/dev/null 2>&1", d) == 1);
}
