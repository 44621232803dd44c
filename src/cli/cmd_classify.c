/* cmd_classify.c — `bertc classify`: labels and probabilities (or regression values)
 * of a finetuned sequence-classification model, one TSV row per input in input order. */
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
    "usage: bertc classify --model DIR [options] [FILE]\n"
    "\n"
    "Runs the classifier of DIR (a finetuned model: bertc finetune's best/, or a Hugging Face\n"
    "BertForSequenceClassification directory) on each line of FILE (or stdin) and prints\n"
    "  index <TAB> label <TAB> p_0 <TAB> … p_{k−1}   (softmax probabilities), or\n"
    "  index <TAB> value                             (a regression model, num_labels 1).\n"
    "\n"
    "options:\n"
    "  --model DIR        the model directory (config.json, model.safetensors, vocab.txt)\n"
    "  --pair             each line is text_a <TAB> text_b\n"
    "  --logits           print the raw logits instead of probabilities\n"
    "  --max-length N     tokens per input, specials included (default 128, or the model's limit if lower;\n"
    "                     longest-first truncation)\n"
    "  --batch-size N     inputs per forward pass (default 32)\n"
    "  --vocab FILE       vocab.txt (default: DIR/vocab.txt)\n"
    "  --device D         cpu (default) | cuda | cuda-fp32\n";

int cmd_classify(int argc, char **argv) {
    const char *dir = NULL, *vocab = NULL, *device = "cpu", *input = NULL;
    int max_len = 128, bs = 32, pair = 0, raw = 0, len_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) device = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) max_len = atoi(v), len_given = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--batch-size"))) bs = atoi(v);
        else if (!strcmp(argv[i], "--pair")) pair = 1;
        else if (!strcmp(argv[i], "--logits")) raw = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_fail("classify", "unknown option '%s' (see --help)", argv[i]);
        else if (!input) input = argv[i];
        else return cli_fail("classify", "one input file at most (see --help)");
    }
    if (!dir) return cli_fail("classify", "--model DIR is required (see --help)");
    if (max_len < 3 || bs <= 0) return cli_fail("classify", "--max-length must be ≥ 3 and --batch-size positive");
    const ops *be = ops_by_name(device);
    if (!be) return cli_fail("classify", "%s", err_msg());
    char vpath[4096];
    vocab = cli_vocab_path(dir, vocab, vpath, sizeof vpath);
    cli_lines in = {0};
    tokenizer *tok = NULL;
    model *m = NULL;
    batch_buf bb = {0};
    const uint32_t **rid = NULL; /* (bs,) the rows of a batch: ids, types, lengths */
    const uint8_t **rty = NULL;
    int *rlen = NULL;
    int32_t *labels = NULL;
    float *targets = NULL, *z = NULL;
    int rc = 1;
    if (cli_read_lines(&in, input) != 0) { cli_fail("classify", "%s", err_msg()); goto done; }
    if (!(tok = tok_load(vocab, NULL))) { cli_fail("classify", "%s", err_msg()); goto done; }
    checkpoint_opts co = {.drop_mlm_head = 1, .max_tokens = bs * max_len, .max_seqs = bs, .inference = 1, .quiet = 1};
    if (!(m = checkpoint_load(dir, be, &co))) { cli_fail("classify", "%s", err_msg()); goto done; }
    const model_config *mc = model_cfg(m);
    int nl = mc->num_labels, m2 = mc->arch == ARCH_M2;
    if (nl <= 0) { cli_fail("classify", "%s has no classifier (classifier.weight): finetune it first", dir); goto done; }
    int limit = config_max_seq_len(mc);
    if (!len_given && limit && max_len > limit) max_len = limit; /* the default fits the model */
    if (config_check_max_len(mc, dir, "--max-length", max_len) != 0) { cli_fail("classify", "%s", err_msg()); goto done; }
    tok_encode_opts eo;
    tok_encode_opts_default(&eo);
    eo.max_length = (size_t)max_len;
    rid = xmalloc((size_t)bs * sizeof *rid), rty = xmalloc((size_t)bs * sizeof *rty), rlen = xmalloc((size_t)bs * sizeof *rlen);
    labels = xcalloc((size_t)bs, 4), targets = xcalloc((size_t)bs, 4);
    z = xmalloc((size_t)bs * nl * sizeof *z);
    tok_encoding *enc = xcalloc((size_t)bs, sizeof *enc);
    for (size_t b0 = 0; b0 < in.n; b0 += (size_t)bs) {
        int B = (int)(in.n - b0 < (size_t)bs ? in.n - b0 : (size_t)bs), S = 0;
        for (int k = 0; k < B; k++) {
            char *a = in.text[b0 + k], *tab = pair ? strchr(a, '\t') : NULL;
            if (pair && !tab) {
                cli_fail("classify", "%s:%zu: --pair needs text_a<TAB>text_b", input ? input : "stdin", b0 + k + 1);
                for (int j = 0; j < bs; j++) tok_encoding_free(&enc[j]);
                free(enc);
                goto done;
            }
            size_t na = tab ? (size_t)(tab - a) : strlen(a);
            if (tok_encode(tok, a, na, tab ? tab + 1 : NULL, tab ? strlen(tab + 1) : 0, &eo, &enc[k]) != 0) {
                cli_fail("classify", "line %zu: %s", b0 + k + 1, err_msg());
                for (int j = 0; j < bs; j++) tok_encoding_free(&enc[j]);
                free(enc);
                goto done;
            }
            S = (int)enc[k].n > S ? (int)enc[k].n : S;
        }
        if (m2) S = max_len; /* M2 rows: padded to the length, as its reference does */
        for (int k = 0; k < B; k++) rid[k] = enc[k].ids, rty[k] = enc[k].type_ids, rlen[k] = (int)enc[k].n;
        batch_free(&bb);
        if (batch_from_rows(&bb, B, S, rid, rty, rlen, (int32_t)tok_pad_id(tok), m2) != 0) {
            cli_fail("classify", "%s", err_msg());
            for (int j = 0; j < bs; j++) tok_encoding_free(&enc[j]);
            free(enc);
            goto done;
        }
        bb.b.labels = labels; /* the loss is computed and ignored */
        bb.b.targets = targets;
        model_forward(m, &bb.b, TASK_CLASSIFY, 0, 0);
        be->act_download(z, model_logits(m, TASK_CLASSIFY), (size_t)B * nl);
        for (int k = 0; k < B; k++) {
            const float *r = z + (size_t)k * nl;
            printf("%zu", b0 + k);
            if (nl == 1) { printf("\t%.9g\n", r[0]); continue; }
            int best = 0;
            double mx = r[0], sum = 0;
            for (int j = 1; j < nl; j++) if (r[j] > r[best]) best = j, mx = r[j];
            for (int j = 0; j < nl; j++) sum += exp((double)r[j] - mx);
            printf("\t%d", best);
            for (int j = 0; j < nl; j++) printf("\t%.9g", raw ? (double)r[j] : exp((double)r[j] - mx) / sum);
            printf("\n");
        }
    }
    for (int j = 0; j < bs; j++) tok_encoding_free(&enc[j]);
    free(enc);
    rc = 0;
done:
    cli_lines_free(&in);
    free(rid), free(rty), free(rlen), free(labels), free(targets), free(z);
    batch_free(&bb);
    model_free(m);
    tok_free(tok);
    return rc;
}
