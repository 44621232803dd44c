/* dna.c — FASTA, FASTQ and GenBank records through zlib (gzip or plain). See dna.h.
 *
 * One line reader over gzread (NUL bytes and lines of any length, e.g. a
 * chromosome on one line), one pushed-back line (a FASTA header ends the record
 * before it), and one parser per format. */
#include "dna.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <zlib.h>

#include "../core/err.h"

struct dna_reader {
    gzFile gz;
    char *path;
    dna_format format;
    uint8_t *in;            /* (1 << 20,) decompressed bytes */
    size_t in_pos, in_len;
    int in_eof;
    char *line;             /* current line, without "\n" / "\r\n", NUL-terminated */
    size_t line_len, line_cap;
    uint64_t line_no;       /* 1-based number of the current line */
    int pushed;             /* the current line is to be returned again */
    char *name;             /* (name_cap,) current record's name */
    size_t name_cap;
    char *seq;              /* (seq_cap,) current record's bases */
    size_t seq_len, seq_cap;
};

#define DNA_IN_BYTES (1u << 20)

/* Byte classes of sequence lines: a letter maps to its upper case (kept), 0 is
 * dropped (whitespace, digits: GenBank's ORIGIN lines), 1 is an error. */
static const uint8_t seq_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
    1, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 1, 1, 1, 1, 1,
    1, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79,
    80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

const char *dna_format_name(dna_format f) {
    switch (f) {
    case DNA_FASTA: return "fasta";
    case DNA_FASTQ: return "fastq";
    case DNA_GENBANK: return "genbank";
    default: return "auto";
    }
}

/* Reads the next line into r->line; 1 = got one, 0 = end of file, -1 = error. */
static int read_line(dna_reader *r) {
    if (r->pushed) { r->pushed = 0; return 1; }
    r->line_len = 0;
    int got_any = 0;
    for (;;) {
        if (r->in_pos == r->in_len) {
            if (r->in_eof) break;
            int n = gzread(r->gz, r->in, DNA_IN_BYTES);
            if (n < 0) {
                int zerr;
                const char *msg = gzerror(r->gz, &zerr);
                return err_set("%s:%" PRIu64 ": read error: %s", r->path, r->line_no + 1, msg);
            }
            r->in_pos = 0;
            r->in_len = (size_t)n;
            if (n == 0) { r->in_eof = 1; break; }
        }
        got_any = 1;
        const uint8_t *p = r->in + r->in_pos, *nl = memchr(p, '\n', r->in_len - r->in_pos);
        size_t take = nl ? (size_t)(nl - p) : r->in_len - r->in_pos;
        if (r->line_len + take + 1 > r->line_cap) {
            while (r->line_len + take + 1 > r->line_cap) r->line_cap = r->line_cap ? r->line_cap * 2 : 4096;
            r->line = xrealloc(r->line, r->line_cap);
        }
        memcpy(r->line + r->line_len, p, take);
        r->line_len += take;
        r->in_pos += take + (nl ? 1 : 0);
        if (nl) break;
    }
    if (!got_any) return 0;
    r->line_no++;
    if (r->line_len && r->line[r->line_len - 1] == '\r') r->line_len--;
    r->line[r->line_len] = 0;
    if (memchr(r->line, 0, r->line_len))
        return err_set("%s:%" PRIu64 ": NUL byte in the line (is this a text file?)", r->path, r->line_no);
    return 1;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return 0;
    return 1;
}

/* Next non-blank line (1), or 0 at the end, -1 on error. */
static int read_nonblank(dna_reader *r) {
    int got;
    while ((got = read_line(r)) == 1 && is_blank(r->line, r->line_len)) {}
    return got;
}

static void set_name(dna_reader *r, const char *s, size_t n) {
    size_t w = 0;
    while (w < n && s[w] != ' ' && s[w] != '\t') w++;
    if (w + 1 > r->name_cap) {
        r->name_cap = w + 64;
        r->name = xrealloc(r->name, r->name_cap);
    }
    memcpy(r->name, s, w);
    r->name[w] = 0;
}

/* Appends the bases of one sequence line (upper-cased; whitespace and digits
 * dropped); -1 + err naming the line on any other byte. */
static int add_bases(dna_reader *r, const char *s, size_t n) {
    if (r->seq_len + n + 1 > r->seq_cap) {
        while (r->seq_len + n + 1 > r->seq_cap) r->seq_cap = r->seq_cap ? r->seq_cap * 2 : 1 << 16;
        r->seq = xrealloc(r->seq, r->seq_cap);
    }
    char *out = r->seq + r->seq_len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = seq_class[(uint8_t)s[i]];
        if (c > 1) *out++ = (char)c;
        else if (c == 1) {
            uint8_t b = (uint8_t)s[i];
            if (b >= 0x20 && b < 0x7f)
                return err_set("%s:%" PRIu64 ": unexpected character '%c' in a sequence line (column %zu)", r->path,
                               r->line_no, b, i + 1);
            return err_set("%s:%" PRIu64 ": unexpected byte 0x%02x in a sequence line (column %zu)", r->path,
                           r->line_no, b, i + 1);
        }
    }
    r->seq_len = (size_t)(out - r->seq);
    r->seq[r->seq_len] = 0;
    return 0;
}

static void fill(dna_reader *r, dna_record *rec, uint64_t line) {
    if (!r->seq) add_bases(r, "", 0); /* an empty record still gets a NUL-terminated buffer */
    rec->name = r->name;
    rec->seq = r->seq;
    rec->len = r->seq_len;
    rec->line = line;
}

static int next_fasta(dna_reader *r, dna_record *rec) {
    int got = read_nonblank(r);
    if (got <= 0) return got;
    if (r->line[0] != '>')
        return err_set("%s:%" PRIu64 ": expected a FASTA header line starting with '>'", r->path, r->line_no);
    uint64_t head = r->line_no;
    set_name(r, r->line + 1, r->line_len - 1);
    r->seq_len = 0;
    while ((got = read_line(r)) == 1) {
        if (r->line[0] == '>') { r->pushed = 1; break; }
        if (add_bases(r, r->line, r->line_len) < 0) return -1;
    }
    if (got < 0) return -1;
    fill(r, rec, head);
    return 1;
}

static int next_fastq(dna_reader *r, dna_record *rec) {
    int got = read_nonblank(r);
    if (got <= 0) return got;
    if (r->line[0] != '@')
        return err_set("%s:%" PRIu64 ": expected a FASTQ header line starting with '@'", r->path, r->line_no);
    uint64_t head = r->line_no;
    set_name(r, r->line + 1, r->line_len - 1);
    /* the '+' line may repeat the title: keep the title to compare */
    size_t title_len = r->line_len - 1;
    char *title = xmalloc(title_len + 1);
    memcpy(title, r->line + 1, title_len + 1);
    int rc = -1;
    r->seq_len = 0;
    if ((got = read_line(r)) != 1) {
        if (got == 0) err_set("%s:%" PRIu64 ": FASTQ record '%s' ends before its sequence line", r->path, head, r->name);
        goto done;
    }
    size_t n_bases = r->line_len;
    if (add_bases(r, r->line, r->line_len) < 0) goto done;
    if ((got = read_line(r)) != 1 || r->line[0] != '+') {
        if (got >= 0)
            err_set("%s:%" PRIu64 ": FASTQ record '%s': expected the '+' separator line", r->path,
                    got ? r->line_no : r->line_no + 1, r->name);
        goto done;
    }
    if (r->line_len > 1 && (r->line_len - 1 != title_len || memcmp(r->line + 1, title, title_len))) {
        err_set("%s:%" PRIu64 ": FASTQ '+' line names another record than its '@' line", r->path, r->line_no);
        goto done;
    }
    if ((got = read_line(r)) != 1) {
        if (got == 0)
            err_set("%s:%" PRIu64 ": FASTQ record '%s' ends before its quality line", r->path, r->line_no + 1, r->name);
        goto done;
    }
    if (r->line_len != n_bases) {
        err_set("%s:%" PRIu64 ": FASTQ quality line has %zu characters, the sequence %zu", r->path, r->line_no,
                r->line_len, n_bases);
        goto done;
    }
    for (size_t i = 0; i < r->line_len; i++)
        if ((uint8_t)r->line[i] < '!' || (uint8_t)r->line[i] > '~') {
            err_set("%s:%" PRIu64 ": FASTQ quality character 0x%02x (column %zu) is not in '!'..'~'", r->path,
                    r->line_no, (uint8_t)r->line[i], i + 1);
            goto done;
        }
    fill(r, rec, head);
    rc = 1;
done:
    free(title);
    return rc;
}

static int starts_with(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static int next_genbank(dna_reader *r, dna_record *rec) {
    int got = read_nonblank(r);
    if (got <= 0) return got;
    if (!starts_with(r->line, "LOCUS"))
        return err_set("%s:%" PRIu64 ": expected a GenBank LOCUS line", r->path, r->line_no);
    uint64_t head = r->line_no;
    const char *p = r->line + 5;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return err_set("%s:%" PRIu64 ": LOCUS line without a name", r->path, r->line_no);
    set_name(r, p, strlen(p));
    r->seq_len = 0;
    int in_origin = 0;
    while ((got = read_line(r)) == 1) {
        if (starts_with(r->line, "//")) {
            fill(r, rec, head);
            return 1;
        }
        if (starts_with(r->line, "LOCUS"))
            return err_set("%s:%" PRIu64 ": LOCUS line inside entry '%s' (its '//' end line is missing)", r->path,
                           r->line_no, r->name);
        if (in_origin) {
            if (add_bases(r, r->line, r->line_len) < 0) return -1;
        } else if (starts_with(r->line, "ORIGIN")) {
            in_origin = 1;
        }
    }
    if (got < 0) return -1;
    return err_set("%s:%" PRIu64 ": GenBank entry '%s' (line %" PRIu64 ") has no '//' end line", r->path,
                   r->line_no, r->name, head);
}

int dna_next(dna_reader *r, dna_record *rec) {
    switch (r->format) {
    case DNA_FASTA: return next_fasta(r, rec);
    case DNA_FASTQ: return next_fastq(r, rec);
    case DNA_GENBANK: return next_genbank(r, rec);
    default: return 0; /* DNA_AUTO after open: the file holds no non-blank line */
    }
}

/* The format a first non-blank line announces, or DNA_AUTO. */
static dna_format format_of(const char *line) {
    if (line[0] == '>') return DNA_FASTA;
    if (line[0] == '@') return DNA_FASTQ;
    if (starts_with(line, "LOCUS")) return DNA_GENBANK;
    return DNA_AUTO;
}

/* Opens path and reads up to the first non-blank line (kept for dna_next). */
static dna_reader *open_peek(const char *path, int *got) {
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        err_set("%s: cannot open: %s", path, errno ? strerror(errno) : "zlib error");
        return NULL;
    }
    dna_reader *r = xcalloc(1, sizeof *r);
    r->gz = gz;
    r->path = xstrdup(path);
    r->in = xmalloc(DNA_IN_BYTES);
    *got = read_nonblank(r);
    if (*got < 0) { dna_close(r); return NULL; }
    if (*got == 1) r->pushed = 1;
    return r;
}

dna_reader *dna_open(const char *path, dna_format format) {
    int got;
    dna_reader *r = open_peek(path, &got);
    if (!r) return NULL;
    r->format = format;
    if (format == DNA_AUTO && got == 1) {
        r->format = format_of(r->line);
        if (r->format == DNA_AUTO) {
            err_set("%s:%" PRIu64 ": not FASTA, FASTQ or GenBank (the first line starts with neither '>', '@' nor "
                    "LOCUS)", path, r->line_no);
            dna_close(r);
            return NULL;
        }
    }
    return r;
}

int dna_sniff(const char *path, dna_format *format) {
    int got;
    dna_reader *r = open_peek(path, &got);
    if (!r) return -1;
    *format = got == 1 ? format_of(r->line) : DNA_AUTO;
    dna_close(r);
    return 0;
}

uint64_t dna_offset(const dna_reader *r) { return (uint64_t)gzoffset(r->gz); }
dna_format dna_reader_format(const dna_reader *r) { return r->format; }

void dna_close(dna_reader *r) {
    if (!r) return;
    if (r->gz) gzclose(r->gz);
    free(r->path);
    free(r->in);
    free(r->line);
    free(r->name);
    free(r->seq);
    free(r);
}
