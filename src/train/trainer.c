/* trainer.c — the pretraining loop (see trainer.h).
 *
 * One optimizer step = batch_size sequences in batch_size / micro_batch
 * forward/backward passes; each micro-batch loss is a masked-token mean and
 * the gradients are averaged over micro-batches (mosaicbert.md §6). Everything
 * random is keyed by (seed, step): a run resumed from a checkpoint takes the
 * same batches, masks and dropout as the uninterrupted run, bit for bit.
 *
 * Run directory: config.txt (resolved configuration), metrics.jsonl (one JSON
 * object per log step and per evaluation), checkpoints/ (ckptdir.h). */
#include "trainer.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/err.h"
#include "../data/loader.h"
#include "../data/pmi_rank.h"
#include "../text/kmer.h"
#include "../data/shard.h"
#include "../data/shard_list.h"
#include "../io/file.h"
#include "../io/safetensors.h"
#include "../model/batch.h"
#include "../model/checkpoint.h"
#include "../model/model.h"
#include "../text/tokenizer.h"
#include "ckptdir.h"
#include "mlm_eval.h"
#include "optim.h"
#include "schedule.h"
#include "train_state.h"

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { stop_requested = sig; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- trainer state (train_state.h): counters step, loader epoch, loader index, tokens ---- */

#define STATE_FORMAT "bertc-trainer-state-1"
#define STATE_COUNTERS "state.step_epoch_index_tokens"

static int state_save(const char *dir, const optim *opt, loader_pos pos, int64_t step, uint64_t tokens) {
    int64_t st[4] = {step, (int64_t)pos.epoch, (int64_t)pos.index, (int64_t)tokens};
    return train_state_save(dir, opt, STATE_FORMAT, STATE_COUNTERS, st, 4, NULL);
}

static int state_load(const char *dir, optim *opt, loader_pos *pos, int64_t *step, uint64_t *tokens) {
    int64_t st[4];
    if (train_state_load(dir, opt, STATE_COUNTERS, st, 4, NULL) != 0) return -1;
    *step = st[0];
    pos->epoch = (uint64_t)st[1];
    pos->index = (uint64_t)st[2];
    *tokens = (uint64_t)st[3];
    opt->step = st[0];
    return 0;
}

/* ---- the run --------------------------------------------------------------------------- */

typedef struct {
    const runcfg *c;
    const char *run;
    int quiet, tty;
    tokenizer *tok;
    model *m;
    optim opt;
    schedule sched;
    loader *train, *val;
    shard_list train_paths, val_paths;
    FILE *metrics;
    char vocab_path[4096];
    int accum;
    double unigram_acc; /* of the last evaluation */
    int m2;             /* M2-BERT: batches go in as full rows, pads included */
    batch_buf rows;     /* M2: the padded form of the current batch */
} run_state;

static const model_batch *as_model_batch(run_state *r, const loader_batch *lb) {
    return mlm_model_batch(r->m, lb, r->c->seq_len, (int32_t)tok_pad_id(r->tok), &r->rows);
}

static int write_text_file(const char *path, const runcfg *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    runcfg_write(c, mem);
    fclose(mem);
    afile f;
    int rc = afile_open(&f, path);
    if (rc == 0 && afile_write(&f, buf, len) != 0) { afile_abort(&f); rc = -1; }
    else if (rc == 0) rc = afile_commit(&f);
    free(buf);
    return rc;
}

/* Keys a resumed run may change: where it runs, how often it logs, evaluates and saves, when
 * this invocation stops. Every other key shapes the trajectory: exact resume needs it unchanged. */
static int key_may_change(const char *line) {
    static const char *const free_keys[] = {"train.stop_after ", "train.threads ", "train.device ", "train.on_nan ",
                                            "log.", "eval.", "ckpt.", "data.val "};
    for (size_t i = 0; i < sizeof free_keys / sizeof free_keys[0]; i++)
        if (!strncmp(line, free_keys[i], strlen(free_keys[i]))) return 1;
    return 0;
}

/* -1 + err when the run's config.txt (if any) differs from c in a key that shapes training. */
static int check_same_config(const char *path, const runcfg *c) {
    char *old = file_read_all(path, NULL), *now = NULL;
    if (!old) return 0; /* a run stopped before writing it */
    size_t len = 0;
    FILE *mem = open_memstream(&now, &len);
    runcfg_write(c, mem);
    fclose(mem);
    int rc = 0;
    for (char *line = now, *next; rc == 0 && *line; line = next) {
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        size_t kl = strcspn(line, "="), ll = (size_t)(next - line);
        if (key_may_change(line)) continue;
        for (char *o = old, *on; *o; o = on) { /* the same key in the old file (a key new to this version: none) */
            on = strchr(o, '\n');
            on = on ? on + 1 : o + strlen(o);
            if (strncmp(o, line, kl) != 0 || o[kl] != '=') continue;
            if ((size_t)(on - o) != ll || memcmp(o, line, ll) != 0)
                rc = err_set("%s: this run was started with '%.*s', now '%.*s': resume it with its settings, or choose "
                             "another --run", path, (int)(on - o - (on[-1] == '\n')), o, (int)(ll - (line[ll - 1] == '\n')),
                             line);
            break;
        }
    }
    free(old);
    free(now);
    return rc;
}

static int checkpoint(run_state *r, int64_t step, uint64_t tokens) {
    char tmp[4200];
    if (ckptdir_begin(r->run, (int)step, tmp, sizeof tmp) != 0) return -1;
    int rc = checkpoint_save(r->m, tmp, r->vocab_path);
    if (rc == 0) rc = state_save(tmp, &r->opt, loader_state_get(r->train), step, tokens);
    if (rc == 0) rc = ckptdir_commit(r->run, (int)step, r->c->ckpt_keep);
    if (rc != 0) {
        err_prefix("checkpoint at step %" PRId64 " failed (the previous checkpoint is intact)", step);
        ckptdir_abort(r->run, (int)step);
    }
    return rc;
}

/* MLM loss and masked-token accuracy over up to eval.batches batches of the val shards. */
static int evaluate(run_state *r, int64_t step, double *loss_out, double *acc_out) {
    if (!r->val) return 1;
    mlm_eval_result e;
    int rc = mlm_eval(r->m, r->val, r->c->eval_batches, r->c->seq_len, (int32_t)tok_pad_id(r->tok), &r->rows, &e);
    if (rc != 0) return rc;
    *loss_out = e.loss;
    *acc_out = e.accuracy;
    r->unigram_acc = e.unigram_accuracy;
    fprintf(r->metrics, "{\"step\": %" PRId64 ", \"eval_loss\": %.9g, \"eval_accuracy\": %.6f, \"eval_unigram_accuracy\": %.6f, \"eval_tokens\": %" PRIu64 "}\n",
            step, e.loss, e.accuracy, e.unigram_accuracy, e.rows);
    fflush(r->metrics);
    return 0;
}

/* mask.* keys → the loaders' masking. The span strategies ask for a DNABERT k-mer
 * vocabulary of k = mask.kmer where ids index the NPMI ranking (genemask), and
 * for a matching k wherever the vocabulary is a k-mer one. */
static int mask_setup(loader_config *lc, const runcfg *c, const tokenizer *tok) {
    if (mask_strategy_parse(c->mask_strategy, &lc->mask.strategy) != 0) return -1;
    if (lc->mask.strategy == MASK_RANDOM) return 0;
    lc->mask.kmer = c->mask_kmer;
    lc->mask.first_kmer_id = KMER_FIRST_ID;
    lc->mask.ref_unknown_rank = c->ref_unknown_rank;
    lc->pmi_ranking = c->pmi_ranking;
    int vk = kmer_vocab_k(tok);
    int genemask = lc->mask.strategy != MASK_CONTIGUOUS;
    if ((genemask || vk) && vk != c->mask_kmer)
        return err_set("mask.strategy %s with mask.kmer %d: the vocabulary is %s", c->mask_strategy, c->mask_kmer,
                       vk ? "a k-mer vocabulary of another k" : "not a DNABERT k-mer vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK], then the k-mers in A T C G order)");
    return 0;
}

static int setup(run_state *r) {
    const runcfg *c = r->c;
    if (shard_list_expand(&r->train_paths, c->train, "train-") != 0) return -1;
    if (c->val[0] && shard_list_expand(&r->val_paths, c->val, "val-") != 0) return -1;
    if (c->vocab[0]) snprintf(r->vocab_path, sizeof r->vocab_path, "%s", c->vocab);
    else {
        char *first = xstrdup(r->train_paths.paths[0]);
        char *slash = strrchr(first, '/');
        if (slash) *slash = 0;
        snprintf(r->vocab_path, sizeof r->vocab_path, "%s/vocab.txt", slash ? first : ".");
        free(first);
    }
    r->tok = tok_load(r->vocab_path, NULL);
    if (!r->tok) return err_prefix("data.vocab");
    int micro = c->micro_batch ? c->micro_batch : c->batch_size;
    r->accum = c->batch_size / micro;
    loader_config lc;
    loader_config_default(&lc);
    if (loader_config_from_tokenizer(&lc, r->tok) != 0) return -1;
    lc.mode = !strcmp(c->mode, "pack") ? LOADER_PACK : LOADER_PAD;
    lc.max_len = c->seq_len;
    lc.batch_size = micro;
    lc.split_long = c->chunk_docs ? 1 : 0;
    lc.seed = c->seed;
    lc.threads = c->threads;
    lc.mask.seed = c->seed;
    lc.mask.ratio = (float)c->mask_ratio;
    if (mask_setup(&lc, c, r->tok) != 0) return -1;
    r->train = loader_open(&lc, (const char *const *)r->train_paths.paths, r->train_paths.n);
    if (!r->train) return err_prefix("data.train");
    if (r->val_paths.n) {
        loader_config vc = lc;
        vc.eval = 1;
        vc.shuffle = 0;
        vc.prefetch = 0;
        vc.mask.ratio = (float)c->eval_mask_ratio;
        r->val = loader_open(&vc, (const char *const *)r->val_paths.paths, r->val_paths.n);
        if (!r->val) return err_prefix("data.val");
    }
    model_config mc;
    model_arch arch = !strcmp(c->arch, "bert") ? ARCH_BERT : !strcmp(c->arch, "m2") ? ARCH_M2 : ARCH_MOSAIC;
    if (arch == ARCH_M2 && strcmp(c->mode, "pad") != 0)
        return err_set("model.arch m2 needs data.mode = pad: M2-BERT mixes every position of a row, so documents cannot share rows");
    config_default(&mc, arch);
    r->m2 = arch == ARCH_M2;
    mc.hidden = c->hidden;
    mc.layers = c->layers;
    mc.heads = c->heads;
    mc.intermediate = c->intermediate;
    mc.max_position = c->max_position > c->seq_len ? c->max_position : c->seq_len;
    if (r->m2) mc.max_position = mc.m2_l_max = c->seq_len; /* M2 rows are exactly seq_len tokens */
    size_t tv = tok_vocab_size(r->tok);
    mc.vocab_size = c->vocab_size ? c->vocab_size : (int)((tv + 63) / 64 * 64);
    if ((size_t)mc.vocab_size < tv) return err_set("model.vocab_size %d is smaller than the vocabulary (%zu)", mc.vocab_size, tv);
    mc.hidden_dropout = c->hidden_dropout;
    mc.attn_dropout = c->attn_dropout;
    model_opts mo = {.mlm_head = 1, .max_tokens = micro * c->seq_len, .max_seqs = micro * c->seq_len / 2 + 1,
                     .seed = c->seed};
    const ops *be = ops_by_name(c->device);
    if (!be) return err_prefix("train.device");
    r->m = model_create(&mc, be, &mo);
    if (!r->m) return err_prefix("model");
    optim_config oc;
    optim_config_default(&oc);
    if (optim_kind_parse(c->optimizer, &oc.kind) != 0) return -1;
    oc.lr = c->lr;
    oc.beta1 = c->beta1;
    oc.beta2 = c->beta2;
    oc.eps = c->eps;
    oc.weight_decay = c->weight_decay;
    oc.no_decay_bias_norm = c->no_decay_bias_norm;
    if (r->m2) { /* the M2 recipe's parameter groups (m2bert.md §5): filter MLP and positional features */
        if (optim_add_rule(&oc, "*.implicit_filter.*", 1e-3, 0.1) != 0) return -1;
        if (optim_add_rule(&oc, "*.pos_emb.z", 1e-5, 0.0) != 0) return -1;
    }
    if (optim_init(&r->opt, &oc, model_params(r->m), model_ops(r->m)) != 0) return -1;
    schedule_default(&r->sched, c->steps);
    if (schedule_kind_parse(c->schedule, &r->sched.kind) != 0) return -1;
    r->sched.warmup = c->warmup < 1 ? (int64_t)llround(c->warmup * c->steps) : (int64_t)c->warmup;
    r->sched.alpha_f = c->alpha_f;
    r->sched.decay_frac = c->decay_fraction;
    return schedule_check(&r->sched);
}

static void teardown(run_state *r) {
    if (r->metrics) fclose(r->metrics);
    loader_close(r->train);
    loader_close(r->val);
    model_free(r->m);
    optim_free(&r->opt);
    tok_free(r->tok);
    shard_list_free(&r->train_paths);
    shard_list_free(&r->val_paths);
    batch_free(&r->rows);
}

int trainer_run(const runcfg *c, const char *run_dir, resume_mode resume, int quiet) {
    if (runcfg_validate(c) != 0) return -1;
    if (c->threads > 0) omp_set_num_threads(c->threads);
    if (mkdir(run_dir, 0777) != 0 && errno != EEXIST) return err_set("%s: cannot create the run directory: %s", run_dir, strerror(errno));
    char ckpt[4200], path[4200];
    int have = ckptdir_latest(run_dir, ckpt, sizeof ckpt);
    if (have < 0) return -1;
    if (have && resume == RESUME_NEVER)
        return err_set("%s already holds a checkpoint (%s): resume it (default) or choose another run directory", run_dir, ckpt);
    run_state r = {.c = c, .run = run_dir, .quiet = quiet, .tty = isatty(2)};
    int rc = setup(&r);
    int64_t step = 0;
    uint64_t tokens = 0;
    if (rc == 0 && have) {
        loader_pos pos;
        rc = checkpoint_read_params(r.m, ckpt);
        if (rc == 0) rc = state_load(ckpt, &r.opt, &pos, &step, &tokens);
        if (rc == 0) rc = loader_state_set(r.train, pos);
        if (rc != 0) err_prefix("resume from %s", ckpt);
        else if (!quiet) fprintf(stderr, "pretrain: resuming %s at step %" PRId64 "\n", ckpt, step);
    }
    snprintf(path, sizeof path, "%s/config.txt", run_dir);
    if (rc == 0 && have) rc = check_same_config(path, c);
    if (rc == 0) rc = write_text_file(path, c);
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    if (rc == 0) rc = train_metrics_truncate(path, step);
    if (rc == 0 && !(r.metrics = fopen(path, "a"))) rc = err_set("%s: cannot open: %s", path, strerror(errno));
    if (rc != 0) { teardown(&r); return -1; }

    const param_table *pt = model_params(r.m);
    float *params = model_param_data(r.m), *grads = model_grad_data(r.m); /* backend memory */
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    if (!quiet)
        fprintf(stderr, "pretrain: %s, %d layers, hidden %d, %zu parameters; %" PRIu64 " sequences per epoch; %d steps of %d sequences\n",
                c->arch, c->layers, c->hidden, pt->total, loader_n_seqs(r.train), c->steps, c->batch_size);
    double ev_loss, ev_acc;
    if (step == 0 && r.val && evaluate(&r, 0, &ev_loss, &ev_acc) == 0 && !quiet)
        fprintf(stderr, "pretrain: step 0 eval loss %.4f, masked accuracy %.4f (unigram baseline %.4f)\n", ev_loss, ev_acc,
                r.unigram_acc);
    double t0 = now_s(), t_log = t0, loss_log = 0;
    uint64_t tok_log = 0;
    int n_log = 0;
    int64_t last_ckpt = step, step0 = step;
    while (rc == 0 && step < c->steps) {
        double alpha = schedule_alpha(&r.sched, step);
        model_zero_grad(r.m);
        double loss = 0;
        uint64_t step_tokens = 0;
        for (int a = 0; a < r.accum && rc == 0; a++) {
            const loader_batch *lb;
            int got = loader_next(r.train, &lb);
            if (got <= 0) { rc = got < 0 ? -1 : err_set("the training loader ended"); break; }
            uint32_t dstep = (uint32_t)(step * r.accum + a); /* dropout masks differ per micro-batch */
            const model_batch *mb = as_model_batch(&r, lb);
            loss += model_forward(r.m, mb, TASK_MLM, 1, dstep) / r.accum;
            model_backward(r.m, mb, TASK_MLM);
            step_tokens += (uint64_t)lb->b.T;
        }
        if (rc != 0) break;
        if (!isfinite(loss)) {
            if (!strcmp(c->on_nan, "stop")) {
                rc = err_set("step %" PRId64 ": the loss is %g; stopping without writing a checkpoint (the last one, step %" PRId64
                             ", is intact; train.on_nan = skip skips such steps)", step + 1, loss, last_ckpt);
                break;
            }
            fprintf(stderr, "pretrain: step %" PRId64 ": loss %g, step skipped\n", step + 1, loss);
            step++;
            continue;
        }
        if (r.accum > 1) optim_scale(r.opt.be, grads, pt->total, 1.0f / (float)r.accum);
        double gnorm = optim_clip_grad_norm(r.opt.be, grads, pt->total, c->clip);
        optim_step(&r.opt, params, grads, alpha);
        model_params_changed(r.m);
        step++;
        tokens += step_tokens;
        loss_log += loss;
        tok_log += step_tokens;
        n_log++;
        if (c->stop_after && step - step0 >= c->stop_after && !stop_requested) stop_requested = -1;
        /* test hook: a real SIGKILL between checkpoints, at a chosen step */
        const char *kill_at = getenv("BERTC_TEST_SIGKILL_AT_STEP");
        if (kill_at && step == atoll(kill_at)) { fflush(r.metrics); raise(SIGKILL); }
        int last = step == c->steps || stop_requested;
        if (step % c->log_every == 0 || last) {
            double t = now_s(), tps = tok_log / (t - t_log > 1e-9 ? t - t_log : 1e-9);
            double eta = (double)(c->steps - step) * (t - t0) / (double)(step - step0);
            fprintf(r.metrics, "{\"step\": %" PRId64 ", \"loss\": %.9g, \"lr\": %.9g, \"grad_norm\": %.6g, \"tokens\": %" PRIu64 ", \"tokens_per_s\": %.1f}\n",
                    step, loss_log / n_log, c->lr * alpha, gnorm, tokens, tps);
            fflush(r.metrics);
            if (!quiet)
                fprintf(stderr, "%sstep %" PRId64 "/%d  loss %.4f  lr %.3g  %.0f tok/s  ETA %.0f s%s", r.tty ? "\r" : "", step,
                        c->steps, loss_log / n_log, c->lr * alpha, tps, eta, r.tty ? "   " : "\n");
            t_log = t;
            loss_log = 0;
            tok_log = 0;
            n_log = 0;
        }
        if (r.val && ((c->eval_every && step % c->eval_every == 0) || step == c->steps)) {
            if (evaluate(&r, step, &ev_loss, &ev_acc) == 0 && !quiet)
                fprintf(stderr, "%spretrain: step %" PRId64 " eval loss %.4f, masked accuracy %.4f (unigram baseline %.4f)\n",
                        r.tty ? "\n" : "", step, ev_loss, ev_acc, r.unigram_acc);
        }
        if (step % c->ckpt_every == 0 || last) {
            rc = checkpoint(&r, step, tokens);
            if (rc == 0) last_ckpt = step;
        }
        if (stop_requested && rc == 0) {
            if (!quiet && stop_requested > 0)
                fprintf(stderr, "\npretrain: signal %d: stopped after step %" PRId64 " (checkpoint written)\n", (int)stop_requested, step);
            else if (!quiet)
                fprintf(stderr, "\npretrain: train.stop_after reached: stopped after step %" PRId64 " (checkpoint written)\n", step);
            break;
        }
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == 0 && !quiet) fprintf(stderr, "%spretrain: done, step %" PRId64 ", %" PRIu64 " tokens, %.1f s\n", r.tty ? "\n" : "", step, tokens, now_s() - t0);
    teardown(&r);
    return rc;
}
