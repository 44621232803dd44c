/* cmd_glue.c — `bertc glue`: the GLUE suite from a pretrained checkpoint with the
 * per-task recipe (mosaicbert.md §7; for an M2 model m2bert.md §5.2): round 1 (CoLA, SST-2, QQP, QNLI, MNLI) from the
 * checkpoint, round 2 (RTE, MRPC, STS-B) from the finetuned MNLI model (pooler
 * included, a fresh classifier); then the summary table and the average as the
 * reference computes it: per task the mean of its metrics over seeds (MNLI: matched
 * and mismatched; QQP and MRPC: accuracy and F1), then the mean over the tasks run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../data/task.h"
#include "../model/checkpoint.h"
#include "../train/finetune.h"
#include "cli.h"

static const char *usage =
    "usage: bertc glue --model DIR --data GLUE_DIR --out OUT [options]\n"
    "\n"
    "DIR: a model directory, or a pretraining run (its latest checkpoint). GLUE_DIR holds\n"
    "the tasks in the GLUE distribution's layout (CoLA/train.tsv, MNLI/dev_matched.tsv, …).\n"
    "Each task is finetuned into OUT/<task>[-seed]/ with bertc finetune's loop and the\n"
    "task's recipe (MosaicBERT-base's, or M2-BERT's for an M2 model: optimizer, lr, weight\n"
    "decay, epochs, batch, mean pooling); the table and the average go to stdout and\n"
    "OUT/summary.tsv. Run again, it skips the task runs that finished and continues the one\n"
    "that was interrupted (bertc finetune's OUT/finished and OUT/last).\n"
    "\n"
    "options:\n"
    "  --tasks a,b,…      only these tasks (names as cola, sst2, mrpc, stsb, qqp, mnli, qnli,\n"
    "                     rte; wnli is excluded from the suite, as in the reference)\n"
    "  --quick            a smoke run: one seed, one epoch, at most 256 training examples\n"
    "                     per task, evaluation at the epoch end only\n"
    "  --seeds first|all  the recipe's first seed (default) or all of them\n"
    "  --max-length N     tokens per example (default 128; the recipe pads to 256)\n"
    "  --device D         cpu (default) | cuda | cuda-fp32\n"
    "  -q, --quiet        no per-evaluation lines\n";

/* round 1 then round 2 (from MNLI) */
static const char *SUITE[] = {"cola", "sst2", "qqp", "qnli", "mnli", "rte", "mrpc", "stsb"};
enum { N_SUITE = sizeof SUITE / sizeof SUITE[0] };

/* Whether the comma-separated list (NULL: everything) names task gt. */
static int wanted(const char *list, const glue_task *gt) {
    for (const char *p = list; p;) {
        const char *e = strchr(p, ',');
        int len = e ? (int)(e - p) : (int)strlen(p);
        char tok[32];
        snprintf(tok, sizeof tok, "%.*s", len < 31 ? len : 31, p);
        if (glue_task_find(tok) == gt) return 1;
        p = e ? e + 1 : NULL;
    }
    return list == NULL;
}

int cmd_glue(int argc, char **argv) {
    const char *model_dir = NULL, *data = NULL, *out = NULL, *tasks = NULL, *device = "cpu";
    int quick = 0, all_seeds = 0, max_len = 128, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--model"))) model_dir = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--data"))) data = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--out"))) out = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--tasks"))) tasks = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) device = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) max_len = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--seeds"))) {
            if (!strcmp(v, "all")) all_seeds = 1;
            else if (strcmp(v, "first")) return cli_fail("glue", "--seeds must be first or all");
        } else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) quiet = 1;
        else return cli_fail("glue", "unknown argument '%s' (see --help)", argv[i]);
    }
    if (!model_dir || !data || !out) return cli_fail("glue", "--model, --data and --out are required (see --help)");
    char mdir_[4096];
    if (!(model_dir = cli_model_dir("glue", model_dir, mdir_, sizeof mdir_))) { return cli_fail("glue", "%s", err_msg()); }
    if (mkdir(out, 0777) != 0 && access(out, W_OK) != 0) return cli_fail("glue", "%s: cannot create", out);
    model_arch arch;
    if (checkpoint_arch(model_dir, &arch) != 0) return cli_fail("glue", "%s", err_msg());
    int m2 = arch == ARCH_M2; /* M2-BERT has its own recipes (m2bert.md §5.2) */
    if (!quiet)
        fprintf(stderr, "glue: %s model: the %s recipes\n", config_arch_name(arch),
                m2 ? "M2-BERT 80M (m2bert.md §5.2)" : "MosaicBERT-base (mosaicbert.md §7)");
    for (const char *p = tasks; p;) { /* every name given must be a GLUE task */
        const char *e = strchr(p, ',');
        int len = e ? (int)(e - p) : (int)strlen(p);
        char tok[32];
        snprintf(tok, sizeof tok, "%.*s", len < 31 ? len : 31, p);
        if (!glue_task_find(tok)) return cli_fail("glue", "--tasks: '%s' is not a GLUE task", tok);
        p = e ? e + 1 : NULL;
    }
    char mnli_best[4400] = "", summary[4200];
    double total = 0;
    int n_tasks = 0, rc = 0;
    snprintf(summary, sizeof summary, "%s/summary.tsv", out);
    FILE *sf = fopen(summary, "w");
    if (!sf) return cli_fail("glue", "%s: cannot write", summary);
    fprintf(sf, "task\tmetric\tvalue\tseeds\n");
    printf("%-6s %-38s %8s  %s\n", "task", "metrics (averaged)", "value", "seeds");
    for (int ti = 0; ti < N_SUITE && rc == 0; ti++) {
        const glue_task *gt = glue_task_find(SUITE[ti]);
        if (!gt || !wanted(tasks, gt)) continue;
        const glue_recipe *r = m2 ? &gt->m2 : &gt->mosaic;
        if (r->from_mnli && !mnli_best[0]) {
            if (!quiet) fprintf(stderr, "glue: %s starts from the MNLI model: run with mnli (skipped)\n", gt->name);
            continue;
        }
        char path[4200];
        task_options to = {0};
        snprintf(path, sizeof path, "%s/%s/%s", data, gt->dir, gt->train);
        task_data *tr = task_read_glue(gt->name, path, &to);
        task_data *dv[2] = {NULL, NULL};
        for (int k = 0; k < 2 && tr && gt->dev[k]; k++) {
            snprintf(path, sizeof path, "%s/%s/%s", data, gt->dir, gt->dev[k]);
            if (!(dv[k] = task_read_glue(gt->name, path, &to))) break;
        }
        if (!tr || !dv[0] || (gt->dev[1] && !dv[1])) {
            rc = cli_fail("glue", "%s: %s", gt->name, err_msg());
            task_free(tr), task_free(dv[0]), task_free(dv[1]);
            break;
        }
        ft_split str = ft_split_of_task(tr, quick ? 256 : 1 << 30), sdv[2] = {ft_split_of_task(dv[0], 1 << 30), {0}};
        if (dv[1]) sdv[1] = ft_split_of_task(dv[1], 1 << 30);
        int n_seeds = quick || !all_seeds ? 1 : (r->n_seeds > 0 ? r->n_seeds : 1);
        metric_kind kinds[2];
        for (int k = 0; k < gt->n_metrics; k++) kinds[k] = metric_parse(gt->metrics[k]);
        double task_sum = 0;
        int task_n = 0;
        char shown[128] = "";
        for (int s = 0; s < n_seeds && rc == 0; s++) {
            ft_config c;
            ft_config_default(&c);
            c.model_dir = r->from_mnli ? mnli_best : model_dir;
            c.fresh_classifier = r->from_mnli; /* MNLI's 3-way head is not this task's */
            c.device = device;
            c.num_labels = gt->n_labels;
            c.metric = kinds[0];
            c.max_len = max_len;
            ft_config_from_recipe(&c, r, s, NULL); /* pooling: the recipe's mean (M2 QNLI), else the model's */
            if (quick) c.epochs = 1, c.eval_every = 0, c.batch_size = c.batch_size > 16 ? 16 : c.batch_size;
            c.quiet = quiet;
            char od[4200];
            snprintf(od, sizeof od, "%s/%s-%llu", out, gt->name, (unsigned long long)c.seed);
            c.out_dir = od;
            ft_result res;
            if (finetune_run(&c, &str, &sdv[0], &res) != 0) { rc = cli_fail("glue", "%s: %s", gt->name, err_msg()); break; }
            char best[4300];
            snprintf(best, sizeof best, "%s/best", od);
            for (int k = 0; k < 2 && rc == 0 && dv[k]; k++) { /* every metric of every dev split, at the best model */
                double v[2];
                if (finetune_evaluate(&c, best, &sdv[k], kinds, gt->n_metrics, v) != 0) {
                    rc = cli_fail("glue", "%s: %s", gt->name, err_msg());
                    break;
                }
                for (int j = 0; j < gt->n_metrics; j++) {
                    task_sum += v[j], task_n++;
                    char name[64];
                    snprintf(name, sizeof name, "%s%s%s", gt->metrics[j], dv[1] ? "_" : "", dv[1] ? gt->dev_name[k] : "");
                    fprintf(sf, "%s\t%s\t%.6f\t%llu\n", gt->name, name, v[j], (unsigned long long)c.seed);
                    if (s == 0) {
                        size_t l = strlen(shown);
                        snprintf(shown + l, sizeof shown - l, "%s%s", l ? ", " : "", name);
                    }
                }
            }
            if (rc == 0 && !strcmp(gt->name, "mnli") && s == 0) snprintf(mnli_best, sizeof mnli_best, "%s", best);
        }
        if (rc == 0 && task_n) {
            printf("%-6s %-38s %8.4f  %d\n", gt->name, shown, task_sum / task_n, n_seeds);
            total += task_sum / task_n;
            n_tasks++;
        }
        ft_split_free(&str), ft_split_free(&sdv[0]);
        if (dv[1]) ft_split_free(&sdv[1]);
        task_free(tr), task_free(dv[0]), task_free(dv[1]);
    }
    if (rc == 0 && n_tasks) {
        printf("%-6s %-38s %8.4f  (%d tasks)\n", "GLUE", "average of the task values", total / n_tasks, n_tasks);
        fprintf(sf, "average\tmean of task means\t%.6f\t%d tasks\n", total / n_tasks, n_tasks);
    }
    fclose(sf);
    if (rc == 0 && !n_tasks) /* e.g. --tasks rte: it starts from the MNLI model */
        return cli_fail("glue", "no task ran: rte, mrpc and stsb start from the MNLI model, so give mnli in --tasks too");
    return rc;
}
