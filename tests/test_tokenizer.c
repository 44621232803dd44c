/* test_tokenizer.c — WordPiece tokenizer against independent golden ids:
 * spec tokenizer.md §3 (rows and truncation examples, measured with
 * tokenizers 0.23.2 and transformers 5.17.0) and tests/fixtures/
 * tokenizer_edge.jsonl (produced by npm tokenizers@0.23.2 through
 * tools/parity/tokenizer_parity.js edge-golden). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/io/json.h"
#include "../src/text/tokenizer.h"
#include "test.h"

static tokenizer *bert_vocab(void) {
    static tokenizer *t; /* loaded once, shared read-only by the tests */
    if (!t) {
        char path[1024];
        snprintf(path, sizeof path, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
        t = tok_load_vocab(path, NULL);
        if (!t) fprintf(stderr, "load vocab: %s\n", err_msg());
    }
    return t;
}

/* Encodes and compares with a space-separated id list. */
static int ids_equal(const tok_encoding *e, const char *want) {
    char buf[4096];
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < e->n && k + 12 < sizeof buf; i++) k += (size_t)snprintf(buf + k, sizeof buf - k, i ? " %u" : "%u", e->ids[i]);
    if (strcmp(buf, want)) {
        fprintf(stderr, "    got  %s\n    want %s\n", buf, want);
        return 0;
    }
    return 1;
}

static int check_single(const char *text, size_t n, const char *want) {
    tok_encoding e = {0};
    int ok = tok_encode(bert_vocab(), text, n, NULL, 0, NULL, &e) == 0 && ids_equal(&e, want);
    tok_encoding_free(&e);
    return ok;
}
#define CHECK_IDS(text, want) EXPECT_MSG(check_single(text, sizeof(text) - 1, want), "ids of %s", #text)

TEST(tokenizer_vocab_fixture) {
    tokenizer *t = bert_vocab();
    REQUIRE(t);
    EXPECT_EQ_INT(tok_vocab_size(t), 30522);
    EXPECT_EQ_INT(tok_id(t, "[PAD]"), 0);
    EXPECT_EQ_INT(tok_unk_id(t), 100);
    EXPECT_EQ_INT(tok_cls_id(t), 101);
    EXPECT_EQ_INT(tok_sep_id(t), 102);
    EXPECT_EQ_INT(tok_mask_id(t), 103);
    EXPECT_EQ_INT(tok_id(t, "the"), 1996);
    EXPECT_EQ_INT(tok_id(t, "##s"), 2015);
    EXPECT_EQ_INT(tok_id(t, "i"), 1045);
    EXPECT_EQ_INT(tok_id(t, "like"), 2066);
    EXPECT_EQ_INT(tok_id(t, "[unused993]"), 998);
    EXPECT_EQ_INT(tok_id(t, "no-such-token"), -1);
    EXPECT_STR_EQ(tok_token(t, 30521), "##\xef\xbd\x9e"); /* ##～ */
    EXPECT(tok_token(t, 30522) == NULL);
}

TEST(tokenizer_spec_golden_rows) {
    REQUIRE(bert_vocab());
    CHECK_IDS("Hello, world!", "101 7592 1010 2088 999 102");
    CHECK_IDS("The quick brown fox jumps over the lazy dog.", "101 1996 4248 2829 4419 14523 2058 1996 13971 3899 1012 102");
    CHECK_IDS("unaffable", "101 14477 20961 3468 102");
    CHECK_IDS("H\xc3\xa9llo WORLD na\xc3\xafve caf\xc3\xa9", "101 7592 2088 15743 7668 102");
    CHECK_IDS("\xce\x9f\xce\x94\xce\x9f\xce\xa3", "101 1169 29722 29730 29733 102");
    CHECK_IDS("\xe9\x87\x8e\xe5\x8f\xa3 \xe6\x9d\xb1\xe4\xba\xac", "101 1963 1788 1879 1755 102");
    CHECK_IDS("\xf0\xab\xa0\xa0x", "101 100 102");        /* U+2B820 x */
    CHECK_IDS("\xf0\xab\xa4\xa0x", "101 100 1060 102");   /* U+2B920 x */
    CHECK_IDS("a\xe2\x80\xa8" "b", "101 1037 1038 102");  /* U+2028 */
    CHECK_IDS("a\xc2\xa0" "b", "101 1037 1038 102");      /* U+00A0 */
    CHECK_IDS("a\xe2\x80\x8b" "b", "101 11113 102");      /* U+200B */
    CHECK_IDS("a\x01" "b", "101 11113 102");
    CHECK_IDS("a\xef\xbf\xbd" "b", "101 11113 102");      /* U+FFFD */
    CHECK_IDS("a\xf3\xa0\x80\x81" "b", "101 11113 102");  /* U+E0001 */
    CHECK_IDS("a\xcd\xb8" "b", "101 100 102");            /* U+0378 */
    CHECK_IDS("\xc4\xb0stanbul", "101 9960 102");
    CHECK_IDS("$5 + 3 = <8> ^ `x` | ~y", "101 1002 1019 1009 1017 1027 1026 1022 1028 1034 1036 1060 1036 1064 1066 1061 102");
    CHECK_IDS("don't stop-believing!!!", "101 2123 1005 1056 2644 1011 8929 999 999 999 102");
    CHECK_IDS("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "101 100 102");
    CHECK_IDS("supercalifragilisticexpialidocious", "101 3565 9289 10128 29181 24411 4588 10288 19312 21273 10085 6313 102");
    CHECK_IDS("[MASK] is here [CLS]", "101 103 2003 2182 101 102");
    CHECK_IDS("[mask] x", "101 1031 7308 1033 1060 102");
    CHECK_IDS("[unused1]", "101 1031 15171 2487 1033 102");
    CHECK_IDS("5\xe2\x82\xac \xc2\xb0" "C \xc2\xa9", "101 1019 30102 6362 1075 102");
    CHECK_IDS("\xc2\xbd \xe2\x85\xa3 \xef\xbc\xa1\xef\xbc\xa2", "101 1092 100 100 102");
    CHECK_IDS("e\xcc\x81", "101 1041 102");
    CHECK_IDS("stra\xc3\x9f" "e", "101 2358 27807 102");
    CHECK_IDS("\xef\xac\x81ne", "101 1984 2638 102");
    CHECK_IDS("\t tab\ttab\nnew\rline  ", "101 21628 21628 2047 2240 102");
    CHECK_IDS("\xe2\x80\x98quoted\xe2\x80\x99 \xe2\x80\x94 dash\xe2\x80\xa6", "101 1520 9339 1521 1517 11454 1529 102");
    CHECK_IDS("\xf0\x9f\x99\x82 emoji", "101 100 7861 29147 2072 102");
    /* 101 × 'a' above; 100 × 'a' is a word WordPiece splits */
    tok_encoding e = {0};
    REQUIRE(tok_encode(bert_vocab(), "How are you?", 12, "I am fine.", 10, NULL, &e) == 0);
    EXPECT(ids_equal(&e, "101 2129 2024 2017 1029 102 1045 2572 2986 1012 102"));
    REQUIRE(e.n == 11);
    for (size_t i = 0; i < 11; i++) {
        EXPECT_EQ_INT(e.type_ids[i], i < 6 ? 0 : 1);
        EXPECT_EQ_INT(e.mask[i], 1);
    }
    tok_encoding_free(&e);
}

TEST(tokenizer_truncation_spec_table) {
    /* spec §2.6, max_length 10 (budget 7) */
    static const char *rows[][3] = {
        {"a b c d", "e f g h i j k l", "101 1037 1038 1039 102 1041 1042 1043 1044 102"},
        {"e f g h i j k l", "a b c d", "101 1041 1042 1043 1044 102 1037 1038 1039 102"},
        {"a b c d e", "f g h i j", "101 1037 1038 1039 102 1042 1043 1044 1045 102"},
        {"a b", "c d e f g h i j k", "101 1037 1038 102 1039 1040 1041 1042 1043 102"},
    };
    tok_encode_opts o;
    tok_encode_opts_default(&o);
    o.max_length = 10;
    tok_encoding e = {0};
    for (int i = 0; i < 4; i++) {
        REQUIRE(tok_encode(bert_vocab(), rows[i][0], strlen(rows[i][0]), rows[i][1], strlen(rows[i][1]), &o, &e) == 0);
        EXPECT_MSG(ids_equal(&e, rows[i][2]), "row %d", i);
    }
    /* closed form, by hand (budget 7 = max_length 10 − 3): s = min, l' = max(s, 7 − s);
       both over → 3 and 4, the longer gets 4 */
    size_t ka, kb;
    tok_truncate_pair(4, 8, 10, 3, &ka, &kb);
    EXPECT_EQ_INT(ka, 3);
    EXPECT_EQ_INT(kb, 4);
    tok_truncate_pair(2, 9, 10, 3, &ka, &kb);
    EXPECT_EQ_INT(ka, 2);
    EXPECT_EQ_INT(kb, 5);
    tok_truncate_pair(5, 5, 10, 3, &ka, &kb);
    EXPECT_EQ_INT(ka, 3);
    EXPECT_EQ_INT(kb, 4);
    tok_truncate_pair(9, 9, 3, 3, &ka, &kb);
    EXPECT_EQ_INT(ka, 0);
    EXPECT_EQ_INT(kb, 0);
    tok_truncate_pair(3, 4, 10, 3, &ka, &kb);
    EXPECT_EQ_INT(ka, 3);
    EXPECT_EQ_INT(kb, 4);
    tok_truncate_pair(9, 8, 10, 3, &ka, &kb); /* shorter 8 < 10: the longer A gets 4 */
    EXPECT_EQ_INT(ka, 4);
    EXPECT_EQ_INT(kb, 3);
    tok_truncate_pair(10, 10, 10, 3, &ka, &kb); /* a tie: B gets the odd token */
    EXPECT_EQ_INT(ka, 3);
    EXPECT_EQ_INT(kb, 4);
    tok_truncate_pair(11, 10, 10, 0, &ka, &kb); /* no specials, budget 10 */
    EXPECT_EQ_INT(ka, 5);
    EXPECT_EQ_INT(kb, 5);
    /* padding: spec §2.7 */
    o.max_length = 0;
    o.pad_to = 8;
    REQUIRE(tok_encode(bert_vocab(), "a b c", 5, NULL, 0, &o, &e) == 0);
    EXPECT(ids_equal(&e, "101 1037 1038 1039 102 0 0 0"));
    REQUIRE(e.n == 8);
    for (size_t i = 0; i < 8; i++) EXPECT_EQ_INT(e.mask[i], i < 5);
    /* max_length below the special tokens is an error, not a crash */
    o.pad_to = 0;
    o.max_length = 1;
    EXPECT(tok_encode(bert_vocab(), "a", 1, NULL, 0, &o, &e) < 0);
    EXPECT(strstr(err_msg(), "max_length") != NULL);
    tok_encoding_free(&e);
}

/* Reads an int array field of a golden case. */
static int json_ids(const json_value *arr, uint32_t *out, size_t cap, size_t *n) {
    if (json_typeof(arr) != JSON_ARRAY || json_len(arr) > cap) return -1;
    *n = json_len(arr);
    for (size_t i = 0; i < *n; i++) {
        int64_t v;
        if (json_int(json_at(arr, i), &v) < 0) return -1;
        out[i] = (uint32_t)v;
    }
    return 0;
}

TEST(tokenizer_edge_cases_match_reference_library) {
    tokenizer *t = bert_vocab();
    REQUIRE(t);
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer_edge.jsonl", test_fixture_dir());
    size_t n;
    char *data = file_read_all(path, &n);
    REQUIRE(data);
    size_t cases = 0, bad = 0;
    tok_encoding e = {0};
    static uint32_t want[4096], wtype[4096], wmask[4096];
    for (char *line = data, *next; line < data + n; line = next) {
        char *nl = memchr(line, '\n', (size_t)(data + n - line));
        next = nl ? nl + 1 : data + n;
        size_t len = (size_t)((nl ? nl : data + n) - line);
        if (!len) continue;
        json_value *c = json_parse(line, len);
        if (!EXPECT_MSG(c != NULL, "line %zu: %s", cases + 1, err_msg())) { bad++; continue; }
        size_t na, nb = 0, nw, nt, nm;
        const char *a = json_str(json_get(c, "a"), &na);
        const char *b = json_is_null(json_get(c, "b")) ? NULL : json_str(json_get(c, "b"), &nb);
        int64_t ml = 0, pad = 0;
        json_int(json_get(c, "max_length"), &ml);
        json_int(json_get(c, "pad_to"), &pad);
        tok_encode_opts o;
        tok_encode_opts_default(&o);
        o.max_length = (size_t)ml;
        o.pad_to = (size_t)pad;
        int ok = a && json_ids(json_get(c, "ids"), want, 4096, &nw) == 0 &&
                 json_ids(json_get(c, "type_ids"), wtype, 4096, &nt) == 0 &&
                 json_ids(json_get(c, "mask"), wmask, 4096, &nm) == 0 && tok_encode(t, a, na, b, nb, &o, &e) == 0 &&
                 e.n == nw && nt == nw && nm == nw;
        for (size_t i = 0; ok && i < nw; i++) ok = e.ids[i] == want[i] && e.type_ids[i] == wtype[i] && e.mask[i] == wmask[i];
        if (ok) {
            char *dec = tok_decode(t, e.ids, e.n, 1);
            const char *wd = json_str(json_get(c, "decode"), NULL);
            ok = dec && wd && !strcmp(dec, wd);
            if (!ok) fprintf(stderr, "    decode: got \"%s\" want \"%s\"\n", dec ? dec : "(null)", wd ? wd : "(null)");
            free(dec);
        }
        if (!ok) {
            bad++;
            fprintf(stderr, "    edge case %zu mismatch: %.*s\n", cases + 1, (int)(len > 300 ? 300 : len), line);
        }
        cases++;
        json_free(c);
    }
    EXPECT_MSG(bad == 0, "%zu of %zu edge cases differ from the reference library", bad, cases);
    EXPECT(cases >= 400);
    tok_encoding_free(&e);
    free(data);
}

TEST(tokenizer_decode) {
    tokenizer *t = bert_vocab();
    REQUIRE(t);
    /* "[CLS] hello , world . don ' t [SEP]" → per-token clean-up of " ." and " ," */
    uint32_t ids[] = {101, 7592, 1010, 2088, 1012, 2123, 1005, 1056, 102};
    char *s = tok_decode(t, ids, 9, 1);
    EXPECT_STR_EQ(s, "hello, world. don ' t");
    free(s);
    s = tok_decode(t, ids, 9, 0);
    EXPECT_STR_EQ(s, "[CLS] hello, world. don ' t [SEP]");
    free(s);
    uint32_t sub[] = {14477, 20961, 3468}; /* una ##ffa ##ble */
    s = tok_decode(t, sub, 3, 1);
    EXPECT_STR_EQ(s, "unaffable");
    free(s);
    uint32_t bad[] = {30522};
    EXPECT(tok_decode(t, bad, 1, 1) == NULL);
}

TEST(tokenizer_fast_path_and_threads) {
    tokenizer *t = bert_vocab();
    REQUIRE(t);
    uint32_t *ids = NULL;
    size_t n = 0, cap = 0;
    tok_encode_ids(t, "unaffable [MASK]", 16, &ids, &n, &cap);
    tok_encode_ids(t, "x", 1, &ids, &n, &cap); /* appends */
    REQUIRE(n == 5);
    EXPECT_EQ_INT(ids[0], 14477);
    EXPECT_EQ_INT(ids[3], 103);
    EXPECT_EQ_INT(ids[4], 1060);
    free(ids);
    /* Many threads encoding with one tokenizer give the single-threaded result. */
    const char *text = "The quick brown fox jumps over the lazy dog. H\xc3\xa9llo \xe6\x9d\xb1\xe4\xba\xac [MASK]!";
    tok_encoding ref = {0};
    REQUIRE(tok_encode(t, text, strlen(text), NULL, 0, NULL, &ref) == 0);
    int bad = 0;
#pragma omp parallel num_threads(4) reduction(+ : bad)
    {
        tok_encoding e = {0};
        for (int r = 0; r < 2000; r++) {
            if (tok_encode(t, text, strlen(text), NULL, 0, NULL, &e) < 0 || e.n != ref.n ||
                memcmp(e.ids, ref.ids, e.n * sizeof *e.ids))
                bad++;
        }
        tok_encoding_free(&e);
    }
    EXPECT_EQ_INT(bad, 0);
    tok_encoding_free(&ref);
}

static tokenizer *vocab_from(const char *s, size_t n) { return tok_load_vocab_mem("v.txt", s, n, NULL); }

TEST(tokenizer_vocab_errors) {
    tokenizer *t = vocab_from("[UNK]\na\nb\na\n", 12);
    EXPECT(t == NULL);
    EXPECT(strstr(err_msg(), "v.txt:4: duplicate token \"a\" (first at line 2)") != NULL);
    t = vocab_from("[UNK]\n\nb\n", 9);
    EXPECT(t == NULL);
    EXPECT(strstr(err_msg(), "v.txt:2: empty line") != NULL);
    t = vocab_from("[UNK]\na\xff\n", 9);
    EXPECT(t == NULL);
    EXPECT(strstr(err_msg(), "v.txt:2: token is not valid UTF-8") != NULL);
    t = vocab_from("a\nb\n", 4);
    EXPECT(t == NULL);
    EXPECT(strstr(err_msg(), "no [UNK]") != NULL);
    t = vocab_from("", 0);
    EXPECT(t == NULL);
    /* CRLF line ends and a missing final newline are accepted */
    t = vocab_from("[UNK]\r\n[CLS]\r\n[SEP]\r\nab\r\n##c", 28);
    REQUIRE(t);
    EXPECT_EQ_INT(tok_vocab_size(t), 5);
    EXPECT_EQ_INT(tok_id(t, "ab"), 3);
    EXPECT_EQ_INT(tok_id(t, "##c"), 4);
    tok_encoding e = {0};
    REQUIRE(tok_encode(t, "abc abd", 7, NULL, 0, NULL, &e) == 0);
    EXPECT(ids_equal(&e, "1 3 4 0 2")); /* [CLS] ab ##c [UNK] [SEP] */
    /* no [PAD]: padding is refused */
    tok_encode_opts o;
    tok_encode_opts_default(&o);
    o.pad_to = 10;
    EXPECT(tok_encode(t, "ab", 2, NULL, 0, &o, &e) < 0);
    tok_encoding_free(&e);
    tok_free(t);
    EXPECT(tok_load_vocab("/nonexistent/vocab.txt", NULL) == NULL);
}

TEST(tokenizer_json_matches_vocab_txt) {
    /* A tokenizer.json of the BERT shape with a tiny vocab, cased, no accent stripping. */
    const char *j =
        "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"[PAD]\",\"single_word\":false,\"lstrip\":false,"
        "\"rstrip\":false,\"normalized\":false,\"special\":true},{\"id\":1,\"content\":\"[UNK]\",\"special\":true},"
        "{\"id\":2,\"content\":\"[CLS]\",\"special\":true},{\"id\":3,\"content\":\"[SEP]\",\"special\":true}],"
        "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
        "\"strip_accents\":false,\"lowercase\":false},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
        "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
        "\"max_input_chars_per_word\":5,\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"H\":4,"
        "\"##\xc3\xa9\":5,\"##llo\":6,\"h\":7}}}";
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer.json", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs(j, f);
    fclose(f);
    tokenizer *t = tok_load(path, NULL);
    REQUIRE(t);
    tok_encoding e = {0};
    /* "Héllo" keeps case and accent: H ##é ##llo; "hellooo" has 7 > 5 chars: [UNK] */
    REQUIRE(tok_encode(t, "H\xc3\xa9llo hellooo", 14, NULL, 0, NULL, &e) == 0);
    EXPECT(ids_equal(&e, "2 4 5 6 1 3"));
    tok_encoding_free(&e);
    tok_free(t);
    /* A wrong model type is refused with the field named. */
    f = fopen(path, "wb");
    REQUIRE(f);
    fputs("{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}", f);
    fclose(f);
    EXPECT(tok_load(path, NULL) == NULL);
    EXPECT(strstr(err_msg(), "model.type") != NULL);
}

TEST(tokenizer_json_written_by_reference_library) {
    /* tokenizer_edge_tiny.json was saved by npm tokenizers@0.23.2 itself
       (tokenizer_parity.js save-json) from a 33-token vocab; ids by hand:
       [CLS]=2 hello=25 ,=6 world=26 !=5 un=27 ##aff=28 ##able=29 [MASK]=4
       e=14 (é loses its accent: strip_accents null follows lowercase) 東=32
       a=10 ##b=21 [SEP]=3 */
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer_edge_tiny.json", test_fixture_dir());
    tokenizer *t = tok_load(path, NULL);
    REQUIRE(t);
    EXPECT_EQ_INT(tok_vocab_size(t), 33);
    const char *text = "Hello, world! unaffable [MASK] \xc3\xa9\xe6\x9d\xb1 ab";
    tok_encoding e = {0};
    REQUIRE(tok_encode(t, text, strlen(text), NULL, 0, NULL, &e) == 0);
    EXPECT(ids_equal(&e, "2 25 6 26 5 27 28 29 4 14 32 10 21 3"));
    char *s = tok_decode(t, e.ids, e.n, 1);
    EXPECT_STR_EQ(s, "hello, world! unaffable e \xe6\x9d\xb1 ab");
    free(s);
    tok_encoding_free(&e);
    tok_free(t);
}
