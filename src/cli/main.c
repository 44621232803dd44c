/* main.c — `bertc COMMAND [args]`: dispatch to the subcommands. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../backend/ops.h"
#include "../core/err.h"
#include "../train/ckptdir.h"
#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"vocab", cmd_vocab, "train a WordPiece vocabulary from text"},
    {"tokenize", cmd_tokenize, "turn text files into token shards"},
    {"pretrain", cmd_pretrain, "pretrain an encoder (MLM) on token shards"},
    {"eval", cmd_eval, "MLM loss and masked accuracy of a model on token shards"},
    {"finetune", cmd_finetune, "finetune for classification or regression (GLUE or TSV/CSV/JSONL)"},
    {"glue", cmd_glue, "run the GLUE suite from a pretrained model"},
    {"classify", cmd_classify, "labels and probabilities of a finetuned classifier"},
    {"embed", cmd_embed, "one vector per text (mean or [CLS] pooling) as .npy or JSONL"},
    {"encode", cmd_encode, "print the token ids of texts (one per line)"},
    {"info", cmd_info, "print the header of a token shard or safetensors file"},
    {"fill-mask", cmd_fill_mask, "predict the tokens behind [MASK] with a model"},
    {"pmi", cmd_pmi, "NPMI ranking of DNA k-mers for GeneMask masking"},
    {"bench", cmd_bench, "time the model on random tokens"},
    {"convert", cmd_convert, "read a model directory and write it in bertc's HF layout"},
    {"logits", cmd_logits, "MLM logits of inputs stored in a safetensors file"},
};

static void usage(FILE *out) {
    fprintf(out,
            "bertc — pretrain and finetune BERT-style encoders\n\n"
            "usage: bertc COMMAND [options]   (bertc COMMAND --help for details)\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

const char *cli_vocab_path(const char *dir, const char *vocab, char *buf, size_t n) {
    if (vocab) return vocab;
    snprintf(buf, n, "%s/vocab.txt", dir);
    return buf;
}

/* p ← its parent directory ("." for a bare name) */
static void path_parent(char *p) {
    char *slash = strrchr(p, '/');
    if (!slash) strcpy(p, ".");
    else if (slash == p) p[1] = 0;
    else *slash = 0;
}

const char *cli_model_dir(const char *cmd, const char *arg, char *buf, size_t n) {
    char path[PATH_MAX + 64], run[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/config.json", arg);
    if (stat(path, &st) == 0) return arg;
    if (!realpath(arg, run)) snprintf(run, sizeof run, "%s", arg); /* `latest` or `.` inside checkpoints/, `a//b` */
    size_t len = strlen(run);
    while (len > 1 && run[len - 1] == '/') run[--len] = 0;
    const char *base = strrchr(run, '/') ? strrchr(run, '/') + 1 : run;
    snprintf(path, sizeof path, "%s/latest", run);
    if (!strcmp(base, "latest") && stat(run, &st) == 0 && S_ISREG(st.st_mode)) { /* RUN/checkpoints/latest */
        path_parent(run);
        path_parent(run);
    } else if (!strcmp(base, "checkpoints") && stat(path, &st) == 0) { /* RUN/checkpoints */
        path_parent(run);
    }
    int got = ckptdir_latest(run, buf, n);
    if (got < 0) return NULL;
    if (got == 0)
        return err_set("%s: not a model directory (no config.json) nor a pretraining run (no checkpoints/latest)", arg),
               NULL;
    fprintf(stderr, "bertc %s: model %s (the latest checkpoint of %s)\n", cmd, buf, run);
    return buf;
}

int cli_read_lines(cli_lines *l, const char *path) {
    FILE *f = path ? fopen(path, "r") : stdin;
    if (!f) return err_set("%s: cannot open", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 256;
            l->text = xrealloc(l->text, l->cap * sizeof *l->text);
        }
        l->text[l->n++] = xstrdup(line);
    }
    free(line);
    int bad = ferror(f);
    if (path) fclose(f);
    return bad ? err_set("%s: read error", path ? path : "stdin") : 0;
}

void cli_lines_free(cli_lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->text[i]);
    free(l->text);
    memset(l, 0, sizeof *l);
}

const char *cli_flag_value(int argc, char **argv, int *i, const char *name) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != 0) return NULL;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

int cli_parse_uint(const char *s, uint64_t max, uint64_t *out) {
    if (!s || !*s || *s < '0' || *s > '9') return -1; /* strtoull would take "-1", " 1" */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

int cli_norm_flag(const char *arg, norm_config *c) {
    if (!strcmp(arg, "--lowercase")) c->lowercase = 1;
    else if (!strcmp(arg, "--no-lowercase")) c->lowercase = 0;
    else if (!strcmp(arg, "--strip-accents")) c->strip_accents = 1;
    else if (!strcmp(arg, "--no-strip-accents")) c->strip_accents = 0;
    else if (!strcmp(arg, "--no-clean-text")) c->clean_text = 0;
    else if (!strcmp(arg, "--no-chinese-chars")) c->handle_chinese_chars = 0;
    else return 0;
    return 1;
}

int cli_fail(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "bertc %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int main(int argc, char **argv) {
    /* OpenBLAS reads OPENBLAS_CORETYPE only when it starts (before main): when it fell
     * back to generic kernels on a CPU it did not recognise, run again once with the
     * right kernels named (see ops_cpu_preferred_coretype). */
    const char *core = ops_cpu_preferred_coretype();
    if (core && !getenv("OPENBLAS_CORETYPE")) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        execv("/proc/self/exe", argv);
        /* exec failed: carry on with the slower kernels */
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bertc: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 1;
}
