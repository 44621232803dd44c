/* runcfg.c — see runcfg.h. One table drives parsing, printing and help. */
#include "runcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../data/masking.h"

typedef enum { K_INT, K_DOUBLE, K_STR, K_BOOL, K_U64 } key_kind;

typedef struct {
    const char *key;
    key_kind kind;
    size_t off, size; /* size: string capacity */
    const char *def;
    const char *help;
} key_desc;

#define F(field) offsetof(runcfg, field), sizeof(((runcfg *)0)->field)
static const key_desc keys[] = {
    {"model.arch", K_STR, F(arch), "mosaicbert", "architecture: mosaicbert | bert | m2"},
    {"model.hidden", K_INT, F(hidden), "768", "hidden size"},
    {"model.layers", K_INT, F(layers), "12", "encoder layers"},
    {"model.heads", K_INT, F(heads), "12", "attention heads"},
    {"model.intermediate", K_INT, F(intermediate), "3072", "FFN width (GLU: each half)"},
    {"model.max_position", K_INT, F(max_position), "512", "position-table rows (bert)"},
    {"model.vocab_size", K_INT, F(vocab_size), "0", "embedding rows; 0 = vocab rounded up to a multiple of 64"},
    {"model.hidden_dropout", K_DOUBLE, F(hidden_dropout), "0.1", "dropout on hidden states"},
    {"model.attn_dropout", K_DOUBLE, F(attn_dropout), "0.0", "dropout on attention probabilities"},
    {"data.vocab", K_STR, F(vocab), "", "vocab.txt (default: vocab.txt beside the first train shard)"},
    {"data.train", K_STR, F(train), "", "training shards: files or directories, comma-separated (required)"},
    {"data.val", K_STR, F(val), "", "held-out shards for evaluation (optional)"},
    {"data.seq_len", K_INT, F(seq_len), "128", "tokens per sequence, [CLS] and [SEP] included"},
    {"data.mode", K_STR, F(mode), "pad", "pad (one document per row) | pack (documents share rows)"},
    {"data.chunk_docs", K_BOOL, F(chunk_docs), "true", "pad mode: long documents become several rows"},
    {"data.mask_ratio", K_DOUBLE, F(mask_ratio), "0.30",
     "MLM masking probability in training: per token (random), per span centre (contiguous 0.025, genemask 0.0176)"},
    {"data.eval_mask_ratio", K_DOUBLE, F(eval_mask_ratio), "0.15",
     "the same in evaluation (same strategy: set the centre probability for span strategies)"},
    {"mask.strategy", K_STR, F(mask_strategy), "random",
     "random (BERT) | contiguous (DNABERT k-token spans) | genemask (NPMI of the content) | genemask-reference (the released code: NPMI of the position)"},
    {"mask.kmer", K_INT, F(mask_kmer), "6", "span strategies: k of the k-mer tokens, 3 ... 6 (checked against a DNABERT vocabulary)"},
    {"mask.pmi_ranking", K_STR, F(pmi_ranking), "", "genemask strategies: the k-mer NPMI ranking TSV of bertc pmi (required)"},
    {"mask.ref_unknown_rank", K_INT, F(ref_unknown_rank), "0",
     "genemask-reference: rank of positions 1-4 (0 as the released code; 4000 its intended fallback)"},
    {"optim.name", K_STR, F(optimizer), "decoupled_adamw", "decoupled_adamw (Composer, the recipe) | adamw"},
    {"optim.lr", K_DOUBLE, F(lr), "5e-4", "peak learning rate"},
    {"optim.beta1", K_DOUBLE, F(beta1), "0.9", "Adam beta1"},
    {"optim.beta2", K_DOUBLE, F(beta2), "0.98", "Adam beta2"},
    {"optim.eps", K_DOUBLE, F(eps), "1e-6", "Adam epsilon"},
    {"optim.weight_decay", K_DOUBLE, F(weight_decay), "1e-5", "weight decay"},
    {"optim.no_decay_bias_norm", K_BOOL, F(no_decay_bias_norm), "false", "no weight decay on biases and norms"},
    {"optim.clip", K_DOUBLE, F(clip), "0", "global gradient-norm clipping; 0 = off"},
    {"sched.name", K_STR, F(schedule), "linear", "linear (warmup, linear decay) | wsd | constant"},
    {"sched.warmup", K_DOUBLE, F(warmup), "0.06", "warmup: fraction of steps if < 1, else steps"},
    {"sched.alpha_f", K_DOUBLE, F(alpha_f), "0.02", "final learning-rate multiplier"},
    {"sched.decay_fraction", K_DOUBLE, F(decay_fraction), "0.2", "wsd: fraction of steps in the final decay"},
    {"train.batch_size", K_INT, F(batch_size), "32", "sequences per optimizer step"},
    {"train.micro_batch", K_INT, F(micro_batch), "0", "sequences per forward/backward; 0 = batch_size"},
    {"train.steps", K_INT, F(steps), "1000", "optimizer steps"},
    {"train.stop_after", K_INT, F(stop_after), "0", "stop with a checkpoint after N steps of this invocation (time budgets)"},
    {"train.seed", K_U64, F(seed), "17", "seed of init, masking, dropout and shuffling"},
    {"train.on_nan", K_STR, F(on_nan), "stop", "non-finite loss: stop (no checkpoint) | skip the step"},
    {"train.threads", K_INT, F(threads), "0", "CPU threads; 0 = all cores"},
    {"train.device", K_STR, F(device), "cpu", "cpu | cuda (bf16 activations, fp32 weights) | cuda-fp32"},
    {"log.every", K_INT, F(log_every), "10", "steps between log lines and metrics.jsonl rows"},
    {"eval.every", K_INT, F(eval_every), "200", "steps between evaluations; 0 = only at the end"},
    {"eval.batches", K_INT, F(eval_batches), "20", "batches per evaluation"},
    {"ckpt.every", K_INT, F(ckpt_every), "500", "steps between checkpoints (one is always written at the end)"},
    {"ckpt.keep", K_INT, F(ckpt_keep), "3", "checkpoints kept (older ones are removed)"},
};
#undef F
#define N_KEYS (sizeof keys / sizeof keys[0])

static const key_desc *find_key(const char *key) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].key, key)) return &keys[i];
    return NULL;
}

static int apply(runcfg *c, const key_desc *k, const char *v, const char *where) {
    char *end;
    void *p = (char *)c + k->off;
    errno = 0;
    switch (k->kind) {
    case K_INT: {
        long x = strtol(v, &end, 10);
        if (!*v || *end || errno || x < 0 || x > 1 << 30)
            return err_set("%s: %s must be a non-negative integer, got '%s'", where, k->key, v);
        *(int *)p = (int)x;
        return 0;
    }
    case K_U64: {
        unsigned long long x = strtoull(v, &end, 10);
        if (!*v || *end || errno || *v == '-') return err_set("%s: %s must be an unsigned integer, got '%s'", where, k->key, v);
        *(uint64_t *)p = x;
        return 0;
    }
    case K_DOUBLE: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || x != x) return err_set("%s: %s must be a number, got '%s'", where, k->key, v);
        *(double *)p = x;
        return 0;
    }
    case K_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) *(int *)p = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) *(int *)p = 0;
        else return err_set("%s: %s must be true or false, got '%s'", where, k->key, v);
        return 0;
    case K_STR:
        if (strlen(v) >= k->size) return err_set("%s: %s is too long (%zu bytes at most)", where, k->key, k->size - 1);
        memcpy(p, v, strlen(v) + 1);
        return 0;
    }
    return err_set("%s: internal: bad key kind", where);
}

void runcfg_default(runcfg *c) {
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_KEYS; i++) CHECK(apply(c, &keys[i], keys[i].def, "default") == 0, keys[i].key);
}

int runcfg_set(runcfg *c, const char *key, const char *value, const char *where) {
    const key_desc *k = find_key(key);
    if (!k) return err_set("%s: unknown key '%s' (bertc pretrain --help-config lists the keys)", where, key);
    return apply(c, k, value, where);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int runcfg_load(runcfg *c, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return err_set("%s: cannot open: %s", path, strerror(errno));
    char line[4096], where[4200];
    int rc = 0, no = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        no++;
        snprintf(where, sizeof where, "%s:%d", path, no);
        if (!strchr(line, '\n') && !feof(f)) { rc = err_set("%s: line too long", where); break; }
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) { rc = err_set("%s: expected 'key = value', got '%s'", where, s); break; }
        *eq = 0;
        rc = runcfg_set(c, trim(s), trim(eq + 1), where);
    }
    fclose(f);
    return rc;
}

int runcfg_override(runcfg *c, const char *assignment) {
    char buf[2048];
    if (strlen(assignment) >= sizeof buf) return err_set("--set %.40s…: too long", assignment);
    strcpy(buf, assignment);
    char *eq = strchr(buf, '=');
    if (!eq) return err_set("--set %s: expected key=value", assignment);
    *eq = 0;
    char where[64];
    snprintf(where, sizeof where, "--set %s", trim(buf));
    return runcfg_set(c, trim(buf), trim(eq + 1), where);
}

void runcfg_write(const runcfg *c, FILE *out) {
    for (size_t i = 0; i < N_KEYS; i++) {
        const key_desc *k = &keys[i];
        const void *p = (const char *)c + k->off;
        fprintf(out, "%s = ", k->key);
        switch (k->kind) {
        case K_INT: fprintf(out, "%d", *(const int *)p); break;
        case K_U64: fprintf(out, "%llu", (unsigned long long)*(const uint64_t *)p); break;
        case K_DOUBLE: fprintf(out, "%.17g", *(const double *)p); break;
        case K_BOOL: fputs(*(const int *)p ? "true" : "false", out); break;
        case K_STR: fputs((const char *)p, out); break;
        }
        fputc('\n', out);
    }
}

int runcfg_validate(const runcfg *c) {
    if (strcmp(c->arch, "mosaicbert") && strcmp(c->arch, "bert") && strcmp(c->arch, "m2"))
        return err_set("model.arch must be mosaicbert, bert or m2, got '%s'", c->arch);
    if (strcmp(c->mode, "pad") && strcmp(c->mode, "pack")) return err_set("data.mode must be pad or pack, got '%s'", c->mode);
    if (strcmp(c->optimizer, "decoupled_adamw") && strcmp(c->optimizer, "adamw"))
        return err_set("optim.name must be decoupled_adamw or adamw, got '%s'", c->optimizer);
    if (strcmp(c->schedule, "linear") && strcmp(c->schedule, "wsd") && strcmp(c->schedule, "constant"))
        return err_set("sched.name must be linear, wsd or constant, got '%s'", c->schedule);
    if (strcmp(c->on_nan, "stop") && strcmp(c->on_nan, "skip")) return err_set("train.on_nan must be stop or skip");
    if (!c->train[0]) return err_set("data.train is required (the shards from bertc tokenize)");
    if (c->seq_len < 3) return err_set("data.seq_len must be at least 3 ([CLS] token [SEP])");
    if (c->batch_size <= 0 || c->steps <= 0) return err_set("train.batch_size and train.steps must be positive");
    int micro = c->micro_batch ? c->micro_batch : c->batch_size;
    if (c->batch_size % micro) return err_set("train.micro_batch %d does not divide train.batch_size %d", micro, c->batch_size);
    if (!(c->mask_ratio > 0 && c->mask_ratio < 1) || !(c->eval_mask_ratio > 0 && c->eval_mask_ratio < 1))
        return err_set("data.mask_ratio and data.eval_mask_ratio must be in (0, 1)");
    mask_strategy ms;
    if (mask_strategy_parse(c->mask_strategy, &ms) != 0) return -1;
    int genemask = ms == MASK_GENEMASK || ms == MASK_GENEMASK_REF;
    if (ms != MASK_RANDOM && (c->mask_kmer < 3 || c->mask_kmer > MASK_MAX_K))
        return err_set("mask.kmer must be in [3, %d], got %d", MASK_MAX_K, c->mask_kmer);
    if (genemask && !c->pmi_ranking[0]) return err_set("mask.strategy %s needs mask.pmi_ranking (bertc pmi)", c->mask_strategy);
    if (!genemask && c->pmi_ranking[0]) return err_set("mask.pmi_ranking is only read by mask.strategy genemask or genemask-reference");
    if (c->ref_unknown_rank != 0 && ms != MASK_GENEMASK_REF)
        return err_set("mask.ref_unknown_rank is only read by mask.strategy genemask-reference");
    if (c->lr <= 0) return err_set("optim.lr must be positive");
    if (c->log_every <= 0 || c->ckpt_every <= 0 || c->ckpt_keep <= 0)
        return err_set("log.every, ckpt.every and ckpt.keep must be positive");
    return 0;
}

void runcfg_help(FILE *out) {
    fprintf(out, "pretraining configuration keys (file: `key = value`, # comments; or --set key=value):\n\n");
    for (size_t i = 0; i < N_KEYS; i++) fprintf(out, "  %-26s %-16s %s\n", keys[i].key, keys[i].def[0] ? keys[i].def : "\"\"", keys[i].help);
}
