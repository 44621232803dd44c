/* test_json.c — the JSON parser and writer of src/io/json.c.
 * Expected values come from RFC 8259's grammar, hand decoding of UTF-8/UTF-16,
 * and (for the writer's text) Python 3.11's json.dumps output, quoted inline. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/io/json.h"
#include "test.h"

static json_value *parse(const char *s) { return json_parse(s, strlen(s)); }

/* 1 if parsing s fails with a message containing want (printed otherwise). */
static int fails_with(const char *s, size_t n, const char *want) {
    json_value *v = json_parse(s, n);
    if (v) { json_free(v); fprintf(stderr, "    unexpectedly parsed: %.*s\n", (int)n, s); return 0; }
    if (!strstr(err_msg(), want)) { fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", err_msg(), want); return 0; }
    return 1;
}
#define FAILS(s, want) EXPECT_MSG(fails_with((s), strlen(s), (want)), "%s", (s))

TEST(json_parses_all_types) {
    json_value *v = parse(" {\"a\": [1, -2, 3.5, true, false, null, \"x\"], \"b\": {\"c\": {}}, \"d\": []}\n");
    REQUIRE(v != NULL);
    EXPECT_EQ_INT(json_typeof(v), JSON_OBJECT);
    EXPECT_EQ_INT(json_len(v), 3);
    const json_value *a = json_get(v, "a");
    REQUIRE(a && json_typeof(a) == JSON_ARRAY);
    EXPECT_EQ_INT(json_len(a), 7);
    int64_t i = 0;
    double d = 0;
    int b = -1;
    EXPECT(json_int(json_at(a, 0), &i) == 0 && i == 1);
    EXPECT(json_int(json_at(a, 1), &i) == 0 && i == -2);
    EXPECT(json_int(json_at(a, 2), &i) == -1); /* 3.5 is not an integer */
    EXPECT(json_number(json_at(a, 2), &d) == 0 && d == 3.5);
    EXPECT(json_bool(json_at(a, 3), &b) == 0 && b == 1);
    EXPECT(json_bool(json_at(a, 4), &b) == 0 && b == 0);
    EXPECT(json_is_null(json_at(a, 5)));
    EXPECT_STR_EQ(json_str(json_at(a, 6), NULL), "x");
    EXPECT(json_at(a, 7) == NULL);
    EXPECT(json_typeof(json_get(json_get(v, "b"), "c")) == JSON_OBJECT);
    EXPECT(json_get(v, "zz") == NULL);
    EXPECT(json_get(a, "a") == NULL); /* not an object */
    size_t kl = 0;
    EXPECT_STR_EQ(json_key_at(v, 0, &kl), "a");
    EXPECT_STR_EQ(json_key_at(v, 2, NULL), "d");
    EXPECT(json_member_at(v, 1) == json_get(v, "b"));
    EXPECT(json_key_at(v, 3, NULL) == NULL);
    EXPECT_STR_EQ(json_type_name(JSON_DOUBLE), "number");
    json_free(v);

    v = parse("42"); /* any value may be the top level */
    EXPECT(v && json_int(v, &i) == 0 && i == 42);
    json_free(v);
}

TEST(json_lookup_many_keys_in_document_order) {
    /* 300 keys written in descending order: iteration keeps document order,
     * lookup finds every one. */
    char *s = xmalloc(300 * 24 + 8);
    size_t n = 0;
    s[n++] = '{';
    for (int k = 299; k >= 0; k--) n += (size_t)sprintf(s + n, "%s\"k%d\":%d", k == 299 ? "" : ",", k, k * 3);
    s[n++] = '}';
    json_value *v = json_parse(s, n);
    REQUIRE(v != NULL);
    EXPECT_EQ_INT(json_len(v), 300);
    EXPECT_STR_EQ(json_key_at(v, 0, NULL), "k299");
    int ok = 1;
    for (int k = 0; k < 300; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        int64_t i = -1;
        if (json_int(json_get(v, key), &i) != 0 || i != k * 3) ok = 0;
    }
    EXPECT(ok);
    json_free(v);
    free(s);
}

TEST(json_numbers_exact) {
    int64_t i = 0;
    double d = 0;
    json_value *v = parse("[0, -0, 9223372036854775807, -9223372036854775808, 9223372036854775808,"
                          " -9223372036854775809, 1e3, 1E-2, 0.5, -1.25e+2, 123456789012345678901234567890]");
    REQUIRE(v != NULL);
    EXPECT(json_int(json_at(v, 0), &i) == 0 && i == 0);
    EXPECT(json_int(json_at(v, 1), &i) == 0 && i == 0);
    EXPECT(json_int(json_at(v, 2), &i) == 0 && i == INT64_MAX);
    EXPECT(json_int(json_at(v, 3), &i) == 0 && i == INT64_MIN);
    EXPECT_EQ_INT(json_typeof(json_at(v, 4)), JSON_DOUBLE); /* 2^63 does not fit */
    EXPECT(json_number(json_at(v, 4), &d) == 0 && d == 9223372036854775808.0);
    EXPECT_EQ_INT(json_typeof(json_at(v, 5)), JSON_DOUBLE);
    EXPECT_EQ_INT(json_typeof(json_at(v, 6)), JSON_DOUBLE); /* exponent → double even if integral */
    EXPECT(json_number(json_at(v, 6), &d) == 0 && d == 1000.0);
    EXPECT(json_number(json_at(v, 7), &d) == 0 && d == 0.01);
    EXPECT(json_number(json_at(v, 8), &d) == 0 && d == 0.5);
    EXPECT(json_number(json_at(v, 9), &d) == 0 && d == -125.0);
    EXPECT(json_number(json_at(v, 10), &d) == 0 && d == 1.2345678901234568e29);
    EXPECT(json_number(json_at(v, 2), &d) == 0 && d == 9223372036854775807.0);
    json_free(v);
}

TEST(json_strings_decode_escapes_and_utf8) {
    size_t n = 0;
    json_value *v = parse("[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\", \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\","
                          " \"a\\u0000b\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", \"\"]");
    REQUIRE(v != NULL);
    EXPECT_STR_EQ(json_str(json_at(v, 0), NULL), "\" \\ / \b \f \n \r \t");
    EXPECT_STR_EQ(json_str(json_at(v, 1), NULL), "\xc3\xa9\xe2\x82\xac");    /* U+00E9 U+20AC */
    EXPECT_STR_EQ(json_str(json_at(v, 2), NULL), "\xf0\x9f\x98\x80");        /* U+1F600 from a pair */
    const char *s = json_str(json_at(v, 3), &n);
    EXPECT(s && n == 3 && memcmp(s, "a\0b", 3) == 0);                       /* embedded NUL kept */
    EXPECT_STR_EQ(json_str(json_at(v, 4), NULL), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT(json_str(json_at(v, 5), &n) && n == 0);
    EXPECT(json_str(json_at(v, 6), NULL) == NULL);
    json_free(v);
    /* keys containing NUL are addressable by length */
    v = parse("{\"k\\u0000x\": 1, \"k\": 2}");
    REQUIRE(v != NULL);
    int64_t i = 0;
    EXPECT(json_int(json_get_n(v, "k\0x", 3), &i) == 0 && i == 1);
    EXPECT(json_int(json_get(v, "k"), &i) == 0 && i == 2);
    json_free(v);
}

TEST(json_rejects_non_rfc_input) {
    FAILS("", "expected a value, found end of input");
    FAILS("   ", "end of input");
    FAILS("01", "leading zero");
    FAILS("-01", "leading zero");
    FAILS("[1,]", "trailing comma in array");
    FAILS("{\"a\":1,}", "trailing comma in object");
    FAILS("[1 2]", "expected ',' or ']'");
    FAILS("{\"a\" 1}", "expected ':'");
    FAILS("{a:1}", "expected a string key");
    FAILS("{\"a\":1 \"b\":2}", "expected ',' or '}'");
    FAILS("// c\n1", "expected a value");
    FAILS("[1 /* c */]", "expected ',' or ']'");
    FAILS("NaN", "expected a value");
    FAILS("Infinity", "expected a value");
    FAILS("-Infinity", "expected a digit");
    FAILS(".5", "expected a value");
    FAILS("+1", "expected a value");
    FAILS("1.", "expected a digit after '.'");
    FAILS("1.e5", "expected a digit after '.'");
    FAILS("1e", "expected a digit in exponent");
    FAILS("1e+", "expected a digit in exponent");
    FAILS("-", "expected a digit");
    FAILS("1e400", "out of range");
    FAILS("tru", "expected a value");
    FAILS("nulll", "unexpected 'l' after the JSON value");
    FAILS("1 2", "unexpected '2'");
    FAILS("\xef\xbb\xbf{}", "byte 0xEF"); /* no BOM */
    FAILS("[", "end of input");
    FAILS("{", "expected a string key");
    FAILS("{\"a\":1, \"a\":2}", "duplicate key \"a\"");
    FAILS("{\"a\":{}, \"b\":1, \"a\":[]}", "duplicate key \"a\"");
}

TEST(json_rejects_bad_strings) {
    FAILS("\"abc", "unterminated string");
    FAILS("\"abc\\", "unterminated string");
    FAILS("\"a\tb\"", "control character 0x09");
    FAILS("\"a\nb\"", "control character 0x0A");
    FAILS("\"\\x41\"", "invalid escape \\x");
    FAILS("\"\\'\"", "invalid escape \\'");
    FAILS("\"\\u12\"", "4 hex digits");
    FAILS("\"\\u12g4\"", "4 hex digits");
    FAILS("\"\\ud800\"", "lone high surrogate");
    FAILS("\"\\ud800\\u0041\"", "lone high surrogate");
    FAILS("\"\\ud800x\"", "lone high surrogate");
    FAILS("\"\\udc00\"", "lone low surrogate");
    FAILS("\"\\ude00\\ud83d\"", "lone low surrogate"); /* reversed pair */
    FAILS("\"\xc0\x80\"", "invalid UTF-8 byte 0xC0");         /* overlong NUL */
    FAILS("\"\xe0\x80\xaf\"", "invalid UTF-8 byte 0xE0");     /* overlong '/' */
    FAILS("\"\xed\xa0\x80\"", "invalid UTF-8 byte 0xED");     /* encoded surrogate U+D800 */
    FAILS("\"\xf4\x90\x80\x80\"", "invalid UTF-8 byte 0xF4"); /* U+110000 */
    FAILS("\"\xf5\x80\x80\x80\"", "invalid UTF-8 byte 0xF5");
    FAILS("\"\x80\"", "invalid UTF-8 byte 0x80");             /* lone continuation */
    FAILS("\"\xc3\"", "invalid UTF-8 byte 0xC3");             /* truncated sequence */
    FAILS("\"\xe2\x82\"", "invalid UTF-8 byte 0xE2");
    FAILS("\"\xff\"", "invalid UTF-8 byte 0xFF");
}

TEST(json_errors_give_line_and_column) {
    /* "  \"b\" 2": the '2' is byte 7 of line 3. */
    EXPECT(fails_with("{\n  \"a\": 1,\n  \"b\" 2\n}", 20, "line 3, column 7: expected ':'"));
    EXPECT(fails_with("[1,\n\n   x]", 10, "line 3, column 4: expected a value"));
    EXPECT(fails_with("{\"a\":1,\n \"a\":2}", 15, "line 2, column 2: duplicate key"));
}

TEST(json_depth_limit) {
    size_t n = 2 * JSON_MAX_DEPTH + 2;
    char *s = xmalloc(n);
    /* exactly JSON_MAX_DEPTH nested arrays parse */
    memset(s, '[', JSON_MAX_DEPTH);
    memset(s + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
    json_value *v = json_parse(s, 2 * JSON_MAX_DEPTH);
    EXPECT(v != NULL);
    json_free(v);
    /* one more does not */
    memset(s, '[', JSON_MAX_DEPTH + 1);
    memset(s + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
    EXPECT(fails_with(s, 2 * JSON_MAX_DEPTH + 2, "nesting deeper than"));
    /* a deep unterminated input fails cleanly too */
    memset(s, '{', n);
    EXPECT(fails_with(s, n, "line 1"));
    free(s);
}

TEST(json_parses_without_nul_terminator) {
    /* The parser must honour n: the byte after the range is not part of it. */
    const char s[] = "[12]5";
    json_value *v = json_parse(s, 4);
    EXPECT(v && json_len(v) == 1);
    json_free(v);
    v = json_parse("12345", 2);
    int64_t i = 0;
    EXPECT(v && json_int(v, &i) == 0 && i == 12);
    json_free(v);
}

/* ---- writer ---------------------------------------------------------------- */

TEST(json_writer_matches_python_indent2) {
    /* Python: json.dumps({'b':[1,2,{}],'a':{'x':None,'y':True,'z':[]},'s':'q"\\/\n'}, indent=2) */
    const char *want = "{\n  \"b\": [\n    1,\n    2,\n    {}\n  ],\n  \"a\": {\n    \"x\": null,\n"
                       "    \"y\": true,\n    \"z\": []\n  },\n  \"s\": \"q\\\"\\\\/\\n\"\n}";
    json_w w;
    json_w_init(&w, 2, JSON_W_ASCII);
    json_w_begin_object(&w);
    json_w_key(&w, "b");
    json_w_begin_array(&w);
    json_w_int(&w, 1);
    json_w_int(&w, 2);
    json_w_begin_object(&w);
    json_w_end_object(&w);
    json_w_end_array(&w);
    json_w_key(&w, "a");
    json_w_begin_object(&w);
    json_w_key(&w, "x");
    json_w_null(&w);
    json_w_key(&w, "y");
    json_w_bool(&w, 1);
    json_w_key(&w, "z");
    json_w_begin_array(&w);
    json_w_end_array(&w);
    json_w_end_object(&w);
    json_w_key(&w, "s");
    json_w_string(&w, "q\"\\/\n");
    json_w_end_object(&w);
    size_t n = 0;
    const char *got = json_w_finish(&w, &n);
    EXPECT_STR_EQ(got, want);
    EXPECT_EQ_INT(n, strlen(want));
    json_w_free(&w);
}

TEST(json_writer_compact_and_escapes) {
    json_w w;
    /* serde_json style: no spaces, non-ASCII raw, controls as \u00xx lowercase */
    json_w_init(&w, 0, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "\xc3\xa9");
    json_w_begin_array(&w);
    json_w_string_n(&w, "\x01\x1f\x7f\t", 4);
    json_w_uint(&w, UINT64_MAX);
    json_w_int(&w, INT64_MIN);
    json_w_end_array(&w);
    json_w_end_object(&w);
    EXPECT_STR_EQ(json_w_finish(&w, NULL), "{\"\xc3\xa9\":[\"\\u0001\\u001f\x7f\\t\",18446744073709551615,"
                                           "-9223372036854775808]}");
    json_w_free(&w);
    /* Python json.dumps('é😀\x01\x7f\t') == "\u00e9\ud83d\ude00\u0001\u007f\t" */
    json_w_init(&w, 0, JSON_W_ASCII);
    json_w_string(&w, "\xc3\xa9\xf0\x9f\x98\x80\x01\x7f\t");
    EXPECT_STR_EQ(json_w_finish(&w, NULL), "\"\\u00e9\\ud83d\\ude00\\u0001\\u007f\\t\"");
    json_w_free(&w);
}

TEST(json_writer_doubles_like_python_repr) {
    /* Pairs (value, Python repr / json.dumps text). */
    static const struct { double v; const char *want; } cases[] = {
        {0.1, "0.1"}, {0.02, "0.02"}, {1e-12, "1e-12"}, {100.0, "100.0"}, {1e16, "1e+16"},
        {1e15, "1000000000000000.0"}, {-0.0, "-0.0"}, {0.0, "0.0"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.1 + 0.2, "0.30000000000000004"},
        {123456.789, "123456.789"}, {1e-5, "1e-05"}, {0.0001, "0.0001"}, {2.5e-7, "2.5e-07"},
        {1.0 / 3.0, "0.3333333333333333"}, {-3.0, "-3.0"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char buf[48];
        EXPECT(json_format_double(buf, sizeof buf, cases[k].v) == 0);
        EXPECT_STR_EQ(buf, cases[k].want);
        EXPECT(strtod(buf, NULL) == cases[k].v);
    }
    char buf[48];
    EXPECT(json_format_double(buf, sizeof buf, NAN) == -1);
    EXPECT(json_format_double(buf, sizeof buf, -INFINITY) == -1);
}

TEST(json_writer_rejects_misuse) {
    json_w w;
    json_w_init(&w, 2, 0);
    json_w_begin_object(&w);
    json_w_int(&w, 1); /* value without a key */
    json_w_end_object(&w);
    EXPECT(json_w_finish(&w, NULL) == NULL);
    json_w_free(&w);

    json_w_init(&w, 0, 0);
    json_w_begin_array(&w);
    EXPECT(json_w_finish(&w, NULL) == NULL); /* unclosed */
    EXPECT(strstr(err_msg(), "incomplete") != NULL);
    json_w_free(&w);

    json_w_init(&w, 0, 0);
    json_w_begin_array(&w);
    json_w_double(&w, NAN);
    json_w_end_array(&w);
    EXPECT(json_w_finish(&w, NULL) == NULL);
    json_w_free(&w);

    json_w_init(&w, 0, 0);
    json_w_string(&w, "\xc3"); /* invalid UTF-8 */
    EXPECT(json_w_finish(&w, NULL) == NULL);
    json_w_free(&w);

    json_w_init(&w, 0, 0);
    json_w_begin_array(&w);
    json_w_end_object(&w); /* mismatched */
    EXPECT(json_w_finish(&w, NULL) == NULL);
    json_w_free(&w);
}

TEST(json_writer_output_parses_back) {
    json_w w;
    json_w_init(&w, 4, JSON_W_ASCII);
    json_w_begin_object(&w);
    json_w_key(&w, "eps");
    json_w_double(&w, 1e-12);
    json_w_key(&w, "name\xe2\x82\xac");
    json_w_string_n(&w, "a\0b", 3);
    json_w_key(&w, "n");
    json_w_int(&w, -7);
    json_w_end_object(&w);
    size_t n = 0;
    const char *s = json_w_finish(&w, &n);
    REQUIRE(s != NULL);
    json_value *v = json_parse(s, n);
    REQUIRE(v != NULL);
    double d = 0;
    int64_t i = 0;
    size_t sl = 0;
    EXPECT(json_number(json_get(v, "eps"), &d) == 0 && d == 1e-12);
    const char *str = json_str(json_get(v, "name\xe2\x82\xac"), &sl);
    EXPECT(str && sl == 3 && memcmp(str, "a\0b", 3) == 0);
    EXPECT(json_int(json_get(v, "n"), &i) == 0 && i == -7);
    json_free(v);
    json_w_free(&w);
}

TEST(json_parse_file_names_the_path) {
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", test_tmpdir());
    FILE *fp = fopen(path, "w");
    REQUIRE(fp != NULL);
    fputs("{\n  \"hidden_size\": 768,\n  \"x\": [1,]\n}\n", fp);
    fclose(fp);
    EXPECT(json_parse_file(path) == NULL);
    EXPECT(strstr(err_msg(), "config.json: line 3, column 11: trailing comma in array") != NULL);
    fp = fopen(path, "w");
    REQUIRE(fp != NULL);
    fputs("{\"hidden_size\": 768}", fp);
    fclose(fp);
    json_value *v = json_parse_file(path);
    int64_t i = 0;
    EXPECT(v && json_int(json_get(v, "hidden_size"), &i) == 0 && i == 768);
    json_free(v);
    EXPECT(json_parse_file("/nonexistent/c.json") == NULL && strstr(err_msg(), "/nonexistent/c.json"));
}
