/* cmd_vocab.c — `bertc vocab`: train a WordPiece vocab.txt from text files, or
 * write the fixed DNABERT k-mer vocabulary (--kmer K, no input files).
 * Defaults are those of Python BertWordPieceTokenizer.train (spec tokenizer.md §7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../text/kmer.h"
#include "../text/normalize.h"
#include "../text/vocab_train.h"
#include "cli.h"

static void vocab_usage(FILE *out) {
    fprintf(out,
            "usage: bertc vocab -o vocab.txt [options] FILES...\n"
            "       bertc vocab --kmer K -o vocab.txt [--pad-multiple N]\n\n"
            "Trains a WordPiece vocabulary like HF WordPieceTrainer (BPE with the \"##\" prefix)\n"
            "over the words of BertNormalizer + BertPreTokenizer, then pads it with [unusedN]\n"
            "entries to a multiple of 64. Inputs: text files (one sequence per line), .gz,\n"
            "and .jsonl (one JSON object per line; see --field).\n\n"
            "With --kmer K (1..8) no text is read: the DNABERT vocabulary is written, [PAD]\n"
            "[UNK] [CLS] [SEP] [MASK] then the 4^K k-mers in A,T,C,G order (id 5 = AA..A),\n"
            "padded with [unusedN] (K = 6: 4101 tokens, 4160 lines). bertc recognises this\n"
            "layout when it loads the file and tokenizes DNA into k-mers.\n\n"
            "options:\n"
            "  -o, --output PATH     where to write vocab.txt (required; written atomically)\n"
            "  --vocab-size N        target size before padding, specials included (30000)\n"
            "  --min-frequency N     stop when the best pair occurs fewer times (2)\n"
            "  --limit-alphabet N    keep the N most frequent characters; 0 = all (1000)\n"
            "  --special LIST        comma-separated special tokens, first ids; \"\" = none\n"
            "                        ([PAD],[UNK],[CLS],[SEP],[MASK])\n"
            "  --kmer K              write the k-mer vocabulary of K instead of training\n"
            "  --pad-multiple N      pad with [unusedN] to a multiple of N; 1 = no padding (64)\n"
            "  --field NAME          text field of .jsonl inputs (text)\n"
            "  --threads N           word-counting threads (all cores)\n"
            "  --cont-order VOCAB    give the \"##c\" symbols the id order they have in VOCAB\n"
            "                        (reproduces a reference run exactly; default: code points)\n"
            "  -q, --quiet           no progress lines\n" CLI_NORM_FLAGS_HELP
            "  -h, --help            this help\n");
}

/* text_words has the vocab_split_fn shape except for the config's type. */
static void split_bert(const void *cfg, const char *s, size_t n, vocab_word_fn emit, void *ud) {
    text_words((const norm_config *)cfg, s, n, emit, ud);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int cmd_vocab(int argc, char **argv) {
    const char *out = NULL, *field = NULL, *special = NULL, *cont_order = NULL;
    vocab_train_opts to;
    vocab_train_opts_default(&to);
    norm_config nc;
    norm_config_default(&nc);
    int threads = 0, quiet = 0, kmer = 0;
    char **files = xcalloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        uint64_t x;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            vocab_usage(stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if ((v = cli_flag_value(argc, argv, &i, "-o")) || (v = cli_flag_value(argc, argv, &i, "--output"))) {
            out = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--vocab-size"))) {
            if (cli_parse_uint(v, INT32_MAX, &x) || x == 0) {
                free(files);
                return cli_fail("vocab", "--vocab-size wants a whole number from 1 to %d, got '%s'", INT32_MAX, v);
            }
            to.vocab_size = (size_t)x;
        } else if ((v = cli_flag_value(argc, argv, &i, "--min-frequency"))) {
            if (cli_parse_uint(v, UINT64_MAX, &x)) {
                free(files);
                return cli_fail("vocab", "--min-frequency wants a whole number >= 0, got '%s'", v);
            }
            to.min_frequency = x;
        } else if ((v = cli_flag_value(argc, argv, &i, "--limit-alphabet"))) {
            if (cli_parse_uint(v, 0x110000, &x)) {
                free(files);
                return cli_fail("vocab", "--limit-alphabet wants a whole number >= 0 (0 = no limit), got '%s'", v);
            }
            to.limit_alphabet = (size_t)x;
        } else if ((v = cli_flag_value(argc, argv, &i, "--pad-multiple"))) {
            if (cli_parse_uint(v, 1 << 20, &x) || x == 0) {
                free(files);
                return cli_fail("vocab", "--pad-multiple wants a whole number >= 1, got '%s'", v);
            }
            to.pad_multiple = (size_t)x;
        } else if ((v = cli_flag_value(argc, argv, &i, "--kmer"))) {
            if (cli_parse_uint(v, KMER_MAX_K, &x) || x == 0) {
                free(files);
                return cli_fail("vocab", "--kmer wants a k-mer length from 1 to %d, got '%s'", KMER_MAX_K, v);
            }
            kmer = (int)x;
        } else if ((v = cli_flag_value(argc, argv, &i, "--special"))) {
            special = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--cont-order"))) {
            cont_order = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--field"))) {
            field = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--threads"))) {
            if (cli_parse_uint(v, 1024, &x) || x == 0) {
                free(files);
                return cli_fail("vocab", "--threads wants a number from 1 to 1024, got '%s'", v);
            }
            threads = (int)x;
        } else if (cli_norm_flag(a, &nc)) {
            /* applied */
        } else if (a[0] == '-' && a[1]) {
            free(files);
            /* a known flag at the end of the line lacks its value */
            if (!strcmp(a, "-o") || !strncmp(a, "--", 2))
                return cli_fail("vocab", "unknown option or missing value: '%s' (see bertc vocab --help)", a);
            return cli_fail("vocab", "unknown option '%s' (see bertc vocab --help)", a);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!out) {
        free(files);
        vocab_usage(stderr);
        return cli_fail("vocab", "missing -o OUTPUT");
    }
    if (kmer) {
        free(files);
        if (nfiles) return cli_fail("vocab", "--kmer writes a fixed vocabulary and reads no input files");
        if (kmer_vocab_write(kmer, to.pad_multiple, out) != 0) return cli_fail("vocab", "%s", err_msg());
        if (!quiet)
            fprintf(stderr, "vocab: wrote %s: %zu k-mer tokens (k = %d, 5 specials + %zu k-mers), padded to a multiple "
                            "of %zu\n", out, kmer_vocab_real_size(kmer), kmer, kmer_count(kmer), to.pad_multiple);
        return 0;
    }
    if (!nfiles) {
        free(files);
        return cli_fail("vocab", "no input files");
    }

    /* --special "a,b,c" → list; "" → none */
    char *spec_buf = NULL;
    const char **spec = NULL;
    if (special) {
        spec_buf = xstrdup(special);
        size_t n = 0;
        spec = xcalloc(strlen(special) + 1, sizeof *spec);
        if (*spec_buf) {
            char *save = NULL;
            for (char *t = spec_buf;; t = NULL) {
                char *tok = strtok_r(t, ",", &save);
                if (!tok) break;
                spec[n++] = tok;
            }
            if (!n || special[0] == ',' || special[strlen(special) - 1] == ',' || strstr(special, ",,")) {
                free(spec_buf); free(spec); free(files);
                return cli_fail("vocab", "--special: empty token name in '%s'", special);
            }
        }
        to.special = spec;
        to.n_special = n;
    }
    if (to.n_special > to.vocab_size) {
        free(spec_buf); free(spec); free(files);
        return cli_fail("vocab", "--vocab-size %zu cannot hold the %zu special tokens", to.vocab_size, to.n_special);
    }

    /* --cont-order FILE: its lines, in order */
    char *order_buf = NULL;
    const char **order = NULL;
    if (cont_order) {
        size_t len;
        order_buf = file_read_all(cont_order, &len);
        if (!order_buf) {
            free(spec_buf); free(spec); free(files);
            return cli_fail("vocab", "--cont-order: %s", err_msg());
        }
        size_t n = 0;
        order = xcalloc(len + 1, sizeof *order);
        for (char *p = order_buf, *e; p < order_buf + len; p = e + 1) {
            e = memchr(p, '\n', (size_t)(order_buf + len - p));
            if (!e) e = order_buf + len;
            *e = 0;
            order[n++] = p;
        }
        to.cont_order = order;
        to.n_cont_order = n;
    }

    int rc = 1;
    /* fail on an unwritable output now, not after minutes of training */
    afile probe;
    if (afile_open(&probe, out) != 0) {
        free(spec_buf); free(spec); free(order_buf); free(order); free(files);
        return cli_fail("vocab", "%s", err_msg());
    }
    afile_abort(&probe);
    FILE *pg = quiet ? NULL : stderr;
    to.progress = pg;
    vocab_count_opts co = {.split = split_bert, .split_cfg = &nc, .threads = threads, .jsonl_field = field};
    vocab_counts *counts = vocab_counts_new();
    vocab_result res = {0};
    double t0 = now_s();
    for (int f = 0; f < nfiles; f++) {
        if (vocab_count_file(counts, files[f], &co) != 0) {
            cli_fail("vocab", "%s", err_msg());
            goto done;
        }
        if (pg)
            fprintf(pg, "vocab: counted %s: %llu words so far, %zu distinct\n", files[f],
                    (unsigned long long)vocab_counts_total(counts), vocab_counts_size(counts));
    }
    double t1 = now_s();
    if (vocab_counts_total(counts) == 0) {
        cli_fail("vocab", "the input holds no words");
        goto done;
    }
    if (vocab_train(counts, &to, &res) != 0) {
        cli_fail("vocab", "%s", err_msg());
        goto done;
    }
    double t2 = now_s();
    if (vocab_write(&res, out) != 0) {
        cli_fail("vocab", "%s", err_msg());
        goto done;
    }
    if (pg)
        fprintf(pg,
                "vocab: wrote %s: %zu tokens (%zu trained = %zu special + %zu alphabet + %zu \"##\" + %zu merged; "
                "%zu [unusedN] padding)\n"
                "vocab: %zu merge steps, last pair count %llu; counting %.2f s, training %.2f s\n",
                out, res.n, res.n_unpadded, res.n_special, res.n_alphabet, res.n_continuing,
                res.n_unpadded - res.n_special - res.n_alphabet - res.n_continuing, res.n - res.n_unpadded,
                res.n_merges, (unsigned long long)res.last_count, t1 - t0, t2 - t1);
    rc = 0;
done:
    vocab_result_free(&res);
    vocab_counts_free(counts);
    free(spec_buf);
    free(spec);
    free(order_buf);
    free(order);
    free(files);
    return rc;
}
