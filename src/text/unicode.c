/* unicode.c — lookups over the generated tables of unicode_tables.c. */
#include "unicode.h"

#include <pthread.h>

#include "../core/err.h"

static uint8_t *class_table; /* (UNI_MAX_CP,) class bits */
static pthread_once_t class_once = PTHREAD_ONCE_INIT;

static void mark_ranges(uint8_t *t, const uint32_t (*r)[2], size_t n, uint8_t bit) {
    for (size_t i = 0; i < n; i++)
        for (uint32_t c = r[i][0]; c <= r[i][1]; c++) t[c] |= bit;
}

static void class_build(void) {
    uint8_t *t = xcalloc(UNI_MAX_CP, 1);
    mark_ranges(t, uni_removed, uni_removed_n, UNI_REMOVED);
    mark_ranges(t, uni_space, uni_space_n, UNI_SPACE);
    mark_ranges(t, uni_cjk, uni_cjk_n, UNI_CJK);
    mark_ranges(t, uni_punct, uni_punct_n, UNI_PUNCT);
    mark_ranges(t, uni_pretok_ws, uni_pretok_ws_n, UNI_WS);
    mark_ranges(t, uni_strip_del, uni_strip_del_n, UNI_STRIP);
    for (size_t i = 0; i < uni_strip_map_n; i++) t[uni_strip_map[i][0]] |= UNI_STRIP;
    for (uint32_t c = 0xAC00; c <= 0xD7A3; c++) t[c] |= UNI_STRIP; /* Hangul syllables */
    for (size_t i = 0; i < uni_lower_map_n; i++) t[uni_lower_map[i][0]] |= UNI_LOWER;
    for (size_t i = 0; i < uni_ccc_table_n; i++) t[uni_ccc_table[i][0]] |= UNI_CCC;
    class_table = t; /* lives for the whole process */
}

const uint8_t *uni_class_table(void) {
    pthread_once(&class_once, class_build);
    return class_table;
}

uint8_t uni_class(uint32_t cp) {
    return cp < UNI_MAX_CP ? uni_class_table()[cp] : 0;
}

/* Binary search of a {cp, ...} table with `width` columns; NULL when absent. */
static const uint32_t *find_row(const uint32_t *rows, size_t n, size_t width, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t k = rows[mid * width];
        if (k == cp) return rows + mid * width;
        if (k < cp) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static int copy_mapping(const uint32_t (*map)[3], size_t n, const uint32_t *pool, uint32_t cp,
                        uint32_t out[UNI_MAX_MAP]) {
    const uint32_t *row = find_row(&map[0][0], n, 3, cp);
    if (!row) { out[0] = cp; return 1; }
    CHECK(row[2] <= UNI_MAX_MAP, "generated mapping longer than UNI_MAX_MAP");
    for (uint32_t i = 0; i < row[2]; i++) out[i] = pool[row[1] + i];
    return (int)row[2];
}

int uni_strip(uint32_t cp, uint32_t out[UNI_MAX_MAP]) {
    if (!(uni_class(cp) & UNI_STRIP)) { out[0] = cp; return 1; }
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: arithmetic NFD (L V [T]) */
        uint32_t s = cp - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + (s % 588) / 28;
        if (!t) return 2;
        out[2] = 0x11A7 + t;
        return 3;
    }
    const uint32_t *row = find_row(&uni_strip_map[0][0], uni_strip_map_n, 3, cp);
    if (!row) return 0; /* in uni_strip_del: the whole decomposition is Mn */
    return copy_mapping(uni_strip_map, uni_strip_map_n, uni_strip_map_pool, cp, out);
}

int uni_lower(uint32_t cp, uint32_t out[UNI_MAX_MAP]) {
    if (!(uni_class(cp) & UNI_LOWER)) { out[0] = cp; return 1; }
    return copy_mapping(uni_lower_map, uni_lower_map_n, uni_lower_map_pool, cp, out);
}

int uni_ccc(uint32_t cp) {
    if (!(uni_class(cp) & UNI_CCC)) return 0;
    const uint32_t *row = find_row(&uni_ccc_table[0][0], uni_ccc_table_n, 2, cp);
    return row ? (int)row[1] : 0;
}

int uni_strip_del_is_starter(uint32_t cp) {
    size_t lo = 0, hi = uni_strip_del_starter_n; /* ranges sorted, disjoint */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < uni_strip_del_starter[mid][0]) hi = mid;
        else if (cp > uni_strip_del_starter[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}
