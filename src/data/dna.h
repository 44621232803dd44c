/* dna.h — DNA sequence records out of FASTA, FASTQ and GenBank files
 * (plain or gzip, detected by content), for `bertc tokenize --kmer`,
 * `bertc pmi` and the DNA task builders.
 *
 * Bases are returned upper-cased (soft-masked lower case becomes upper case);
 * letters other than A C G T are kept as they are (N, IUPAC codes) so that the
 * k-mer rule (text/kmer.h) decides what becomes [UNK]. Whitespace and digits
 * inside sequence lines (GenBank ORIGIN) are dropped; any other byte is an
 * error naming path:line.
 *
 * Formats:
 *   FASTA   `>name description` then sequence lines (any width);
 *   FASTQ   4-line records `@name`, bases, `+[name]`, qualities (same length);
 *   GenBank LOCUS … ORIGIN … `//` entries; the record is the ORIGIN section,
 *           its name the LOCUS name. (Features are not parsed here.) */
#ifndef BERTC_DNA_H
#define BERTC_DNA_H

#include <stddef.h>
#include <stdint.h>

typedef enum { DNA_AUTO, DNA_FASTA, DNA_FASTQ, DNA_GENBANK } dna_format;

typedef struct dna_reader dna_reader;

typedef struct {
    const char *name; /* record name (first word of the header), NUL-terminated */
    const char *seq;  /* (len,) upper-cased bases, NUL-terminated; valid until the next call */
    size_t len;
    uint64_t line;    /* 1-based line of the record's header (for messages) */
} dna_record;

/* Opens path (gzip or plain). DNA_AUTO picks the format from the first
 * non-empty line ('>' FASTA, '@' FASTQ, "LOCUS" GenBank). NULL + err_set. */
dna_reader *dna_open(const char *path, dna_format format);
/* The format the first non-blank line of path announces, DNA_AUTO when it
 * announces none (or the file is empty). 0, or -1 + err_set when unreadable. */
int dna_sniff(const char *path, dna_format *format);
/* Next record: 1 with *rec filled, 0 at the end, -1 + err_set (path:line: what). */
int dna_next(dna_reader *r, dna_record *rec);
/* Compressed bytes consumed so far (for progress). */
uint64_t dna_offset(const dna_reader *r);
dna_format dna_reader_format(const dna_reader *r);
void dna_close(dna_reader *r);
/* "fasta", "fastq", "genbank", "auto" */
const char *dna_format_name(dna_format f);

#endif
