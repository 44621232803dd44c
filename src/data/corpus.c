/* corpus.c — see corpus.h. */
#include "corpus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/err.h"
#include "../io/json.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

corpus_format corpus_format_for(const char *path, int paragraphs) {
    if (ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz")) return CORPUS_JSONL;
    return paragraphs ? CORPUS_PARAGRAPHS : CORPUS_LINES;
}

int corpus_open(corpus_reader *r, const char *path, corpus_format format, const char *field) {
    memset(r, 0, sizeof *r);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return err_set("%s: cannot open: %s", path, errno ? strerror(errno) : "zlib error");
    gzbuffer(gz, 1 << 20);
    r->gz = gz;
    r->path = xstrdup(path);
    r->format = format;
    r->field = xstrdup(field ? field : "text");
    r->cap = 1 << 16;
    r->buf = xmalloc(r->cap);
    r->doc_cap = 1 << 16;
    r->doc = xmalloc(r->doc_cap);
    return 0;
}

void corpus_close(corpus_reader *r) {
    if (r->gz) gzclose((gzFile)r->gz);
    free(r->path);
    free(r->field);
    free(r->buf);
    free(r->doc);
    memset(r, 0, sizeof *r);
}

uint64_t corpus_offset(const corpus_reader *r) { return r->gz ? (uint64_t)gzoffset((gzFile)r->gz) : 0; }

/* Reads one line (without its '\n' or "\r\n") into r->buf; 1 = got one, 0 = end, -1 = error. */
static int read_line(corpus_reader *r) {
    gzFile gz = r->gz;
    r->len = 0;
    if (r->eof) return 0;
    for (;;) {
        if (r->cap - r->len < 2) {
            r->cap *= 2;
            r->buf = xrealloc(r->buf, r->cap);
        }
        int want = (int)((r->cap - r->len) > (1u << 30) ? (1u << 30) : (r->cap - r->len));
        char *got = gzgets(gz, r->buf + r->len, want);
        if (!got) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            if (zerr != Z_OK && zerr != Z_BUF_ERROR)
                return err_set("%s:%" PRIu64 ": read error: %s", r->path, r->line + 1, msg);
            r->eof = 1;
            if (r->len == 0) return 0;
            break;
        }
        size_t n = strlen(r->buf + r->len); /* a NUL byte in the input ends the chunk early: see below */
        r->len += n;
        if (r->len && r->buf[r->len - 1] == '\n') break;
        if (n == 0 || (size_t)(want - 1) != n) {
            /* short chunk without '\n': either end of file, or a NUL byte inside the line */
            if (gzeof(gz)) { r->eof = 1; break; }
            return err_set("%s:%" PRIu64 ": line contains a NUL byte (is this a text file?)", r->path, r->line + 1);
        }
    }
    r->line++;
    if (r->len && r->buf[r->len - 1] == '\n') r->len--;
    if (r->len && r->buf[r->len - 1] == '\r') r->len--;
    r->buf[r->len] = 0;
    return 1;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v') return 0;
    return 1;
}

static void doc_append(corpus_reader *r, const char *s, size_t n) {
    if (r->doc_len + n + 2 > r->doc_cap) {
        while (r->doc_len + n + 2 > r->doc_cap) r->doc_cap *= 2;
        r->doc = xrealloc(r->doc, r->doc_cap);
    }
    memcpy(r->doc + r->doc_len, s, n);
    r->doc_len += n;
    r->doc[r->doc_len] = 0;
}

static int next_jsonl(corpus_reader *r, const char **text, size_t *len) {
    for (;;) {
        int got = read_line(r);
        if (got <= 0) return got;
        if (is_blank(r->buf, r->len)) continue;
        json_value *v = json_parse(r->buf, r->len);
        if (!v) return err_prefix("%s:%" PRIu64, r->path, r->line);
        const json_value *f = json_get(v, r->field);
        if (!f || json_typeof(f) != JSON_STRING) {
            json_free(v);
            return err_set("%s:%" PRIu64 ": no string field \"%s\" in this JSON line (choose one with --field)",
                           r->path, r->line, r->field);
        }
        size_t n;
        const char *s = json_str(f, &n);
        r->doc_len = 0;
        doc_append(r, s, n);
        json_free(v);
        r->doc_line = r->line;
        *text = r->doc;
        *len = r->doc_len;
        return 1;
    }
}

int corpus_next(corpus_reader *r, const char **text, size_t *len) {
    if (r->format == CORPUS_JSONL) return next_jsonl(r, text, len);
    r->doc_len = 0;
    if (r->doc) r->doc[0] = 0;
    for (;;) {
        int got = read_line(r);
        if (got < 0) return -1;
        if (got == 0) break;
        int blank = is_blank(r->buf, r->len);
        if (r->format == CORPUS_LINES) {
            if (blank) continue;
            r->doc_line = r->line;
            *text = r->buf;
            *len = r->len;
            return 1;
        }
        if (blank) {
            if (r->doc_len) break;
            continue;
        }
        if (r->doc_len == 0) r->doc_line = r->line;
        else doc_append(r, "\n", 1);
        doc_append(r, r->buf, r->len);
    }
    if (r->doc_len == 0) return 0;
    *text = r->doc;
    *len = r->doc_len;
    return 1;
}
