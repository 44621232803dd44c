/* tokenizer.c — vocab loading, added-token matching, WordPiece, pairs,
 * truncation, padding and decoding. See tokenizer.h and spec tokenizer.md. */
#include "tokenizer.h"

#include <string.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../io/json.h"
#include "kmer.h"
#include "utf8.h"

/* Open-addressing hash of byte strings → id. Each slot keeps the full 32-bit
 * hash so that most probes reject without touching the token bytes. */
typedef struct {
    uint32_t hash;
    int32_t id; /* -1: empty */
} slot;
typedef struct {
    slot *s;       /* (mask + 1,) */
    size_t mask;
    size_t skip;   /* bytes of each stored token before the key (0, or the prefix length) */
    size_t maxlen; /* longest key in bytes: longer WordPiece candidates cannot match */
} htab;

struct tokenizer {
    norm_config norm;
    size_t n;       /* vocab size */
    char *pool;     /* all tokens, NUL-terminated, in id order */
    size_t *off;    /* (n,) offset of each token in pool */
    uint32_t *len;  /* (n,) byte length of each token */
    htab all;       /* whole token → id */
    htab cont;      /* tokens that start with the prefix, keyed by the rest */
    char prefix[16];
    size_t prefix_len;
    size_t max_chars; /* max_input_chars_per_word */
    int64_t unk, cls, sep, pad, mask;
    uint32_t *added;  /* (n_added,) ids of the added tokens, matched in raw text */
    size_t n_added;
    uint8_t added_first[256]; /* 1 if some added token starts with this byte */
    uint8_t *special;         /* (n,) 1 for added special tokens (skipped by decode) */
    int kmer_k;               /* k of a DNABERT k-mer vocabulary, 0 for WordPiece */
};

static uint32_t hash_bytes(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void htab_init(htab *h, size_t n_keys, size_t skip) {
    size_t cap = 16;
    while (cap < n_keys * 2) cap *= 2; /* load factor ≤ 0.5 */
    h->s = xmalloc(cap * sizeof *h->s);
    for (size_t i = 0; i < cap; i++) h->s[i].id = -1;
    h->mask = cap - 1;
    h->skip = skip;
    h->maxlen = 0;
}

static int32_t htab_find_h(const htab *h, const tokenizer *t, const uint8_t *key, size_t n, uint32_t hv) {
    for (size_t i = hv & h->mask;; i = (i + 1) & h->mask) {
        const slot *s = &h->s[i];
        if (s->id < 0) return -1;
        if (s->hash == hv && t->len[s->id] == n + h->skip &&
            !memcmp(t->pool + t->off[s->id] + h->skip, key, n))
            return s->id;
    }
}

static int32_t htab_find(const htab *h, const tokenizer *t, const uint8_t *key, size_t n) {
    return htab_find_h(h, t, key, n, hash_bytes(key, n));
}

/* Inserts id (key = its token minus h->skip bytes); returns the id already there, or -1. */
static int32_t htab_insert(htab *h, const tokenizer *t, uint32_t id) {
    const uint8_t *key = (const uint8_t *)t->pool + t->off[id] + h->skip;
    size_t n = t->len[id] - h->skip;
    uint32_t hv = hash_bytes(key, n);
    int32_t old = htab_find_h(h, t, key, n, hv);
    if (old >= 0) return old;
    size_t i = hv & h->mask;
    while (h->s[i].id >= 0) i = (i + 1) & h->mask;
    h->s[i].hash = hv;
    h->s[i].id = (int32_t)id;
    if (n > h->maxlen) h->maxlen = n;
    return -1;
}

void tok_free(tokenizer *t) {
    if (!t) return;
    free(t->pool);
    free(t->off);
    free(t->len);
    free(t->all.s);
    free(t->cont.s);
    free(t->added);
    free(t->special);
    free(t);
}

/* Builds the hash tables from pool/off/len. -1 + err on a duplicate token. */
static int tok_index(tokenizer *t, const char *name, const size_t *lines) {
    size_t n_cont = 0;
    for (size_t i = 0; i < t->n; i++)
        n_cont += t->len[i] >= t->prefix_len && !memcmp(t->pool + t->off[i], t->prefix, t->prefix_len);
    htab_init(&t->all, t->n, 0);
    htab_init(&t->cont, n_cont, t->prefix_len);
    for (size_t i = 0; i < t->n; i++) {
        int32_t old = htab_insert(&t->all, t, (uint32_t)i);
        if (old >= 0) {
            if (lines)
                return err_set("%s:%zu: duplicate token \"%s\" (first at line %zu)", name, lines[i],
                               t->pool + t->off[i], lines[old]);
            return err_set("%s: duplicate token \"%s\" (ids %d and %zu)", name, t->pool + t->off[i], old, i);
        }
        if (t->len[i] >= t->prefix_len && !memcmp(t->pool + t->off[i], t->prefix, t->prefix_len))
            htab_insert(&t->cont, t, (uint32_t)i);
    }
    return 0;
}

static void tok_add_added(tokenizer *t, uint32_t id, int special) {
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i] == id) return;
    t->added = xrealloc(t->added, (t->n_added + 1) * sizeof *t->added);
    t->added[t->n_added++] = id;
    t->added_first[(uint8_t)t->pool[t->off[id]]] = 1;
    if (special) t->special[id] = 1;
}

static int64_t lookup_str(const tokenizer *t, const char *s) {
    int32_t id = htab_find(&t->all, t, (const uint8_t *)s, strlen(s));
    return id;
}

static void tok_find_specials(tokenizer *t) {
    t->unk = lookup_str(t, "[UNK]");
    t->cls = lookup_str(t, "[CLS]");
    t->sep = lookup_str(t, "[SEP]");
    t->pad = lookup_str(t, "[PAD]");
    t->mask = lookup_str(t, "[MASK]");
}

/* "[unused" digits "]": the padding bertc vocab (and BERT's vocab.txt) adds. */
static int is_unused_token(const char *s, size_t n) {
    if (n < 9 || memcmp(s, "[unused", 7) || s[n - 1] != ']') return 0;
    for (size_t i = 7; i < n - 1; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* k when the vocabulary has the DNABERT layout (tokenizer.h: tok_kmer_k), else 0. */
static int detect_kmer_k(const tokenizer *t) {
    static const char *const sp[KMER_FIRST_ID] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    if (t->n <= KMER_FIRST_ID) return 0;
    for (int i = 0; i < KMER_FIRST_ID; i++)
        if (strcmp(t->pool + t->off[i], sp[i])) return 0;
    int k = (int)t->len[KMER_FIRST_ID];
    if (k < 1 || k > KMER_MAX_K || t->n < kmer_vocab_real_size(k)) return 0;
    char s[KMER_MAX_K + 1];
    for (size_t i = 0; i < kmer_count(k); i++) {
        kmer_string((int32_t)i, k, s);
        if (t->len[KMER_FIRST_ID + i] != (uint32_t)k || memcmp(t->pool + t->off[KMER_FIRST_ID + i], s, (size_t)k))
            return 0;
    }
    for (size_t i = kmer_vocab_real_size(k); i < t->n; i++)
        if (!is_unused_token(t->pool + t->off[i], t->len[i])) return 0;
    return k;
}

static tokenizer *tok_new(const norm_config *norm) {
    tokenizer *t = xcalloc(1, sizeof *t);
    if (norm) t->norm = *norm;
    else norm_config_default(&t->norm);
    memcpy(t->prefix, "##", 3);
    t->prefix_len = 2;
    t->max_chars = 100;
    return t;
}

tokenizer *tok_load_vocab_mem(const char *name, const char *data, size_t n, const norm_config *norm) {
    tokenizer *t = tok_new(norm);
    size_t lines = 0;
    for (size_t i = 0; i < n; i++) lines += data[i] == '\n';
    if (n && data[n - 1] != '\n') lines++; /* last line without a newline */
    if (lines == 0) { err_set("%s: empty vocabulary", name); tok_free(t); return NULL; }
    if (lines > INT32_MAX) { err_set("%s: too many lines (%zu)", name, lines); tok_free(t); return NULL; }
    t->pool = xmalloc(n + 1);
    t->off = xmalloc(lines * sizeof *t->off);
    t->len = xmalloc(lines * sizeof *t->len);
    size_t *line_no = xmalloc(lines * sizeof *line_no);
    size_t p = 0, out = 0;
    for (size_t ln = 1; p < n; ln++) {
        const char *nl = memchr(data + p, '\n', n - p);
        size_t e = nl ? (size_t)(nl - data) : n, len = e - p;
        if (len && data[p + len - 1] == '\r') len--; /* CRLF files */
        if (len == 0) { err_set("%s:%zu: empty line (every line must hold one token)", name, ln); goto fail; }
        if (memchr(data + p, 0, len)) { err_set("%s:%zu: NUL byte in token", name, ln); goto fail; }
        if (!utf8_valid((const uint8_t *)data + p, len)) { err_set("%s:%zu: token is not valid UTF-8", name, ln); goto fail; }
        if (len > UINT32_MAX / 2) { err_set("%s:%zu: token too long", name, ln); goto fail; }
        t->off[t->n] = out;
        t->len[t->n] = (uint32_t)len;
        line_no[t->n] = ln;
        memcpy(t->pool + out, data + p, len);
        out += len;
        t->pool[out++] = 0;
        t->n++;
        p = e + 1;
    }
    if (tok_index(t, name, line_no) < 0) goto fail;
    free(line_no);
    line_no = NULL;
    tok_find_specials(t);
    if (t->unk < 0) { err_set("%s: the vocabulary has no [UNK] token", name); goto fail; }
    t->special = xcalloc(t->n, 1);
    /* The BERT added tokens: matched in raw text when present (spec §2.1). */
    int64_t sp[5] = {t->pad, t->unk, t->cls, t->sep, t->mask};
    for (int i = 0; i < 5; i++)
        if (sp[i] >= 0) tok_add_added(t, (uint32_t)sp[i], 1);
    t->kmer_k = detect_kmer_k(t);
    return t;
fail:
    free(line_no);
    tok_free(t);
    return NULL;
}

tokenizer *tok_load_vocab(const char *path, const norm_config *norm) {
    size_t n;
    char *data = file_read_all(path, &n);
    if (!data) return NULL;
    tokenizer *t = tok_load_vocab_mem(path, data, n, norm);
    free(data);
    return t;
}

/* ---- tokenizer.json ------------------------------------------------------------ */

static int json_flag(const char *path, const json_value *obj, const char *key, int dflt, int *out) {
    const json_value *v = json_get(obj, key);
    if (!v) { *out = dflt; return 0; }
    if (json_bool(v, out) < 0) return err_set("%s: field \"%s\" must be true or false, got %s", path, key,
                                              json_type_name(json_typeof(v)));
    return 0;
}

static const char *json_type_str(const json_value *obj) {
    return json_str(json_get(obj, "type"), NULL);
}

static int load_json_normalizer(const char *path, const json_value *nz, norm_config *c) {
    if (!nz || json_is_null(nz)) { /* no normalizer at all */
        c->clean_text = c->handle_chinese_chars = c->strip_accents = c->lowercase = 0;
        return 0;
    }
    const char *type = json_type_str(nz);
    if (!type || strcmp(type, "BertNormalizer"))
        return err_set("%s: normalizer.type must be \"BertNormalizer\" (got %s)", path, type ? type : "none");
    if (json_flag(path, nz, "clean_text", 1, &c->clean_text) < 0 ||
        json_flag(path, nz, "handle_chinese_chars", 1, &c->handle_chinese_chars) < 0 ||
        json_flag(path, nz, "lowercase", 1, &c->lowercase) < 0)
        return err_prefix("normalizer");
    const json_value *sa = json_get(nz, "strip_accents");
    if (!sa || json_is_null(sa)) c->strip_accents = -1;
    else if (json_bool(sa, &c->strip_accents) < 0)
        return err_set("%s: normalizer.strip_accents must be null, true or false", path);
    return 0;
}

tokenizer *tok_load_json(const char *path) {
    size_t n;
    char *data = file_read_all(path, &n);
    if (!data) return NULL;
    tokenizer *t = tok_load_json_mem(path, data, n);
    free(data);
    return t;
}

tokenizer *tok_load_json_mem(const char *path, const char *data, size_t n) {
    json_value *root = json_parse(data, n);
    if (!root) { err_prefix("%s", path); return NULL; }
    tokenizer *t = tok_new(NULL);
    const json_value *model = json_get(root, "model"), *vocab = json_get(model, "vocab");
    const char *mtype = json_type_str(model);
    if (!mtype || strcmp(mtype, "WordPiece")) { err_set("%s: model.type must be \"WordPiece\"", path); goto fail; }
    if (json_typeof(vocab) != JSON_OBJECT || json_len(vocab) == 0) {
        err_set("%s: model.vocab must be a non-empty object {token: id}", path);
        goto fail;
    }
    const json_value *pv = json_get(model, "continuing_subword_prefix");
    if (pv && !json_is_null(pv)) {
        size_t pl;
        const char *ps = json_str(pv, &pl);
        if (!ps || pl >= sizeof t->prefix || memchr(ps, 0, pl)) {
            err_set("%s: model.continuing_subword_prefix must be a short string", path);
            goto fail;
        }
        memcpy(t->prefix, ps, pl + 1);
        t->prefix_len = pl;
    }
    const json_value *mc = json_get(model, "max_input_chars_per_word");
    if (mc) {
        int64_t v;
        if (json_int(mc, &v) < 0 || v < 0) { err_set("%s: model.max_input_chars_per_word must be an integer ≥ 0", path); goto fail; }
        t->max_chars = (size_t)v;
    }
    if (load_json_normalizer(path, json_get(root, "normalizer"), &t->norm) < 0) goto fail;
    const json_value *pre = json_get(root, "pre_tokenizer");
    const char *ptype = json_type_str(pre);
    if (!ptype || strcmp(ptype, "BertPreTokenizer")) {
        err_set("%s: pre_tokenizer.type must be \"BertPreTokenizer\" (got %s)", path, ptype ? ptype : "none");
        goto fail;
    }
    /* Vocab: ids must be exactly 0..n-1. */
    t->n = json_len(vocab);
    if (t->n > INT32_MAX) { err_set("%s: model.vocab too large", path); goto fail; }
    size_t total = 0;
    const char **str = xcalloc(t->n, sizeof *str);
    size_t *slen = xcalloc(t->n, sizeof *slen);
    for (size_t i = 0; i < t->n; i++) {
        size_t kl;
        const char *k = json_key_at(vocab, i, &kl);
        int64_t id;
        if (json_int(json_member_at(vocab, i), &id) < 0 || id < 0 || (uint64_t)id >= t->n) {
            err_set("%s: model.vocab[\"%s\"]: id must be an integer in [0, %zu)", path, k, t->n);
            free(str), free(slen);
            goto fail;
        }
        if (str[id]) {
            err_set("%s: model.vocab: id %lld used by \"%s\" and \"%s\"", path, (long long)id, str[id], k);
            free(str), free(slen);
            goto fail;
        }
        if (kl == 0 || memchr(k, 0, kl)) {
            err_set("%s: model.vocab: empty token or NUL byte in token (id %lld)", path, (long long)id);
            free(str), free(slen);
            goto fail;
        }
        str[id] = k;
        slen[id] = kl;
        total += kl + 1;
    }
    t->pool = xmalloc(total);
    t->off = xmalloc(t->n * sizeof *t->off);
    t->len = xmalloc(t->n * sizeof *t->len);
    for (size_t i = 0, o = 0; i < t->n; i++) {
        t->off[i] = o;
        t->len[i] = (uint32_t)slen[i];
        memcpy(t->pool + o, str[i], slen[i] + 1);
        o += slen[i] + 1;
    }
    free(str);
    free(slen);
    if (tok_index(t, path, NULL) < 0) goto fail;
    tok_find_specials(t);
    const char *unk = json_str(json_get(model, "unk_token"), NULL);
    if (!unk) { err_set("%s: model.unk_token must be a string", path); goto fail; }
    t->unk = lookup_str(t, unk);
    if (t->unk < 0) { err_set("%s: model.unk_token \"%s\" is not in model.vocab", path, unk); goto fail; }
    t->special = xcalloc(t->n, 1);
    const json_value *added = json_get(root, "added_tokens");
    if (added && json_typeof(added) != JSON_ARRAY) { err_set("%s: added_tokens must be an array", path); goto fail; }
    for (size_t i = 0; i < json_len(added); i++) {
        const json_value *a = json_at(added, i);
        size_t cl;
        const char *content = json_str(json_get(a, "content"), &cl);
        int64_t id;
        int special, normalized, single_word, lstrip, rstrip;
        if (!content || cl == 0 || json_int(json_get(a, "id"), &id) < 0) {
            err_set("%s: added_tokens[%zu]: needs a non-empty \"content\" string and an integer \"id\"", path, i);
            goto fail;
        }
        if (json_flag(path, a, "special", 0, &special) < 0 || json_flag(path, a, "normalized", 0, &normalized) < 0 ||
            json_flag(path, a, "single_word", 0, &single_word) < 0 || json_flag(path, a, "lstrip", 0, &lstrip) < 0 ||
            json_flag(path, a, "rstrip", 0, &rstrip) < 0) {
            err_prefix("added_tokens[%zu]", i);
            goto fail;
        }
        if (normalized || single_word || lstrip || rstrip) {
            err_set("%s: added_tokens[%zu] (\"%s\"): only normalized/single_word/lstrip/rstrip = false is supported",
                    path, i, content);
            goto fail;
        }
        int64_t vid = htab_find(&t->all, t, (const uint8_t *)content, cl);
        if (vid < 0 || vid != id) {
            err_set("%s: added_tokens[%zu] (\"%s\", id %lld) must be in model.vocab with the same id", path, i,
                    content, (long long)id);
            goto fail;
        }
        tok_add_added(t, (uint32_t)id, special);
    }
    t->kmer_k = detect_kmer_k(t);
    json_free(root);
    return t;
fail:
    json_free(root);
    tok_free(t);
    return NULL;
}

tokenizer *tok_load(const char *path, const norm_config *norm) {
    size_t n = strlen(path);
    if (n >= 5 && !strcmp(path + n - 5, ".json")) return tok_load_json(path);
    return tok_load_vocab(path, norm);
}

size_t tok_vocab_size(const tokenizer *t) { return t->n; }
const norm_config *tok_norm(const tokenizer *t) { return &t->norm; }
int64_t tok_cls_id(const tokenizer *t) { return t->cls; }
int64_t tok_sep_id(const tokenizer *t) { return t->sep; }
int64_t tok_pad_id(const tokenizer *t) { return t->pad; }
int64_t tok_unk_id(const tokenizer *t) { return t->unk; }
int64_t tok_mask_id(const tokenizer *t) { return t->mask; }
int tok_kmer_k(const tokenizer *t) { return t->kmer_k; }

int64_t tok_id(const tokenizer *t, const char *token) { return lookup_str(t, token); }

const char *tok_token(const tokenizer *t, uint32_t id) {
    return id < t->n ? t->pool + t->off[id] : NULL;
}

/* ---- encoding ---------------------------------------------------------------- */

/* Output ids being appended to (the caller's growable array). */
typedef struct {
    const tokenizer *t;
    uint32_t **ids;
    size_t *n, *cap;
    size_t base;  /* *n when this sequence started */
    size_t limit; /* 0, or stop after the word that brings the sequence to ≥ limit ids */
} idsink;

static inline int sink_full(const idsink *o) { return o->limit && *o->n - o->base >= o->limit; }

static inline void sink_push(idsink *o, uint32_t id) {
    if (*o->n == *o->cap) {
        *o->cap = *o->cap ? *o->cap * 2 : 256;
        *o->ids = xrealloc(*o->ids, *o->cap * sizeof **o->ids);
    }
    (*o->ids)[(*o->n)++] = id;
}

/* WordPiece greedy longest-match-first over one normalized word (spec §2.4).
 * Returns 1 when the sequence has reached its limit (stop producing words). */
static int wordpiece(void *ud, const char *word, size_t len) {
    idsink *o = ud;
    const tokenizer *t = o->t;
    const uint8_t *w = (const uint8_t *)word;
    if (len > t->max_chars && utf8_count(w, len) > t->max_chars) {
        sink_push(o, (uint32_t)t->unk);
        return sink_full(o);
    }
    size_t base = *o->n, start = 0;
    while (start < len) {
        const htab *h = start ? &t->cont : &t->all;
        size_t end = len;
        if (end - start > h->maxlen) { /* nothing longer than the longest key can match */
            end = start + h->maxlen;
            while (end > start && (w[end] & 0xC0) == 0x80) end--;
        }
        int32_t id = -1;
        while (end > start) {
            id = htab_find(h, t, w + start, end - start);
            if (id >= 0) break;
            do end--; while (end > start && (w[end] & 0xC0) == 0x80);
        }
        if (id < 0) { /* no piece fits: the whole word is [UNK] */
            *o->n = base;
            sink_push(o, (uint32_t)t->unk);
            return sink_full(o);
        }
        sink_push(o, (uint32_t)id);
        start = end;
    }
    return sink_full(o);
}

/* Longest added token that starts at s[0..n), or -1; its length in *len. */
static int64_t added_at(const tokenizer *t, const uint8_t *s, size_t n, size_t *len) {
    int64_t best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < t->n_added; i++) {
        uint32_t id = t->added[i];
        size_t l = t->len[id];
        if (l <= n && l > best_len && !memcmp(s, t->pool + t->off[id], l)) best = id, best_len = l;
    }
    *len = best_len;
    return best;
}

/* ---- k-mer mode (kmer.h; the rule is documented in docs/formats.md) ----------
 * A text is a k-mer list when it has at least one word (run of non-whitespace
 * bytes) and every word is k bytes long or an added token: each word is then
 * one token (the GeneMask/DNABERT TSVs hold space-separated 6-mers). Otherwise
 * it is raw DNA: added tokens are split off, whitespace is ignored, and the
 * bytes between added tokens give their stride-1 k-mers. A raw sequence of
 * exactly k bases reads the same either way. */

static inline int is_space_byte(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int kmer_text_is_list(const tokenizer *t, const uint8_t *s, size_t n) {
    size_t words = 0;
    for (size_t i = 0; i < n;) {
        if (is_space_byte(s[i])) { i++; continue; }
        size_t j = i, l;
        while (j < n && !is_space_byte(s[j])) j++;
        if (j - i != (size_t)t->kmer_k && !(added_at(t, s + i, j - i, &l) >= 0 && l == j - i)) return 0;
        words++;
        i = j;
    }
    return words > 0;
}

/* Raw DNA s[0..n) without added tokens → its k-mers, within the sink's limit. */
static int kmer_segment(idsink *o, const char *s, size_t n) {
    size_t room = 0;
    if (o->limit) {
        if (sink_full(o)) return 1;
        room = o->limit - (*o->n - o->base);
    }
    kmer_encode(s, n, o->t->kmer_k, room, o->ids, o->n, o->cap);
    return sink_full(o);
}

static void kmer_encode_into(idsink *o, const char *text, size_t n) {
    const tokenizer *t = o->t;
    const uint8_t *s = (const uint8_t *)text;
    size_t l;
    int64_t id;
    if (kmer_text_is_list(t, s, n)) {
        for (size_t i = 0; i < n && !sink_full(o);) {
            if (is_space_byte(s[i])) { i++; continue; }
            size_t j = i;
            while (j < n && !is_space_byte(s[j])) j++;
            id = added_at(t, s + i, j - i, &l);
            sink_push(o, id >= 0 && l == j - i ? (uint32_t)id : (uint32_t)kmer_id(text + i, t->kmer_k));
            i = j;
        }
        return;
    }
    size_t seg = 0;
    for (size_t i = 0; i < n;) {
        if (t->added_first[s[i]] && (id = added_at(t, s + i, n - i, &l)) >= 0) {
            if (kmer_segment(o, text + seg, i - seg)) return;
            sink_push(o, (uint32_t)id);
            if (sink_full(o)) return;
            i += l;
            seg = i;
        } else {
            i++;
        }
    }
    kmer_segment(o, text + seg, n - seg);
}

/* Appends the ids of one sequence: added tokens split off the raw text, the
 * pieces between them normalized and WordPiece'd. With o->limit the sequence
 * stops at the first word (or added token) that brings it to ≥ limit ids: the
 * library does the same when truncation is on (measured: it is what decides
 * pair truncation once both sequences are that long, see tok_truncate_pair). */
static void encode_into(idsink *o, const char *text, size_t n) {
    const tokenizer *t = o->t;
    const uint8_t *s = (const uint8_t *)text;
    size_t seg = 0; /* start of the pending ordinary text */
    o->base = *o->n;
    if (t->kmer_k) { kmer_encode_into(o, text, n); return; }
    if (t->n_added) {
        for (size_t i = 0; i < n;) {
            size_t l;
            int64_t id;
            if (t->added_first[s[i]] && (id = added_at(t, s + i, n - i, &l)) >= 0) {
                if (text_words_until(&t->norm, text + seg, i - seg, wordpiece, o)) return;
                sink_push(o, (uint32_t)id);
                if (sink_full(o)) return;
                i += l;
                seg = i;
            } else {
                i++;
            }
        }
    }
    text_words_until(&t->norm, text + seg, n - seg, wordpiece, o);
}

int tok_encode_ids(const tokenizer *t, const char *text, size_t n, uint32_t **ids, size_t *n_ids, size_t *cap) {
    idsink o = {t, ids, n_ids, cap, 0, 0};
    encode_into(&o, text, n);
    return 0;
}

void tok_encode_opts_default(tok_encode_opts *o) {
    o->max_length = 0;
    o->pad_to = 0;
    o->add_special = 1;
}

void tok_truncate_pair(size_t na, size_t nb, size_t max_length, size_t n_special, size_t *ka, size_t *kb) {
    size_t m = max_length - n_special; /* the budget for A and B */
    if (na + nb <= m) { *ka = na, *kb = nb; return; }
    int swap = na > nb; /* on a tie A counts as the shorter one */
    size_t s = swap ? nb : na, l;
    if (s > m) l = s; /* the library's special case; the next test then splits evenly */
    else l = m - s > s ? m - s : s;
    if (s + l > m) {
        s = m / 2;
        l = s + m % 2;
    }
    if (swap) *ka = l, *kb = s;
    else *ka = s, *kb = l;
}

static void enc_reserve(tok_encoding *e, size_t need) {
    if (need <= e->cap) return;
    size_t cap = e->cap ? e->cap : 256;
    while (cap < need) cap *= 2;
    e->ids = xrealloc(e->ids, cap * sizeof *e->ids);
    e->type_ids = xrealloc(e->type_ids, cap);
    e->mask = xrealloc(e->mask, cap);
    e->cap = cap;
}

int tok_encode(const tokenizer *t, const char *a, size_t na, const char *b, size_t nb, const tok_encode_opts *o,
               tok_encoding *e) {
    tok_encode_opts dflt;
    if (!o) tok_encode_opts_default(&dflt), o = &dflt;
    size_t n_special = o->add_special ? (b ? 3 : 2) : 0;
    if (o->add_special && (t->cls < 0 || t->sep < 0))
        return err_set("tokenizer: the vocabulary has no [CLS]/[SEP] token to add");
    if (o->max_length && o->max_length < n_special)
        return err_set("tokenizer: max_length %zu is smaller than the %zu special tokens", o->max_length, n_special);
    if (o->pad_to && t->pad < 0) return err_set("tokenizer: padding needs a [PAD] token in the vocabulary");
    /* Encode A then B behind it into e->ids (resized to keep type_ids/mask in step). */
    size_t cap = e->cap;
    idsink s = {t, &e->ids, &e->n, &cap, 0, o->max_length};
    e->n = 0;
    encode_into(&s, a, na);
    size_t len_a = e->n;
    if (b) encode_into(&s, b, nb);
    size_t len_b = e->n - len_a;
    if (cap != e->cap) { /* ids grew: grow the others to match */
        e->type_ids = xrealloc(e->type_ids, cap);
        e->mask = xrealloc(e->mask, cap);
        e->cap = cap;
    }
    size_t ka = len_a, kb = len_b;
    if (o->max_length) {
        size_t budget = o->max_length - n_special;
        if (b) tok_truncate_pair(len_a, len_b, o->max_length, n_special, &ka, &kb);
        else if (ka > budget) ka = budget;
    }
    size_t total = ka + kb + n_special;
    enc_reserve(e, (o->pad_to > total ? o->pad_to : total) + 1);
    /* Lay out [CLS] A[:ka] [SEP] B[:kb] [SEP]; B moves first (it may move right). */
    size_t a0 = o->add_special ? 1 : 0, b0 = a0 + ka + (o->add_special ? 1 : 0);
    if (b) memmove(e->ids + b0, e->ids + len_a, kb * sizeof *e->ids);
    memmove(e->ids + a0, e->ids, ka * sizeof *e->ids);
    if (o->add_special) {
        e->ids[0] = (uint32_t)t->cls;
        e->ids[a0 + ka] = (uint32_t)t->sep;
        if (b) e->ids[b0 + kb] = (uint32_t)t->sep;
    }
    memset(e->type_ids, 0, b0);
    memset(e->type_ids + b0, b ? 1 : 0, total - b0);
    memset(e->mask, 1, total);
    e->n = total;
    while (e->n < o->pad_to) {
        e->ids[e->n] = (uint32_t)t->pad;
        e->type_ids[e->n] = 0;
        e->mask[e->n] = 0;
        e->n++;
    }
    return 0;
}

void tok_encoding_free(tok_encoding *e) {
    free(e->ids);
    free(e->type_ids);
    free(e->mask);
    memset(e, 0, sizeof *e);
}

/* ---- decoding ---------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* The library's WordPiece decoder clean-up, applied to each token after its
 * leading space is added (so multi-token patterns such as " do not" never
 * match across tokens): every rule is a global replace, in this order. */
static const char *const cleanup_rules[][2] = {
    {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
    {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
};

/* Replaces every occurrence of from by to in b (to is never longer than from). */
static void sb_replace(strbuf *b, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to), r = 0, w = 0;
    while (r < b->len) {
        if (r + fl <= b->len && !memcmp(b->p + r, from, fl)) {
            memcpy(b->p + w, to, tl);
            w += tl, r += fl;
        } else {
            b->p[w++] = b->p[r++];
        }
    }
    b->len = w;
    b->p[w] = 0;
}

char *tok_decode(const tokenizer *t, const uint32_t *ids, size_t n, int skip_special) {
    strbuf out = {xmalloc(64), 0, 64}, piece = {xmalloc(64), 0, 64};
    out.p[0] = 0;
    size_t k = 0; /* tokens emitted so far */
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= t->n) {
            free(out.p), free(piece.p);
            err_set("decode: id %u out of range (vocab size %zu)", ids[i], t->n);
            return NULL;
        }
        if (skip_special && t->special[ids[i]]) continue;
        const char *tok = t->pool + t->off[ids[i]];
        size_t len = t->len[ids[i]];
        piece.len = 0;
        if (k) {
            if (len >= t->prefix_len && !memcmp(tok, t->prefix, t->prefix_len)) tok += t->prefix_len, len -= t->prefix_len;
            else sb_put(&piece, " ", 1);
        }
        sb_put(&piece, tok, len);
        /* k-mers are plain letters: the clean-up rules never apply, so skip them */
        for (size_t r = 0; !t->kmer_k && r < sizeof cleanup_rules / sizeof cleanup_rules[0]; r++)
            sb_replace(&piece, cleanup_rules[r][0], cleanup_rules[r][1]);
        sb_put(&out, piece.p, piece.len);
        k++;
    }
    free(piece.p);
    return out.p;
}
