/* cli.h — subcommands of the bertc program. Each lives in its own cmd_*.c,
 * parses its own flags, prints --help, and returns the process exit code. */
#ifndef BERTC_CLI_H
#define BERTC_CLI_H

#include <stdint.h>

#include "../text/normalize.h"

int cmd_encode(int argc, char **argv);   /* text → token ids (inspection, parity) */
int cmd_vocab(int argc, char **argv);    /* train a WordPiece vocabulary */
int cmd_tokenize(int argc, char **argv); /* corpus → token shards */
int cmd_info(int argc, char **argv);     /* print a shard's or safetensors file's header */
int cmd_fill_mask(int argc, char **argv); /* top-k predictions for [MASK] tokens */
int cmd_bench(int argc, char **argv);    /* model throughput */
int cmd_convert(int argc, char **argv);  /* model directory → bertc's HF layout */
int cmd_logits(int argc, char **argv);   /* MLM logits of stored inputs */
int cmd_pretrain(int argc, char **argv); /* MLM pretraining */
int cmd_eval(int argc, char **argv);     /* MLM loss/accuracy of a checkpoint on shards */
int cmd_embed(int argc, char **argv);    /* one vector per text */
int cmd_classify(int argc, char **argv); /* labels / probabilities of a finetuned model */
int cmd_finetune(int argc, char **argv); /* classification / regression finetuning */
int cmd_glue(int argc, char **argv);     /* the GLUE suite */
int cmd_pmi(int argc, char **argv);      /* NPMI ranking of DNA k-mers (GeneMask) */

/* Non-empty lines of a text file (or stdin when path is NULL), without line ends. */
typedef struct {
    char **text;
    size_t n, cap;
} cli_lines;
int cli_read_lines(cli_lines *l, const char *path); /* -1 + err naming the file */
void cli_lines_free(cli_lines *l);

/* The model directory a --model argument names: the argument itself when it holds config.json;
 * else, for a pretraining run (RUN, RUN/checkpoints or RUN/checkpoints/latest), the checkpoint
 * `latest` names (into buf, and said on stderr). NULL + err when it is neither. */
const char *cli_model_dir(const char *cmd, const char *arg, char *buf, size_t n);
#define CLI_MODEL_HELP                                                                            \
    "  --model DIR        a model directory (config.json, model.safetensors, vocab.txt), or a\n" \
    "                     pretraining run (RUN, RUN/checkpoints): its latest checkpoint\n"

/* The vocabulary of a model directory: vocab when given, else DIR/vocab.txt (in buf). */
const char *cli_vocab_path(const char *dir, const char *vocab, char *buf, size_t n);

/* Shared flag helpers: "--name value" or "--name=value". Returns the value or NULL. */
const char *cli_flag_value(int argc, char **argv, int *i, const char *name);
/* A whole decimal number ≤ max (no sign, no trailing bytes): 0 with *out set, or -1. */
int cli_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* Normalizer flags shared by encode/vocab/tokenize: --lowercase, --no-lowercase,
 * --no-strip-accents, --strip-accents, --no-clean-text, --no-chinese-chars.
 * Returns 1 if argv[i] was one of them (and applies it), else 0. */
int cli_norm_flag(const char *arg, norm_config *c);
#define CLI_NORM_FLAGS_HELP                                                                  \
    "  --no-lowercase      keep case (cased vocabularies); accents follow unless set\n"     \
    "  --strip-accents / --no-strip-accents   override accent stripping\n"                   \
    "  --no-clean-text     keep control characters\n"                                        \
    "  --no-chinese-chars  do not split CJK ideographs into single words\n"

/* Prints "bertc CMD: message" to stderr and returns 1 (the exit code for usage/user errors). */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
