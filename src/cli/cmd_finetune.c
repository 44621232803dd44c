/* cmd_finetune.c — `bertc finetune`: sequence classification or regression from a
 * pretrained encoder on a GLUE task or any TSV / CSV / JSONL file (src/train/finetune.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../data/task.h"
#include "../model/checkpoint.h"
#include "../train/finetune.h"
#include "cli.h"

static const char *usage =
    "usage: bertc finetune --model DIR --train FILE --dev FILE --out DIR [--test FILE] [options]\n"
    "\n"
    "Finetunes the encoder in DIR (a model directory, or a pretraining run: its latest\n"
    "checkpoint) for sequence classification (cross-entropy over a fresh classifier on the\n"
    "[CLS] pooler) or regression (MSE), evaluates on the dev file every\n"
    "--eval-every steps and at each epoch's end, keeps the best model by the metric in\n"
    "OUT/best/ and its dev predictions in OUT/predictions.tsv; OUT/metrics.jsonl logs both.\n"
    "With --test, the best model is then scored once on the test file (accuracy and the metric).\n"
    "OUT/last/ keeps the model and training state at every evaluation and when SIGINT or\n"
    "SIGTERM stops the run: the same command run again continues bit for bit (other settings\n"
    "over it are refused); a finished run removes it and writes OUT/finished, so the same\n"
    "command again only reports the result (other settings train afresh).\n"
    "\n"
    "data (one of):\n"
    "  --glue TASK        GLUE files in their published layout (cola, sst2, mrpc, stsb, qqp,\n"
    "                     mnli, qnli, rte, wnli); that task's recipe — mosaicbert.md §7, or for an\n"
    "                     M2 model m2bert.md §5.2 — is the default of every hyper-parameter below\n"
    "  --text COL [--text-pair COL] --label COL   named columns of a TSV/CSV header or JSONL keys\n"
    "  --format tsv|csv|jsonl   (default: from the file name)\n"
    "  --regression       the label is a number (default: inferred from the values)\n"
    "  --skip-bad         leave malformed rows out (reported) instead of failing on the first\n"
    "\n"
    "training:\n"
    "  --lr X (5e-5)  --wd X (5e-6)  --epochs N (3)  --batch-size N (32)  --max-length N (128)\n"
    "  --chunk N      texts longer than the max length are not truncated but cut into windows of\n"
    "                 max length - 2 tokens starting every N tokens (N <= max length - 2; N < that\n"
    "                 overlaps them); each window trains with its text's label and a text is\n"
    "                 predicted from the mean of its windows' logits (single-text tasks; default 0:\n"
    "                 truncate). Applies to dev and --test too\n"
    "  --warmup X     share of the steps (< 1) or steps (default 0.06)\n"
    "  --alpha-f X    final lr multiplier (default 0: linear decay to zero)\n"
    "  --clip X       gradient-norm clipping (default 0: off)\n"
    "  --pooling cls|mean   the classifier reads the [CLS] row, or the mean of every real token\n"
    "                 of the input (specials included); default: as the\n"
    "                 model's config.json says (pool_all), else cls. Saved with the model\n"
    "  --optimizer decoupled|adamw   decoupled (default): Composer's DecoupledAdamW, the recipe's,\n"
    "                 each step p *= 1 - wd·lr_t/lr; adamw: torch/HF AdamW, p *= 1 - wd·lr_t, no\n"
    "                 decay on biases and norms. HF's --weight_decay 0.01 means --optimizer adamw\n"
    "                 --wd 0.01 (with decoupled it would shrink every weight by 1% a step)\n"
    "  --eval-every N evaluate every N steps too (default: epoch ends only)\n"
    "  --patience N   stop after N evaluations without a better metric (default: never)\n"
    "  --metric M     accuracy | f1 | mcc | pearson | spearman | macro_f1 | micro_f1\n"
    "                 (default: the GLUE task's first metric; accuracy; spearman for regression)\n"
    "  --seed N (17)  --device cpu|cuda|cuda-fp32 (cpu)  --vocab FILE  -q, --quiet\n";

static void print_skipped(const task_data *d) {
    for (size_t i = 0; i < d->n_skipped && i < TASK_MAX_SKIP_MSGS; i++) fprintf(stderr, "  skipped %s\n", d->skipped[i]);
    if (d->n_skipped) fprintf(stderr, "finetune: %s: %zu malformed rows left out\n", d->path, d->n_skipped);
}

int cmd_finetune(int argc, char **argv) {
    ft_config c;
    ft_config_default(&c);
    const char *train_path = NULL, *dev_path = NULL, *test_path = NULL, *glue = NULL, *metric = NULL, *fmt = NULL;
    task_columns cols = {0};
    task_options to = {0};
    int set_lr = 0, set_wd = 0, set_opt = 0, set_ep = 0, set_bs = 0, set_eval = 0, set_seed = 0, regression = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) c.model_dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--train"))) train_path = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--dev"))) dev_path = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--test"))) test_path = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--out"))) c.out_dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--glue"))) glue = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--text"))) cols.text = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--text-pair"))) cols.text_pair = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--label"))) cols.label = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--format"))) fmt = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--metric"))) metric = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) c.vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) c.device = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--lr"))) c.lr = atof(v), set_lr = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--wd"))) c.weight_decay = atof(v), set_wd = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--epochs"))) c.epochs = atoi(v), set_ep = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--batch-size"))) c.batch_size = atoi(v), set_bs = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) c.max_len = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--chunk"))) {
            c.chunk_stride = atoi(v);
            if (c.chunk_stride <= 0) return cli_fail("finetune", "--chunk %s: expected a positive number of tokens", v);
        }
        else if ((v = cli_flag_value(argc, argv, &i, "--warmup"))) c.warmup = atof(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--alpha-f"))) c.alpha_f = atof(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--clip"))) c.clip = atof(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--pooling"))) {
            if (!strcmp(v, "cls")) c.pooling = CKPT_POOL_CLS;
            else if (!strcmp(v, "mean")) c.pooling = CKPT_POOL_MEAN;
            else return cli_fail("finetune", "--pooling %s: expected cls or mean", v);
        }
        else if ((v = cli_flag_value(argc, argv, &i, "--optimizer"))) {
            if (!strcmp(v, "adamw")) c.torch_adamw = 1, set_opt = 1;
            else if (!strcmp(v, "decoupled")) c.torch_adamw = 0, set_opt = 1;
            else return cli_fail("finetune", "--optimizer %s: expected decoupled or adamw", v);
        }
        else if ((v = cli_flag_value(argc, argv, &i, "--eval-every"))) c.eval_every = atoi(v), set_eval = 1;
        else if ((v = cli_flag_value(argc, argv, &i, "--patience"))) c.patience = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--seed"))) c.seed = strtoull(v, NULL, 10), set_seed = 1;
        else if (!strcmp(argv[i], "--regression")) regression = 1;
        else if (!strcmp(argv[i], "--skip-bad")) to.skip_bad = 1;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) c.quiet = 1;
        else return cli_fail("finetune", "unknown argument '%s' (see --help)", argv[i]);
    }
    if (!c.model_dir || !train_path || !dev_path || !c.out_dir)
        return cli_fail("finetune", "--model, --train, --dev and --out are required (see --help)");
    char mdir_[4096];
    if (!(c.model_dir = cli_model_dir("finetune", c.model_dir, mdir_, sizeof mdir_))) return cli_fail("finetune", "%s", err_msg());
    if (!glue && (!cols.text || !cols.label)) return cli_fail("finetune", "give --glue TASK, or --text COL and --label COL");
    task_format format = TASK_FORMAT_AUTO;
    if (fmt) {
        if (!strcmp(fmt, "tsv")) format = TASK_FORMAT_TSV;
        else if (!strcmp(fmt, "csv")) format = TASK_FORMAT_CSV;
        else if (!strcmp(fmt, "jsonl")) format = TASK_FORMAT_JSONL;
        else return cli_fail("finetune", "--format must be tsv, csv or jsonl, got '%s'", fmt);
    }
    const glue_task *gt = NULL;
    if (glue && !(gt = glue_task_find(glue))) return cli_fail("finetune", "--glue %s: not a GLUE task", glue);
    if (gt) { /* the task's recipe for the model's architecture, unless given */
        model_arch arch;
        if (checkpoint_arch(c.model_dir, &arch) != 0) return cli_fail("finetune", "%s", err_msg());
        ft_recipe_keep given = {.lr = set_lr, .wd = set_wd, .optimizer = set_opt, .pooling = c.pooling != 0,
                                .epochs = set_ep, .batch = set_bs, .eval_every = set_eval, .seed = set_seed};
        ft_config_from_recipe(&c, arch == ARCH_M2 ? &gt->m2 : &gt->mosaic, 0, &given);
    }
    to.kind = regression ? TASK_LABEL_REGRESSION : TASK_LABEL_AUTO;
    task_data *tr = gt ? task_read_glue(gt->name, train_path, &to) : task_read_table(train_path, format, &cols, &to);
    if (!tr) return cli_fail("finetune", "%s", err_msg());
    print_skipped(tr);
    task_options dto = to;
    if (tr->kind != TASK_LABEL_REGRESSION) dto.labels = &tr->labels; /* dev labels must be train's */
    dto.kind = tr->kind;
    task_data *dv = gt ? task_read_glue(gt->name, dev_path, &dto) : task_read_table(dev_path, format, &cols, &dto);
    if (!dv) { task_free(tr); return cli_fail("finetune", "%s", err_msg()); }
    print_skipped(dv);
    int rc = 1;
    ft_split vt = {0}, vd = {0}, vx = {0};
    /* the test file is read (and checked) before training, so that a bad one fails at once */
    task_data *te = test_path ? (gt ? task_read_glue(gt->name, test_path, &dto) : task_read_table(test_path, format, &cols, &dto))
                              : NULL;
    if (test_path && !te) { cli_fail("finetune", "%s", err_msg()); goto done; }
    if (te && !te->has_labels) { cli_fail("finetune", "%s: the test file needs labels", test_path); goto done; }
    if (tr->kind == TASK_LABEL_MULTI) { cli_fail("finetune", "%s: multi-label finetuning is not supported yet", train_path); goto done; }
    if (!tr->has_labels || !dv->has_labels) { cli_fail("finetune", "both files need labels"); goto done; }
    c.num_labels = tr->kind == TASK_LABEL_REGRESSION ? 1 : gt ? gt->n_labels : tr->labels.n;
    if (c.num_labels < 2 && tr->kind == TASK_LABEL_CLASS) { cli_fail("finetune", "%s: one class only", train_path); goto done; }
    const char *mname = metric ? metric : gt ? gt->metrics[0] : c.num_labels == 1 ? "spearman" : "accuracy";
    if ((c.metric = metric_parse(mname)) == METRIC_UNKNOWN) { cli_fail("finetune", "--metric: %s", err_msg()); goto done; }
    vt = ft_split_of_task(tr, (int)tr->n);
    vd = ft_split_of_task(dv, (int)dv->n);
    if (!c.quiet)
        fprintf(stderr, "finetune: %zu train / %zu dev examples, %s, %d %s; lr %g, %d epochs of batch %d, metric %s\n",
                tr->n, dv->n, tr->has_pair ? "text pairs" : "single texts", c.num_labels,
                c.num_labels == 1 ? "output (regression)" : "classes", c.lr, c.epochs, c.batch_size, metric_name(c.metric));
    ft_result res;
    if (finetune_run(&c, &vt, &vd, &res) != 0) { cli_fail("finetune", "%s", err_msg()); goto done; }
    printf("best %s %.4f at step %lld of %lld (%d evaluations); model in %s/best, predictions in %s/predictions.tsv\n",
           metric_name(c.metric), res.best_metric, (long long)res.best_step, (long long)res.steps, res.evaluations, c.out_dir,
           c.out_dir);
    if (te) { /* the best model on the test file, once */
        vx = ft_split_of_task(te, (int)te->n);
        char best[4200];
        snprintf(best, sizeof best, "%s/best", c.out_dir);
        metric_kind kinds[2] = {c.num_labels == 1 ? METRIC_PEARSON : METRIC_ACCURACY, c.metric};
        double v[2];
        int trc = finetune_evaluate(&c, best, &vx, kinds, 2, v);
        if (trc == 0) printf("test (%zu examples): %s %.4f, %s %.4f\n", te->n, metric_name(kinds[0]), v[0], metric_name(kinds[1]), v[1]);
        else cli_fail("finetune", "test: %s", err_msg());
        if (trc != 0) goto done;
    }
    rc = 0;
done:
    ft_split_free(&vt);
    ft_split_free(&vd);
    ft_split_free(&vx);
    task_free(te);
    task_free(tr);
    task_free(dv);
    return rc;
}
