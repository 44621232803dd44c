/* test_safetensors.c — src/io/safetensors.c and src/core/bf16.h.
 *
 * Independent references: the layout rules and dtype table of formats.md §1
 * (expected headers below are written out by hand), IEEE bit patterns worked
 * out by hand, GCC's own _Float16 conversion (when the compiler has it), and
 * files written by Python safetensors 0.8.0 (tests/fixtures/safetensors/py_*,
 * made by tools/ref/safetensors_roundtrip.py).
 *
 * Shared value formula (also in tools/ref/safetensors_roundtrip.py): element i
 * of a tensor, by dtype —
 *   F16/BF16/F32/F64: ((7i mod 19) - 9) / 4        (exact in every float type)
 *   I8: (7i mod 19) - 9   I16: (i-3)·1009   I32: (i-3)·100003   I64: (i-3)·1000000000007
 *   U8: 37i mod 2^8   U16: 4099i mod 2^16   U32: 2654435761i mod 2^32
 *   U64: 11400714819323198485i mod 2^64   BOOL: i mod 3 == 0
 *   other dtypes (F8_*, F4, F6_*, C64): byte j of the buffer = (37j + 11) mod 2^8
 * BERTC_ST_OUT=dir makes safetensors_export_for_python keep its files in dir.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../src/core/bf16.h"
#include "../src/core/err.h"
#include "../src/io/file.h"
#include "../src/io/safetensors.h"
#include "test.h"

/* ---- bf16 / f16 ------------------------------------------------------------------ */

TEST(bf16_conversions_by_hand) {
    EXPECT_EQ_INT(bf16_from_f32(1.0f), 0x3F80);
    EXPECT_EQ_INT(bf16_from_f32(-2.0f), 0xC000);
    EXPECT_EQ_INT(bf16_from_f32(1.5f), 0x3FC0);
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0x3F808000)), 0x3F80); /* tie, even stays */
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0x3F818000)), 0x3F82); /* tie, odd rounds up */
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0x3F808001)), 0x3F81); /* above the tie */
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0x7F7FFFFF)), 0x7F80); /* FLT_MAX → +Inf */
    EXPECT_EQ_INT(bf16_from_f32(-INFINITY), 0xFF80);
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0x7F800001)), 0x7FC0); /* sNaN → quiet NaN */
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0xFFC12345)), 0xFFC1); /* NaN keeps sign */
    EXPECT_EQ_INT(bf16_from_f32(f32_from_bits(0x00018000)), 0x0002); /* subnormal tie → even */
    EXPECT(bf16_to_f32(0xC049) == -3.140625f);
    EXPECT(bf16_to_f32(0x0001) == f32_from_bits(0x00010000));
}

/* Reference rounding: nearest of the two bf16 neighbours, compared in double. */
static uint16_t bf16_ref(float f) {
    uint32_t u = f32_bits(f);
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
    double x = f, a = bf16_to_f32(lo), b;
    if ((lo & 0x7FFF) == 0x7F7F && f32_bits(bf16_to_f32(hi)) == (f32_bits(f) & 0x80000000u ? 0xFF800000u : 0x7F800000u))
        b = (u & 0x80000000u ? -1.0 : 1.0) * ldexp(1.0, 128); /* where the next step would be */
    else b = bf16_to_f32(hi);
    double da = fabs(x - a), db = fabs(b - x);
    if (da < db) return lo;
    if (db < da) return hi;
    return (lo & 1) ? hi : lo;
}

TEST(bf16_rounding_matches_reference_on_samples) {
    int bad = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 65521) { /* ~65k samples over all bit patterns */
        float f = f32_from_bits((uint32_t)u);
        if (isnan(f)) continue;
        if (bf16_from_f32(f) != bf16_ref(f) && bad++ < 5)
            fprintf(stderr, "    bf16 %08x: got %04x want %04x\n", (unsigned)u, bf16_from_f32(f), bf16_ref(f));
    }
    /* every tie and its neighbours, for all 65536 bf16 values */
    for (uint32_t h = 0; h < 65536; h++) {
        for (int d = -1; d <= 1; d++) {
            float f = f32_from_bits((h << 16) + 0x8000u + (uint32_t)d);
            if (isnan(f)) continue;
            if (bf16_from_f32(f) != bf16_ref(f) && bad++ < 5) fprintf(stderr, "    bf16 tie %04x%+d\n", h, d);
        }
    }
    EXPECT_EQ_INT(bad, 0);
}

TEST(f16_conversions_by_hand) {
    EXPECT(f16_to_f32(0x3C00) == 1.0f);
    EXPECT(f16_to_f32(0xC000) == -2.0f);
    EXPECT(f16_to_f32(0x7BFF) == 65504.0f);
    EXPECT(f16_to_f32(0x0001) == 5.9604644775390625e-8f); /* 2^-24 */
    EXPECT(f16_to_f32(0x03FF) == 6.0975551605224609e-5f); /* largest subnormal 1023·2^-24 */
    EXPECT(f16_to_f32(0x0400) == 6.103515625e-5f);        /* 2^-14 */
    EXPECT(isinf(f16_to_f32(0xFC00)) && f16_to_f32(0xFC00) < 0);
    EXPECT(isnan(f16_to_f32(0x7E00)));
    EXPECT(f32_bits(f16_to_f32(0x8000)) == 0x80000000u);
    EXPECT_EQ_INT(f16_from_f32(1.0f), 0x3C00);
    EXPECT_EQ_INT(f16_from_f32(65504.0f), 0x7BFF);
    EXPECT_EQ_INT(f16_from_f32(65519.99f), 0x7BFF);
    EXPECT_EQ_INT(f16_from_f32(65520.0f), 0x7C00); /* tie with odd mantissa → Inf */
    EXPECT_EQ_INT(f16_from_f32(1e-8f), 0x0000);    /* below half the smallest subnormal */
    EXPECT_EQ_INT(f16_from_f32(2.98023223876953125e-8f), 0x0000); /* exactly 2^-25: tie → even 0 */
    EXPECT_EQ_INT(f16_from_f32(2.9802326e-8f), 0x0001);           /* just above the tie */
    EXPECT_EQ_INT(f16_from_f32(8.940696716308594e-8f), 0x0002);   /* 1.5·2^-24: tie → even 2 */
    EXPECT_EQ_INT(f16_from_f32(-0.0f), 0x8000);
    EXPECT_EQ_INT(f16_from_f32(1.0009765625f), 0x3C01);           /* 1 + 2^-10 */
    EXPECT_EQ_INT(f16_from_f32(1.00048828125f), 0x3C00);          /* 1 + 2^-11: tie → even */
    EXPECT_EQ_INT(f16_from_f32(1.00146484375f), 0x3C02);          /* 1 + 3·2^-11: tie → even */
    EXPECT_EQ_INT(f16_from_f32(INFINITY), 0x7C00);
    EXPECT_EQ_INT(f16_from_f32(f32_from_bits(0x7F800001)) & 0x7E00, 0x7E00); /* quiet NaN */
}

TEST(f16_every_value_round_trips) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = f16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        if (f16_from_f32(f) != h && bad++ < 5) fprintf(stderr, "    f16 %04x does not round-trip\n", h);
    }
    EXPECT_EQ_INT(bad, 0);
}

#ifdef __FLT16_MAX__
/* GCC's _Float16 is an independent implementation of both conversions. */
TEST(f16_matches_compiler_float16) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        _Float16 x;
        uint16_t hb = (uint16_t)h;
        memcpy(&x, &hb, 2);
        float want = (float)x, got = f16_to_f32(hb);
        if (!(isnan(want) && isnan(got)) && f32_bits(want) != f32_bits(got) && bad++ < 5)
            fprintf(stderr, "    f16→f32 %04x\n", h);
    }
    for (uint64_t u = 0; u < (1ull << 32); u += 4099) { /* ~1M samples */
        float f = f32_from_bits((uint32_t)u);
        if (isnan(f)) continue;
        _Float16 x = (_Float16)f;
        uint16_t want;
        memcpy(&want, &x, 2);
        if (f16_from_f32(f) != want && bad++ < 5)
            fprintf(stderr, "    f32→f16 %08x: got %04x want %04x\n", (unsigned)u, f16_from_f32(f), want);
    }
    for (uint32_t h = 0; h < 0x7C00; h++) { /* ties and neighbours at every f16 step */
        float a = f16_to_f32((uint16_t)h), b = f16_to_f32((uint16_t)(h + 1));
        float mid = (float)(((double)a + (double)b) / 2);
        for (int d = -1; d <= 1; d++) {
            float f = f32_from_bits(f32_bits(mid) + (uint32_t)d);
            _Float16 x = (_Float16)f;
            uint16_t want;
            memcpy(&want, &x, 2);
            if (f16_from_f32(f) != want && bad++ < 5) fprintf(stderr, "    f16 tie %04x%+d\n", h, d);
        }
    }
    EXPECT_EQ_INT(bad, 0);
}
#endif

/* ---- dtypes ------------------------------------------------------------------- */

TEST(st_dtype_table_matches_spec) {
    /* formats.md §1.4, ascending enum order with bit sizes */
    static const char *names[] = {"BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3",
                                  "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16",
                                  "I32", "U32", "F32", "C64", "F64", "I64", "U64"};
    static const int bits[] = {8, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64};
    EXPECT_EQ_INT(ST_NUM_DTYPES, 22);
    for (int d = 0; d < 22; d++) {
        EXPECT_STR_EQ(st_dtype_name((st_dtype)d), names[d]);
        EXPECT_EQ_INT(st_dtype_bits((st_dtype)d), bits[d]);
        EXPECT_EQ_INT(st_dtype_from_name(names[d], strlen(names[d])), d);
    }
    EXPECT_EQ_INT(st_dtype_from_name("f32", 3), -1);
    EXPECT_EQ_INT(st_dtype_from_name("F3", 2), -1);
    EXPECT_EQ_INT(st_dtype_from_name("F32 ", 4), -1);
}

/* ---- shared value formula -------------------------------------------------------- */

static void fill_formula(st_dtype d, void *buf, size_t numel, size_t nbytes) {
    uint8_t *p = buf;
    for (size_t i = 0; i < numel; i++) {
        double fv = (double)((int64_t)((7 * i) % 19) - 9) / 4.0;
        int64_t s;
        uint64_t u;
        switch (d) {
        case ST_F32: { float v = (float)fv; memcpy(p + 4 * i, &v, 4); break; }
        case ST_F64: memcpy(p + 8 * i, &fv, 8); break;
        case ST_F16: { uint16_t v = f16_from_f32((float)fv); memcpy(p + 2 * i, &v, 2); break; }
        case ST_BF16: { uint16_t v = bf16_from_f32((float)fv); memcpy(p + 2 * i, &v, 2); break; }
        case ST_I8: p[i] = (uint8_t)(int8_t)((int)((7 * i) % 19) - 9); break;
        case ST_I16: { int16_t v = (int16_t)(((int64_t)i - 3) * 1009); memcpy(p + 2 * i, &v, 2); break; }
        case ST_I32: { int32_t v = (int32_t)(((int64_t)i - 3) * 100003); memcpy(p + 4 * i, &v, 4); break; }
        case ST_I64: s = ((int64_t)i - 3) * 1000000000007LL; memcpy(p + 8 * i, &s, 8); break;
        case ST_U8: p[i] = (uint8_t)(37 * i); break;
        case ST_U16: { uint16_t v = (uint16_t)(4099 * i); memcpy(p + 2 * i, &v, 2); break; }
        case ST_U32: { uint32_t v = (uint32_t)(2654435761u * (uint64_t)i); memcpy(p + 4 * i, &v, 4); break; }
        case ST_U64: u = 11400714819323198485ull * (uint64_t)i; memcpy(p + 8 * i, &u, 8); break;
        case ST_BOOL: p[i] = i % 3 == 0; break;
        default: break;
        }
    }
    if (d == ST_F4 || d == ST_F6_E2M3 || d == ST_F6_E3M2 || d == ST_C64 || (d >= ST_F8_E5M2 && d <= ST_F8_E5M2FNUZ))
        for (size_t j = 0; j < nbytes; j++) p[j] = (uint8_t)(37 * j + 11);
}

/* 1 if tensor t holds exactly the formula's bytes. */
static int holds_formula(const st_tensor *t) {
    uint8_t *want = xcalloc(t->nbytes + 1, 1);
    fill_formula(t->dtype, want, (size_t)t->numel, t->nbytes);
    int ok = t->nbytes == 0 || memcmp(want, t->data, t->nbytes) == 0;
    free(want);
    return ok;
}

/* ---- writer: exact layout --------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) { return (uint8_t *)file_read_all(path, n); }

TEST(st_write_exact_layout_by_hand) {
    /* Layout worked out from formats.md §1.3: dtype descending (I64 > F32 > BF16),
     * then name ascending ("aa" < "b"); compact JSON; __metadata__ first;
     * 250 JSON bytes padded with 6 spaces to N = 256. */
    const char *want_json =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        "\"aa\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
        "\"c\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[20,22]}}      ";
    const uint8_t want_data[22] = {
        7, 0, 0, 0, 0, 0, 0, 0,   /* a: int64 7 */
        0x00, 0x00, 0x00, 0x3F,   /* aa: 0.5f */
        0x00, 0x00, 0x80, 0x3F,   /* b: 1.0f */
        0x00, 0x00, 0x00, 0xC0,   /* b: -2.0f */
        0xC0, 0x3F,               /* c: bf16 1.5 = 0x3FC0 */
    };
    EXPECT_EQ_INT(strlen(want_json), 256);
    int64_t a = 7;
    float aa = 0.5f, b[2] = {1.0f, -2.0f};
    uint16_t c = 0x3FC0;
    int64_t s1[1] = {1}, s2[1] = {2};
    st_entry e[4] = {
        {.name = "c", .dtype = ST_BF16, .ndim = 0, .data = &c},
        {.name = "b", .dtype = ST_F32, .ndim = 1, .shape = s2, .data = b},
        {.name = "aa", .dtype = ST_F32, .ndim = 1, .shape = s1, .data = &aa},
        {.name = "a", .dtype = ST_I64, .ndim = 1, .shape = s1, .data = &a},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/x.safetensors", test_tmpdir());
    REQUIRE(st_write(path, e, 4, NULL, 0) == 0);
    size_t n = 0;
    uint8_t *got = slurp(path, &n);
    REQUIRE(got != NULL);
    EXPECT_EQ_INT(n, 8 + 256 + 22);
    const uint8_t want_len[8] = {0x00, 0x01, 0, 0, 0, 0, 0, 0}; /* 256 little-endian */
    EXPECT(n >= 8 && memcmp(got, want_len, 8) == 0);
    EXPECT(n >= 264 && memcmp(got + 8, want_json, 256) == 0);
    EXPECT(n == 286 && memcmp(got + 264, want_data, 22) == 0);
    if (n >= 264 && memcmp(got + 8, want_json, 256) != 0) fprintf(stderr, "    got header: %.256s\n", got + 8);
    free(got);

    /* st_build_header gives the same bytes */
    size_t hl = 0;
    uint8_t *h = st_build_header(e, 4, NULL, 0, &hl);
    REQUIRE(h != NULL);
    EXPECT(hl == 264 && memcmp(h + 8, want_json, 256) == 0);
    free(h);

    /* and the reader agrees */
    st_file *f = st_open(path);
    REQUIRE(f != NULL);
    EXPECT_EQ_INT(st_count(f), 4);
    EXPECT_EQ_INT(st_header_size(f), 256);
    EXPECT_STR_EQ(st_metadata_get(f, "format"), "pt");
    EXPECT_STR_EQ(st_tensor_at(f, 0)->name, "a");
    EXPECT_STR_EQ(st_tensor_at(f, 3)->name, "c");
    const st_tensor *t = st_find(f, "c");
    REQUIRE(t != NULL);
    EXPECT(t->ndim == 0 && t->numel == 1 && t->nbytes == 2);
    float v = 0;
    EXPECT(st_read_f32(t, &v, 1) == 0 && v == 1.5f);
    EXPECT(st_find(f, "nope") == NULL);
    st_close(f);
}

TEST(st_write_metadata_and_padding) {
    /* Extra metadata after "format"; a caller's "format" replaces "pt". With no
     * tensors: {"__metadata__":{"format":"np","k":"v"}} is 40 bytes: no padding. */
    st_meta m[2] = {{"k", "v"}, {"format", "np"}};
    size_t hl = 0;
    uint8_t *h = st_build_header(NULL, 0, m, 2, &hl);
    REQUIRE(h != NULL);
    EXPECT_EQ_INT(hl, 8 + 40);
    EXPECT(hl == 48 && memcmp(h + 8, "{\"__metadata__\":{\"format\":\"np\",\"k\":\"v\"}}", 40) == 0);
    EXPECT_EQ_INT(h[0], 40);
    free(h);
    /* {"__metadata__":{"format":"pt"}} is 32 bytes; a 1-byte key name adds padding */
    h = st_build_header(NULL, 0, NULL, 0, &hl);
    REQUIRE(h != NULL);
    EXPECT(hl == 40 && memcmp(h + 8, "{\"__metadata__\":{\"format\":\"pt\"}}", 32) == 0);
    free(h);
    /* non-ASCII and a quote in a name: serde_json writes UTF-8 raw, escapes '"' */
    int64_t s[1] = {0};
    st_entry e = {.name = "\xc3\xa9\"xyz", .dtype = ST_U8, .ndim = 1, .shape = s};
    h = st_build_header(&e, 1, NULL, 0, &hl);
    REQUIRE(h != NULL);
    const char *want = "{\"__metadata__\":{\"format\":\"pt\"},\"\xc3\xa9\\\"xyz\":{\"dtype\":\"U8\",\"shape\":[0],"
                       "\"data_offsets\":[0,0]}}";
    size_t wl = strlen(want); /* 90 → padded to 96 */
    EXPECT_EQ_INT(hl, 8 + 96);
    EXPECT(hl == 104 && memcmp(h + 8, want, wl) == 0 && h[8 + wl] == ' ' && h[103] == ' ');
    free(h);
}

TEST(st_roundtrip_every_dtype) {
    /* one tensor per dtype, shapes chosen so sub-byte types fill whole bytes */
    st_entry e[ST_NUM_DTYPES];
    int64_t shapes[ST_NUM_DTYPES][2];
    void *bufs[ST_NUM_DTYPES];
    char names[ST_NUM_DTYPES][32];
    for (int d = 0; d < ST_NUM_DTYPES; d++) {
        shapes[d][0] = 3;
        shapes[d][1] = 4 + d % 3; /* 12, 15 or 18 elements */
        if (d == ST_F4 || d == ST_F6_E2M3 || d == ST_F6_E3M2) shapes[d][1] = 4; /* 12 × 4 or 6 bits */
        size_t numel = (size_t)(shapes[d][0] * shapes[d][1]);
        size_t nbytes = numel * (size_t)st_dtype_bits((st_dtype)d) / 8;
        bufs[d] = xcalloc(nbytes, 1);
        fill_formula((st_dtype)d, bufs[d], numel, nbytes);
        snprintf(names[d], sizeof names[d], "t.%s", st_dtype_name((st_dtype)d));
        e[d] = (st_entry){.name = names[d], .dtype = (st_dtype)d, .ndim = 2, .shape = shapes[d], .data = bufs[d]};
    }
    char path[512];
    snprintf(path, sizeof path, "%s/all.safetensors", test_tmpdir());
    REQUIRE(st_write(path, e, ST_NUM_DTYPES, NULL, 0) == 0);
    st_file *f = st_open(path);
    REQUIRE(f != NULL);
    EXPECT_EQ_INT(st_count(f), ST_NUM_DTYPES);
    for (int d = 0; d < ST_NUM_DTYPES; d++) {
        const st_tensor *t = st_find(f, names[d]);
        EXPECT_MSG(t != NULL, "%s", names[d]);
        if (!t) continue;
        EXPECT_EQ_INT(t->dtype, d);
        EXPECT(t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == shapes[d][1]);
        EXPECT_MSG(holds_formula(t), "%s data", names[d]);
        EXPECT_MSG(memcmp(t->data, bufs[d], t->nbytes) == 0, "%s bytes", names[d]);
        /* layout: widest dtype first (U64 is last in the enum) */
        EXPECT_EQ_INT(st_tensor_at(f, (size_t)(ST_NUM_DTYPES - 1 - d))->dtype, d);
    }
    /* every tensor is naturally aligned in the file (header is 8-aligned, wide types first) */
    for (size_t i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_tensor_at(f, i);
        int align = st_dtype_bits(t->dtype) >= 8 ? st_dtype_bits(t->dtype) / 8 : 1;
        EXPECT_MSG(((uintptr_t)t->data) % (uintptr_t)align == 0, "%s aligned", t->name);
    }
    st_close(f);
    for (int d = 0; d < ST_NUM_DTYPES; d++) free(bufs[d]);
}

TEST(st_read_conversions) {
    /* bit patterns by hand */
    uint16_t h16[4] = {0x3C00, 0xC000, 0x7BFF, 0x0001};     /* 1, -2, 65504, 2^-24 */
    uint16_t hb16[3] = {0x3F80, 0xC049, 0x0000};            /* 1, -3.140625, 0 */
    int32_t i32[3] = {-5, 0, 2147483647};
    int64_t i64[2] = {-9223372036854775807LL - 1, 42};
    uint8_t u8[2] = {0, 255};
    uint16_t u16[2] = {65535, 1};
    uint64_t u64[2] = {18446744073709551615ull, 3};
    double f64[2] = {0.1, -1e300};
    int64_t s4[1] = {4}, s3[1] = {3}, s2[1] = {2};
    st_entry e[] = {
        {.name = "f16", .dtype = ST_F16, .ndim = 1, .shape = s4, .data = h16},
        {.name = "bf16", .dtype = ST_BF16, .ndim = 1, .shape = s3, .data = hb16},
        {.name = "i32", .dtype = ST_I32, .ndim = 1, .shape = s3, .data = i32},
        {.name = "i64", .dtype = ST_I64, .ndim = 1, .shape = s2, .data = i64},
        {.name = "u8", .dtype = ST_U8, .ndim = 1, .shape = s2, .data = u8},
        {.name = "u16", .dtype = ST_U16, .ndim = 1, .shape = s2, .data = u16},
        {.name = "u64", .dtype = ST_U64, .ndim = 1, .shape = s2, .data = u64},
        {.name = "f64", .dtype = ST_F64, .ndim = 1, .shape = s2, .data = f64},
        {.name = "f8", .dtype = ST_F8_E4M3, .ndim = 1, .shape = s2, .data = u8},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/c.safetensors", test_tmpdir());
    REQUIRE(st_write(path, e, sizeof e / sizeof e[0], NULL, 0) == 0);
    st_file *f = st_open(path);
    REQUIRE(f != NULL);
    float out[4];
    int64_t io[3];
    EXPECT(st_read_f32(st_find(f, "f16"), out, 4) == 0 && out[0] == 1.0f && out[1] == -2.0f && out[2] == 65504.0f &&
           out[3] == 5.9604644775390625e-8f);
    EXPECT(st_read_f32(st_find(f, "bf16"), out, 3) == 0 && out[0] == 1.0f && out[1] == -3.140625f && out[2] == 0.0f);
    EXPECT(st_read_f32(st_find(f, "f64"), out, 2) == 0 && out[0] == 0.1f && isinf(out[1]) && out[1] < 0);
    EXPECT(st_read_f32(st_find(f, "i32"), out, 3) == 0 && out[0] == -5.0f && out[2] == 2147483648.0f);
    EXPECT(st_read_i64(st_find(f, "i32"), io, 3) == 0 && io[0] == -5 && io[1] == 0 && io[2] == 2147483647);
    EXPECT(st_read_i64(st_find(f, "i64"), io, 2) == 0 && io[0] == INT64_MIN && io[1] == 42);
    EXPECT(st_read_i64(st_find(f, "u8"), io, 2) == 0 && io[0] == 0 && io[1] == 255);
    EXPECT(st_read_i64(st_find(f, "u16"), io, 2) == 0 && io[0] == 65535 && io[1] == 1);
    EXPECT(st_read_i64(st_find(f, "u64"), io, 2) == -1 && strstr(err_msg(), "does not fit"));
    EXPECT(st_read_i64(st_find(f, "f16"), io, 4) == -1 && strstr(err_msg(), "not an integer"));
    EXPECT(st_read_f32(st_find(f, "f8"), out, 2) == -1 && strstr(err_msg(), "F8_E4M3"));
    EXPECT(st_read_f32(st_find(f, "f16"), out, 3) == -1 && strstr(err_msg(), "asked for 3"));
    st_close(f);
}

/* ---- writer: streaming and errors ---------------------------------------------------- */

typedef struct { int calls; int fail_at; } fill_state;

static int fill_cb(void *ctx, void *buf, size_t off, size_t n) {
    fill_state *s = ctx;
    if (s->calls++ == s->fail_at) return err_set("source failed");
    for (size_t i = 0; i < n; i++) ((uint8_t *)buf)[i] = (uint8_t)((off + i) * 7);
    return 0;
}

TEST(st_write_streams_from_callback) {
    int64_t shape[1] = {(3 << 20) / 2 + 5}; /* 3 MiB + 10 bytes of F16: 4 chunks */
    fill_state s = {0, -1};
    st_entry e = {.name = "big", .dtype = ST_F16, .ndim = 1, .shape = shape, .fill = fill_cb, .fill_ctx = &s};
    char path[512];
    snprintf(path, sizeof path, "%s/s.safetensors", test_tmpdir());
    REQUIRE(st_write(path, &e, 1, NULL, 0) == 0);
    EXPECT_EQ_INT(s.calls, 4);
    st_file *f = st_open(path);
    REQUIRE(f != NULL);
    const st_tensor *t = st_find(f, "big");
    REQUIRE(t && t->nbytes == (3u << 20) + 10);
    int ok = 1;
    for (size_t i = 0; i < t->nbytes; i++) ok &= ((const uint8_t *)t->data)[i] == (uint8_t)(i * 7);
    EXPECT(ok);
    st_close(f);

    /* a failing source leaves neither the file nor a temporary */
    fill_state s2 = {0, 2};
    e.fill_ctx = &s2;
    char path2[512];
    snprintf(path2, sizeof path2, "%s/fail.safetensors", test_tmpdir());
    EXPECT(st_write(path2, &e, 1, NULL, 0) == -1);
    EXPECT(strstr(err_msg(), "source failed") && strstr(err_msg(), "big"));
    struct stat sb;
    EXPECT(stat(path2, &sb) != 0);
}

TEST(st_write_rejects_bad_input) {
    int64_t s1[1] = {1}, sneg[1] = {-1}, s3[1] = {3}, sbig[3] = {1LL << 40, 1LL << 40, 0};
    float x = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/bad.safetensors", test_tmpdir());
    st_entry dup[2] = {{.name = "w", .dtype = ST_F32, .ndim = 1, .shape = s1, .data = &x},
                       {.name = "w", .dtype = ST_I32, .ndim = 1, .shape = s1, .data = &x}};
    EXPECT(st_write(path, dup, 2, NULL, 0) == -1 && strstr(err_msg(), "duplicate tensor name \"w\""));
    st_entry neg = {.name = "n", .dtype = ST_F32, .ndim = 1, .shape = sneg, .data = &x};
    EXPECT(st_write(path, &neg, 1, NULL, 0) == -1 && strstr(err_msg(), "shape[0] < 0"));
    st_entry f4 = {.name = "q", .dtype = ST_F4, .ndim = 1, .shape = s3, .data = &x};
    EXPECT(st_write(path, &f4, 1, NULL, 0) == -1 && strstr(err_msg(), "whole number of bytes"));
    st_entry big = {.name = "big", .dtype = ST_F32, .ndim = 3, .shape = sbig, .data = &x};
    EXPECT(st_write(path, &big, 1, NULL, 0) == -1 && strstr(err_msg(), "overflows"));
    st_entry nodata = {.name = "nd", .dtype = ST_F32, .ndim = 1, .shape = s1};
    EXPECT(st_write(path, &nodata, 1, NULL, 0) == -1 && strstr(err_msg(), "no data"));
    st_entry meta_name = {.name = "__metadata__", .dtype = ST_F32, .ndim = 1, .shape = s1, .data = &x};
    EXPECT(st_write(path, &meta_name, 1, NULL, 0) == -1 && strstr(err_msg(), "reserved"));
    st_entry badutf = {.name = "\xff", .dtype = ST_F32, .ndim = 1, .shape = s1, .data = &x};
    EXPECT(st_write(path, &badutf, 1, NULL, 0) == -1 && strstr(err_msg(), "UTF-8"));
    st_meta m[2] = {{"a", "1"}, {"a", "2"}};
    EXPECT(st_write(path, NULL, 0, m, 2) == -1 && strstr(err_msg(), "duplicate metadata key"));
    struct stat sb;
    EXPECT(stat(path, &sb) != 0);
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.safetensors", test_tmpdir());
    EXPECT(st_write(nodir, &neg, 0, NULL, 0) == -1 && strstr(err_msg(), "no/such/dir"));
}

/* ---- reader: malformed files ---------------------------------------------------------- */

/* File image: 8-byte length of hdr (or len_override if ≥ 0), hdr, data bytes. */
static uint8_t *image(const char *hdr, size_t hdr_len, int64_t len_override, size_t data_len, size_t *n) {
    *n = 8 + hdr_len + data_len;
    uint8_t *b = xcalloc(*n, 1);
    uint64_t l = len_override >= 0 ? (uint64_t)len_override : hdr_len;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(l >> (8 * i));
    memcpy(b + 8, hdr, hdr_len);
    return b;
}

/* 1 if the image fails to open with every wanted substring in the message. */
static int rejects(const char *hdr, int64_t len_override, size_t data_len, const char *want1, const char *want2) {
    size_t n;
    uint8_t *b = image(hdr, strlen(hdr), len_override, data_len, &n);
    st_file *f = st_open_memory(b, n, "m.safetensors");
    int ok = f == NULL && strstr(err_msg(), "m.safetensors") && strstr(err_msg(), want1) &&
             (!want2 || strstr(err_msg(), want2));
    if (!ok) fprintf(stderr, "    header %s: %s\n", hdr, f ? "opened" : err_msg());
    st_close(f);
    free(b);
    return ok;
}

#define T1(name, dt, shape, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

TEST(st_reader_accepts_valid_variants) {
    /* key order irrelevant, no metadata, padding with spaces, trailing JSON whitespace */
    const char *h = "{" T1("b", "F32", "[1]", "[4,8]") "," T1("a", "F32", "[1]", "[0,4]") "}  \n ";
    size_t n;
    uint8_t *b = image(h, strlen(h), -1, 8, &n);
    st_file *f = st_open_memory(b, n, "m");
    REQUIRE(f != NULL);
    EXPECT_STR_EQ(st_tensor_at(f, 0)->name, "a");
    EXPECT_EQ_INT(st_metadata_count(f), 0);
    EXPECT(st_metadata_get(f, "format") == NULL);
    st_close(f);
    free(b);
    /* empty tensors (any zero dim), also with a huge other dim, and a scalar */
    h = "{\"__metadata__\":{\"x\":\"y\"}," T1("e", "F32", "[0,1000000000000]", "[0,0]") ","
        T1("s", "I64", "[]", "[0,8]") "," T1("f4", "F4", "[2]", "[8,9]") "}";
    b = image(h, strlen(h), -1, 9, &n);
    f = st_open_memory(b, n, "m");
    REQUIRE(f != NULL);
    EXPECT_STR_EQ(st_metadata_get(f, "x"), "y");
    EXPECT_EQ_INT(st_find(f, "e")->numel, 0);
    EXPECT_EQ_INT(st_find(f, "s")->numel, 1);
    EXPECT_EQ_INT(st_find(f, "f4")->nbytes, 1);
    st_close(f);
    free(b);
    /* "__metadata__": null is read as no metadata (the reference's Option) */
    h = "{\"__metadata__\":null}";
    b = image(h, strlen(h), -1, 0, &n);
    f = st_open_memory(b, n, "m");
    EXPECT(f != NULL && st_metadata_count(f) == 0);
    st_close(f);
    free(b);
    /* no tensors at all */
    b = image("{}", 2, -1, 0, &n);
    f = st_open_memory(b, n, "m");
    EXPECT(f != NULL && st_count(f) == 0);
    st_close(f);
    free(b);
}

TEST(st_reader_rejects_malformed_headers) {
    EXPECT(rejects("{}", 100, 0, "header length 100 runs past the end", NULL));
    EXPECT(rejects("{}", 100000001, 0, "exceeds the limit of 100000000", NULL));
    EXPECT(rejects("{}", (int64_t)1 << 62, 0, "exceeds the limit", NULL));
    EXPECT(rejects("", 0, 0, "does not start with '{'", NULL));
    EXPECT(rejects(" {}", -1, 0, "does not start with '{'", NULL));
    EXPECT(rejects("[1]", -1, 0, "does not start with '{'", NULL));
    EXPECT(rejects("{\"a\":", -1, 0, "header JSON", "end of input"));
    EXPECT(rejects("{} x", -1, 0, "header JSON", "unexpected 'x'"));
    EXPECT(rejects("{\"\xc3\x28\":{}}", -1, 0, "invalid UTF-8", NULL));
    EXPECT(rejects("{\"a\":1}", -1, 0, "tensor \"a\"", "entry must be an object"));
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[0,4]") "," T1("w", "F32", "[1]", "[4,8]") "}", -1, 8,
                   "duplicate key \"w\"", NULL));
    EXPECT(rejects("{" T1("w", "F31", "[1]", "[0,4]") "}", -1, 4, "tensor \"w\"", "unknown dtype \"F31\""));
    EXPECT(rejects("{" T1("w", "f32", "[1]", "[0,4]") "}", -1, 4, "unknown dtype \"f32\"", NULL));
    EXPECT(rejects("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, "dtype must be a string", NULL));
    EXPECT(rejects("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, "missing \"dtype\"", NULL));
    EXPECT(rejects("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", -1, 4, "missing \"shape\"", NULL));
    EXPECT(rejects("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1, 4, "missing \"data_offsets\"", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[-1]", "[0,4]") "}", -1, 4, "shape[0] must be a non-negative integer",
                   "negative"));
    EXPECT(rejects("{" T1("w", "F32", "[1,2.0]", "[0,8]") "}", -1, 8, "shape[1] must be a non-negative integer",
                   "non-integer"));
    EXPECT(rejects("{" T1("w", "F32", "[\"1\"]", "[0,4]") "}", -1, 4, "shape[0]", "string"));
    EXPECT(rejects("{" T1("w", "F32", "1", "[0,4]") "}", -1, 4, "shape must be an array", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[99999999999999999999]", "[0,4]") "}", -1, 4, "shape[0]", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[4294967296,4294967296]", "[0,4]") "}", -1, 4, "tensor \"w\"",
                   "shape overflows"));
    EXPECT(rejects("{" T1("w", "F32", "[4294967296,4294967296,0]", "[0,0]") "}", -1, 0, "shape overflows", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[4611686018427387903]", "[0,4]") "}", -1, 4, "shape overflows", NULL));
    EXPECT(rejects("{" T1("w", "F4", "[3]", "[0,2]") "}", -1, 2, "3 elements of F4 (4 bits)",
                   "whole number of bytes"));
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[0]") "}", -1, 4, "two integers", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[0,4,8]") "}", -1, 4, "two integers", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[0,-4]") "}", -1, 4, "data_offsets must be non-negative", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[4,0]") "}", -1, 4, "end before begin", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[2]", "[0,4]") "}", -1, 4, "tensor \"w\"", "hold 4 bytes but F32 shape has 2"));
    EXPECT(rejects("{" T1("w", "F16", "[]", "[0,4]") "}", -1, 4, "scalar has 1 elements × 16 bits = 2 bytes", NULL));
    EXPECT(rejects("{\"__metadata__\":{\"a\":1}}", -1, 0, "__metadata__ \"a\"", "must be a string, got integer"));
    EXPECT(rejects("{\"__metadata__\":{\"a\":{}}}", -1, 0, "__metadata__ \"a\"", "got object"));
    EXPECT(rejects("{\"__metadata__\":[\"a\"]}", -1, 0, "__metadata__ must be an object", NULL));
    EXPECT(rejects("{\"__metadata__\":{\"a\":\"x\",\"a\":\"y\"}}", -1, 0, "duplicate key \"a\"", NULL));
}

TEST(st_reader_rejects_bad_offsets) {
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[4,8]") "}", -1, 8, "tensor \"w\"", "must begin at 0"));
    EXPECT(rejects("{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "F32", "[1]", "[8,12]") "}", -1, 12,
                   "tensor \"b\"", "hole after \"a\""));
    EXPECT(rejects("{" T1("a", "F32", "[2]", "[0,8]") "," T1("b", "F32", "[1]", "[4,8]") "}", -1, 8,
                   "tensor \"b\"", "overlap \"a\""));
    EXPECT(rejects("{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "F32", "[1]", "[0,4]") "}", -1, 4,
                   "overlap \"a\"", NULL));
    EXPECT(rejects("{" T1("a", "F32", "[1]", "[0,4]") "," T1("b", "F32", "[1]", "[4,8]") "}", -1, 6,
                   "tensor \"b\"", "beyond the data buffer (6 bytes"));
    EXPECT(rejects("{" T1("a", "F32", "[1]", "[0,4]") "}", -1, 5, "1 trailing bytes", NULL));
    EXPECT(rejects("{}", -1, 3, "3 trailing bytes", NULL));
    EXPECT(rejects("{" T1("w", "F32", "[1]", "[18446744073709551612,18446744073709551616]") "}", -1, 4,
                   "data_offsets must be non-negative integers", NULL));
}

TEST(st_reader_rejects_short_and_truncated_files) {
    for (size_t n = 0; n < 8; n++) {
        uint8_t b[8] = {2, 0, 0, 0, 0, 0, 0, 0};
        st_file *f = st_open_memory(n ? b : NULL, n, "short.safetensors");
        EXPECT(f == NULL && strstr(err_msg(), "short.safetensors") && strstr(err_msg(), "shorter than the 8-byte"));
        st_close(f);
    }
    /* a valid file cut at every length fails cleanly; through st_open for the path */
    float x[2] = {1, 2};
    int64_t s[1] = {2};
    st_entry e = {.name = "x", .dtype = ST_F32, .ndim = 1, .shape = s, .data = x};
    char path[512], cut[600];
    const char *dir = test_tmpdir();
    snprintf(path, sizeof path, "%s/full.safetensors", dir);
    REQUIRE(st_write(path, &e, 1, NULL, 0) == 0);
    size_t n = 0;
    uint8_t *full = slurp(path, &n);
    REQUIRE(full != NULL);
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        st_file *f = st_open_memory(full, k, "cut");
        if (f) { bad++; st_close(f); }
    }
    EXPECT_EQ_INT(bad, 0);
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    FILE *fp = fopen(cut, "wb");
    REQUIRE(fp != NULL);
    fwrite(full, 1, n - 1, fp);
    fclose(fp);
    EXPECT(st_open(cut) == NULL && strstr(err_msg(), "cut.safetensors") && strstr(err_msg(), "tensor \"x\"") &&
           strstr(err_msg(), "beyond the data buffer"));
    EXPECT(st_open("/nonexistent/q.safetensors") == NULL && strstr(err_msg(), "/nonexistent/q.safetensors"));
    EXPECT(st_open(dir) == NULL); /* a directory */
    free(full);
}

TEST(st_info_prints_summary) {
    float x[6] = {0};
    uint16_t y[4] = {0};
    int64_t s23[2] = {2, 3}, s4[1] = {4};
    st_entry e[2] = {{.name = "layer.weight", .dtype = ST_F32, .ndim = 2, .shape = s23, .data = x},
                     {.name = "emb", .dtype = ST_BF16, .ndim = 1, .shape = s4, .data = y}};
    char path[512], out[600];
    const char *dir = test_tmpdir();
    snprintf(path, sizeof path, "%s/i.safetensors", dir);
    snprintf(out, sizeof out, "%s/info.txt", dir);
    REQUIRE(st_write(path, e, 2, NULL, 0) == 0);
    FILE *fp = fopen(out, "w");
    REQUIRE(fp != NULL);
    EXPECT(st_info_print(path, fp) == 0);
    fclose(fp);
    char *s = file_read_all(out, NULL);
    REQUIRE(s != NULL);
    EXPECT(strstr(s, "tensors:     2 (10 elements)") != NULL);
    EXPECT(strstr(s, "format=pt") != NULL);
    /* header: {"__metadata__":{"format":"pt"},"layer.weight":{...[0,24]},"emb":{...[24,32]}} */
    EXPECT(strstr(s, "data 32") != NULL); /* 24 + 8 */
    EXPECT(strstr(s, "F32   1 tensors, 24 bytes") != NULL && strstr(s, "BF16  1 tensors, 8 bytes") != NULL);
    EXPECT(strstr(s, "[2, 3]") != NULL && strstr(s, "[0, 24)") != NULL && strstr(s, "[24, 32)") != NULL);
    EXPECT(strstr(s, "layer.weight") != NULL && strstr(s, "BF16") != NULL);
    free(s);
    EXPECT(st_info_print("/nonexistent/z", stdout) == -1);

    /* names longer than 60 columns keep their tail */
    st_entry longname = {.name = "bert.encoder.layer.11.attention.output.LayerNorm.weight.with.a.long.suffix",
                         .dtype = ST_F32, .ndim = 1, .shape = s4, .data = x};
    REQUIRE(st_write(path, &longname, 1, NULL, 0) == 0);
    fp = fopen(out, "w");
    REQUIRE(fp != NULL);
    EXPECT(st_info_print(path, fp) == 0);
    fclose(fp);
    s = file_read_all(out, NULL);
    REQUIRE(s != NULL);
    /* 74 characters → "..." + the last 57 */
    EXPECT(strstr(s, " ...r.11.attention.output.LayerNorm.weight.with.a.long.suffix  F32") != NULL);
    free(s);

    /* long lists are truncated */
    enum { N = 100 };
    st_entry many[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "t%03d", i);
        many[i] = (st_entry){.name = names[i], .dtype = ST_F32, .ndim = 1, .shape = s4, .data = x};
    }
    REQUIRE(st_write(path, many, N, NULL, 0) == 0);
    fp = fopen(out, "w");
    REQUIRE(fp != NULL);
    EXPECT(st_info_print(path, fp) == 0);
    fclose(fp);
    s = file_read_all(out, NULL);
    REQUIRE(s != NULL);
    EXPECT(strstr(s, "60 more tensors") != NULL && strstr(s, "t000") && strstr(s, "t099") && !strstr(s, "t050"));
    free(s);
}

/* ---- cross-checks with Python safetensors ------------------------------------------------- */

/* Files for tools/ref/safetensors_roundtrip.py to check (always written and
 * verified here; kept in $BERTC_ST_OUT when set). */
typedef struct { const char *name; st_dtype dtype; int ndim; int64_t shape[3]; } spec_t;

static const spec_t common_spec[] = {
    {"f32", ST_F32, 2, {2, 3}},   {"f16", ST_F16, 1, {5}},    {"bf16", ST_BF16, 2, {2, 2}},
    {"i32", ST_I32, 1, {3}},      {"i64", ST_I64, 1, {4}},    {"u8", ST_U8, 1, {6}},
    {"u16", ST_U16, 1, {3}},      {"i8", ST_I8, 1, {3}},      {"i16", ST_I16, 1, {2}},
    {"u32", ST_U32, 1, {2}},      {"u64", ST_U64, 1, {2}},    {"f64", ST_F64, 1, {2}},
    {"bool", ST_BOOL, 1, {4}},    {"empty", ST_F32, 2, {0, 3}}, {"scalar", ST_F32, 0, {0}},
    {"unicod\xc3\xa9.weight", ST_F32, 1, {2}},
};
static const spec_t bert_spec[] = {
    {"bert.embeddings.word_embeddings.weight", ST_F32, 2, {8, 4}},
    {"bert.embeddings.LayerNorm.weight", ST_F32, 1, {4}},
    {"bert.embeddings.LayerNorm.bias", ST_F32, 1, {4}},
    {"bert.embeddings.position_ids", ST_I64, 2, {1, 8}},
    {"cls.predictions.bias", ST_F32, 1, {8}},
    {"bert.encoder.layer.0.attention.self.query.weight", ST_BF16, 2, {4, 4}},
};
static const spec_t f8_spec[] = {
    {"e5m2", ST_F8_E5M2, 1, {5}},
    {"e4m3", ST_F8_E4M3, 2, {2, 3}},
};

static int write_spec(const char *path, const spec_t *spec, size_t n) {
    st_entry *e = xcalloc(n, sizeof *e);
    void **bufs = xcalloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int k = 0; k < spec[i].ndim; k++) numel *= spec[i].shape[k];
        size_t nbytes = (size_t)numel * (size_t)st_dtype_bits(spec[i].dtype) / 8;
        bufs[i] = xcalloc(nbytes + 1, 1);
        fill_formula(spec[i].dtype, bufs[i], (size_t)numel, nbytes);
        e[i] = (st_entry){.name = spec[i].name, .dtype = spec[i].dtype, .ndim = spec[i].ndim,
                          .shape = spec[i].shape, .data = bufs[i]};
    }
    int rc = st_write(path, e, n, NULL, 0);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(e);
    return rc;
}

/* Every tensor of spec is present with its dtype, shape and formula data. */
static int check_spec(const st_file *f, const spec_t *spec, size_t n) {
    int ok = st_count(f) == n;
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_find(f, spec[i].name);
        int good = t && t->dtype == spec[i].dtype && t->ndim == spec[i].ndim;
        for (int k = 0; good && k < t->ndim; k++) good = t->shape[k] == spec[i].shape[k];
        good = good && holds_formula(t);
        if (!good) fprintf(stderr, "    tensor %s: missing or wrong\n", spec[i].name);
        ok &= good;
    }
    return ok;
}

TEST(safetensors_export_for_python) {
    const char *dir = getenv("BERTC_ST_OUT");
    if (!dir || !*dir) dir = test_tmpdir();
    static const struct { const char *file; const spec_t *spec; size_t n; } sets[] = {
        {"bertc_common.safetensors", common_spec, sizeof common_spec / sizeof common_spec[0]},
        {"bertc_bert_like.safetensors", bert_spec, sizeof bert_spec / sizeof bert_spec[0]},
        {"bertc_f8.safetensors", f8_spec, sizeof f8_spec / sizeof f8_spec[0]},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, sets[s].file);
        EXPECT_MSG(write_spec(path, sets[s].spec, sets[s].n) == 0, "%s: %s", path, err_msg());
        st_file *f = st_open(path);
        EXPECT_MSG(f != NULL, "%s", err_msg());
        if (f) EXPECT_MSG(check_spec(f, sets[s].spec, sets[s].n), "%s", sets[s].file);
        st_close(f);
    }
}

/* Re-writes every tensor of f with st_write and returns 1 if the bytes equal
 * the original file (same layout, header text and padding as the writer of f). */
static int rewrite_identical(const st_file *f, const uint8_t *orig, size_t orig_n, const char *tmp) {
    size_t n = st_count(f);
    st_entry *e = xcalloc(n ? n : 1, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        e[i] = (st_entry){.name = t->name, .dtype = t->dtype, .ndim = t->ndim, .shape = t->shape, .data = t->data};
    }
    size_t nm = st_metadata_count(f);
    st_meta *m = xcalloc(nm ? nm : 1, sizeof *m);
    for (size_t i = 0; i < nm; i++) m[i] = (st_meta){st_metadata_key(f, i), st_metadata_value(f, i)};
    int ok = st_write(tmp, e, n, m, nm) == 0;
    size_t got_n = 0;
    uint8_t *got = ok ? slurp(tmp, &got_n) : NULL;
    ok = got && got_n == orig_n && memcmp(got, orig, orig_n) == 0;
    if (got && !ok) {
        uint64_t hn = 0;
        for (int i = 7; i >= 0; i--) hn = hn << 8 | got[i];
        fprintf(stderr, "    rewrite differs; ours: %.*s\n", (int)(hn < 2000 ? hn : 2000), got + 8);
    }
    free(got);
    free(m);
    free(e);
    return ok;
}

static void check_python_fixture(const char *file, const spec_t *spec, size_t n) {
    char path[1024], tmp[1024];
    snprintf(path, sizeof path, "%s/safetensors/%s", test_fixture_dir(), file);
    size_t len = 0;
    uint8_t *bytes = slurp(path, &len);
    if (!bytes) {
        fprintf(stderr, "    SKIP %s: fixture missing (run tools/ref/safetensors_roundtrip.sh on the GPU machine)\n",
                path);
        return;
    }
    st_file *f = st_open_memory(bytes, len, path);
    EXPECT_MSG(f != NULL, "%s", err_msg());
    if (f) {
        EXPECT_MSG(check_spec(f, spec, n), "%s values", file);
        EXPECT_STR_EQ(st_metadata_get(f, "format"), "pt");
        snprintf(tmp, sizeof tmp, "%s/%s", test_tmpdir(), file);
        EXPECT_MSG(rewrite_identical(f, bytes, len, tmp), "%s: st_write must reproduce Python's bytes", file);
    }
    st_close(f);
    free(bytes);
}

TEST(safetensors_reads_python_fixtures) {
    check_python_fixture("py_common.safetensors", common_spec, sizeof common_spec / sizeof common_spec[0]);
    check_python_fixture("py_bert_like.safetensors", bert_spec, sizeof bert_spec / sizeof bert_spec[0]);
}

/* BERTC_ST_IN=dir: check files the Python script wrote there (GPU machine round trip). */
TEST(safetensors_import_from_python) {
    const char *dir = getenv("BERTC_ST_IN");
    if (!dir || !*dir) return; /* only in tools/ref/safetensors_roundtrip.sh */
    static const struct { const char *file; const spec_t *spec; size_t n; } sets[] = {
        {"py_common.safetensors", common_spec, sizeof common_spec / sizeof common_spec[0]},
        {"py_bert_like.safetensors", bert_spec, sizeof bert_spec / sizeof bert_spec[0]},
        {"py_f8.safetensors", f8_spec, sizeof f8_spec / sizeof f8_spec[0]},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        char path[1024], tmp[1024];
        snprintf(path, sizeof path, "%s/%s", dir, sets[s].file);
        size_t len = 0;
        uint8_t *bytes = slurp(path, &len);
        int ok = bytes != NULL;
        st_file *f = ok ? st_open_memory(bytes, len, path) : NULL;
        ok = ok && f && check_spec(f, sets[s].spec, sets[s].n);
        snprintf(tmp, sizeof tmp, "%s/%s", test_tmpdir(), sets[s].file);
        ok = ok && rewrite_identical(f, bytes, len, tmp);
        printf("%s %s (bertc reads Python's file%s)\n", ok ? "PASS" : "FAIL", sets[s].file,
               ok ? ", values match, bytes reproduced" : "");
        if (!ok && !f) printf("  %s\n", err_msg());
        EXPECT_MSG(ok, "%s", sets[s].file);
        st_close(f);
        free(bytes);
    }
}
