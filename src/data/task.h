/* task.h — labelled-task datasets for finetuning: GLUE files in their published
 * TSV layouts, and generic TSV / CSV / JSONL files with named columns.
 *
 * A task_data holds examples (text_a, optional text_b, a label) and the label
 * vocabulary (name → class id). Labels are one of:
 *   TASK_LABEL_CLASS       one class id per example        (CoLA, SST-2, MNLI, ...)
 *   TASK_LABEL_REGRESSION  one float per example           (STS-B)
 *   TASK_LABEL_MULTI       a set of class ids per example  (multi-label classification)
 * A file without a label column (a GLUE test.tsv, or columns.label == NULL) is
 * read as unlabeled: has_labels = 0, label = -1, value = NaN, no label sets.
 *
 * Label vocabulary order (the id of each class), deterministic:
 *  - GLUE: the label lists of the Hugging Face `datasets` GLUE builder, because
 *    the MosaicBERT and M2 finetuning jobs read GLUE through it (`load_dataset(
 *    "glue", task)`), so class ids, heads and predictions line up with theirs:
 *    MNLI entailment=0, neutral=1, contradiction=2; QNLI and RTE entailment=0,
 *    not_entailment=1; CoLA, SST-2, MRPC, QQP, WNLI use the 0/1 written in the
 *    files (the id is the number). transformers' deprecated glue_processors use
 *    another MNLI order (contradiction, entailment, neutral): not ours.
 *  - fixed by the caller (opts.labels, e.g. the training file's vocabulary when
 *    reading its dev file): a label outside it is a malformed row.
 *  - inferred: the distinct labels sorted — numerically when every label is an
 *    integer literal ("0", "2", "10"; ties such as "1"/"01" then by bytes), else
 *    by bytes (UTF-8 code-point order) — the id is the position. This is the
 *    order of sorted(set(labels)) in Python (HF ClassLabel from
 *    class_encode_column, sklearn LabelEncoder), and does not depend on the row
 *    order of the file.
 *
 * Label type when opts.kind is TASK_LABEL_AUTO: REGRESSION if every label is a
 * decimal number and at least one is not an integer literal ("4.5", "1.0",
 * "2e0"); MULTI for JSONL whose labels are arrays; otherwise CLASS. In TSV/CSV
 * a multi-label column must be asked for (kind = TASK_LABEL_MULTI); its items
 * are joined by opts.multi_sep (default ","); an empty field is the empty set.
 *
 * Malformed rows — wrong number of fields, empty or unknown label, bad number,
 * invalid UTF-8, a NUL byte, a CSV quoting error, a JSONL line that is not an
 * object or lacks a key — are reported as "path:line: what" (line of the row's
 * first byte, 1-based) through err_set. opts.skip_bad chooses what follows:
 *   0 (default): the read fails on the first one (returns NULL, err_msg() says
 *     where). Why the default: a silently dropped row changes the training set
 *     or, worse, the denominator of a dev score; skipping must be a visible
 *     choice. (The original GLUE QQP train.tsv has such rows — GLUE-baselines
 *     issue 5 — which transformers' QQP processor drops without a word.)
 *   1: the row is left out, counted in n_skipped, and its message kept in
 *     skipped[] (the first TASK_MAX_SKIP_MSGS of them) for the caller to print.
 * Structural errors that are not one row — unreadable file, missing or
 * duplicated header column, a header that does not match the task's published
 * layout, a CSV quote left open (it swallows the rest of the file) — always fail.
 *
 * Text handling: TSV fields are split on every tab literally (GLUE files are not
 * quoted: a '"' is text; Python readers use csv.QUOTE_NONE for the same reason).
 * CSV follows RFC 4180: ',' separated, fields optionally in double quotes, "" is
 * a quote inside a quoted field, quoted fields may hold commas and line breaks;
 * a quote inside an unquoted field or text after a closing quote is an error.
 * Lines end in LF or CRLF; a UTF-8 byte-order mark at the start of a file is
 * skipped; completely empty lines are skipped (a trailing blank line is common;
 * in TSV/CSV one with only spaces or tabs is a row; in JSONL it is skipped too).
 * Texts are kept byte for byte; only the text and label fields in use are
 * checked for UTF-8 and NUL bytes (MNLI's parse columns, say, are not).
 */
#ifndef BERTC_TASK_H
#define BERTC_TASK_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TASK_LABEL_AUTO = 0,   /* infer (see above); never the kind of a task_data */
    TASK_LABEL_CLASS,
    TASK_LABEL_REGRESSION,
    TASK_LABEL_MULTI,
} task_label_kind;

typedef enum {
    TASK_FORMAT_AUTO = 0, /* by file name: .tsv → TSV, .csv → CSV, .jsonl / .ndjson → JSONL */
    TASK_FORMAT_TSV,
    TASK_FORMAT_CSV,
    TASK_FORMAT_JSONL,
} task_format;

/* Label vocabulary: id → name, and a hash index for name → id. */
typedef struct {
    char **names;    /* (n,) NUL-terminated class names, in id order */
    int32_t n;
    int32_t *slots;  /* (cap,) open addressing: id + 1, or 0 for an empty slot */
    size_t cap;
} task_labels;

/* Builds a vocabulary from names in id order (copied). -1 + err on a duplicate. */
int task_labels_init(task_labels *v, const char *const *names, int32_t n);
void task_labels_free(task_labels *v);
/* Class id of name, or -1. */
int32_t task_labels_find(const task_labels *v, const char *name);

typedef struct {
    const char *text_a;   /* UTF-8, NUL-terminated, never NULL */
    const char *text_b;   /* second text of a pair task; NULL for single-text tasks */
    int32_t label;        /* CLASS: class id; -1 when unlabeled or another kind */
    float value;          /* REGRESSION: the target; NaN when unlabeled or another kind */
    const int32_t *labels;/* (n_labels,) MULTI: sorted distinct class ids; NULL otherwise */
    int32_t n_labels;
    uint32_t line;        /* line of the row in the source file (1-based) */
} task_example;

#define TASK_MAX_SKIP_MSGS 32

typedef struct task_pool task_pool;

typedef struct {
    char *path;
    task_label_kind kind;   /* CLASS, REGRESSION or MULTI */
    int has_labels;         /* 0: the file has no label column (a test split) */
    int has_pair;           /* 1: examples carry text_b */
    task_example *ex;       /* (n,) examples in file order */
    size_t n;
    task_labels labels;     /* CLASS / MULTI vocabulary (n = 0 for REGRESSION) */
    size_t n_skipped;       /* malformed rows left out (opts.skip_bad) */
    char *skipped[TASK_MAX_SKIP_MSGS]; /* (min(n_skipped, TASK_MAX_SKIP_MSGS),) their messages */
    task_pool *pool;        /* owns every string and label set above */
} task_data;

typedef struct {
    task_label_kind kind;       /* AUTO (0) infers; GLUE readers ignore it */
    const task_labels *labels;  /* fixed vocabulary (CLASS / MULTI), e.g. &train->labels; NULL = infer.
                                   Pass the training data's kind with it: AUTO then means CLASS, or
                                   MULTI only for JSONL lists */
    const char *multi_sep;      /* TSV/CSV multi-label item separator; NULL = "," */
    int skip_bad;               /* 0: fail on the first malformed row; 1: skip it and count */
} task_options;

/* Column names of a generic file (header names for TSV/CSV, keys for JSONL). */
typedef struct {
    const char *text;       /* required */
    const char *text_pair;  /* NULL: single-text task */
    const char *label;      /* NULL: unlabeled */
} task_columns;

/* Reads a generic labelled file. opts may be NULL (all defaults). NULL + err on failure. */
task_data *task_read_table(const char *path, task_format format, const task_columns *cols,
                           const task_options *opts);
/* Reads one GLUE file (train.tsv, dev.tsv, dev_matched.tsv, dev_mismatched.tsv or
 * test.tsv) of the named task (glue_task_find names). Labels are the task's fixed
 * list; opts->kind and opts->labels are ignored, skip_bad is honoured. */
task_data *task_read_glue(const char *task, const char *path, const task_options *opts);
void task_free(task_data *d);

task_format task_format_for(const char *path);
const char *task_label_kind_name(task_label_kind k); /* "class", "regression", "multi-label" */

/* ---- the GLUE task table ---------------------------------------------------- */

/* One finetuning recipe (per task). Fields that a spec does not give are 0. */
typedef struct {
    double lr;               /* peak learning rate */
    double wd;               /* weight decay (decoupled: wd·lr/lr0 per step; AdamW: lr-coupled) */
    int decoupled;           /* 1: Composer DecoupledAdamW, 0: torch AdamW */
    int epochs;
    int batch;               /* global batch size */
    int eval_interval;       /* batches between evaluations; 0 = not given */
    int n_seeds;
    int seeds[5];            /* (n_seeds,) finetuning seeds */
    int from_mnli;           /* 1: starts from the finetuned MNLI checkpoint (round 2) */
    int mean_pool;           /* 1: pooler over the mean of all tokens (M2 QNLI pool_all) */
    int max_seq_len;         /* tokens, padded to this length */
} glue_recipe;

/* Where the text and label columns are: header names, and the published 0-based
 * positions in the labelled files (label_col -1 = the last column). */
typedef struct {
    int header;              /* 0: no header row (CoLA train/dev) */
    const char *a, *b, *label; /* header names; b NULL for single-text tasks; label NULL for CoLA */
    int a_col, b_col, label_col;
    int n_cols;              /* fields per row of a headerless file; 0 = from the header */
} glue_layout;

typedef struct {
    const char *name;         /* "mnli": lower case, no dash (the HF datasets config name) */
    const char *dir;          /* "MNLI": directory in the GLUE distribution */
    const char *train;        /* "train.tsv" */
    const char *dev[2];       /* evaluation files (MNLI: matched, mismatched); dev[1] may be NULL */
    const char *dev_name[2];  /* split names for reports: "validation", or "matched"/"mismatched" */
    const char *test[2];      /* unlabeled test files */
    task_label_kind kind;     /* CLASS or REGRESSION */
    int n_labels;             /* classes (1 for regression: one output) */
    const char *labels[3];    /* (n_labels,) label text in the files, in id order (CLASS only) */
    const char *label_desc[3];/* (n_labels,) HF datasets ClassLabel names of the same ids */
    const char *metrics[2];   /* metric names ("accuracy", "f1", "mcc", "spearman"): those the MosaicBERT
                                 GLUE jobs evaluate and the GLUE average takes (WNLI: GLUE's accuracy) */
    int n_metrics;
    const char *extra_metric; /* also reported on the GLUE leaderboard, not averaged; or NULL */
    glue_layout layout;
    glue_recipe mosaic;       /* mosaicbert.md §7 (MosaicBERT-base); all 0 for WNLI (not in their average) */
    glue_recipe m2;           /* m2bert.md §5.2, M2-BERT 80M column */
} glue_task;

extern const glue_task glue_tasks[];
extern const int glue_n_tasks;
/* By name, ignoring case, '-' and '_': "MNLI", "mnli", "SST-2", "sst2", "STS-B", "stsb", ... */
const glue_task *glue_task_find(const char *name);

#endif
