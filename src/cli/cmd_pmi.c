/* cmd_pmi.c — `bertc pmi`: count nucleotide n-grams over DNA files and write the
 * NPMI ranking of k-mers that GeneMask masks by (text/pmi.h, spec genemask.md §3.1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/err.h"
#include "../data/dna.h"
#include "../io/file.h"
#include "../text/ngram.h"
#include "../text/pmi.h"
#include "cli.h"

static void pmi_usage(FILE *out) {
    fprintf(out,
            "usage: bertc pmi -o ranking.tsv [options] FILES...\n\n"
            "Counts the nucleotide n-grams (n = 1…max-n, A C G T only: an n-gram holding any\n"
            "other letter is skipped) of FASTA / FASTQ / GenBank files (plain or gzip), then\n"
            "ranks every k-mer by GeneMask's NPMI: the PMI-Masking \"true PMI\" (log p(w) minus\n"
            "the best segmentation of w into ≥ 2 parts) times ln f / (ln f + ln min-count).\n"
            "K-mers seen fewer than min-count times come last, by count. The ranking is a TSV\n"
            "(docs/formats.md) with 4^k rows, written atomically.\n\n"
            "options:\n"
            "  -o, --output PATH   where to write the ranking (required)\n"
            "  --k N               k-mer length, 2…max-n (6)\n"
            "  --max-n N           longest n-gram counted, 2…%d (10)\n"
            "  --min-count N       k-mers seen fewer times are not scored, ≥ 2 (101)\n"
            "  --threads N         counting threads (all cores)\n"
            "  -q, --quiet         no progress lines\n"
            "  -h, --help          this help\n",
            NGRAM_MAX_N);
}

static double pmi_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Feeds every record of path to the counter, with a progress line every few seconds. */
static int pmi_count_file(ngram_counter *c, const char *path, FILE *pg) {
    dna_reader *r = dna_open(path, DNA_AUTO);
    if (!r) return -1;
    struct stat st;
    double size_mb = stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0, last = pmi_now();
    dna_record rec;
    int rc;
    while ((rc = dna_next(r, &rec)) == 1) {
        ngram_counter_add(c, rec.seq, rec.len);
        if (pg && pmi_now() - last > 5) {
            last = pmi_now();
            fprintf(pg, "bertc pmi: %s: %.0f of %.0f MB read, %.1f Mbases so far\n", path,
                    (double)dna_offset(r) / 1e6, size_mb, (double)ngram_counter_seen(c) / 1e6);
        }
    }
    dna_close(r);
    return rc;
}

int cmd_pmi(int argc, char **argv) {
    const char *out = NULL;
    uint64_t k = 6, max_n = 10, min_count = 101, threads = 0;
    int quiet = 0, nfiles = 0;
    const char **files = xcalloc((size_t)argc + 1, sizeof *files);
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            pmi_usage(stdout);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if ((v = cli_flag_value(argc, argv, &i, "-o")) || (v = cli_flag_value(argc, argv, &i, "--output"))) {
            out = v;
        } else if ((v = cli_flag_value(argc, argv, &i, "--k"))) {
            if (cli_parse_uint(v, NGRAM_MAX_N, &k) || k < 2) {
                cli_fail("pmi", "--k wants a whole number from 2 to %d, got '%s'", NGRAM_MAX_N, v);
                goto done;
            }
        } else if ((v = cli_flag_value(argc, argv, &i, "--max-n"))) {
            if (cli_parse_uint(v, NGRAM_MAX_N, &max_n) || max_n < 2) {
                cli_fail("pmi", "--max-n wants a whole number from 2 to %d, got '%s'", NGRAM_MAX_N, v);
                goto done;
            }
        } else if ((v = cli_flag_value(argc, argv, &i, "--min-count"))) {
            if (cli_parse_uint(v, UINT64_MAX, &min_count) || min_count < 2) {
                cli_fail("pmi", "--min-count wants a whole number ≥ 2, got '%s'", v);
                goto done;
            }
        } else if ((v = cli_flag_value(argc, argv, &i, "--threads"))) {
            if (cli_parse_uint(v, 1024, &threads) || threads == 0) {
                cli_fail("pmi", "--threads wants a number from 1 to 1024, got '%s'", v);
                goto done;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_fail("pmi", "unknown option or missing value: '%s' (see bertc pmi --help)", a);
            goto done;
        } else {
            files[nfiles++] = a;
        }
    }
    if (!out) {
        pmi_usage(stderr);
        cli_fail("pmi", "missing -o OUTPUT");
        goto done;
    }
    if (!nfiles) {
        cli_fail("pmi", "no input files");
        goto done;
    }
    if (k > max_n) {
        cli_fail("pmi", "--k %llu is longer than --max-n %llu: the k-mers' own counts are needed",
                 (unsigned long long)k, (unsigned long long)max_n);
        goto done;
    }
    /* fail on an unwritable output now, not after counting a genome */
    afile probe;
    if (afile_open(&probe, out) != 0) {
        cli_fail("pmi", "%s", err_msg());
        goto done;
    }
    afile_abort(&probe);

    FILE *pg = quiet ? NULL : stderr;
    double t0 = pmi_now();
    ngram_counter *c = ngram_counter_new((int)max_n, (int)threads);
    for (int f = 0; f < nfiles; f++)
        if (pmi_count_file(c, files[f], pg) != 0) {
            ngram_counter_free(c);
            cli_fail("pmi", "%s", err_msg());
            goto done;
        }
    ngram_counts nc;
    ngram_counter_finish(c, &nc);
    pmi_row *rows = xmalloc(sizeof *rows << (2 * k));
    if (pmi_rank(&nc, (int)k, min_count, rows) != 0 ||
        pmi_write(out, rows, (int)k, &nc, min_count, files, nfiles) != 0) {
        cli_fail("pmi", "%s", err_msg());
    } else {
        size_t scored = 0;
        while (scored < (size_t)1 << (2 * k) && rows[scored].count >= min_count) scored++;
        if (pg)
            fprintf(pg, "bertc pmi: %llu bases, %zu of %zu %llu-mers scored (count ≥ %llu), %.1f s → %s\n",
                    (unsigned long long)nc.total[1], scored, (size_t)1 << (2 * k), (unsigned long long)k,
                    (unsigned long long)min_count, pmi_now() - t0, out);
        rc = 0;
    }
    free(rows);
    ngram_counts_free(&nc);
done:
    free(files);
    return rc;
}
