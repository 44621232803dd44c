/* fuzz_vocab_train.c — arbitrary bytes as training text: count words with the
 * real normalizer + pre-tokenizer (invalid UTF-8 must be rejected cleanly), train
 * a small vocab with settings taken from the first byte, and check invariants:
 * distinct non-empty valid-UTF-8 tokens, the requested padding, and that a
 * retrain with the result's own "##c" order reproduces it exactly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/text/normalize.h"
#include "../src/text/utf8.h"
#include "../src/text/vocab_train.h"

static void split_bert(const void *cfg, const char *s, size_t n, vocab_word_fn emit, void *ud) {
    text_words((const norm_config *)cfg, s, n, emit, ud);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t knob = data[0];
    norm_config nc;
    norm_config_default(&nc);
    nc.lowercase = knob & 1;
    vocab_count_opts co = {.split = split_bert, .split_cfg = &nc, .threads = 1 + (knob >> 7)};
    vocab_counts *c = vocab_counts_new();
    if (vocab_count_text(c, (const char *)data + 1, size - 1, &co, "fuzz", 1) != 0) {
        CHECK(!utf8_valid(data + 1, size - 1), "valid UTF-8 rejected");
        vocab_counts_free(c);
        return 0;
    }
    static const char *const sp[] = {"[PAD]", "[UNK]"};
    vocab_train_opts o;
    vocab_train_opts_default(&o);
    o.vocab_size = 2 + (size_t)(knob >> 1 & 63) * 4;
    o.min_frequency = knob >> 4 & 3;
    o.limit_alphabet = knob & 2 ? 8 : 0;
    o.special = sp;
    o.n_special = 2;
    o.pad_multiple = knob & 4 ? 64 : 1;
    vocab_result r;
    CHECK(vocab_train(c, &o, &r) == 0, "training failed");
    if (o.pad_multiple > 1) CHECK(r.n % 64 == 0, "padding");
    for (size_t i = 0; i < r.n; i++) {
        CHECK(r.tokens[i][0] != 0, "empty token");
        CHECK(utf8_valid((const uint8_t *)r.tokens[i], strlen(r.tokens[i])), "token not UTF-8");
        for (size_t k = 0; k < i; k++) CHECK(strcmp(r.tokens[i], r.tokens[k]) != 0, "duplicate token");
    }
    vocab_train_opts o2 = o;
    o2.cont_order = (const char *const *)r.tokens;
    o2.n_cont_order = r.n;
    vocab_result r2;
    CHECK(vocab_train(c, &o2, &r2) == 0, "retraining failed");
    CHECK(r2.n == r.n, "retrain size");
    for (size_t i = 0; i < r.n; i++) CHECK(strcmp(r.tokens[i], r2.tokens[i]) == 0, "retrain differs");
    vocab_result_free(&r2);
    vocab_result_free(&r);
    vocab_counts_free(c);
    return 0;
}
