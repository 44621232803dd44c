/* test_kmer.c — DNABERT k-mer ids (hand-computed from id = 5 + Σ code·4^(k−i),
 * A0 T1 C2 G3), the N rule, stride-1 encoding, the k-mer vocab.txt, and the
 * tokenizer's k-mer mode (detection, raw DNA vs k-mer lists, pairs, decode),
 * and the MLM random-id range of a k-mer vocabulary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/data/loader.h"
#include "../src/io/file.h"
#include "../src/text/kmer.h"
#include "../src/text/tokenizer.h"
#include "test.h"

TEST(kmer_ids_of_6mers_by_hand) {
    EXPECT_EQ_INT(kmer_id("AAAAAA", 6), 5);
    EXPECT_EQ_INT(kmer_id("AAAAAT", 6), 6);
    EXPECT_EQ_INT(kmer_id("AAAAAC", 6), 7);
    EXPECT_EQ_INT(kmer_id("AAAAAG", 6), 8);
    EXPECT_EQ_INT(kmer_id("AAAATA", 6), 9);
    EXPECT_EQ_INT(kmer_id("GGGGGG", 6), 4100);
    /* ACGTAC: 0·1024 + 2·256 + 3·64 + 1·16 + 0·4 + 2 = 722 */
    EXPECT_EQ_INT(kmer_index("ACGTAC", 6), 722);
    EXPECT_EQ_INT(kmer_id("acgtac", 6), 727); /* soft-masked lower case */
}

TEST(kmer_ids_of_other_k_by_hand) {
    EXPECT_EQ_INT(kmer_id("A", 1), 5);
    EXPECT_EQ_INT(kmer_id("G", 1), 8);
    EXPECT_EQ_INT(kmer_id("ACG", 3), 16);  /* 0·16 + 2·4 + 3 = 11 */
    EXPECT_EQ_INT(kmer_id("TTT", 3), 26);  /* 16 + 4 + 1 = 21 */
    EXPECT_EQ_INT(kmer_id("GGG", 3), 68);  /* 63 */
    EXPECT_EQ_INT(kmer_id("GATC", 4), 203); /* 3·64 + 0 + 1·4 + 2 = 198 */
    EXPECT_EQ_INT(kmer_id("TAAAA", 5), 261); /* 1·256 = 256 */
    EXPECT_EQ_INT(kmer_id("GGGGGGGG", 8), 5 + 65535);
    char s[9];
    kmer_string(198, 4, s);
    EXPECT_STR_EQ(s, "GATC");
    kmer_string(0, 6, s);
    EXPECT_STR_EQ(s, "AAAAAA");
    kmer_string(4095, 6, s);
    EXPECT_STR_EQ(s, "GGGGGG");
    for (int k = 1; k <= KMER_MAX_K; k++) /* string and index are inverse */
        for (int32_t i = 0; i < (int32_t)kmer_count(k); i += 1 + (int32_t)kmer_count(k) / 97) {
            kmer_string(i, k, s);
            EXPECT_EQ_INT(kmer_index(s, k), i);
        }
}

TEST(kmer_n_and_other_letters_are_unk) {
    EXPECT_EQ_INT(kmer_index("AANAAA", 6), -1);
    EXPECT_EQ_INT(kmer_id("AANAAA", 6), 1);
    EXPECT_EQ_INT(kmer_id("ACU", 3), 1);   /* U is not T */
    EXPECT_EQ_INT(kmer_id("RYK", 3), 1);   /* IUPAC codes */
    EXPECT_EQ_INT(kmer_id("nnn", 3), 1);
}

static size_t enc(const char *s, int k, size_t limit, uint32_t *out, size_t cap) {
    uint32_t *ids = NULL;
    size_t n = 0, c = 0;
    kmer_encode(s, strlen(s), k, limit, &ids, &n, &c);
    for (size_t i = 0; i < n && i < cap; i++) out[i] = ids[i];
    free(ids);
    return n;
}

TEST(kmer_encode_stride_one) {
    uint32_t id[16];
    /* ACGTAC, k = 3: ACG 16, CGT 2·16+3·4+1+5 = 50, GTA 48+4+5 = 57, TAC 16+2+5 = 23 */
    REQUIRE(enc("ACGTAC", 3, 0, id, 16) == 4);
    EXPECT_EQ_INT(id[0], 16);
    EXPECT_EQ_INT(id[1], 50);
    EXPECT_EQ_INT(id[2], 57);
    EXPECT_EQ_INT(id[3], 23);
    /* N poisons the k windows that hold it: ACNGTA → [UNK] ×3, GTA */
    REQUIRE(enc("ACNGTA", 3, 0, id, 16) == 4);
    EXPECT_EQ_INT(id[0], 1);
    EXPECT_EQ_INT(id[1], 1);
    EXPECT_EQ_INT(id[2], 1);
    EXPECT_EQ_INT(id[3], 57);
    /* whitespace (line breaks) is skipped, case ignored */
    REQUIRE(enc("ac G\nT", 3, 0, id, 16) == 2);
    EXPECT_EQ_INT(id[0], 16);
    EXPECT_EQ_INT(id[1], 50);
    /* n < k: nothing; n = k: one token */
    EXPECT_EQ_INT(enc("AC", 3, 0, id, 16), 0);
    EXPECT_EQ_INT(enc("", 6, 0, id, 16), 0);
    EXPECT_EQ_INT(enc("AAAAAA", 6, 0, id, 16), 1);
    /* n bases → n − k + 1 tokens; limit caps it */
    EXPECT_EQ_INT(enc("ACGTACGTACGTACGTACGT", 6, 0, id, 16), 15);
    EXPECT_EQ_INT(enc("ACGTACGTACGTACGTACGT", 6, 4, id, 16), 4);
}

static void vocab_path(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", test_tmpdir(), name); }

TEST(kmer_vocab_file_layout) {
    char p[600];
    vocab_path(p, sizeof p, "v6.txt");
    REQUIRE(kmer_vocab_write(6, 64, p) == 0);
    size_t len;
    char *s = file_read_all(p, &len);
    REQUIRE(s != NULL);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += s[i] == '\n';
    EXPECT_EQ_INT(lines, 4160); /* 4101 real tokens padded to 65·64 */
    static const char head[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nAAAAAA\nAAAAAT\nAAAAAC\nAAAAAG\nAAAATA\n";
    EXPECT(len > sizeof head && !strncmp(s, head, sizeof head - 1));
    /* lines 4101 and 4102 (ids 4100, 4101) and the last */
    EXPECT(strstr(s, "\nGGGGGC\nGGGGGG\n[unused0]\n") != NULL);
    EXPECT(len >= 11 && !strcmp(s + len - 11, "[unused58]\n"));
    free(s);
    vocab_path(p, sizeof p, "v3.txt");
    REQUIRE(kmer_vocab_write(3, 1, p) == 0); /* no padding: the DNABERT file */
    s = file_read_all(p, &len);
    REQUIRE(s != NULL);
    EXPECT_EQ_INT(len, 31 + 64 * 4); /* the specials' 31 bytes, then 64 lines "XYZ\n" */
    free(s);
    EXPECT(kmer_vocab_write(9, 64, p) < 0);
}

static tokenizer *load_kmer(int k, size_t pad) {
    char p[600], name[32];
    snprintf(name, sizeof name, "v%d_%zu.txt", k, pad);
    vocab_path(p, sizeof p, name);
    if (kmer_vocab_write(k, pad, p) != 0) return NULL;
    return tok_load_vocab(p, NULL);
}

TEST(kmer_vocab_is_detected_on_load) {
    for (int k = 1; k <= KMER_MAX_K; k++) {
        tokenizer *t = load_kmer(k, k == 5 ? 1 : 64);
        REQUIRE(t != NULL);
        EXPECT_EQ_INT(kmer_vocab_k(t), k);
        tok_free(t);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
    tokenizer *t = tok_load_vocab(p, NULL);
    REQUIRE(t != NULL);
    EXPECT_EQ_INT(kmer_vocab_k(t), 0);
    tok_free(t);
    /* near misses are WordPiece vocabularies */
    const char *bad[] = {
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nA\nT\nC\n",                /* one k-mer short */
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nA\nC\nG\nT\n",             /* ACGT order */
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nA\nT\nC\nG\nhello\n",      /* extra token */
        "[UNK]\n[PAD]\n[CLS]\n[SEP]\n[MASK]\nA\nT\nC\nG\n",             /* specials moved */
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nA\nT\nC\nG\n[unused]\n",   /* no number */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = tok_load_vocab_mem("near.txt", bad[i], strlen(bad[i]), NULL);
        REQUIRE(t != NULL);
        EXPECT_MSG(kmer_vocab_k(t) == 0, "near miss %zu detected as k-mer", i);
        tok_free(t);
    }
    const char *good = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nA\nT\nC\nG\n[unused0]\n[unused7]\n";
    t = tok_load_vocab_mem("k1.txt", good, strlen(good), NULL);
    REQUIRE(t != NULL);
    EXPECT_EQ_INT(kmer_vocab_k(t), 1);
    tok_free(t);
}

static size_t ids_of(const tokenizer *t, const char *s, uint32_t *out, size_t cap) {
    uint32_t *ids = NULL;
    size_t n = 0, c = 0;
    tok_encode_ids(t, s, strlen(s), &ids, &n, &c);
    for (size_t i = 0; i < n && i < cap; i++) out[i] = ids[i];
    free(ids);
    return n;
}

TEST(kmer_tokenizer_raw_dna_and_kmer_lists) {
    tokenizer *t = load_kmer(6, 64);
    REQUIRE(t != NULL);
    REQUIRE(kmer_vocab_k(t) == 6);
    uint32_t id[32];
    /* raw: ACGTACG → ACGTAC 727, CGTACG 2·1024+3·256+1·64+0+2·4+3+5 = 2896 */
    REQUIRE(ids_of(t, "ACGTACG", id, 32) == 2);
    EXPECT_EQ_INT(id[0], 727);
    EXPECT_EQ_INT(id[1], 2896);
    REQUIRE(ids_of(t, "  acgt\nacg\n", id, 32) == 2); /* wrapped, lower case */
    EXPECT_EQ_INT(id[1], 2896);
    /* a k-mer list: every word 6 long */
    REQUIRE(ids_of(t, "ACGTAC CGTACG\tGGGGGG", id, 32) == 3);
    EXPECT_EQ_INT(id[0], 727);
    EXPECT_EQ_INT(id[1], 2896);
    EXPECT_EQ_INT(id[2], 4100);
    /* specials inside a list, and a list word with N */
    REQUIRE(ids_of(t, "ACGTAC [MASK] AANAAA [SEP]", id, 32) == 4);
    EXPECT_EQ_INT(id[0], 727);
    EXPECT_EQ_INT(id[1], 4);
    EXPECT_EQ_INT(id[2], 1);
    EXPECT_EQ_INT(id[3], 3);
    /* raw with a special inside: k-mers do not cross it */
    REQUIRE(ids_of(t, "AAAAAAA[MASK]AAAAAA", id, 32) == 4);
    EXPECT_EQ_INT(id[0], 5);
    EXPECT_EQ_INT(id[1], 5);
    EXPECT_EQ_INT(id[2], 4);
    EXPECT_EQ_INT(id[3], 5);
    /* a word of another length makes the whole text raw: ACGTAC + CG → 3 k-mers */
    REQUIRE(ids_of(t, "ACGTAC CG", id, 32) == 3);
    EXPECT_EQ_INT(id[0], 727);
    EXPECT_EQ_INT(ids_of(t, "ACGTA", id, 32), 0); /* n < k */
    EXPECT_EQ_INT(ids_of(t, "", id, 32), 0);
    tok_free(t);
}

TEST(kmer_tokenizer_specials_pairs_truncation_decode) {
    tokenizer *t = load_kmer(6, 64);
    REQUIRE(t != NULL);
    EXPECT_EQ_INT(tok_vocab_size(t), 4160);
    EXPECT_EQ_INT(tok_cls_id(t), 2);
    EXPECT_EQ_INT(tok_mask_id(t), 4);
    tok_encode_opts o;
    tok_encode_opts_default(&o);
    tok_encoding e = {0};
    REQUIRE(tok_encode(t, "ACGTACG", 7, "AAAAAAA", 7, &o, &e) == 0);
    uint32_t want[7] = {2, 727, 2896, 3, 5, 5, 3};
    uint8_t want_type[7] = {0, 0, 0, 0, 1, 1, 1};
    REQUIRE(e.n == 7);
    for (int i = 0; i < 7; i++) {
        EXPECT_EQ_INT(e.ids[i], want[i]);
        EXPECT_EQ_INT(e.type_ids[i], want_type[i]);
    }
    /* 15 bases = 10 k-mers, max_length 6 → [CLS] 4 k-mers [SEP] */
    o.max_length = 6;
    o.pad_to = 8;
    REQUIRE(tok_encode(t, "AAAAAAAAAAAAAAA", 15, NULL, 0, &o, &e) == 0);
    REQUIRE(e.n == 8);
    EXPECT_EQ_INT(e.ids[0], 2);
    EXPECT_EQ_INT(e.ids[4], 5);
    EXPECT_EQ_INT(e.ids[5], 3);
    EXPECT_EQ_INT(e.ids[6], 0);
    EXPECT_EQ_INT(e.mask[6], 0);
    /* pair LongestFirst: A 10 k-mers, B 2, budget 9 − 3 = 6 → A 4, B 2 */
    o.max_length = 9;
    o.pad_to = 0;
    REQUIRE(tok_encode(t, "AAAAAAAAAAAAAAA", 15, "GGGGGGG", 7, &o, &e) == 0);
    REQUIRE(e.n == 9);
    EXPECT_EQ_INT(e.ids[5], 3);
    EXPECT_EQ_INT(e.ids[6], 4100);
    EXPECT_EQ_INT(e.ids[8], 3);
    tok_encoding_free(&e);
    uint32_t ids[4] = {2, 727, 2896, 3};
    char *s = tok_decode(t, ids, 4, 1);
    EXPECT_STR_EQ(s, "ACGTAC CGTACG");
    free(s);
    s = tok_decode(t, ids, 4, 0);
    EXPECT_STR_EQ(s, "[CLS] ACGTAC CGTACG [SEP]");
    /* round trip: the decoded k-mer list encodes to the same ids */
    uint32_t back[8];
    REQUIRE(ids_of(t, s, back, 8) == 4);
    for (int i = 0; i < 4; i++) EXPECT_EQ_INT(back[i], ids[i]);
    free(s);
    tok_free(t);
}

TEST(kmer_loader_draws_random_ids_from_real_tokens) {
    tokenizer *t = load_kmer(6, 64);
    REQUIRE(t != NULL);
    loader_config c;
    loader_config_default(&c);
    REQUIRE(loader_config_from_tokenizer(&c, t) == 0);
    EXPECT_EQ_INT(c.vocab_size, 4160);
    EXPECT_EQ_INT(c.mask.n_random, 4101);
    EXPECT_EQ_INT(c.mask.mask_id, 4);
    tok_free(t);
    char p[600];
    snprintf(p, sizeof p, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
    t = tok_load_vocab(p, NULL);
    REQUIRE(t != NULL);
    REQUIRE(loader_config_from_tokenizer(&c, t) == 0);
    EXPECT_EQ_INT(c.mask.n_random, 30522); /* WordPiece: the whole vocabulary, as before */
    tok_free(t);
}
