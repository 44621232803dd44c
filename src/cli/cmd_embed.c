/* cmd_embed.c — `bertc embed`: one vector per input text from a model's final hidden
 * states (mean over the real tokens, or the [CLS] token), optionally L2-normalised,
 * written as .npy or JSONL in input order. Texts are batched by length (sorted), so
 * a batch carries little padding; the encoder runs unpadded anyway (M2-BERT rows are
 * padded to --max-length, as its reference does). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../io/npy.h"
#include "../model/batch.h"
#include "../model/checkpoint.h"
#include "../text/tokenizer.h"
#include "cli.h"

static const char *usage =
    "usage: bertc embed --model DIR -o OUT [options] [FILE]\n"
    "\n"
    "Embeds each line of FILE (or stdin) — one text per line, empty lines skipped — with\n"
    "the encoder in DIR and writes one vector per text, in input order.\n"
    "\n"
    "options:\n"
    CLI_MODEL_HELP
    "  -o, --output OUT   OUT.npy (float32, texts × hidden) or OUT.jsonl ({\"index\", \"embedding\"})\n"
    "                     chosen by the extension\n"
    "  --pool mean|cls    mean of the real tokens' states (default) or the [CLS] state\n"
    "  --normalize        scale each vector to unit L2 norm\n"
    "  --max-length N     tokens per text, [CLS] and [SEP] included (default 128; longer\n"
    "                     texts are truncated)\n"
    "  --batch-size N     texts per forward pass (default 64)\n"
    "  --vocab FILE       vocab.txt (default: DIR/vocab.txt)\n"
    "  --device D         cpu (default) | cuda | cuda-fp32\n";

static const int32_t *g_len; /* for the sort: token counts */
static int by_length(const void *a, const void *b) {
    int32_t x = g_len[*(const int32_t *)a], y = g_len[*(const int32_t *)b];
    return x != y ? (x > y) - (x < y) : (*(const int32_t *)a > *(const int32_t *)b) - (*(const int32_t *)a < *(const int32_t *)b);
}

static int write_jsonl(const char *path, const float *v, size_t n, int C) {
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    char buf[64];
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int k = snprintf(buf, sizeof buf, "{\"index\": %zu, \"embedding\": [", i);
        rc = afile_write(&f, buf, (size_t)k);
        for (int c = 0; c < C && rc == 0; c++) {
            k = snprintf(buf, sizeof buf, "%s%.9g", c ? ", " : "", v[i * (size_t)C + c]);
            rc = afile_write(&f, buf, (size_t)k);
        }
        if (rc == 0) rc = afile_write(&f, "]}\n", 3);
    }
    if (rc != 0) { afile_abort(&f); return -1; }
    return afile_commit(&f);
}

int cmd_embed(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *vocab = NULL, *device = "cpu", *input = NULL;
    int max_len = 128, bs = 64, cls = 0, norm = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--output")) || (v = cli_flag_value(argc, argv, &i, "-o"))) out = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) device = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) max_len = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--batch-size"))) bs = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--pool"))) {
            if (!strcmp(v, "cls")) cls = 1;
            else if (strcmp(v, "mean")) return cli_fail("embed", "--pool must be mean or cls, got '%s'", v);
        } else if (!strcmp(argv[i], "--normalize")) norm = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_fail("embed", "unknown option '%s' (see --help)", argv[i]);
        else if (!input) input = argv[i];
        else return cli_fail("embed", "one input file at most (see --help)");
    }
    if (!dir || !out) return cli_fail("embed", "--model DIR and -o OUT are required (see --help)");
    char mdir_[4096];
    if (!(dir = cli_model_dir("embed", dir, mdir_, sizeof mdir_))) { return cli_fail("embed", "%s", err_msg()); }
    size_t ol = strlen(out);
    int npy = ol > 4 && !strcmp(out + ol - 4, ".npy");
    if (!npy && !(ol > 6 && !strcmp(out + ol - 6, ".jsonl"))) return cli_fail("embed", "-o must end in .npy or .jsonl");
    if (max_len < 3 || bs <= 0) return cli_fail("embed", "--max-length must be ≥ 3 and --batch-size positive");
    const ops *be = ops_by_name(device);
    if (!be) return cli_fail("embed", "%s", err_msg());
    char vpath[4096];
    vocab = cli_vocab_path(dir, vocab, vpath, sizeof vpath);
    cli_lines in = {0};
    tokenizer *tok = NULL;
    model *m = NULL;
    tok_encoding *enc = NULL;
    int32_t *len = NULL, *order = NULL;
    const uint32_t **rid = NULL; /* (bs,) the rows of a batch: ids and lengths */
    int *rlen = NULL;
    float *emb = NULL, *hid = NULL;
    batch_buf bb = {0};
    int rc = 1;
    if (cli_read_lines(&in, input) != 0) { cli_fail("embed", "%s", err_msg()); goto done; }
    if (in.n == 0) { cli_fail("embed", "no texts in %s", input ? input : "stdin"); goto done; }
    if (!(tok = tok_load(vocab, NULL))) { cli_fail("embed", "%s", err_msg()); goto done; }
    /* a finetuned classifier comes along unused: embed pools by its own --pooling, not the head's */
    checkpoint_opts co = {.max_tokens = bs * max_len, .max_seqs = bs, .inference = 1, .quiet = 1, .pooling = CKPT_POOL_CLS};
    if (!(m = checkpoint_load(dir, be, &co)) || config_check_vocab(model_cfg(m), dir, tok_vocab_size(tok), vocab) != 0) {
        cli_fail("embed", "%s", err_msg());
        goto done;
    }
    const model_config *mc = model_cfg(m);
    int m2 = mc->arch == ARCH_M2, C = mc->hidden;
    if (config_check_max_len(mc, dir, "--max-length", max_len) != 0) { cli_fail("embed", "%s", err_msg()); goto done; }
    /* tokenize everything, then order by length */
    tok_encode_opts eo;
    tok_encode_opts_default(&eo);
    eo.max_length = (size_t)max_len;
    enc = xcalloc(in.n, sizeof *enc);
    len = xmalloc(in.n * sizeof *len);
    order = xmalloc(in.n * sizeof *order);
    for (size_t i = 0; i < in.n; i++) {
        if (tok_encode(tok, in.text[i], strlen(in.text[i]), NULL, 0, &eo, &enc[i]) != 0) {
            cli_fail("embed", "line %zu: %s", i + 1, err_msg());
            goto done;
        }
        len[i] = (int32_t)enc[i].n;
        order[i] = (int32_t)i;
    }
    g_len = len;
    qsort(order, in.n, sizeof *order, by_length);
    emb = xcalloc(in.n * (size_t)C, sizeof *emb);
    rid = xmalloc((size_t)bs * sizeof *rid);
    rlen = xmalloc((size_t)bs * sizeof *rlen);
    hid = xmalloc((size_t)bs * max_len * C * sizeof *hid);
    for (size_t b0 = 0; b0 < in.n; b0 += (size_t)bs) {
        int B = (int)(in.n - b0 < (size_t)bs ? in.n - b0 : (size_t)bs);
        int S = m2 ? max_len : len[order[b0 + (size_t)B - 1]]; /* the longest of the batch (sorted) */
        for (int s = 0; s < B; s++) {
            const tok_encoding *e = &enc[order[b0 + (size_t)s]];
            rid[s] = e->ids, rlen[s] = (int)e->n;
        }
        batch_free(&bb);
        if (batch_from_rows(&bb, B, S, rid, NULL, rlen, (int32_t)tok_pad_id(tok), m2) != 0) { cli_fail("embed", "%s", err_msg()); goto done; }
        model_forward(m, &bb.b, TASK_ENCODE, 0, 0);
        be->act_download(hid, model_hidden(m), (size_t)bb.b.T * C);
        for (int s = 0; s < B; s++) {
            float *v = emb + (size_t)order[b0 + (size_t)s] * C;
            int r0 = bb.b.cu_seqlens[s], n = len[order[b0 + (size_t)s]]; /* M2: the real tokens lead the row */
            double *acc = xcalloc((size_t)C, sizeof *acc);
            for (int t = 0; t < (cls ? 1 : n); t++)
                for (int c = 0; c < C; c++) acc[c] += hid[(size_t)(r0 + t) * C + c];
            double nn = 0;
            for (int c = 0; c < C; c++) {
                acc[c] /= cls ? 1 : n;
                nn += acc[c] * acc[c];
            }
            double scale = norm && nn > 0 ? 1.0 / sqrt(nn) : 1.0;
            for (int c = 0; c < C; c++) v[c] = (float)(acc[c] * scale);
            free(acc);
        }
    }
    if ((npy ? npy_write_f32(out, emb, in.n, (size_t)C) : write_jsonl(out, emb, in.n, C)) != 0) {
        cli_fail("embed", "%s", err_msg());
        goto done;
    }
    fprintf(stderr, "embed: %zu texts → %s (%d dimensions, %s pooling%s)\n", in.n, out, C, cls ? "[CLS]" : "mean",
            norm ? ", L2-normalised" : "");
    rc = 0;
done:
    for (size_t i = 0; enc && i < in.n; i++) tok_encoding_free(&enc[i]);
    cli_lines_free(&in);
    free(enc), free(len), free(order), free(rid), free(rlen), free(emb), free(hid);
    batch_free(&bb);
    model_free(m);
    tok_free(tok);
    return rc;
}
