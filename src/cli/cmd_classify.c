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
#include "../train/finetune.h"
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
    CLI_MODEL_HELP
    "  --pair             each line is text_a <TAB> text_b\n"
    "  --logits           print the raw logits instead of probabilities\n"
    "  --max-length N     tokens per input, specials included (default 128, or the model's limit if lower;\n"
    "                     longest-first truncation)\n"
    "  --chunk N          a text longer than the max length is read as windows of max length − 2\n"
    "                     tokens every N tokens, and classified by the mean of their logits (as\n"
    "                     bertc finetune --chunk N; default: truncate)\n"
    "  --batch-size N     rows per forward pass (default 32)\n"
    "  --vocab FILE       vocab.txt (default: DIR/vocab.txt)\n"
    "  --device D         cpu (default) | cuda | cuda-fp32\n";

int cmd_classify(int argc, char **argv) {
    const char *dir = NULL, *vocab = NULL, *device = "cpu", *input = NULL;
    int max_len = 128, bs = 32, pair = 0, raw = 0, len_given = 0, chunk = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) device = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) max_len = atoi(v), len_given = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--batch-size"))) bs = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--chunk"))) {
            chunk = atoi(v);
            if (chunk <= 0) return cli_fail("classify", "--chunk %s: expected a positive number of tokens", v);
        }
        else if (!strcmp(argv[i], "--pair")) pair = 1;
        else if (!strcmp(argv[i], "--logits")) raw = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_fail("classify", "unknown option '%s' (see --help)", argv[i]);
        else if (!input) input = argv[i];
        else return cli_fail("classify", "one input file at most (see --help)");
    }
    if (!dir) return cli_fail("classify", "--model DIR is required (see --help)");
    char mdir_[4096];
    if (!(dir = cli_model_dir("classify", dir, mdir_, sizeof mdir_))) { return cli_fail("classify", "%s", err_msg()); }
    if (max_len < 3 || bs <= 0) return cli_fail("classify", "--max-length must be ≥ 3 and --batch-size positive");
    const ops *be = ops_by_name(device);
    if (!be) return cli_fail("classify", "%s", err_msg());
    char vpath[4096];
    vocab = cli_vocab_path(dir, vocab, vpath, sizeof vpath);
    cli_lines in = {0};
    tokenizer *tok = NULL;
    model *m = NULL;
    char **text_a = NULL, **text_b = NULL; /* (n,) each line, or its two halves with --pair */
    double *z = NULL;                      /* (n, nl) logits */
    int rc = 1;
    if (cli_read_lines(&in, input) != 0) { cli_fail("classify", "%s", err_msg()); goto done; }
    if (!(tok = tok_load(vocab, NULL))) { cli_fail("classify", "%s", err_msg()); goto done; }
    checkpoint_opts co = {.drop_mlm_head = 1, .max_tokens = bs * max_len, .max_seqs = bs, .inference = 1, .quiet = 1};
    if (!(m = checkpoint_load(dir, be, &co)) || config_check_vocab(model_cfg(m), dir, tok_vocab_size(tok), vocab) != 0) {
        cli_fail("classify", "%s", err_msg());
        goto done;
    }
    const model_config *mc = model_cfg(m);
    int nl = mc->num_labels;
    if (nl <= 0) { cli_fail("classify", "%s has no classifier (classifier.weight): finetune it first", dir); goto done; }
    int limit = config_max_seq_len(mc);
    if (!len_given && limit && max_len > limit) max_len = limit; /* the default fits the model */
    if (config_check_max_len(mc, dir, "--max-length", max_len) != 0) { cli_fail("classify", "%s", err_msg()); goto done; }
    ft_config fc;
    ft_config_default(&fc);
    fc.max_len = max_len, fc.batch_size = bs, fc.chunk_stride = chunk;
    text_a = xmalloc((in.n ? in.n : 1) * sizeof *text_a);
    text_b = pair ? xmalloc((in.n ? in.n : 1) * sizeof *text_b) : NULL;
    for (size_t k = 0; k < in.n; k++) {
        char *tab = pair ? strchr(in.text[k], '\t') : NULL;
        if (pair && !tab) {
            cli_fail("classify", "%s:%zu: --pair needs text_a<TAB>text_b", input ? input : "stdin", k + 1);
            goto done;
        }
        if (tab) *tab = 0, text_b[k] = tab + 1;
        text_a[k] = in.text[k];
    }
    ft_split sp = {.n = (int)in.n, .text_a = (const char *const *)text_a, .text_b = (const char *const *)text_b};
    z = xmalloc((in.n ? in.n : 1) * (size_t)nl * sizeof *z);
    if (finetune_logits(m, tok, &fc, &sp, z) != 0) {
        cli_fail("classify", "%s: %s", input ? input : "stdin", err_msg());
        goto done;
    }
    for (size_t k = 0; k < in.n; k++) {
        const double *r = z + k * (size_t)nl;
        printf("%zu", k);
        if (nl == 1) { printf("\t%.9g\n", r[0]); continue; }
        int best = 0;
        double mx = r[0], sum = 0;
        for (int j = 1; j < nl; j++) if (r[j] > r[best]) best = j, mx = r[j];
        for (int j = 0; j < nl; j++) sum += exp(r[j] - mx);
        printf("\t%d", best);
        for (int j = 0; j < nl; j++) printf("\t%.9g", raw ? r[j] : exp(r[j] - mx) / sum);
        printf("\n");
    }
    rc = 0;
done:
    cli_lines_free(&in);
    free(text_a), free(text_b), free(z);
    model_free(m);
    tok_free(tok);
    return rc;
}
