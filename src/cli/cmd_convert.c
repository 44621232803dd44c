/* cmd_convert.c — `bertc convert` (read a model directory, write it in bertc's
 * HF layout) and `bertc logits` (MLM logits of stored inputs, for interop checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../io/safetensors.h"
#include "../model/batch.h"
#include "../model/checkpoint.h"
#include "cli.h"

static const char *convert_usage =
    "usage: bertc convert --model DIR -o OUT [--vocab FILE]\n"
    "\n"
    "Loads a BERT or MosaicBERT model directory (config.json + model.safetensors,\n"
    "e.g. from transformers' save_pretrained; F32, F16 or BF16 tensors; LayerNorm\n"
    "gamma/beta spellings accepted) and writes it to OUT as bertc writes checkpoints:\n"
    "F32 safetensors in the reference order, sorted config.json, and vocab.txt\n"
    "(from --vocab, else DIR/vocab.txt when present).\n";

/* Every id within the model's tables, the length within its positions, an M2 row unpadded. */
static int logits_inputs_check(const model_config *c, const char *dir, const char *in, const int32_t *ids,
                               const int32_t *types, const int32_t *mask, int B, int S) {
    if (config_check_max_len(c, dir, "the input length", S) != 0) return -1;
    for (int i = 0; i < B * S; i++) {
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return err_set("%s: input.input_ids[%d][%d] = %d is outside the model's %d-token vocabulary", in, i / S, i % S,
                           ids[i], c->vocab_size);
        if (types[i] < 0 || types[i] >= c->type_vocab)
            return err_set("%s: input.token_type_ids[%d][%d] = %d: the model has %d token types", in, i / S, i % S,
                           types[i], c->type_vocab);
        if (mask[i] != 0 && mask[i] != 1)
            return err_set("%s: input.attention_mask[%d][%d] = %d: must be 0 or 1", in, i / S, i % S, mask[i]);
        if (c->arch == ARCH_M2 && !mask[i])
            return err_set("%s: input.attention_mask[%d][%d] = 0: an M2-BERT row mixes all its positions, so give "
                           "unpadded rows (all ones, or no mask)", in, i / S, i % S);
    }
    return 0;
}

static const char *logits_usage =
    "usage: bertc logits --model DIR --inputs FILE.safetensors -o OUT.safetensors\n"
    "\n"
    "Runs the model (fp32, CPU, eval mode) on input.input_ids [B,S] and the optional\n"
    "input.attention_mask and input.token_type_ids of FILE, and writes the inputs\n"
    "and output.logits [nnz, V] (every real token, (b, s) order) to OUT — the format\n"
    "tools/ref/hf_interop.py checks against transformers.\n";

int cmd_convert(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *vocab = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(convert_usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--out")) || (v = cli_flag_value(argc, argv, &i, "-o"))) out = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else return cli_fail("convert", "unknown argument '%s' (see --help)", argv[i]);
    }
    if (!dir || !out) return cli_fail("convert", "--model DIR and -o OUT are required (see --help)");
    char mdir_[4096];
    if (!(dir = cli_model_dir("convert", dir, mdir_, sizeof mdir_))) { return cli_fail("convert", "%s", err_msg()); }
    checkpoint_opts o = {.max_tokens = 1, .max_seqs = 1, .inference = 1};
    model *m = checkpoint_load(dir, ops_cpu(), &o);
    if (!m) return cli_fail("convert", "%s", err_msg());
    char vpath[4096];
    if (!vocab) {
        snprintf(vpath, sizeof vpath, "%s/vocab.txt", dir);
        FILE *f = fopen(vpath, "rb");
        if (f) { fclose(f); vocab = vpath; }
    }
    int rc = checkpoint_save(m, out, vocab);
    if (rc == 0)
        printf("convert: %s (%s, %d layers, hidden %d, vocab %d) → %s\n", dir, config_arch_name(model_cfg(m)->arch),
               model_cfg(m)->layers, model_cfg(m)->hidden, model_cfg(m)->vocab_size, out);
    model_free(m);
    return rc ? cli_fail("convert", "%s", err_msg()) : 0;
}

static int32_t *read_ids(const st_file *f, const char *name, int B, int S, int32_t fill) {
    int32_t *out = xmalloc((size_t)B * S * sizeof *out);
    const st_tensor *t = st_find(f, name);
    if (!t) {
        for (int i = 0; i < B * S; i++) out[i] = fill;
        return out;
    }
    if (t->ndim != 2 || t->shape[0] != B || t->shape[1] != S) {
        err_set("%s must have shape [%d, %d]", name, B, S);
        free(out);
        return NULL;
    }
    int64_t *tmp = xmalloc((size_t)B * S * sizeof *tmp);
    if (st_read_i64(t, tmp, (size_t)B * S) != 0) { free(tmp); free(out); return NULL; }
    for (int i = 0; i < B * S; i++) out[i] = (int32_t)tmp[i];
    free(tmp);
    return out;
}

int cmd_logits(int argc, char **argv) {
    const char *dir = NULL, *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(logits_usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--inputs"))) in = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--out")) || (v = cli_flag_value(argc, argv, &i, "-o"))) out = v;
        else return cli_fail("logits", "unknown argument '%s' (see --help)", argv[i]);
    }
    if (!dir || !in || !out) return cli_fail("logits", "--model, --inputs and -o are required (see --help)");
    char mdir_[4096];
    if (!(dir = cli_model_dir("logits", dir, mdir_, sizeof mdir_))) { return cli_fail("logits", "%s", err_msg()); }
    st_file *f = st_open(in);
    if (!f) return cli_fail("logits", "%s", err_msg());
    const st_tensor *it = st_find(f, "input.input_ids");
    if (!it || it->ndim != 2) { st_close(f); return cli_fail("logits", "%s: no 2-d tensor input.input_ids", in); }
    int B = (int)it->shape[0], S = (int)it->shape[1];
    if (B < 1 || S < 1) { st_close(f); return cli_fail("logits", "%s: input.input_ids is [%d, %d]: nothing to run", in, B, S); }
    int32_t *ids = read_ids(f, "input.input_ids", B, S, 0), *mask = read_ids(f, "input.attention_mask", B, S, 1);
    int32_t *types = read_ids(f, "input.token_type_ids", B, S, 0);
    st_close(f);
    int rc = ids && mask && types ? 0 : -1;
    model *m = NULL;
    batch_buf bb = {0};
    if (rc == 0) {
        checkpoint_opts o = {.need_mlm_head = 1, .max_tokens = B * S, .max_seqs = B, .inference = 1};
        m = checkpoint_load(dir, ops_cpu(), &o);
        if (!m) rc = -1;
    }
    if (rc == 0) rc = logits_inputs_check(model_cfg(m), dir, in, ids, types, mask, B, S);
    if (rc == 0) rc = batch_from_padded(&bb, B, S, ids, types, mask, NULL, 0);
    if (rc == 0) {
        batch_all_rows(&bb);
        model_forward(m, &bb.b, TASK_MLM, 0, 0);
        int64_t shape_in[2] = {B, S}, shape_out[2] = {bb.b.T, model_cfg(m)->vocab_size};
        st_entry e[4] = {
            {.name = "input.input_ids", .dtype = ST_I32, .ndim = 2, .shape = shape_in, .data = ids},
            {.name = "input.attention_mask", .dtype = ST_I32, .ndim = 2, .shape = shape_in, .data = mask},
            {.name = "input.token_type_ids", .dtype = ST_I32, .ndim = 2, .shape = shape_in, .data = types},
            {.name = "output.logits", .dtype = ST_F32, .ndim = 2, .shape = shape_out, .data = model_logits(m, TASK_MLM)},
        };
        rc = st_write(out, e, 4, NULL, 0);
        if (rc == 0) printf("logits: %d real tokens × %d → %s\n", bb.b.T, model_cfg(m)->vocab_size, out);
    }
    if (rc) fprintf(stderr, "bertc logits: %s\n", err_msg());
    batch_free(&bb);
    model_free(m);
    free(ids); free(mask); free(types);
    return rc ? 1 : 0;
}
