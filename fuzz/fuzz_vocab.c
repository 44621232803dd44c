/* fuzz_vocab.c — arbitrary bytes as a vocab.txt (byte 0 even) or a
 * tokenizer.json (byte 0 odd). A load either fails with a message or gives a
 * tokenizer that encodes, decodes and looks tokens up consistently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/core/err.h"
#include "../src/text/tokenizer.h"

static const char sample[] = "Hello, [MASK] w\xc3\xb6rld! unaffable \xe6\x9d\xb1\xe4\xba\xac 5\xe2\x82\xac ##s [UNK]x";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tokenizer *t = data[0] & 1 ? tok_load_json_mem("fuzz.json", (const char *)data + 1, size - 1)
                               : tok_load_vocab_mem("fuzz.txt", (const char *)data + 1, size - 1, NULL);
    if (!t) {
        if (!err_msg()[0]) abort(); /* a failure must say why */
        return 0;
    }
    size_t V = tok_vocab_size(t);
    if (V == 0 || tok_unk_id(t) < 0) abort();
    for (size_t i = 0; i < V && i < 64; i++) { /* ids and strings agree */
        const char *s = tok_token(t, (uint32_t)i);
        if (!s || tok_id(t, s) != (int64_t)i) abort();
    }
    tok_encode_opts o;
    tok_encode_opts_default(&o);
    o.add_special = tok_cls_id(t) >= 0 && tok_sep_id(t) >= 0;
    o.max_length = 16;
    tok_encoding e = {0};
    if (tok_encode(t, sample, sizeof sample - 1, "pair text", 9, &o, &e) < 0) abort();
    for (size_t i = 0; i < e.n; i++)
        if (e.ids[i] >= V) abort();
    char *s = tok_decode(t, e.ids, e.n, 1);
    if (!s) abort();
    free(s);
    tok_encoding_free(&e);
    tok_free(t);
    return 0;
}
