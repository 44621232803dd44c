/* corpus.h — documents out of text files, for `bertc tokenize` (and later the
 * vocab trainer and finetuning readers).
 *
 * Formats: LINES (one document per line; empty lines skipped), PARAGRAPHS
 * (documents separated by blank lines; inner newlines kept), JSONL (one JSON
 * object per line, the document is the string under `field`). Files ending in
 * .gz are decompressed on the fly (zlib reads plain files too).
 */
#ifndef BERTC_CORPUS_H
#define BERTC_CORPUS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CORPUS_LINES, CORPUS_PARAGRAPHS, CORPUS_JSONL } corpus_format;

typedef struct {
    void *gz;             /* gzFile */
    char *path;
    corpus_format format;
    char *field;          /* JSONL: the text field */
    uint64_t line;        /* 1-based number of the last line read (for messages) */
    uint64_t doc_line;    /* first line of the document last returned */
    char *buf;            /* (cap,) current line */
    size_t cap, len;
    char *doc;            /* (doc_cap,) assembled document */
    size_t doc_cap, doc_len;
    int eof;
} corpus_reader;

/* Picks the format from the name (.jsonl / .jsonl.gz → JSONL) unless `paragraphs` is set. */
corpus_format corpus_format_for(const char *path, int paragraphs);
int corpus_open(corpus_reader *r, const char *path, corpus_format format, const char *field);
/* Next document: 1 with *text (UTF-8, NUL-terminated, valid until the next call) and *len set,
 * 0 at the end, -1 on error (message names path:line). */
int corpus_next(corpus_reader *r, const char **text, size_t *len);
/* Compressed bytes consumed so far (for progress). */
uint64_t corpus_offset(const corpus_reader *r);
void corpus_close(corpus_reader *r);

#endif
