/* cmd_encode.c — `bertc encode`: text lines → token ids (inspection, parity
 * checks against the reference library, tokenizer benchmarks). */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../text/tokenizer.h"
#include "cli.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: bertc encode --vocab FILE [options] [FILE|-]\n\n"
            "Prints the token ids of each input line, space-separated, one line per input line.\n"
            "With --pair each line is A<TAB>B and is encoded as [CLS] A [SEP] B [SEP].\n\n"
            "  --vocab FILE        vocab.txt (one token per line) or tokenizer.json\n"
            "  --pair              lines are sentence pairs separated by a TAB\n"
            "  --max-length N      truncate to N tokens in all (LongestFirst for pairs)\n"
            "  --pad-to N          right-pad with [PAD] to N tokens\n"
            "  --no-special        do not add [CLS]/[SEP]\n"
            "  --type-ids          also print the token type ids (after a TAB)\n"
            "  --mask              also print the attention mask (after a TAB)\n"
            "  --tokens            print token strings instead of ids\n"
            "  --threads N         encode with N threads (default 1)\n"
            "  --bench             print only a throughput line (lines, tokens, seconds, tokens/s)\n"
            "normalizer (vocab.txt only; a tokenizer.json carries its own):\n" CLI_NORM_FLAGS_HELP);
}

typedef struct {
    char *p;
    size_t len, cap;
} outbuf;

static void ob_put(outbuf *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 4096;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void ob_uint(outbuf *b, uint32_t v) {
    char tmp[12];
    int k = 0;
    do tmp[k++] = (char)('0' + v % 10), v /= 10; while (v);
    char rev[12];
    for (int i = 0; i < k; i++) rev[i] = tmp[k - 1 - i];
    ob_put(b, rev, (size_t)k);
}

typedef struct {
    const tokenizer *t;
    tok_encode_opts o;
    int pair, type_ids, mask, tokens, bench;
} enc_cfg;

/* Encodes one input line and appends its output line. -1 + err on failure. */
static int encode_line(const enc_cfg *c, const char *s, size_t n, tok_encoding *e, outbuf *b, size_t *n_tokens) {
    const char *bp = NULL;
    size_t na = n, nb = 0;
    if (c->pair) {
        const char *tab = memchr(s, '\t', n);
        if (!tab) return err_set("expected A<TAB>B (no TAB in the line)");
        na = (size_t)(tab - s);
        bp = tab + 1;
        nb = n - na - 1;
    }
    if (tok_encode(c->t, s, na, bp, nb, &c->o, e) < 0) return -1;
    *n_tokens += e->n;
    if (c->bench) return 0;
    for (size_t i = 0; i < e->n; i++) {
        if (i) ob_put(b, " ", 1);
        if (c->tokens) {
            const char *tk = tok_token(c->t, e->ids[i]);
            ob_put(b, tk, strlen(tk));
        } else {
            ob_uint(b, e->ids[i]);
        }
    }
    if (c->type_ids) {
        ob_put(b, "\t", 1);
        for (size_t i = 0; i < e->n; i++) ob_put(b, i ? (e->type_ids[i] ? " 1" : " 0") : (e->type_ids[i] ? "1" : "0"), i ? 2 : 1);
    }
    if (c->mask) {
        ob_put(b, "\t", 1);
        for (size_t i = 0; i < e->n; i++) ob_put(b, i ? (e->mask[i] ? " 1" : " 0") : (e->mask[i] ? "1" : "0"), i ? 2 : 1);
    }
    ob_put(b, "\n", 1);
    return 0;
}

static int parse_size(const char *v, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-') return -1;
    *out = (size_t)x;
    return 0;
}

int cmd_encode(int argc, char **argv) {
    const char *vocab = NULL, *input = NULL, *v;
    enc_cfg c = {0};
    tok_encode_opts_default(&c.o);
    norm_config norm;
    norm_config_default(&norm);
    size_t threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--max-length"))) {
            if (parse_size(v, &c.o.max_length) < 0) return cli_fail("encode", "--max-length: not a number: %s", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--pad-to"))) {
            if (parse_size(v, &c.o.pad_to) < 0) return cli_fail("encode", "--pad-to: not a number: %s", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--threads"))) {
            if (parse_size(v, &threads) < 0 || threads < 1 || threads > 1024)
                return cli_fail("encode", "--threads: expected 1..1024, got %s", v);
        } else if (!strcmp(a, "--pair")) c.pair = 1;
        else if (!strcmp(a, "--no-special")) c.o.add_special = 0;
        else if (!strcmp(a, "--type-ids")) c.type_ids = 1;
        else if (!strcmp(a, "--mask")) c.mask = 1;
        else if (!strcmp(a, "--tokens")) c.tokens = 1;
        else if (!strcmp(a, "--bench")) c.bench = 1;
        else if (cli_norm_flag(a, &norm)) continue;
        else if (a[0] == '-' && a[1]) return cli_fail("encode", "unknown option %s (see --help)", a);
        else if (input) return cli_fail("encode", "more than one input file (%s, %s)", input, a);
        else input = a;
    }
    if (!vocab) return cli_fail("encode", "--vocab FILE is required (see --help)");
    tokenizer *t = tok_load(vocab, &norm);
    if (!t) return cli_fail("encode", "%s", err_msg());
    c.t = t;

    size_t n;
    char *data;
    if (!input || !strcmp(input, "-")) data = file_read_all("/dev/stdin", &n);
    else data = file_read_all(input, &n);
    if (!data) { tok_free(t); return cli_fail("encode", "%s", err_msg()); }

    /* Index the lines: line i is data[start[i] .. start[i+1]-1) without its LF. */
    size_t n_lines = 0, cap_lines = 1024;
    size_t *start = xmalloc(cap_lines * sizeof *start);
    for (size_t p = 0; p < n;) {
        if (n_lines + 1 >= cap_lines) cap_lines *= 2, start = xrealloc(start, cap_lines * sizeof *start);
        start[n_lines++] = p;
        const char *nl = memchr(data + p, '\n', n - p);
        p = nl ? (size_t)(nl - data) + 1 : n;
    }
    start[n_lines] = n;

    /* Chunks of lines per thread, output kept in order. */
    size_t n_chunks = threads == 1 ? 1 : threads * 16;
    if (n_chunks > n_lines) n_chunks = n_lines ? n_lines : 1;
    outbuf *outs = xcalloc(n_chunks, sizeof *outs);
    size_t *tokens = xcalloc(n_chunks, sizeof *tokens);
    long bad_line = -1;
    char bad_msg[512] = "";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
#pragma omp parallel num_threads((int)threads)
    {
        tok_encoding e = {0};
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < n_chunks; k++) {
            size_t lo = n_lines * k / n_chunks, hi = n_lines * (k + 1) / n_chunks;
            for (size_t i = lo; i < hi; i++) {
                size_t len = start[i + 1] - start[i];
                if (len && data[start[i] + len - 1] == '\n') len--;
                if (encode_line(&c, data + start[i], len, &e, &outs[k], &tokens[k]) < 0) {
#pragma omp critical
                    if (bad_line < 0 || (long)i < bad_line) {
                        bad_line = (long)i;
                        snprintf(bad_msg, sizeof bad_msg, "%s", err_msg());
                    }
                    break;
                }
            }
        }
        tok_encoding_free(&e);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int rc = 0;
    if (bad_line >= 0) {
        rc = cli_fail("encode", "%s:%ld: %s", input ? input : "-", bad_line + 1, bad_msg);
    } else if (c.bench) {
        size_t total = 0;
        for (size_t k = 0; k < n_chunks; k++) total += tokens[k];
        double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        printf("lines %zu tokens %zu bytes %zu seconds %.4f tokens_per_s %.0f threads %zu\n", n_lines, total, n, sec,
               sec > 0 ? (double)total / sec : 0.0, threads);
    } else {
        for (size_t k = 0; k < n_chunks; k++)
            if (outs[k].len && fwrite(outs[k].p, 1, outs[k].len, stdout) != outs[k].len) {
                rc = cli_fail("encode", "write error on stdout");
                break;
            }
        if (!rc && fflush(stdout) != 0) rc = cli_fail("encode", "write error on stdout");
    }
    for (size_t k = 0; k < n_chunks; k++) free(outs[k].p);
    free(outs);
    free(tokens);
    free(start);
    free(data);
    tok_free(t);
    return rc;
}
