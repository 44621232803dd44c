/* fuzz_json.c — arbitrary bytes into json_parse; every parsed tree is walked,
 * re-written with json_w and parsed again (the writer's output must parse). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../src/core/err.h"
#include "../src/io/json.h"

static void rewrite(json_w *w, const json_value *v) {
    int64_t i;
    double d;
    int b;
    size_t n;
    const char *s;
    switch (json_typeof(v)) {
    case JSON_NULL: json_w_null(w); break;
    case JSON_BOOL: json_bool(v, &b); json_w_bool(w, b); break;
    case JSON_INT: json_int(v, &i); json_w_int(w, i); break;
    case JSON_DOUBLE: json_number(v, &d); json_w_double(w, d); break;
    case JSON_STRING: s = json_str(v, &n); json_w_string_n(w, s, n); break;
    case JSON_ARRAY:
        json_w_begin_array(w);
        for (size_t k = 0; k < json_len(v); k++) rewrite(w, json_at(v, k));
        json_w_end_array(w);
        break;
    case JSON_OBJECT:
        json_w_begin_object(w);
        for (size_t k = 0; k < json_len(v); k++) {
            s = json_key_at(v, k, &n);
            if (json_get_n(v, s, n) != json_member_at(v, k)) abort(); /* lookup agrees with iteration */
            json_w_key_n(w, s, n);
            rewrite(w, json_member_at(v, k));
        }
        json_w_end_object(w);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_value *v = json_parse((const char *)data, size);
    if (!v) return 0;
    json_w w;
    json_w_init(&w, size & 1 ? 2 : 0, size & 2 ? JSON_W_ASCII : 0);
    rewrite(&w, v);
    size_t n = 0;
    const char *out = json_w_finish(&w, &n);
    /* The writer's depth limit is lower than the parser's; anything else must round-trip. */
    if (out) {
        json_value *v2 = json_parse(out, n);
        if (!v2) abort();
        json_free(v2);
    }
    json_w_free(&w);
    json_free(v);
    return 0;
}
