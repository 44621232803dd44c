/* test_vocab_train.c — the WordPiece trainer (src/text/vocab_train.h):
 * hand-worked merges, stopping rules, alphabet limit, [unusedN] padding, word
 * counting (threads, gzip, jsonl, UTF-8 errors) and a golden comparison with
 * npm tokenizers@0.23.2 on real text (tests/fixtures/vocab_train/README). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/text/normalize.h"
#include "../src/text/utf8.h"
#include "../src/text/vocab_train.h"
#include "test.h"

/* Test splitter: words are runs of bytes other than ' ', '\t', '\r', '\n'. */
static void split_ws(const void *cfg, const char *s, size_t n, vocab_word_fn emit, void *ud) {
    (void)cfg;
    size_t i = 0;
    while (i < n) {
        while (i < n && strchr(" \t\r\n", s[i])) i++;
        size_t b = i;
        while (i < n && !strchr(" \t\r\n", s[i])) i++;
        if (i > b) emit(ud, s + b, i - b);
    }
}

static void split_bert(const void *cfg, const char *s, size_t n, vocab_word_fn emit, void *ud) {
    text_words((const norm_config *)cfg, s, n, emit, ud);
}

static vocab_counts *count_ws(const char *text) {
    vocab_counts *c = vocab_counts_new();
    vocab_count_opts o = {.split = split_ws, .threads = 1};
    CHECK(vocab_count_text(c, text, strlen(text), &o, "test", 1) == 0, "count");
    return c;
}

/* HF WordPieceTrainer defaults: no specials, min_frequency 0, no alphabet limit; no padding. */
static void plain_opts(vocab_train_opts *o) {
    vocab_train_opts_default(o);
    o->vocab_size = 1000;
    o->min_frequency = 0;
    o->limit_alphabet = 0;
    o->special = NULL;
    o->n_special = 0;
    o->pad_multiple = 1;
}

/* Joins r's tokens with spaces (static buffer, for EXPECT_STR_EQ). */
static const char *joined(const vocab_result *r) {
    static char buf[4096];
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < r->n && at + strlen(r->tokens[i]) + 2 < sizeof buf; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", i ? " " : "", r->tokens[i]);
    return buf;
}

/* The classic BPE example, worked by hand with HF's rules.
 * Words: low×5, lower×2, newest×6, widest×3.
 * Alphabet (sorted): d0 e1 i2 l3 n4 o5 r6 s7 t8 w9; "##" symbols in code-point
 * order: ##d10 ##e11 ##i12 ##o13 ##r14 ##s15 ##t16 ##w17.
 * Pair counts: (l,##o)7 (##o,##w)7 (##w,##e)2+6=8 (##e,##r)2 (n,##e)6 (##e,##w)6
 *              (##e,##s)6+3=9 (##s,##t)9 (w,##i)3 (##i,##d)3 (##d,##e)3.
 *  1. 9: (##e,##s)=(11,15) beats (##s,##t)=(15,16) → ##es. Neighbours: (##w,##e)→2,
 *     (##s,##t)→0, (##d,##e)→0; new (##es,##t)9, (##w,##es)6, (##d,##es)3.
 *  2. (##s,##t) pops (stale 9→0, re-queued); (##es,##t)9 → ##est.
 *  3. (##w,##e) stale 8→2; 7: (l,##o)=(3,13) beats (##o,##w)=(13,17) → lo; (lo,##w)7.
 *  4. (##o,##w) stale → 0; (lo,##w)7 → low; lower gains (low,##e)2, (##w,##e)→0.
 *  5. 6: (n,##e)=(4,11) < (##e,##w)=(11,17) < (##w,##est)=(17,19) → ne; (##e,##w)→0.
 *  6. (##w,##est)=(17,19) < (ne,##w)=(22,17) → ##west.   7. (ne,##west)6 → newest.
 *  8. 3: (##d,##e) stale → 0; (w,##i)=(9,12) → wi.   9. (##d,##est)=(10,19) → ##dest.
 * 10. (wi,##dest)3 → widest.  11. 2: (##e,##r)=(11,14) < (low,##e)=(21,11) → ##er.
 * 12. (low,##er)2 → lower.  13. every count left is 0 → stop.
 * (npm tokenizers@0.23.2 gives the same 12 merges in the same order.) */
static const char *const CLASSIC = "low low low low low lower lower newest newest newest newest newest newest "
                                   "widest widest widest\n";
static const char *const CLASSIC_BASE = "d e i l n o r s t w ##d ##e ##i ##o ##r ##s ##t ##w";

TEST(vocab_train_classic_bpe_by_hand) {
    vocab_counts *c = count_ws(CLASSIC);
    EXPECT_EQ_INT(vocab_counts_size(c), 4);
    EXPECT_EQ_INT(vocab_counts_total(c), 16);
    EXPECT_EQ_INT(vocab_counts_get(c, "newest", 6), 6);
    vocab_train_opts o;
    plain_opts(&o);
    vocab_result r;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    char want[512];
    snprintf(want, sizeof want, "%s ##es ##est lo low ne ##west newest wi ##dest widest ##er lower", CLASSIC_BASE);
    EXPECT_STR_EQ(joined(&r), want);
    EXPECT_EQ_INT(r.n_alphabet, 10);
    EXPECT_EQ_INT(r.n_continuing, 8);
    EXPECT_EQ_INT(r.n_merges, 12);
    EXPECT_EQ_INT(r.last_count, 2);
    vocab_result_free(&r);
    vocab_counts_free(c);
}

TEST(vocab_train_stops_at_min_frequency_and_vocab_size) {
    vocab_counts *c = count_ws(CLASSIC);
    vocab_train_opts o;
    vocab_result r;
    char want[512];
    /* min 7: merges 1–4 have counts 9, 9, 7, 7; merge 5 would have 6 */
    plain_opts(&o);
    o.min_frequency = 7;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    snprintf(want, sizeof want, "%s ##es ##est lo low", CLASSIC_BASE);
    EXPECT_STR_EQ(joined(&r), want);
    vocab_result_free(&r);
    /* min 3: everything down to widest (count 3), not ##er (2) */
    o.min_frequency = 3;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_EQ_INT(r.n, 28);
    EXPECT_STR_EQ(r.tokens[27], "widest");
    vocab_result_free(&r);
    /* vocab size 20 = 18 base symbols + 2 merges */
    plain_opts(&o);
    o.vocab_size = 20;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    snprintf(want, sizeof want, "%s ##es ##est", CLASSIC_BASE);
    EXPECT_STR_EQ(joined(&r), want);
    vocab_result_free(&r);
    /* a vocab smaller than the alphabet: the alphabet is kept whole, no merges */
    o.vocab_size = 5;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_EQ_INT(r.n, 18);
    EXPECT_EQ_INT(r.n_merges, 0);
    vocab_result_free(&r);
    vocab_counts_free(c);
}

/* Specials come first; the rest keeps its order. */
TEST(vocab_train_special_tokens_first) {
    vocab_counts *c = count_ws(CLASSIC);
    vocab_train_opts o;
    plain_opts(&o);
    static const char *const sp[] = {"[PAD]", "[UNK]"};
    o.special = sp;
    o.n_special = 2;
    o.vocab_size = 22; /* 2 specials + 18 base + 2 merges */
    vocab_result r;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    char want[512];
    snprintf(want, sizeof want, "[PAD] [UNK] %s ##es ##est", CLASSIC_BASE);
    EXPECT_STR_EQ(joined(&r), want);
    EXPECT_EQ_INT(r.n_special, 2);
    vocab_result_free(&r);
    /* impossible settings are errors, not crashes */
    static const char *const dup[] = {"[PAD]", "[PAD]"};
    o.special = dup;
    EXPECT(vocab_train(c, &o, &r) == -1);
    EXPECT(strstr(err_msg(), "twice") != NULL);
    o.special = sp;
    o.vocab_size = 1;
    EXPECT(vocab_train(c, &o, &r) == -1);
    EXPECT(strstr(err_msg(), "special") != NULL);
    o.vocab_size = 0;
    EXPECT(vocab_train(c, &o, &r) == -1);
    vocab_counts_free(c);
}

/* Words ab×1, acb×2: character counts a3 b3 c2.
 * No limit: a0 b1 c2 ##b3 ##c4; pairs (a,##b)1 (a,##c)2 (##c,##b)2.
 *   2: (a,##c)=(0,4) < (##c,##b)=(4,3) → ac; then (ac,##b)2 → acb; then (a,##b)1 → ab.
 * limit_alphabet 2: c (rarest) is dropped from the words, so acb → a ##b and
 *   (a,##b) = 1 + 2 = 3 → ab; "##c" never exists. */
TEST(vocab_train_limit_alphabet_drops_rare_characters) {
    vocab_counts *c = count_ws("ab acb acb");
    vocab_train_opts o;
    vocab_result r;
    plain_opts(&o);
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_STR_EQ(joined(&r), "a b c ##b ##c ac acb ab");
    EXPECT_EQ_INT(r.alphabet_seen, 3);
    vocab_result_free(&r);
    o.limit_alphabet = 2;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_STR_EQ(joined(&r), "a b ##b ab");
    EXPECT_EQ_INT(r.last_count, 3);
    vocab_result_free(&r);
    vocab_counts_free(c);
    /* a dropped first character still makes the next one non-initial:
     * "ca"×1 with c rare → the word is just ##a */
    c = count_ws("a a a ca");
    o.limit_alphabet = 1;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_STR_EQ(joined(&r), "a ##a");
    vocab_result_free(&r);
    vocab_counts_free(c);
}

/* Alphabet characters are counted weighted and sorted by code point, multi-byte
 * ones included: é (U+00E9) sorts after z, € (U+20AC) after é. */
TEST(vocab_train_alphabet_sorted_by_code_point) {
    vocab_counts *c = count_ws("\xe2\x82\xac z \xc3\xa9z");
    vocab_train_opts o;
    plain_opts(&o);
    vocab_result r;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_STR_EQ(joined(&r), "z \xc3\xa9 \xe2\x82\xac ##z \xc3\xa9z");
    vocab_result_free(&r);
    vocab_counts_free(c);
}

TEST(vocab_train_pads_to_multiple_of_64) {
    vocab_counts *c = count_ws(CLASSIC);
    vocab_train_opts o;
    vocab_result r;
    vocab_train_opts_default(&o); /* 5 BERT specials, min_frequency 2, pad 64 */
    REQUIRE(vocab_train(c, &o, &r) == 0);
    /* 5 + 18 + 12 merges (min_frequency 2 keeps all of them, last count 2) = 35 */
    EXPECT_EQ_INT(r.n_unpadded, 35);
    EXPECT_EQ_INT(r.n, 64);
    EXPECT_STR_EQ(r.tokens[0], "[PAD]");
    EXPECT_STR_EQ(r.tokens[4], "[MASK]");
    EXPECT_STR_EQ(r.tokens[34], "lower");
    EXPECT_STR_EQ(r.tokens[35], "[unused0]");
    EXPECT_STR_EQ(r.tokens[63], "[unused28]");
    vocab_result_free(&r);
    /* an exact multiple gets no padding: 64 = 5 specials + 18 base + … needs
     * vocab_size; use pad 7 on 35 → 35 */
    o.pad_multiple = 7;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_EQ_INT(r.n, 35);
    vocab_result_free(&r);
    /* a name already in the vocab is skipped */
    static const char *const sp[] = {"[unused0]"};
    o.special = sp;
    o.n_special = 1;
    o.pad_multiple = 32;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_EQ_INT(r.n_unpadded, 31);
    EXPECT_EQ_INT(r.n, 32);
    EXPECT_STR_EQ(r.tokens[31], "[unused1]");
    vocab_result_free(&r);
    vocab_counts_free(c);
}

TEST(vocab_write_is_one_token_per_line) {
    vocab_counts *c = count_ws("ab ab");
    vocab_train_opts o;
    plain_opts(&o);
    vocab_result r;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/vocab.txt", test_tmpdir());
    REQUIRE(vocab_write(&r, path) == 0);
    size_t n;
    char *s = file_read_all(path, &n);
    REQUIRE(s);
    EXPECT_STR_EQ(s, "a\nb\n##b\nab\n");
    free(s);
    vocab_result_free(&r);
    vocab_counts_free(c);
}

/* Counting in parallel chunks gives exactly the single-threaded counts. */
TEST(vocab_count_threads_agree) {
    size_t n = 3u << 20; /* 3 MiB: several 256 KiB chunks */
    char *t = xmalloc(n + 1);
    uint32_t x = 12345;
    size_t at = 0;
    while (at + 16 < n) {
        x = x * 1103515245u + 12345u;
        int len = 1 + (int)(x >> 28) % 6;
        for (int k = 0; k < len; k++) t[at++] = (char)('a' + (x >> (k * 3)) % 5);
        t[at++] = (x >> 20) % 9 == 0 ? '\n' : ' ';
    }
    t[at] = 0;
    vocab_counts *a = vocab_counts_new(), *b = vocab_counts_new();
    vocab_count_opts o1 = {.split = split_ws, .threads = 1}, o4 = {.split = split_ws, .threads = 4};
    REQUIRE(vocab_count_text(a, t, at, &o1, "t", 1) == 0);
    REQUIRE(vocab_count_text(b, t, at, &o4, "t", 1) == 0);
    EXPECT_EQ_INT(vocab_counts_size(a), vocab_counts_size(b));
    EXPECT_EQ_INT(vocab_counts_total(a), vocab_counts_total(b));
    size_t pos = 0, bad = 0;
    const char *w;
    size_t len;
    uint64_t cnt;
    while (vocab_counts_iter(a, &pos, &w, &len, &cnt)) bad += vocab_counts_get(b, w, len) != cnt;
    EXPECT_EQ_INT(bad, 0);
    vocab_counts_free(a);
    vocab_counts_free(b);
    free(t);
}

TEST(vocab_count_rejects_invalid_utf8_with_location) {
    vocab_counts *c = vocab_counts_new();
    vocab_count_opts o = {.split = split_ws, .threads = 2};
    const char *t = "fine line\nsecond ok\nbad \xff here\n";
    EXPECT(vocab_count_text(c, t, strlen(t), &o, "in.txt", 1) == -1);
    EXPECT_STR_EQ(err_msg(), "in.txt:3: invalid UTF-8 at byte 4 of the line");
    /* an overlong encoding and a surrogate are invalid as well */
    EXPECT(vocab_count_text(c, "\xc0\xaf", 2, &o, "x", 1) == -1);
    EXPECT(vocab_count_text(c, "ok\n\xed\xa0\x80", 6, &o, "x", 7) == -1);
    EXPECT_STR_EQ(err_msg(), "x:8: invalid UTF-8 at byte 0 of the line");
    vocab_counts_free(c);
}

static void write_file(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    CHECK(f, "open");
    fputs(s, f);
    fclose(f);
}

TEST(vocab_count_files_txt_gz_jsonl) {
    const char *dir = test_tmpdir();
    char p_txt[512], p_gz[512], p_jl[512], p_bad[512];
    snprintf(p_txt, sizeof p_txt, "%s/a.txt", dir);
    snprintf(p_gz, sizeof p_gz, "%s/a.txt.gz", dir);
    snprintf(p_jl, sizeof p_jl, "%s/a.jsonl", dir);
    snprintf(p_bad, sizeof p_bad, "%s/bad.jsonl", dir);
    write_file(p_txt, "the cat\nthe dog\n");
    gzFile g = gzopen(p_gz, "wb");
    REQUIRE(g);
    gzputs(g, "the cat\nthe dog");
    gzclose(g);
    write_file(p_jl, "{\"text\": \"the cat\", \"label\": 1}\n\n{\"label\": 0, \"text\": \"the dog\"}\n");
    write_file(p_bad, "{\"text\": \"ok\"}\n{\"label\": 0}\n");
    vocab_count_opts o = {.split = split_ws, .threads = 2};
    const char *paths[] = {p_txt, p_gz, p_jl};
    for (int k = 0; k < 3; k++) {
        vocab_counts *c = vocab_counts_new();
        REQUIRE(vocab_count_file(c, paths[k], &o) == 0);
        EXPECT_EQ_INT(vocab_counts_total(c), 4);
        EXPECT_EQ_INT(vocab_counts_get(c, "the", 3), 2);
        EXPECT_EQ_INT(vocab_counts_get(c, "dog", 3), 1);
        vocab_counts_free(c);
    }
    vocab_counts *c = vocab_counts_new();
    EXPECT(vocab_count_file(c, p_bad, &o) == -1);
    EXPECT(strstr(err_msg(), "bad.jsonl:2: no string field \"text\"") != NULL);
    o.jsonl_field = "label";
    EXPECT(vocab_count_file(c, p_bad, &o) == -1); /* line 1 has no "label" */
    EXPECT(strstr(err_msg(), "bad.jsonl:1:") != NULL);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.txt", dir);
    EXPECT(vocab_count_file(c, missing, &o) == -1);
    EXPECT(strstr(err_msg(), "none.txt") != NULL);
    vocab_counts_free(c);
}

/* Golden: 46 KJV verses trained by npm tokenizers@0.23.2 (BertNormalizer +
 * BertPreTokenizer, default WordPieceTrainer: vocab 30000, min_frequency 0, no
 * specials, no alphabet limit), committed as a vocab in id order. HF gives the
 * "##c" symbols hash-map order, which differs from run to run and decides ties;
 * with the order taken from the reference vocab, bertc must reproduce that run
 * token for token (same ids, same merge order). */
/* Number of leading single-character tokens ("c" or "##c") of a vocab: the
 * alphabet and the "##c" symbols, before the first merge. */
static size_t base_size(const char *const *tok, size_t n) {
    size_t i = 0;
    for (; i < n; i++) {
        const char *t = tok[i] + (strncmp(tok[i], "##", 2) == 0 ? 2 : 0);
        if (!*t || utf8_count((const uint8_t *)t, strlen(t)) != 1) break;
    }
    return i;
}
TEST(vocab_train_golden_tokenizers_kjv) {
    char tp[512], vp[512];
    snprintf(tp, sizeof tp, "%s/vocab_train/kjv_genesis.txt", test_fixture_dir());
    snprintf(vp, sizeof vp, "%s/vocab_train/kjv_genesis.tokenizers-0.23.2.vocab.txt", test_fixture_dir());
    size_t vn;
    char *vbuf = file_read_all(vp, &vn);
    REQUIRE(vbuf);
    const char **ref = xcalloc(vn + 1, sizeof *ref);
    size_t nref = 0;
    for (char *p = vbuf, *e; p < vbuf + vn; p = e + 1) {
        e = strchr(p, '\n');
        REQUIRE(e);
        *e = 0;
        ref[nref++] = p;
    }
    /* the committed run has 563 tokens, 50 of them base symbols (27 + 23 "##c");
     * a regenerated run may differ by a token or two through ties */
    REQUIRE(nref > 500);
    size_t ref_base = base_size(ref, nref);

    norm_config nc;
    norm_config_default(&nc);
    vocab_count_opts co = {.split = split_bert, .split_cfg = &nc, .threads = 2};
    vocab_counts *c = vocab_counts_new();
    REQUIRE(vocab_count_file(c, tp, &co) == 0);
    vocab_train_opts o;
    plain_opts(&o);
    o.vocab_size = 30000;
    o.cont_order = ref;
    o.n_cont_order = nref;
    vocab_result r;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    EXPECT_EQ_INT(r.n, nref);
    size_t diff = 0, first = SIZE_MAX;
    for (size_t i = 0; i < r.n && i < nref; i++)
        if (strcmp(r.tokens[i], ref[i])) {
            diff++;
            if (first == SIZE_MAX) first = i;
        }
    EXPECT_MSG(diff == 0, "%zu ids differ, first at %zu", diff, first);
    vocab_result_free(&r);

    /* Without the order hint the run is still deterministic (code-point order),
     * but a different tie-break path: only the base symbols must agree as sets. */
    o.cont_order = NULL;
    o.n_cont_order = 0;
    REQUIRE(vocab_train(c, &o, &r) == 0);
    size_t base = r.n_alphabet + r.n_continuing;
    EXPECT_EQ_INT(base, ref_base);
    size_t missing = 0;
    for (size_t i = 0; i < base; i++) {
        int found = 0;
        for (size_t k = 0; k < ref_base && !found; k++) found = !strcmp(r.tokens[i], ref[k]);
        missing += !found;
    }
    EXPECT_EQ_INT(missing, 0);
    vocab_result_free(&r);
    vocab_counts_free(c);
    free(ref);
    free(vbuf);
}
