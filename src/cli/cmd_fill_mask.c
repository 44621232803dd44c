/* cmd_fill_mask.c — `bertc fill-mask`: the top-k tokens for each [MASK] of a text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../model/batch.h"
#include "../model/checkpoint.h"
#include "../text/tokenizer.h"
#include "cli.h"

static const char *usage =
    "usage: bertc fill-mask --model DIR [options] [TEXT...]\n"
    "\n"
    "Prints the k most likely tokens, with probabilities, for every [MASK] in each\n"
    "TEXT (or in each line of standard input when no TEXT is given). DIR is a model\n"
    "directory (config.json, model.safetensors, vocab.txt) with an MLM head.\n"
    "\n"
    "options:\n"
    CLI_MODEL_HELP
    "  --vocab FILE      vocabulary (default: DIR/vocab.txt)\n"
    "  -k, --top-k N     predictions per mask (default 5)\n"
    "  --max-length N    truncate inputs to N tokens (default: the model's position limit, 512)\n";

typedef struct {
    float p;
    int id;
} scored;

static int by_prob(const void *a, const void *b) {
    float x = ((const scored *)a)->p, y = ((const scored *)b)->p;
    return (x < y) - (x > y);
}

static int predict(model *m, const tokenizer *tok, const char *text, int k, int max_len) {
    tok_encode_opts eo;
    tok_encode_opts_default(&eo);
    eo.max_length = (size_t)max_len;
    tok_encoding e = {0};
    if (tok_encode(tok, text, strlen(text), NULL, 0, &eo, &e) != 0) return -1;
    int64_t mask_id = tok_mask_id(tok);
    int S = (int)e.n, V = model_cfg(m)->vocab_size, tokV = (int)tok_vocab_size(tok);
    int32_t *ids = xmalloc((size_t)S * sizeof *ids), *types = xmalloc((size_t)S * sizeof *types);
    int32_t *ones = xmalloc((size_t)S * sizeof *ones);
    int n_mask = 0;
    for (int i = 0; i < S; i++) {
        ids[i] = (int32_t)e.ids[i];
        types[i] = e.type_ids[i];
        ones[i] = 1;
        n_mask += e.ids[i] == (uint32_t)mask_id;
    }
    int rc = 0;
    printf("%s\n", text);
    if (n_mask == 0) {
        printf("  (no [MASK] token in this text)\n");
    } else {
        batch_buf bb;
        rc = batch_from_padded(&bb, 1, S, ids, types, ones, NULL, 0);
        if (rc == 0) {
            bb.b.M = 0;
            for (int i = 0; i < S; i++)
                if (ids[i] == mask_id) { bb.rows[bb.b.M] = i; bb.targets[bb.b.M++] = 0; }
            model_forward(m, &bb.b, TASK_MLM, 0, 0);
            float *logits = xmalloc((size_t)bb.b.M * V * sizeof *logits);
            model_ops(m)->act_download(logits, model_logits(m, TASK_MLM), (size_t)bb.b.M * V);
            scored *sc = xmalloc((size_t)tokV * sizeof *sc);
            for (int r = 0; r < bb.b.M; r++) {
                const float *z = logits + (size_t)r * V;
                float mx = -INFINITY;
                for (int v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
                double sum = 0;
                for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
                /* rows past the tokenizer's vocabulary (padding to a multiple of 64) are never shown */
                for (int v = 0; v < tokV; v++) sc[v] = (scored){(float)(exp((double)z[v] - mx) / sum), v};
                qsort(sc, (size_t)tokV, sizeof *sc, by_prob);
                printf("  [MASK] #%d (token %d):", r + 1, bb.rows[r]);
                for (int j = 0; j < k && j < tokV; j++) printf("  %s %.4f", tok_token(tok, (uint32_t)sc[j].id), sc[j].p);
                printf("\n");
            }
            free(sc);
            free(logits);
            batch_free(&bb);
        }
    }
    free(ids);
    free(types);
    free(ones);
    tok_encoding_free(&e);
    return rc;
}

int cmd_fill_mask(int argc, char **argv) {
    const char *dir = NULL, *vocab = NULL;
    int k = 5, max_len = 0;
    char **texts = xmalloc((size_t)argc * sizeof *texts);
    int n_texts = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); free(texts); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--top-k")) || (v = cli_flag_value(argc, argv, &i, "-k"))) k = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) max_len = atoi(v);
        else if (argv[i][0] == '-' && argv[i][1]) { free(texts); return cli_fail("fill-mask", "unknown option '%s' (see --help)", argv[i]); }
        else texts[n_texts++] = argv[i];
    }
    if (!dir) { free(texts); return cli_fail("fill-mask", "--model DIR is required (see --help)"); }
    char mdir_[4096];
    if (!(dir = cli_model_dir("fill-mask", dir, mdir_, sizeof mdir_))) { free(texts); return cli_fail("fill-mask", "%s", err_msg()); }
    if (k <= 0) { free(texts); return cli_fail("fill-mask", "--top-k must be positive"); }
    char vpath[4096];
    vocab = cli_vocab_path(dir, vocab, vpath, sizeof vpath);
    tokenizer *tok = tok_load(vocab, NULL);
    if (!tok) { free(texts); return cli_fail("fill-mask", "%s", err_msg()); }
    /* activations are sized for the longest input allowed, so keep that to what is asked */
    checkpoint_opts co = {.need_mlm_head = 1, .max_tokens = max_len > 0 ? max_len : 512, .max_seqs = 1, .inference = 1};
    model *m = checkpoint_load(dir, ops_cpu(), &co);
    if (m && config_check_vocab(model_cfg(m), dir, tok_vocab_size(tok), vocab) != 0) model_free(m), m = NULL;
    if (!m) { tok_free(tok); free(texts); return cli_fail("fill-mask", "%s", err_msg()); }
    if (tok_mask_id(tok) < 0) { model_free(m); tok_free(tok); free(texts); return cli_fail("fill-mask", "%s has no [MASK] token", vocab); }
    const model_config *mc = model_cfg(m); /* M2 hook: rows up to min(l_max, max_position), pads never added */
    int limit = config_max_seq_len(mc) ? config_max_seq_len(mc) : co.max_tokens;
    max_len = co.max_tokens < limit ? co.max_tokens : limit;
    int rc = 0;
    if (n_texts) {
        for (int i = 0; i < n_texts && rc == 0; i++) rc = predict(m, tok, texts[i], k, max_len);
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while (rc == 0 && (n = getline(&line, &cap, stdin)) > 0) {
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
            if (n) rc = predict(m, tok, line, k, max_len);
        }
        free(line);
    }
    if (rc) fprintf(stderr, "bertc fill-mask: %s\n", err_msg());
    model_free(m);
    tok_free(tok);
    free(texts);
    return rc ? 1 : 0;
}
