/* pmi_rank.c — the k-mer NPMI ranking file (see pmi_rank.h). */
#include "pmi_rank.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../text/kmer.h"

#define PMI_MAGIC "# bertc pmi ranking v1"
#define PMI_HEADER "kmer\trank\tnpmi\tpmi\tcount"

/* Splits line at tabs into at most max fields (in place); returns the field count. */
static int split_tabs(char *line, char **f, int max) {
    int n = 0;
    for (char *p = line;;) {
        if (n == max) return max + 1; /* more fields than expected */
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (!t) return n;
        *t = 0;
        p = t + 1;
    }
}

static int parse_u64(const char *s, unsigned long long *out) {
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') return -1; /* strtoull would take a sign or spaces */
    *out = strtoull(s, &end, 10);
    return (*end || errno) ? -1 : 0;
}

static int parse_num(const char *s) {
    char *end;
    if (!*s) return -1;
    errno = 0;
    (void)strtod(s, &end);
    return *end ? -1 : 0; /* ERANGE (a denormal) is still a number */
}

/* Next line into buf without its LF / CRLF: 1, 0 at the end, −1 + err. */
static int read_line(FILE *f, const char *path, int *no, char *buf, int size) {
    if (!fgets(buf, size, f)) return ferror(f) ? err_set("%s:%d: read error", path, *no + 1) : 0;
    ++*no;
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '\n') buf[--len] = 0;
    else if (!feof(f)) return err_set("%s:%d: line too long", path, *no);
    if (len && buf[len - 1] == '\r') buf[--len] = 0;
    return 1;
}

/* Reads the data rows (after the header) into rank; line numbers in *no. */
static int read_rows(FILE *f, const char *path, int k, int32_t *rank, int *no) {
    const int64_t n = (int64_t)1 << (2 * k);
    int *kmer_line = xcalloc((size_t)n, sizeof *kmer_line); /* line of each k-mer's row, 0 = not seen */
    int *rank_line = xcalloc((size_t)n + 1, sizeof *rank_line);
    char line[1024];
    int rc = 0;
    int64_t rows = 0;
    for (;;) {
        int got = read_line(f, path, no, line, sizeof line);
        if (got <= 0) { rc = got; break; }
        if (line[0] == '#') continue;
        char *fl[5];
        int nf = split_tabs(line, fl, 5);
        if (nf != 5) {
            rc = err_set("%s:%d: %s%d tab-separated fields, expected 5 (kmer rank npmi pmi count)", path, *no,
                         nf > 5 ? "more than " : "", nf > 5 ? 5 : nf);
            break;
        }
        char kbuf[PMI_KMER_MAX_K + 1];
        int32_t idx = strlen(fl[0]) == (size_t)k && strspn(fl[0], "ACGT") == (size_t)k ? kmer_index(fl[0], k) : -1;
        if (idx < 0) { rc = err_set("%s:%d: kmer '%.40s' is not %d letters of ACGT (upper case)", path, *no, fl[0], k); break; }
        unsigned long long r, cnt;
        if (parse_u64(fl[1], &r) != 0 || r < 1 || r > (unsigned long long)n) {
            rc = err_set("%s:%d: rank '%.40s' must be an integer in [1, %lld]", path, *no, fl[1], (long long)n);
            break;
        }
        if (parse_num(fl[2]) != 0) { rc = err_set("%s:%d: npmi '%.40s' is not a number", path, *no, fl[2]); break; }
        if (parse_num(fl[3]) != 0) { rc = err_set("%s:%d: pmi '%.40s' is not a number", path, *no, fl[3]); break; }
        if (parse_u64(fl[4], &cnt) != 0) { rc = err_set("%s:%d: count '%.40s' is not an unsigned integer", path, *no, fl[4]); break; }
        kmer_string(idx, k, kbuf);
        if (kmer_line[idx]) { rc = err_set("%s:%d: kmer %s repeated (first on line %d)", path, *no, kbuf, kmer_line[idx]); break; }
        if (rank_line[r]) { rc = err_set("%s:%d: rank %llu repeated (first on line %d)", path, *no, r, rank_line[r]); break; }
        kmer_line[idx] = rank_line[r] = *no;
        rank[idx] = (int32_t)r;
        rows++;
    }
    if (rc == 0 && rows != n) { /* no repeats and rows < 4^k: name the first missing k-mer */
        char kbuf[PMI_KMER_MAX_K + 1];
        int32_t miss = 0;
        while (kmer_line[miss]) miss++;
        kmer_string(miss, k, kbuf);
        rc = err_set("%s:%d: %lld rows, expected 4^%d = %lld (kmer %s is missing)", path, *no, (long long)rows, k,
                     (long long)n, kbuf);
    }
    free(kmer_line);
    free(rank_line);
    return rc;
}

int pmi_rank_load(const char *path, int k, int32_t *rank) {
    if (k < 1 || k > PMI_KMER_MAX_K) return err_set("%s: k = %d, must be in [1, %d]", path, k, PMI_KMER_MAX_K);
    FILE *f = fopen(path, "r");
    if (!f) return err_set("%s: cannot open: %s", path, strerror(errno));
    char line[1024];
    int no = 0, rc = 0;
    /* magic, comments (a k=N one is checked), header */
    for (;;) {
        int got = read_line(f, path, &no, line, sizeof line);
        if (got < 0) { rc = -1; break; }
        if (got == 0) {
            rc = err_set("%s:%d: end of file before the header line 'kmer<TAB>rank<TAB>npmi<TAB>pmi<TAB>count'", path, no);
            break;
        }
        if (no == 1) {
            if (strcmp(line, PMI_MAGIC) != 0) {
                rc = err_set("%s:1: not a bertc pmi ranking (the first line must be '%s')", path, PMI_MAGIC);
                break;
            }
            continue;
        }
        if (line[0] == '#') {
            const char *s = line + 1;
            while (*s == ' ') s++;
            if (!strncmp(s, "k=", 2)) {
                unsigned long long fk;
                if (parse_u64(s + 2, &fk) != 0) { rc = err_set("%s:%d: bad k in '%s'", path, no, line); break; }
                if (fk != (unsigned long long)k) {
                    rc = err_set("%s:%d: the ranking is for k=%llu, the run uses k=%d (mask.kmer)", path, no, fk, k);
                    break;
                }
            }
            continue;
        }
        if (strcmp(line, PMI_HEADER) != 0) {
            rc = err_set("%s:%d: expected the header 'kmer<TAB>rank<TAB>npmi<TAB>pmi<TAB>count', got '%.60s'", path, no, line);
            break;
        }
        break;
    }
    if (rc == 0) rc = read_rows(f, path, k, rank, &no);
    fclose(f);
    return rc;
}
