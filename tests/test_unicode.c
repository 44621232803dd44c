/* test_unicode.c — the generated character tables against the counts of spec
 * tokenizer.md §2.2 (measured there with tokenizers 0.23.2), UTF-8 decoding,
 * and the normalizer / pre-tokenizer on hand-checked inputs. */
#include <stdlib.h>
#include <string.h>

#include "../src/text/normalize.h"
#include "../src/text/unicode.h"
#include "../src/text/utf8.h"
#include "test.h"

TEST(unicode_class_counts_match_spec) {
    long removed = 0, space = 0, punct = 0, strip_changed = 0, strip_deleted = 0, lower = 0, lower_multi = 0;
    long cjk = 0;
    for (uint32_t c = 0; c < UNI_MAX_CP; c++) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        uint8_t k = uni_class(c);
        removed += !!(k & UNI_REMOVED);
        space += !!(k & UNI_SPACE);
        punct += !!(k & UNI_PUNCT);
        cjk += !!(k & UNI_CJK);
        uint32_t out[UNI_MAX_MAP];
        int n = uni_strip(c, out);
        if (n != 1 || out[0] != c) strip_changed++;
        if (n == 0) strip_deleted++;
        n = uni_lower(c, out);
        if (n != 1 || out[0] != c) lower++;
        if (n > 1) lower_multi++;
    }
    EXPECT_EQ_INT(removed, 137681);
    EXPECT_EQ_INT(space, 22);
    EXPECT_EQ_INT(punct, 726);
    EXPECT_EQ_INT(strip_changed, 14781);
    EXPECT_EQ_INT(strip_deleted, 1567);
    EXPECT_EQ_INT(lower, 1488);
    EXPECT_EQ_INT(lower_multi, 1);
    /* the 8 CJK ranges of §2.2 step 2 */
    long want_cjk = (0x9FFF - 0x4E00 + 1) + (0x4DBF - 0x3400 + 1) + (0x2A6DF - 0x20000 + 1) +
                    (0x2B73F - 0x2A700 + 1) + (0x2B81F - 0x2B740 + 1) + (0x2CEAF - 0x2B920 + 1) +
                    (0xFAFF - 0xF900 + 1) + (0x2FA1F - 0x2F800 + 1);
    EXPECT_EQ_INT(cjk, want_cjk);
    EXPECT(!(uni_class(0x2B820) & UNI_CJK));
    EXPECT(uni_class(0x2B920) & UNI_CJK);
}

TEST(unicode_spec_examples) {
    /* §2.2: VT, FF, U+001C–1F, U+0085 are control (dropped), not whitespace */
    EXPECT(uni_class(0x0B) & UNI_REMOVED);
    EXPECT(uni_class(0x85) & UNI_REMOVED);
    EXPECT(uni_class(0x1F) & UNI_REMOVED);
    EXPECT(uni_class(0x2028) & UNI_SPACE);
    EXPECT(!(uni_class(0x0378) & UNI_REMOVED)); /* unassigned is not control */
    /* Unicode 8.0 category tables: U+2E42 is punctuation, U+2E43 (9.0) is not */
    EXPECT(uni_class(0x2E42) & UNI_PUNCT);
    EXPECT(!(uni_class(0x2E43) & UNI_PUNCT));
    EXPECT(uni_class(0x111C9) & UNI_PUNCT);
    EXPECT(!(uni_class(0x20AC) & UNI_PUNCT)); /* € is Sc: not split */
    uint32_t out[UNI_MAX_MAP];
    EXPECT_EQ_INT(uni_strip(0xAC00, out), 2); /* Hangul → conjoining jamo */
    EXPECT_EQ_INT(out[0], 0x1100);
    EXPECT_EQ_INT(out[1], 0x1161);
    EXPECT_EQ_INT(uni_strip(0x00E9, out), 1); /* é → e */
    EXPECT_EQ_INT(out[0], 'e');
    EXPECT_EQ_INT(uni_strip(0xFB01, out), 1); /* ﬁ: no compatibility decomposition */
    EXPECT_EQ_INT(out[0], 0xFB01);
    EXPECT_EQ_INT(uni_lower(0x0130, out), 2); /* İ → i U+0307 */
    EXPECT_EQ_INT(out[0], 'i');
    EXPECT_EQ_INT(out[1], 0x0307);
    EXPECT_EQ_INT(uni_lower(0x03A3, out), 1); /* Σ → σ, no final-sigma rule */
    EXPECT_EQ_INT(out[0], 0x03C3);
}

TEST(utf8_decode_invalid_maximal_subparts) {
    uint32_t cp;
    /* Unicode §3.9 table 3-8: "61 F1 80 80 E1 80 C2 62 80 63 80 BF 64" →
       a FFFD FFFD FFFD b FFFD c FFFD FFFD d */
    const uint8_t s[] = {0x61, 0xF1, 0x80, 0x80, 0xE1, 0x80, 0xC2, 0x62, 0x80, 0x63, 0x80, 0xBF, 0x64};
    const uint32_t want[] = {0x61, 0xFFFD, 0xFFFD, 0xFFFD, 0x62, 0xFFFD, 0x63, 0xFFFD, 0xFFFD, 0x64};
    size_t i = 0, k = 0;
    while (i < sizeof s) {
        i += utf8_decode(s + i, sizeof s - i, &cp);
        REQUIRE(k < 10);
        EXPECT_EQ_INT(cp, want[k]);
        k++;
    }
    EXPECT_EQ_INT(k, 10);
    const uint8_t sur[] = {0xED, 0xA0, 0x80}; /* a surrogate: 3 × FFFD */
    EXPECT_EQ_INT(utf8_decode(sur, 3, &cp), 1);
    EXPECT_EQ_INT(cp, 0xFFFD);
    const uint8_t four[] = {0xF0, 0x9F, 0x99, 0x82}; /* U+1F642 */
    EXPECT_EQ_INT(utf8_decode(four, 4, &cp), 4);
    EXPECT_EQ_INT(cp, 0x1F642);
    uint8_t buf[4];
    EXPECT_EQ_INT(utf8_encode(0x1F642, buf), 4);
    EXPECT(!memcmp(buf, four, 4));
    EXPECT(utf8_valid((const uint8_t *)"h\xc3\xa9llo \xef\xbf\xbd", 10));
    EXPECT(!utf8_valid(s, sizeof s));
}

typedef struct { char buf[512]; size_t len; } joined;
static void join_word(void *ud, const char *w, size_t n) {
    joined *j = ud;
    if (j->len + n + 2 >= sizeof j->buf) return;
    if (j->len) j->buf[j->len++] = '|';
    memcpy(j->buf + j->len, w, n);
    j->len += n;
    j->buf[j->len] = 0;
}
static const char *words_of(const norm_config *c, const char *s) {
    static joined j;
    j.len = 0;
    j.buf[0] = 0;
    text_words(c, s, strlen(s), join_word, &j);
    return j.buf;
}

TEST(normalize_words_spec_examples) {
    norm_config c;
    norm_config_default(&c);
    EXPECT_STR_EQ(words_of(&c, "Hello, world!"), "hello|,|world|!");
    EXPECT_STR_EQ(words_of(&c, "H\xc3\xa9llo WORLD na\xc3\xafve caf\xc3\xa9"), "hello|world|naive|cafe");
    EXPECT_STR_EQ(words_of(&c, "\xce\x9f\xce\x94\xce\x9f\xce\xa3"), "\xce\xbf\xce\xb4\xce\xbf\xcf\x83"); /* οδοσ */
    EXPECT_STR_EQ(words_of(&c, "\xe9\x87\x8e\xe5\x8f\xa3 \xe6\x9d\xb1"), "\xe9\x87\x8e|\xe5\x8f\xa3|\xe6\x9d\xb1");
    EXPECT_STR_EQ(words_of(&c, "a\xe2\x80\x8b" "b a\x01" "b a\xef\xbf\xbd" "b"), "ab|ab|ab");
    EXPECT_STR_EQ(words_of(&c, "a\xe2\x80\xa8" "b"), "a|b");
    EXPECT_STR_EQ(words_of(&c, "\xc4\xb0stanbul"), "istanbul");
    EXPECT_STR_EQ(words_of(&c, "don't stop-believing!!!"), "don|'|t|stop|-|believing|!|!|!");
    EXPECT_STR_EQ(words_of(&c, "5\xe2\x82\xac \xc2\xb0" "C"), "5\xe2\x82\xac|\xc2\xb0" "c");
    EXPECT_STR_EQ(words_of(&c, "e\xcc\x81"), "e");
    EXPECT_STR_EQ(words_of(&c, "\t tab\ttab\nnew\rline  "), "tab|tab|new|line");
    EXPECT_STR_EQ(words_of(&c, "\xcd\xbe" "x"), ";|x"); /* U+037E → ';' then split */
    EXPECT_STR_EQ(words_of(&c, ""), "");
    /* invalid UTF-8 reads as U+FFFD, which clean_text drops */
    EXPECT_STR_EQ(words_of(&c, "a\xff" "b"), "ab");
    /* canonical reordering of marks that survive stripping (UnicodeData ccc:
       U+1D165 216, U+1D16D 226; U+034F CGJ is Mn with ccc 0, U+0301 Mn 230) */
    EXPECT_STR_EQ(words_of(&c, "a\xf0\x9d\x85\xad\xf0\x9d\x85\xa5"), "a\xf0\x9d\x85\xa5\xf0\x9d\x85\xad");
    /* a deleted ccc-0 mark ends the run: no reordering across it */
    EXPECT_STR_EQ(words_of(&c, "a\xf0\x9d\x85\xad\xcd\x8f\xf0\x9d\x85\xa5"), "a\xf0\x9d\x85\xad\xf0\x9d\x85\xa5");
    /* a deleted mark with a class does not; a removed control (U+200D) is gone before NFD */
    EXPECT_STR_EQ(words_of(&c, "a\xf0\x9d\x85\xad\xcc\x81\xf0\x9d\x85\xa5"), "a\xf0\x9d\x85\xa5\xf0\x9d\x85\xad");
    EXPECT_STR_EQ(words_of(&c, "a\xf0\x9d\x85\xad\xe2\x80\x8d\xf0\x9d\x85\xa5"), "a\xf0\x9d\x85\xa5\xf0\x9d\x85\xad");
    /* cased, no accent stripping */
    norm_config cased = {1, 1, -1, 0};
    EXPECT_STR_EQ(words_of(&cased, "H\xc3\xa9llo"), "H\xc3\xa9llo");
    /* clean_text off: controls stay inside the word, U+2028 still splits (is_whitespace) */
    norm_config raw = {0, 0, 0, 0};
    EXPECT_STR_EQ(words_of(&raw, "a\x01" "b c\xe2\x80\xa8" "d"), "a\x01" "b|c|d");
}
