/* cmd_eval.c — `bertc eval`: MLM loss and masked-token accuracy of a checkpoint on
 * token shards (the evaluation the trainer runs, on any model directory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../data/loader.h"
#include "../data/shard_list.h"
#include "../model/checkpoint.h"
#include "../text/tokenizer.h"
#include "../train/mlm_eval.h"
#include "cli.h"

static const char *usage =
    "usage: bertc eval --model DIR --data SHARDS [options]\n"
    "\n"
    "Masked-language-model loss and masked-token accuracy of the model in DIR on token\n"
    "shards (from bertc tokenize), with the unigram baseline (always answering the most\n"
    "frequent masked token). Masks are drawn as in the trainer's evaluation: the same\n"
    "--seed and --mask-ratio give the same masked positions.\n"
    "\n"
    "options:\n"
    CLI_MODEL_HELP
    "  --data SHARDS      shard files or directories, comma-separated (a directory: its\n"
    "                     val-*.bin shards, or every *.bin when it has none)\n"
    "  --vocab FILE       vocab.txt (default: DIR/vocab.txt)\n"
    "  --seq-len N        token slots per row (default 128)\n"
    "  --batch-size N     sequences per batch (default 32)\n"
    "  --batches N        at most N batches (default: all)\n"
    "  --mask-ratio R     share of tokens masked (default 0.15, as data.eval_mask_ratio)\n"
    "  --seed N           masking seed (default 17, the trainer's default)\n"
    "  --no-chunk-docs    one row per document, truncated (default: documents longer than\n"
    "                     a row are cut into rows, as the trainer's data.chunk_docs = true)\n"
    "  --device D         cpu (default) | cuda | cuda-fp32\n"
    "  --json             one JSON line instead of text\n";

int cmd_eval(int argc, char **argv) {
    const char *dir = NULL, *data = NULL, *vocab = NULL, *device = "cpu";
    int seq_len = 128, batch = 32, batches = 1 << 30, json = 0, chunk = 1;
    double ratio = 0.15;
    unsigned long long seed = 17;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--data"))) data = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--seq-len"))) seq_len = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--batch-size"))) batch = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--batches"))) batches = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--mask-ratio"))) ratio = atof(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--seed"))) seed = strtoull(v, NULL, 10);
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) device = v;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--no-chunk-docs")) chunk = 0;
        else return cli_fail("eval", "unknown argument '%s' (see --help)", argv[i]);
    }
    if (!dir || !data) return cli_fail("eval", "--model DIR and --data SHARDS are required (see --help)");
    char mdir_[4096];
    if (!(dir = cli_model_dir("eval", dir, mdir_, sizeof mdir_))) { return cli_fail("eval", "%s", err_msg()); }
    if (seq_len < 3 || batch <= 0 || batches <= 0) return cli_fail("eval", "--seq-len must be ≥ 3, --batch-size and --batches positive");
    if (!(ratio > 0 && ratio < 1)) return cli_fail("eval", "--mask-ratio must be in (0, 1)");
    const ops *be = ops_by_name(device);
    if (!be) return cli_fail("eval", "%s", err_msg());
    char vpath[4096];
    vocab = cli_vocab_path(dir, vocab, vpath, sizeof vpath);
    shard_list shards = {0};
    tokenizer *tok = NULL;
    loader *ld = NULL;
    model *m = NULL;
    batch_buf rows = {0};
    int rc = 1;
    /* a directory: its val- shards when it has them, else all of them */
    if (shard_list_expand(&shards, data, "val-") != 0) {
        shard_list_free(&shards);
        if (shard_list_expand(&shards, data, "") != 0) { cli_fail("eval", "--data: %s", err_msg()); goto done; }
    }
    if (!(tok = tok_load(vocab, NULL))) { cli_fail("eval", "%s", err_msg()); goto done; }
    loader_config lc;
    loader_config_default(&lc);
    if (loader_config_from_tokenizer(&lc, tok) != 0) { cli_fail("eval", "%s", err_msg()); goto done; }
    lc.max_len = seq_len;
    lc.batch_size = batch;
    lc.split_long = chunk;
    lc.eval = 1;
    lc.shuffle = 0;
    lc.prefetch = 0;
    lc.seed = lc.mask.seed = seed;
    lc.mask.ratio = (float)ratio;
    if (!(ld = loader_open(&lc, (const char *const *)shards.paths, shards.n))) { cli_fail("eval", "%s", err_msg()); goto done; }
    checkpoint_opts co = {.need_mlm_head = 1, .max_tokens = batch * seq_len, .max_seqs = batch, .inference = 1, .quiet = 1};
    if (!(m = checkpoint_load(dir, be, &co)) || config_check_vocab(model_cfg(m), dir, tok_vocab_size(tok), vocab) != 0 ||
        config_check_max_len(model_cfg(m), dir, "--seq-len", seq_len) != 0) {
        cli_fail("eval", "%s", err_msg());
        goto done;
    }
    mlm_eval_result e;
    int got = mlm_eval(m, ld, batches, seq_len, (int32_t)tok_pad_id(tok), &rows, &e);
    if (got < 0) { cli_fail("eval", "%s", err_msg()); goto done; }
    if (got > 0) { cli_fail("eval", "no masked tokens in %s", data); goto done; }
    if (json)
        printf("{\"eval_loss\": %.9g, \"eval_accuracy\": %.6f, \"eval_unigram_accuracy\": %.6f, \"eval_tokens\": %llu}\n",
               e.loss, e.accuracy, e.unigram_accuracy, (unsigned long long)e.rows);
    else
        printf("MLM loss %.4f, masked accuracy %.4f (unigram baseline %.4f) over %llu masked tokens\n", e.loss,
               e.accuracy, e.unigram_accuracy, (unsigned long long)e.rows);
    rc = 0;
done:
    batch_free(&rows);
    model_free(m);
    loader_close(ld);
    tok_free(tok);
    shard_list_free(&shards);
    return rc;
}
