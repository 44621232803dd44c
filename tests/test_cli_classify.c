/* test_cli_classify.c — `bertc classify` on a Hugging Face BertForSequenceClassification
 * checkpoint (tests/fixtures/hf_cls, tools/ref/hf_classify_fixture.py: saved by
 * transformers 5.17 with save_pretrained, logits computed by transformers from the ids
 * of the Rust tokenizers WordPiece) gives transformers' logits, single texts and pairs:
 * the tokenizer, pooler and classifier are exact (≤ 1e-4, the bound). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "test.h"

/* Reads whitespace-separated numbers into out (at most cap); returns the count. */
static int read_numbers(const char *path, double *out, int cap) {
    char *t = file_read_all(path, NULL);
    if (!t) return -1;
    int n = 0;
    for (char *p = t, *e; n < cap; p = e) {
        double v = strtod(p, &e);
        if (e == p) break;
        out[n++] = v;
    }
    free(t);
    return n;
}

static void check(const char *what, const char *input, const char *flags) {
    const char *fx = test_fixture_dir(), *d = test_tmpdir();
    REQUIRE(test_sh("./bertc classify --model %s/hf_cls --logits %s %s/hf_cls/%s | cut -f3- > %s/got_%s.tsv", fx,
                    flags, fx, input, d, what) == 0);
    char p1[800], p2[800];
    snprintf(p1, sizeof p1, "%s/got_%s.tsv", d, what);
    snprintf(p2, sizeof p2, "%s/hf_cls/logits_%s.tsv", fx, what);
    double got[64], want[64];
    int ng = read_numbers(p1, got, 64), nw = read_numbers(p2, want, 64);
    REQUIRE(nw > 0 && ng == nw);
    double worst = 0;
    for (int i = 0; i < nw; i++) worst = fabs(got[i] - want[i]) > worst ? fabs(got[i] - want[i]) : worst;
    printf("  %s: %d logits, max |bertc − transformers| %.3g\n", what, nw, worst);
    EXPECT(worst <= 1e-4);
}

TEST(cli_classify_matches_transformers) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built"); return; }
    check("single", "single.txt", "");
    check("pairs", "pairs.tsv", "--pair");
    /* the ids are the reference tokenizer's */
    const char *fx = test_fixture_dir(), *d = test_tmpdir();
    EXPECT(test_sh("(./bertc encode --vocab %s/hf_cls/vocab.txt %s/hf_cls/single.txt; "
                   "./bertc encode --pair --vocab %s/hf_cls/vocab.txt %s/hf_cls/pairs.tsv) > %s/ids.txt && "
                   "cmp -s %s/ids.txt %s/hf_cls/input_ids.txt", fx, fx, fx, fx, d, d, fx) == 0);
}
