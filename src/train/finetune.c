/* finetune.c — see finetune.h. */
#include "finetune.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../io/file.h"
#include "../io/safetensors.h"
#include "../model/batch.h"
#include "../model/checkpoint.h"
#include "../data/task.h"
#include "../text/tokenizer.h"
#include "ckptdir.h"
#include "optim.h"
#include "schedule.h"
#include "train_state.h"

#define FT_STATE_FORMAT "bertc-finetune-state-1"
#define FT_STATE_COUNTERS "finetune.counters"

void ft_config_default(ft_config *c) {
    memset(c, 0, sizeof *c);
    c->device = "cpu";
    c->num_labels = 2;
    c->metric = METRIC_ACCURACY;
    c->max_len = 128;
    c->batch_size = 32;
    c->epochs = 3;
    c->lr = 5e-5;
    c->weight_decay = 5e-6;
    c->warmup = 0.06;
    c->alpha_f = 0.0;
    c->seed = 17;
}

void ft_config_from_recipe(ft_config *c, const glue_recipe *r, int seed_index, const ft_recipe_keep *keep) {
    static const ft_recipe_keep none;
    const ft_recipe_keep *k = keep ? keep : &none;
    if (r->lr > 0) {
        if (!k->lr) c->lr = r->lr;
        if (!k->wd) c->weight_decay = r->wd;
        if (!k->optimizer) c->torch_adamw = !r->decoupled;
    }
    if (!k->pooling && r->mean_pool) c->pooling = CKPT_POOL_MEAN;
    if (!k->epochs && r->epochs > 0) c->epochs = r->epochs;
    if (!k->batch && r->batch > 0) c->batch_size = r->batch;
    if (!k->eval_every) c->eval_every = r->eval_interval;
    if (!k->seed && r->n_seeds > seed_index) c->seed = (uint64_t)r->seeds[seed_index];
}

/* A split tokenized once: model rows with their ids and token types (specials included),
 * one per example, or with chunking several, ex[r] naming the example of row r. */
typedef struct {
    tok_encoding *enc; /* (n,) */
    int32_t *ex;       /* (n,) */
    int n;
} encoded;

static void encoded_push(encoded *e, int *cap, int example) {
    if (e->n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        e->enc = xrealloc(e->enc, (size_t)*cap * sizeof *e->enc);
        e->ex = xrealloc(e->ex, (size_t)*cap * sizeof *e->ex);
    }
    memset(&e->enc[e->n], 0, sizeof e->enc[e->n]);
    e->ex[e->n++] = example;
}

/* [CLS] ids[0..n) [SEP] as row r's encoding */
static void encoding_set(tok_encoding *e, const tokenizer *tok, const uint32_t *ids, size_t n) {
    e->n = e->cap = n + 2;
    e->ids = xmalloc(e->n * sizeof *e->ids);
    e->type_ids = xcalloc(e->n, sizeof *e->type_ids);
    e->mask = xmalloc(e->n);
    memset(e->mask, 1, e->n);
    e->ids[0] = (uint32_t)tok_cls_id(tok);
    memcpy(e->ids + 1, ids, n * sizeof *ids);
    e->ids[n + 1] = (uint32_t)tok_sep_id(tok);
}

/* stride 0: one row per example, truncated to max_len. stride > 0 (single texts): the
 * text's tokens in windows of W = max_len − 2 starting at 0, stride, 2·stride, … up to the
 * first window that reaches the end (a text of ≤ W tokens is one row). */
static int encode_split(const tokenizer *tok, const ft_split *s, int max_len, int stride, const char *what,
                        encoded *out) {
    memset(out, 0, sizeof *out);
    int cap = 0;
    if (stride > 0) {
        size_t W = (size_t)max_len - 2;
        if (s->text_b) return err_set("%s: chunking (--chunk) works on single-text tasks, not on pairs", what);
        if ((size_t)stride > W) return err_set("--chunk %d: the stride must be at most max length − 2 = %zu", stride, W);
        if (tok_cls_id(tok) < 0 || tok_sep_id(tok) < 0) return err_set("%s: the vocabulary has no [CLS] or [SEP]", what);
        uint32_t *ids = NULL;
        size_t n, idcap = 0;
        for (int i = 0; i < s->n; i++) {
            n = 0;
            tok_encode_ids(tok, s->text_a[i], strlen(s->text_a[i]), &ids, &n, &idcap);
            for (size_t at = 0;; at += (size_t)stride) {
                encoded_push(out, &cap, i);
                encoding_set(&out->enc[out->n - 1], tok, ids + at, n - at < W ? n - at : W);
                if (at + W >= n) break;
            }
        }
        free(ids);
        return 0;
    }
    tok_encode_opts eo;
    tok_encode_opts_default(&eo);
    eo.max_length = (size_t)max_len;
    for (int i = 0; i < s->n; i++) {
        const char *b = s->text_b ? s->text_b[i] : NULL;
        encoded_push(out, &cap, i);
        if (tok_encode(tok, s->text_a[i], strlen(s->text_a[i]), b, b ? strlen(b) : 0, &eo, &out->enc[i]) != 0)
            return err_prefix("%s example %d", what, i + 1);
    }
    return 0;
}

static void encoded_free(encoded *e) {
    for (int i = 0; i < e->n; i++) tok_encoding_free(&e->enc[i]);
    free(e->enc);
    free(e->ex);
    memset(e, 0, sizeof *e);
}

/* Rows idx[0 … B−1] as a model batch: rows padded to the longest (M2: to max_len)
 * and unpadded again (batch_from_rows); labels / targets attached. */
typedef struct {
    batch_buf bb;
    const uint32_t **ids;  /* (B,) per row: token ids, token types, lengths */
    const uint8_t **types;
    int *lens;
    int32_t *labels;       /* (B,) */
    float *targets;        /* (B,) */
} batch_maker;

static const model_batch *make_batch(batch_maker *mk, const encoded *e, const ft_split *s, const int32_t *idx, int B,
                                     int m2, int max_len, int32_t pad) {
    int S = 0;
    for (int k = 0; k < B; k++) {
        const tok_encoding *x = &e->enc[idx[k]];
        mk->ids[k] = x->ids, mk->types[k] = x->type_ids, mk->lens[k] = (int)x->n;
        S = mk->lens[k] > S ? mk->lens[k] : S;
        mk->labels[k] = s->label ? s->label[e->ex[idx[k]]] : 0;
        mk->targets[k] = s->value ? s->value[e->ex[idx[k]]] : 0.0f;
    }
    batch_free(&mk->bb);
    CHECK(batch_from_rows(&mk->bb, B, m2 ? max_len : S, mk->ids, mk->types, mk->lens, pad, m2) == 0, "finetune batch");
    mk->bb.b.labels = mk->labels;
    mk->bb.b.targets = mk->targets;
    return &mk->bb.b;
}

/* The row arrays of a batch_maker for batches of up to B examples. */
static void maker_init(batch_maker *mk, int B) {
    mk->ids = xmalloc((size_t)B * sizeof *mk->ids), mk->types = xmalloc((size_t)B * sizeof *mk->types);
    mk->lens = xmalloc((size_t)B * sizeof *mk->lens);
    mk->labels = xmalloc((size_t)B * sizeof *mk->labels), mk->targets = xmalloc((size_t)B * sizeof *mk->targets);
}

static void maker_free(batch_maker *mk) {
    free(mk->ids), free(mk->types), free(mk->lens), free(mk->labels), free(mk->targets);
    batch_free(&mk->bb);
}

/* OUT/NAME.tmp is written whole (the model, and with `state` the training state), then
 * NAME → NAME.old, NAME.tmp → NAME, NAME.old removed: a crash leaves a complete NAME/ or
 * NAME.old/. */
typedef struct {
    const optim *opt;
    const int64_t *counters;
    int n;
    const char *args;
} ft_saved_state;

static int save_model_dir(model *m, const char *out, const char *name, const char *vocab, const ft_saved_state *state) {
    char tmp[4200], dst[4200], old[4200];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", out, name);
    snprintf(dst, sizeof dst, "%s/%s", out, name);
    snprintf(old, sizeof old, "%s/%s.old", out, name);
    ckptdir_remove(tmp);
    if (checkpoint_save(m, tmp, vocab) != 0) return err_prefix("saving %s", dst);
    if (state && train_state_save(tmp, state->opt, FT_STATE_FORMAT, FT_STATE_COUNTERS, state->counters, state->n,
                                  state->args) != 0)
        return err_prefix("saving %s", dst);
    ckptdir_remove(old);
    if (rename(dst, old) != 0 && errno != ENOENT) return err_set("%s: %s", dst, strerror(errno));
    if (rename(tmp, dst) != 0) return err_set("%s: %s", dst, strerror(errno));
    ckptdir_remove(old);
    return 0;
}

static int write_predictions(const char *out, const ft_split *dev, const int32_t *pred, const double *value) {
    char path[4200];
    snprintf(path, sizeof path, "%s/predictions.tsv", out);
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    char line[128];
    int rc = afile_write(&f, "index\tprediction\tgold\n", 22);
    for (int i = 0; i < dev->n && rc == 0; i++) {
        int k = value ? snprintf(line, sizeof line, "%d\t%.9g\t%.9g\n", i, value[i], dev->value ? dev->value[i] : 0.0f)
                      : snprintf(line, sizeof line, "%d\t%d\t%d\n", i, pred[i], dev->label ? dev->label[i] : -1);
        rc = afile_write(&f, line, (size_t)k);
    }
    if (rc != 0) { afile_abort(&f); return -1; }
    return afile_commit(&f);
}

typedef struct {
    const ft_config *c;
    model *m;
    const ops *be;
    tokenizer *tok;
    encoded tr, dv;
    batch_maker mk;
    int m2, nl;
    FILE *metrics;
    const char *vocab;
} ft_state;

/* zmean (n, nl) = the mean logits of each example's rows; loss = the mean row loss (with the
 * split's labels, or 0s when it has none). */
static void predict_logits(ft_state *st, const ft_split *dev, const encoded *enc, double *zmean, double *loss) {
    const ft_config *c = st->c;
    int nl = st->nl;
    float *z = xmalloc((size_t)c->batch_size * nl * sizeof *z); /* (B, nl) logits */
    int32_t *idx = xmalloc((size_t)c->batch_size * sizeof *idx);
    int *rows = xcalloc((size_t)dev->n, sizeof *rows);
    memset(zmean, 0, (size_t)dev->n * nl * sizeof *zmean);
    double lsum = 0;
    for (int i0 = 0; i0 < enc->n; i0 += c->batch_size) {
        int B = enc->n - i0 < c->batch_size ? enc->n - i0 : c->batch_size;
        for (int k = 0; k < B; k++) idx[k] = i0 + k;
        const model_batch *mb = make_batch(&st->mk, enc, dev, idx, B, st->m2, c->max_len, (int32_t)tok_pad_id(st->tok));
        lsum += (double)model_forward(st->m, mb, TASK_CLASSIFY, 0, 0) * B;
        st->be->act_download(z, model_logits(st->m, TASK_CLASSIFY), (size_t)B * nl);
        for (int k = 0; k < B; k++) {
            int i = enc->ex[i0 + k];
            rows[i]++;
            for (int j = 0; j < nl; j++) zmean[(size_t)i * nl + j] += z[k * nl + j];
        }
    }
    for (int i = 0; i < dev->n; i++)
        for (int j = 0; rows[i] > 1 && j < nl; j++) zmean[(size_t)i * nl + j] /= rows[i];
    free(z), free(idx), free(rows);
    *loss = enc->n ? lsum / enc->n : NAN;
}

/* Predictions on dev (class ids, or values when regression) from the mean of each
 * example's row logits, and the dev loss. */
static void predict(ft_state *st, const ft_split *dev, const encoded *enc, int32_t *pred, double *value, double *loss) {
    int nl = st->nl;
    double *zm = xmalloc((size_t)dev->n * nl * sizeof *zm);
    predict_logits(st, dev, enc, zm, loss);
    for (int i = 0; i < dev->n; i++) {
        const double *zi = zm + (size_t)i * nl;
        if (nl == 1) { value[i] = zi[0]; continue; }
        int best = 0;
        for (int j = 1; j < nl; j++) if (zi[j] > zi[best]) best = j;
        pred[i] = best;
    }
    free(zm);
}

static int metric_of(metric_kind kind, const ft_split *dev, int nl, const int32_t *pred, const double *value,
                     double *out) {
    metric_input in = {.n = (size_t)dev->n, .k = nl};
    if (nl == 1) in.pred_value = value, in.gold_value = dev->value;
    else in.pred = pred, in.gold = dev->label;
    return metric_compute(kind, &in, out);
}

static int evaluate(ft_state *st, const ft_split *dev, int32_t *pred, double *value, double *metric, double *loss) {
    predict(st, dev, &st->dv, pred, value, loss);
    return metric_of(st->c->metric, dev, st->nl, pred, value, metric);
}

static int check_split(const ft_split *s, int nl, const char *what) {
    if (s->n <= 0) return err_set("%s: no examples", what);
    if (nl == 1 && !s->value) return err_set("%s: a regression task needs target values", what);
    if (nl > 1 && !s->label) return err_set("%s: a classification task needs labels", what);
    for (int i = 0; nl > 1 && i < s->n; i++)
        if (s->label[i] < 0 || s->label[i] >= nl)
            return err_set("%s example %d: label %d outside [0, %d)", what, i + 1, s->label[i], nl);
    return 0;
}

/* ---- resume -----------------------------------------------------------------------------
 * At every evaluation, and after the step in which SIGINT or SIGTERM arrives, OUT/last/ is
 * replaced by the model and the training state (train_state.h: Adam's moments, the counters
 * below, the run's settings as "args"). The same command run again continues from it and
 * repeats the uninterrupted run bit for bit (masks and dropout are functions of the step, the
 * order of the epoch); other settings are refused. A finished run removes OUT/last/. */
enum { FC_STEP, FC_EPOCH, FC_BATCH, FC_EVALS, FC_BEST_STEP, FC_STALE, FC_NLOG, FC_BEST_METRIC, FC_LOSS_LOG, FC_N };

static volatile sig_atomic_t ft_stop_signal;
static void ft_on_signal(int sig) { ft_stop_signal = sig; }

static uint64_t fnv_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* FNV-1a of a split's texts and targets: a resumed run must see the same data */
static uint64_t split_hash(const ft_split *s) {
    uint64_t h = 14695981039346656037ull;
    for (int i = 0; i < s->n; i++) {
        h = fnv_bytes(h, s->text_a[i], strlen(s->text_a[i]) + 1);
        if (s->text_b) h = fnv_bytes(h, s->text_b[i], strlen(s->text_b[i]) + 1);
        if (s->label) h = fnv_bytes(h, &s->label[i], sizeof s->label[i]);
        if (s->value) h = fnv_bytes(h, &s->value[i], sizeof s->value[i]);
    }
    return h;
}

/* Every setting that shapes the run's trajectory, one per line (compared on resume), with the
 * model file's size and time: a model pretrained again at the same path is another model. */
static char *run_args(const ft_config *c, const ft_split *train, const ft_split *dev) {
    char *a = xmalloc(16384), path[4200], mpath[PATH_MAX], vpath[PATH_MAX];
    struct stat sb;
    /* paths as the file system resolves them: `run` and `/abs/run/` name one model */
    if (!realpath(c->model_dir, mpath)) snprintf(mpath, sizeof mpath, "%s", c->model_dir);
    if (!c->vocab || !realpath(c->vocab, vpath)) snprintf(vpath, sizeof vpath, "%s", c->vocab ? c->vocab : "(the model's)");
    snprintf(path, sizeof path, "%s/model.safetensors", c->model_dir);
    if (stat(path, &sb) != 0) memset(&sb, 0, sizeof sb);
    snprintf(a, 16384,
             "model %s (%lld bytes, modified %lld.%09ld)\nvocab %s\ndevice %s\nlabels %d\nmetric %s\nmax_len %d\nchunk %d\nbatch %d\nepochs %d\n"
             "lr %.17g\nwd %.17g\nwarmup %.17g\nalpha_f %.17g\nclip %.17g\noptimizer %s\neval_every %d\n"
             "patience %d\nseed %" PRIu64 "\nfresh_classifier %d\npooling %d\ntrain %d examples %016" PRIx64
             "\ndev %d examples %016" PRIx64 "\n",
             mpath, (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec, vpath, c->device, c->num_labels, metric_name(c->metric),
             c->max_len, c->chunk_stride, c->batch_size, c->epochs, c->lr, c->weight_decay, c->warmup, c->alpha_f,
             c->clip, c->torch_adamw ? "adamw" : "decoupled", c->eval_every, c->patience, c->seed,
             c->fresh_classifier, c->pooling, train->n, split_hash(train), dev->n, split_hash(dev));
    return a;
}

/* The first line where two args texts differ, for the refusal. */
static void first_difference(const char *was, const char *now, char *out, size_t n) {
    while (*was && *now) {
        size_t lw = strcspn(was, "\n"), ln = strcspn(now, "\n");
        if (lw != ln || memcmp(was, now, lw) != 0) {
            snprintf(out, n, "was '%.*s', now '%.*s'", (int)lw, was, (int)ln, now);
            return;
        }
        was += lw + (was[lw] == '\n');
        now += ln + (now[ln] == '\n');
    }
    snprintf(out, n, "the settings differ");
}

/* OUT/last ← the model and state after `step` (batch b of epoch ep). */
static int save_last(ft_state *st, const optim *opt, int64_t step, int ep, int64_t b, const ft_result *r, int stale,
                     int n_log, double loss_log, const char *args) {
    int64_t k[FC_N] = {[FC_STEP] = step, [FC_EPOCH] = ep, [FC_BATCH] = b, [FC_EVALS] = r->evaluations,
                       [FC_BEST_STEP] = r->best_step, [FC_STALE] = stale, [FC_NLOG] = n_log,
                       [FC_BEST_METRIC] = train_f64_bits(r->best_metric), [FC_LOSS_LOG] = train_f64_bits(loss_log)};
    ft_saved_state s = {.opt = opt, .counters = k, .n = FC_N, .args = args};
    fflush(st->metrics); /* the log is rewound to `step` on resume: it must hold it */
    return save_model_dir(st->m, st->c->out_dir, "last", st->vocab, &s);
}

/* OUT/finished: written when a run ends, with its result and settings; the same settings
 * again find the work done (glue continues past its finished tasks this way). */
#define FT_FINISHED_MAGIC "bertc-finetune-finished-1\n"

static int write_finished(const char *out_dir, const ft_result *r, const char *args) {
    char path[4200], head[256];
    snprintf(path, sizeof path, "%s/finished", out_dir);
    int k = snprintf(head, sizeof head, FT_FINISHED_MAGIC "best_metric %a\nbest_step %" PRId64 "\nevaluations %d\nsteps %" PRId64 "\n",
                     r->best_metric, r->best_step, r->evaluations, r->steps);
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    if (afile_write(&f, head, (size_t)k) != 0 || afile_write(&f, args, strlen(args)) != 0) {
        afile_abort(&f);
        return -1;
    }
    return afile_commit(&f);
}

/* 1 and *r filled when OUT/finished holds a run with these settings, else 0. */
static int read_finished(const char *out_dir, const char *args, ft_result *r) {
    char path[4200];
    snprintf(path, sizeof path, "%s/finished", out_dir);
    char *text = file_read_all(path, NULL);
    if (!text) return 0;
    const char *p = text;
    long long bs = 0, st = 0;
    int ev = 0, n = 0, ok = !strncmp(p, FT_FINISHED_MAGIC, strlen(FT_FINISHED_MAGIC));
    char num[64];
    if (ok) p += strlen(FT_FINISHED_MAGIC);
    ok = ok && sscanf(p, "best_metric %63s best_step %lld evaluations %d steps %lld\n%n", num, &bs, &ev, &st, &n) == 4 && n > 0;
    if (ok && !strcmp(p + n, args)) {
        r->best_metric = strtod(num, NULL), r->best_step = bs, r->evaluations = ev, r->steps = st;
        free(text);
        return 1;
    }
    free(text);
    return 0;
}

/* Removes OUT/last and the .old/.tmp a crash between its renames can leave. */
static void remove_states(const char *out_dir) {
    static const char *const names[] = {"last", "last.old", "last.tmp"};
    char p[4200];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", out_dir, names[i]);
        ckptdir_remove(p);
    }
}

/* The "args" a state directory was written with (malloc'd), or NULL. */
static char *state_args(const char *dir) {
    char p[4300];
    snprintf(p, sizeof p, "%s/trainer_state.safetensors", dir);
    st_file *f = st_open(p);
    const char *a = f ? st_metadata_get(f, "args") : NULL;
    char *r = a ? xstrdup(a) : NULL;
    if (f) st_close(f);
    return r;
}

static int dir_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int finetune_run(const ft_config *c, const ft_split *train, const ft_split *dev, ft_result *out) {
    memset(out, 0, sizeof *out);
    if (c->num_labels < 1) return err_set("finetune: num_labels must be ≥ 1 (1 = regression)");
    if (c->batch_size <= 0 || c->epochs <= 0 || c->max_len < 3) return err_set("finetune: batch size, epochs must be positive, max_len ≥ 3");
    if (check_split(train, c->num_labels, "train") != 0 || check_split(dev, c->num_labels, "dev") != 0) return -1;
    if (mkdir(c->out_dir, 0777) != 0 && errno != EEXIST) return err_set("%s: cannot create: %s", c->out_dir, strerror(errno));
    ft_state st = {.c = c, .nl = c->num_labels};
    char vpath[4200], path[4200];
    st.vocab = c->vocab;
    if (!st.vocab) { snprintf(vpath, sizeof vpath, "%s/vocab.txt", c->model_dir); st.vocab = vpath; }
    int rc = -1;
    optim opt = {0};
    int32_t *order = NULL, *pred = NULL;
    double *value = NULL;
    char *args = NULL;
    int handlers = 0;
    struct sigaction old_int, old_term;
    if (!(st.be = ops_by_name(c->device))) return -1;
    if (!(st.tok = tok_load(st.vocab, NULL))) return err_prefix("finetune vocabulary");
    checkpoint_opts co = {.num_labels = c->num_labels, .drop_mlm_head = 1, .fresh_classifier = c->fresh_classifier, .pooling = c->pooling, .max_tokens = c->batch_size * c->max_len,
                          .max_seqs = c->batch_size, .seed = c->seed, .quiet = c->quiet};
    /* a max length the model cannot take is the user's error, not a crash inside the model */
    if (!(st.m = checkpoint_load(c->model_dir, st.be, &co)) ||
        config_check_vocab(model_cfg(st.m), c->model_dir, tok_vocab_size(st.tok), st.vocab) != 0 ||
        config_check_max_len(model_cfg(st.m), c->model_dir, "max length", c->max_len) != 0)
        goto done;
    st.m2 = model_cfg(st.m)->arch == ARCH_M2;
    if (encode_split(st.tok, train, c->max_len, c->chunk_stride, "train", &st.tr) != 0 ||
        encode_split(st.tok, dev, c->max_len, c->chunk_stride, "dev", &st.dv) != 0)
        goto done;
    if (!c->quiet && c->chunk_stride > 0)
        fprintf(stderr, "finetune: chunks of %d tokens every %d: %d train rows of %d examples, %d dev rows of %d\n",
                c->max_len - 2, c->chunk_stride, st.tr.n, train->n, st.dv.n, dev->n);
    maker_init(&st.mk, c->batch_size);
    optim_config oc;
    optim_config_default(&oc); /* DecoupledAdamW, betas (0.9, 0.98), eps 1e-6 */
    oc.lr = c->lr;
    oc.weight_decay = c->weight_decay;
    if (c->torch_adamw) oc.kind = OPTIM_ADAMW, oc.no_decay_bias_norm = 1;
    if (optim_init(&opt, &oc, model_params(st.m), st.be) != 0) goto done;
    int64_t per_epoch = (st.tr.n + c->batch_size - 1) / c->batch_size, total = per_epoch * c->epochs;
    schedule sch;
    schedule_default(&sch, total);
    sch.warmup = c->warmup < 1 ? (int64_t)llround(c->warmup * (double)total) : (int64_t)c->warmup;
    sch.alpha_f = c->alpha_f;
    if (schedule_check(&sch) != 0) goto done;
    out->best_metric = -INFINITY;
    int stale = 0, stop = 0, ep0 = 0;
    int64_t step = 0, b0 = 0;
    double loss_log = 0;
    int n_log = 0;
    /* resume from OUT/last (or last.old, when a crash fell between its two renames) */
    args = run_args(c, train, dev);
    char last[4200], last_old[4200];
    snprintf(last, sizeof last, "%s/last", c->out_dir);
    snprintf(last_old, sizeof last_old, "%s/last.old", c->out_dir);
    snprintf(path, sizeof path, "%s/finished", c->out_dir);
    struct stat fsb;
    if (stat(path, &fsb) == 0) remove_states(c->out_dir); /* a crash between finishing and cleaning up left them */
    if (read_finished(c->out_dir, args, out)) {
        if (!c->quiet)
            fprintf(stderr, "finetune: %s/finished: done before with these settings (best %s %.4f at step %" PRId64 ")\n",
                    c->out_dir, metric_name(c->metric), out->best_metric, out->best_step);
        rc = 0;
        goto done;
    }
    if (unlink(path) == 0 && !c->quiet) /* other settings: this run replaces that one */
        fprintf(stderr, "finetune: %s held a finished run with other settings: training afresh, replacing it\n",
                c->out_dir);
    const char *from = dir_exists(last) ? last : dir_exists(last_old) ? last_old : NULL;
    if (from) {
        int64_t k[FC_N];
        char *was = NULL, diff[600];
        was = state_args(from); /* the settings first: another model's tensors would not even load */
        if (was && !strcmp(was, args) &&
            (checkpoint_read_params(st.m, from) != 0 || train_state_load(from, &opt, FT_STATE_COUNTERS, k, FC_N, NULL) != 0)) {
            err_prefix("resuming from %s (remove it to start over)", from);
            free(was);
            goto done;
        }
        if (!was || strcmp(was, args) != 0) {
            first_difference(was ? was : "", args, diff, sizeof diff);
            err_set("%s holds a finetune with other settings (%s): give another --out, or remove %s to start over", from,
                    diff, from);
            free(was);
            goto done;
        }
        free(was);
        model_params_changed(st.m);
        step = k[FC_STEP], opt.step = k[FC_STEP];
        ep0 = (int)k[FC_EPOCH], b0 = k[FC_BATCH] + 1;
        if (b0 == per_epoch) ep0++, b0 = 0;
        out->evaluations = (int)k[FC_EVALS], out->best_step = k[FC_BEST_STEP], stale = (int)k[FC_STALE];
        n_log = (int)k[FC_NLOG], out->best_metric = train_f64_of(k[FC_BEST_METRIC]), loss_log = train_f64_of(k[FC_LOSS_LOG]);
        if (!c->quiet) fprintf(stderr, "finetune: resuming %s at step %" PRId64 " of %" PRId64 "\n", from, step, total);
    }
    snprintf(path, sizeof path, "%s/metrics.jsonl", c->out_dir);
    if (from && train_metrics_truncate(path, step) != 0) goto done;
    if (!(st.metrics = fopen(path, from ? "a" : "w"))) { err_set("%s: cannot write: %s", path, strerror(errno)); goto done; }
    order = xmalloc((size_t)st.tr.n * sizeof *order);
    pred = xcalloc((size_t)dev->n, sizeof *pred);
    value = xcalloc((size_t)dev->n, sizeof *value);
    ft_stop_signal = 0;
    struct sigaction sa = {.sa_handler = ft_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers = 1;
    /* test hooks: a real SIGKILL, or a SIGINT through the handler, after that step */
    const char *kill_at = getenv("BERTC_TEST_SIGKILL_AT_STEP"), *int_at = getenv("BERTC_TEST_SIGINT_AT_STEP");
    for (int ep = ep0; ep < c->epochs && !stop; ep++) {
        /* a fresh order per epoch, keyed by (seed, epoch): Fisher–Yates */
        for (int i = 0; i < st.tr.n; i++) order[i] = i;
        rng_key k = {.seed = c->seed, .stream = RNG_STREAM_SHUFFLE, .step = (uint32_t)ep};
        for (int i = st.tr.n - 1; i > 0; i--) {
            int j = (int)(rng_u32(k, (uint64_t)i) % (uint32_t)(i + 1)), t = order[i];
            order[i] = order[j], order[j] = t;
        }
        for (int64_t b = ep == ep0 ? b0 : 0; b < per_epoch && !stop; b++) {
            int i0 = (int)(b * c->batch_size), B = st.tr.n - i0 < c->batch_size ? st.tr.n - i0 : c->batch_size;
            const model_batch *mb = make_batch(&st.mk, &st.tr, train, order + i0, B, st.m2, c->max_len,
                                               (int32_t)tok_pad_id(st.tok));
            model_zero_grad(st.m);
            float loss = model_forward(st.m, mb, TASK_CLASSIFY, 1, (uint32_t)step);
            if (!isfinite(loss)) { err_set("finetune: step %" PRId64 ": the loss is %g", step + 1, loss); goto done; }
            model_backward(st.m, mb, TASK_CLASSIFY);
            optim_clip_grad_norm(st.be, model_grad_data(st.m), model_params(st.m)->total, c->clip);
            optim_step(&opt, model_param_data(st.m), model_grad_data(st.m), schedule_alpha(&sch, step));
            model_params_changed(st.m);
            step++;
            loss_log += loss, n_log++;
            if (step % 10 == 0 || step == total) {
                fprintf(st.metrics, "{\"step\": %" PRId64 ", \"epoch\": %d, \"loss\": %.9g, \"lr\": %.9g}\n", step, ep + 1,
                        loss_log / n_log, c->lr * schedule_alpha(&sch, step - 1));
                loss_log = 0, n_log = 0;
            }
            if (kill_at && step == atoll(kill_at)) { fflush(st.metrics); raise(SIGKILL); }
            if (int_at && step == atoll(int_at)) raise(SIGINT);
            int at_end = b == per_epoch - 1, eval_now = at_end || (c->eval_every > 0 && step % c->eval_every == 0);
            if (!eval_now && !ft_stop_signal) continue;
            if (!eval_now) { /* a signal between evaluations: keep the state, stop */
                if (save_last(&st, &opt, step, ep, b, out, stale, n_log, loss_log, args) != 0) goto done;
                break;
            }
            double metric, dloss;
            if (evaluate(&st, dev, pred, value, &metric, &dloss) != 0) goto done;
            out->evaluations++;
            int better = metric > out->best_metric;
            fprintf(st.metrics, "{\"step\": %" PRId64 ", \"epoch\": %d, \"eval_loss\": %.9g, \"eval_%s\": %.9g, \"best\": %s}\n",
                    step, ep + 1, dloss, metric_name(c->metric), metric, better ? "true" : "false");
            fflush(st.metrics);
            if (!c->quiet)
                fprintf(stderr, "finetune: step %" PRId64 " (epoch %d) dev loss %.4f, %s %.4f%s\n", step, ep + 1, dloss,
                        metric_name(c->metric), metric, better ? " (best)" : "");
            if (better) {
                out->best_metric = metric, out->best_step = step, stale = 0;
                if (save_model_dir(st.m, c->out_dir, "best", st.vocab, NULL) != 0 ||
                    write_predictions(c->out_dir, dev, pred, st.nl == 1 ? value : NULL) != 0)
                    goto done;
            } else if (c->patience > 0 && ++stale >= c->patience) {
                if (!c->quiet) fprintf(stderr, "finetune: no better %s in %d evaluations: stopping\n", metric_name(c->metric), stale);
                stop = 1;
            }
            if (!stop && save_last(&st, &opt, step, ep, b, out, stale, n_log, loss_log, args) != 0) goto done;
            if (ft_stop_signal) break;
        }
        if (ft_stop_signal) break;
    }
    out->steps = step;
    if (ft_stop_signal && !stop && step < total) { /* a signal in the last step or evaluation: the run is done anyway */
        err_set("finetune: signal %d: stopped after step %" PRId64 "; %s holds the state: the same command continues",
                (int)ft_stop_signal, step, last);
        goto done;
    }
    if (write_finished(c->out_dir, out, args) != 0) goto done;
    remove_states(c->out_dir); /* finished: nothing to resume */
    rc = 0;
done:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    free(args);
    if (st.metrics) fclose(st.metrics);
    free(order), free(pred), free(value);
    maker_free(&st.mk);
    encoded_free(&st.tr);
    encoded_free(&st.dv);
    optim_free(&opt);
    model_free(st.m);
    tok_free(st.tok);
    return rc;
}

int finetune_evaluate(const ft_config *c, const char *model_dir, const ft_split *s, const metric_kind *kinds, int n,
                      double *out) {
    ft_state st = {.c = c, .nl = c->num_labels};
    char vpath[4200];
    const char *vocab = c->vocab;
    if (!vocab) { snprintf(vpath, sizeof vpath, "%s/vocab.txt", model_dir); vocab = vpath; }
    int rc = -1;
    int32_t *pred = xcalloc(s->n > 0 ? (size_t)s->n : 1, sizeof *pred);
    double *value = xcalloc(s->n > 0 ? (size_t)s->n : 1, sizeof *value), loss;
    if (check_split(s, c->num_labels, "evaluation") != 0 || !(st.be = ops_by_name(c->device))) goto done;
    if (!(st.tok = tok_load(vocab, NULL))) goto done;
    checkpoint_opts co = {.num_labels = c->num_labels, .drop_mlm_head = 1, .max_tokens = c->batch_size * c->max_len,
                          .max_seqs = c->batch_size, .inference = 1, .quiet = 1};
    if (!(st.m = checkpoint_load(model_dir, st.be, &co)) ||
        config_check_vocab(model_cfg(st.m), model_dir, tok_vocab_size(st.tok), vocab) != 0 ||
        config_check_max_len(model_cfg(st.m), model_dir, "max length", c->max_len) != 0)
        goto done;
    st.m2 = model_cfg(st.m)->arch == ARCH_M2;
    if (encode_split(st.tok, s, c->max_len, c->chunk_stride, "evaluation", &st.dv) != 0) goto done;
    maker_init(&st.mk, c->batch_size);
    predict(&st, s, &st.dv, pred, value, &loss);
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++) rc = metric_of(kinds[i], s, st.nl, pred, value, &out[i]);
done:
    free(pred), free(value);
    maker_free(&st.mk);
    encoded_free(&st.dv);
    model_free(st.m);
    tok_free(st.tok);
    return rc;
}

int finetune_logits(struct model *m, struct tokenizer *tok, const ft_config *c, const ft_split *s, double *out) {
    ft_state st = {.c = c, .m = m, .be = model_ops(m), .tok = tok, .nl = model_cfg(m)->num_labels,
                   .m2 = model_cfg(m)->arch == ARCH_M2};
    if (encode_split(tok, s, c->max_len, c->chunk_stride, "input", &st.dv) != 0) {
        encoded_free(&st.dv);
        return -1;
    }
    maker_init(&st.mk, c->batch_size);
    double loss;
    predict_logits(&st, s, &st.dv, out, &loss);
    maker_free(&st.mk);
    encoded_free(&st.dv);
    return 0;
}

ft_split ft_split_of_task(const task_data *d, int max_n) {
    int n = (int)d->n < max_n ? (int)d->n : max_n;
    size_t cap = n > 0 ? (size_t)n : 1;
    const char **a = xmalloc(cap * sizeof *a), **b = d->has_pair ? xmalloc(cap * sizeof *b) : NULL;
    int32_t *lab = d->kind == TASK_LABEL_CLASS ? xmalloc(cap * sizeof *lab) : NULL;
    float *val = d->kind == TASK_LABEL_REGRESSION ? xmalloc(cap * sizeof *val) : NULL;
    for (int i = 0; i < n; i++) {
        a[i] = d->ex[i].text_a;
        if (b) b[i] = d->ex[i].text_b ? d->ex[i].text_b : "";
        if (lab) lab[i] = d->ex[i].label;
        if (val) val[i] = d->ex[i].value;
    }
    return (ft_split){.n = n, .text_a = a, .text_b = b, .label = lab, .value = val};
}

void ft_split_free(ft_split *s) {
    free((void *)s->text_a), free((void *)s->text_b), free((void *)s->label), free((void *)s->value);
    memset(s, 0, sizeof *s);
}
