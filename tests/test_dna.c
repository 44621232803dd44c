/* test_dna.c — FASTA / FASTQ / GenBank readers (plain and gzip, format
 * detection, malformed input named path:line) and `bertc tokenize` of a FASTA
 * file into k-mer shards (ids and document cuts computed by hand). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../src/core/err.h"
#include "../src/data/dna.h"
#include "../src/data/shard.h"
#include "../src/io/file.h"
#include "test.h"

static void fixture(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/dna/%s", test_fixture_dir(), name);
}

static void write_file(const char *path, const char *s, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f, "gzopen");
        CHECK(gzwrite(f, s, (unsigned)n) == (int)n, "gzwrite");
        gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    CHECK(f, "fopen");
    fwrite(s, 1, n, f);
    fclose(f);
}

/* Reads every record of path: names and sequences joined as "name=SEQ;…". */
static char *read_all(const char *path, dna_format f, dna_format *got_format) {
    dna_reader *r = dna_open(path, f);
    if (!r) return NULL;
    if (got_format) *got_format = dna_reader_format(r);
    char *out = xcalloc(1, 1);
    size_t n = 0;
    dna_record rec;
    int got;
    while ((got = dna_next(r, &rec)) == 1) {
        if (strlen(rec.seq) != rec.len) { free(out); dna_close(r); return NULL; }
        out = xrealloc(out, n + strlen(rec.name) + rec.len + 3);
        n += (size_t)sprintf(out + n, "%s=%s;", rec.name, rec.seq);
    }
    dna_close(r);
    if (got < 0) { free(out); return NULL; }
    return out;
}

/* The fixture `name` is detected as `format` and reads as `want`. */
static void expect_fixture(const char *name, dna_format format, const char *want) {
    char p[600];
    fixture(p, sizeof p, name);
    dna_format f = DNA_AUTO;
    char *s = read_all(p, DNA_AUTO, &f);
    EXPECT_EQ_INT(f, format);
    EXPECT_STR_EQ(s, want);
    free(s);
}

/* text written to a temporary `name` (gzip-compressed when gz) reads as `want`. */
static void expect_text(const char *name, const char *text, int gz, const char *want) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
    write_file(p, text, strlen(text), gz);
    char *s = read_all(p, DNA_AUTO, NULL);
    EXPECT_STR_EQ(s, want);
    free(s);
}

TEST(dna_fasta_records) {
    expect_fixture("tiny.fa", DNA_FASTA, "r1=ACGTACGT;r2=ACGNA;r3=AC;r4=NNNNN;");
    char p[600];
    fixture(p, sizeof p, "tiny.fa");
    dna_reader *r = dna_open(p, DNA_FASTA);
    REQUIRE(r != NULL);
    dna_record rec;
    REQUIRE(dna_next(r, &rec) == 1);
    EXPECT_EQ_INT(rec.line, 1);
    REQUIRE(dna_next(r, &rec) == 1);
    EXPECT_EQ_INT(rec.line, 5); /* header lines, blank line counted */
    dna_close(r);
}

TEST(dna_fastq_records) { expect_fixture("tiny.fq", DNA_FASTQ, "q1=ACGTN;q2=GGCC;"); }

TEST(dna_genbank_records) {
    /* an entry without ORIGIN after one with bases is empty, not the old bases (fuzz find) */
    expect_text("contig.gb", "LOCUS A\nORIGIN\n 1 acg\n//\nLOCUS B\nCONTIG join(x)\n//\n", 0, "A=ACG;B=;");
}

TEST(dna_gzip_and_crlf) {
    expect_text("x.fa.gz", ">a\r\nAC\r\ngt\r\n>b\r\nTT", 1, "a=ACGT;b=TT;");
    expect_text("x.fq.gz", "@r\nACGT\n+\nABCD\n", 1, "r=ACGT;");
}

TEST(dna_empty_file_and_sniff) {
    char p[600];
    snprintf(p, sizeof p, "%s/empty.fa", test_tmpdir());
    write_file(p, "\n\n", 2, 0);
    char *s = read_all(p, DNA_AUTO, NULL);
    REQUIRE(s != NULL);
    EXPECT_STR_EQ(s, "");
    free(s);
    dna_format f = DNA_FASTA;
    EXPECT(dna_sniff(p, &f) == 0 && f == DNA_AUTO);
    snprintf(p, sizeof p, "%s/text.txt", test_tmpdir());
    write_file(p, "ACGTAC CGTACG\n", 14, 0);
    EXPECT(dna_sniff(p, &f) == 0 && f == DNA_AUTO);
    fixture(p, sizeof p, "tiny.gb");
    EXPECT(dna_sniff(p, &f) == 0 && f == DNA_GENBANK);
    EXPECT(dna_sniff("/nonexistent/x.fa", &f) < 0);
    EXPECT_STR_EQ(dna_format_name(DNA_FASTQ), "fastq");
}

/* The reader fails on text with a message that starts "path:line:" and holds `what`. */
static void expect_error(const char *name, const char *text, size_t n, dna_format f, int line, const char *what) {
    char p[600], want[700];
    snprintf(p, sizeof p, "%s/%s", test_tmpdir(), name);
    write_file(p, text, n, 0);
    err_clear();
    char *s = read_all(p, f, NULL);
    EXPECT_MSG(s == NULL, "%s: malformed input accepted", name);
    free(s);
    snprintf(want, sizeof want, "%s:%d: ", p, line);
    EXPECT_MSG(!strncmp(err_msg(), want, strlen(want)) && strstr(err_msg(), what), "%s: message \"%s\", want \"%s…%s\"",
               name, err_msg(), want, what);
}

#define BAD(name, text, f, line, what) expect_error(name, text, sizeof text - 1, f, line, what)

TEST(dna_malformed_inputs_name_path_and_line) {
    BAD("gap.fa", ">a\nACGT\nAC-GT\n", DNA_AUTO, 3, "'-'");
    BAD("nohead.fa", "ACGT\n", DNA_FASTA, 1, "'>'");
    BAD("what.txt", "\nhello\n", DNA_AUTO, 2, "not FASTA, FASTQ or GenBank");
    BAD("nul.fa", ">a\nAC\0GT\n", DNA_AUTO, 2, "NUL");
    BAD("qual.fq", "@r\nACGT\n+\nIII\n", DNA_AUTO, 4, "quality line has 3 characters, the sequence 4");
    BAD("plus.fq", "@r\nACGT\nIIII\n", DNA_AUTO, 3, "'+'");
    BAD("plusname.fq", "@r\nACGT\n+s\nIIII\n", DNA_AUTO, 3, "another record");
    BAD("short.fq", "@r\nACGT\n+\n", DNA_AUTO, 4, "ends before its quality line");
    BAD("qchar.fq", "@r\nAC\n+\nI \n", DNA_AUTO, 4, "quality character");
    BAD("second.fq", "@r\nAC\n+\nII\nAC\n", DNA_AUTO, 5, "'@'");
    BAD("noend.gb", "LOCUS X 3 bp\nORIGIN\n 1 acg\n", DNA_AUTO, 3, "no '//' end line");
    BAD("twoloc.gb", "LOCUS X 3 bp\nORIGIN\nLOCUS Y\n", DNA_AUTO, 3, "LOCUS line inside entry 'X'");
    BAD("noname.gb", "LOCUS   \n//\n", DNA_AUTO, 1, "without a name");
    BAD("bad.gb", "LOCUS X\nORIGIN\n 1 ac;g\n//\n", DNA_AUTO, 3, "';'");
    BAD("after.gb", "LOCUS X\n//\njunk\n", DNA_AUTO, 3, "LOCUS");
    err_clear();
    EXPECT(dna_open("/nonexistent/x.fa", DNA_AUTO) == NULL && strstr(err_msg(), "/nonexistent/x.fa"));
}

/* The first shard of the tokenize run in d/dir holds docs documents and tokens tokens. */
static void expect_shard_counts(const char *d, const char *dir, uint64_t docs, uint64_t tokens) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s/train-00000.bin", d, dir);
    shard s;
    REQUIRE(shard_open(&s, p) == 0);
    EXPECT_EQ_INT(s.h.n_docs, docs);
    EXPECT_EQ_INT(s.h.n_tokens, tokens);
    shard_close(&s);
}

TEST(dna_tokenize_fasta_into_kmer_shards) {
    if (access("./bertc", X_OK) != 0) { EXPECT_MSG(0, "./bertc not built (make test builds it)"); return; }
    const char *d = test_tmpdir();
    char fa[600];
    fixture(fa, sizeof fa, "tiny.fa");
    REQUIRE(test_sh("./bertc vocab -q --kmer 3 -o %s/v3.txt", d) == 0);
    /* 6 bases per document, k = 3 → 4 k-mers per document, windows 4 bases apart */
    REQUIRE(test_sh("./bertc tokenize -q --vocab %s/v3.txt -o %s/a --threads 1 --dna-doc-bases 6 %s >/dev/null", d, d,
                    fa) == 0);
    REQUIRE(test_sh("./bertc tokenize -q --vocab %s/v3.txt -o %s/b --threads 2 --kmer --dna-doc-bases 6 %s >/dev/null",
                    d, d, fa) == 0);
    EXPECT(test_sh("cmp -s %s/a/train-00000.bin %s/b/train-00000.bin", d, d) == 0);
    EXPECT(test_sh("./bertc info %s/a/train-00000.bin >/dev/null", d) == 0);
    char p[700];
    snprintf(p, sizeof p, "%s/a/train-00000.bin", d);
    shard s;
    REQUIRE(shard_open(&s, p) == 0);
    EXPECT(shard_verify(&s) == 0);
    /* r1 ACGTACGT: [ACG CGT GTA TAC] [ACG CGT]; r2 ACGNA: [ACG, UNK, UNK];
     * r3 AC: no k-mer; r4 NNNNN: only [UNK], dropped.
     * ACG 16, CGT 50, GTA 57, TAC 23 (5 + Σ code·4^(3−i), A0 T1 C2 G3). */
    const uint32_t want[3][4] = {{16, 50, 57, 23}, {16, 50}, {16, 1, 1}};
    const size_t want_len[3] = {4, 2, 3};
    REQUIRE(s.h.n_docs == 3);
    EXPECT_EQ_INT(s.h.vocab_size, 128);
    for (uint64_t i = 0; i < 3; i++) {
        uint32_t got[8];
        size_t n = shard_doc_copy(&s, i, got, 8);
        EXPECT_EQ_INT(n, want_len[i]);
        for (size_t j = 0; j < n && j < want_len[i]; j++) EXPECT_EQ_INT(got[j], want[i][j]);
    }
    shard_close(&s);
    /* the default cut (509 + k bases) keeps r1 whole: 6 + 3 k-mers in 2 documents */
    REQUIRE(test_sh("./bertc tokenize -q --vocab %s/v3.txt -o %s/c %s >/dev/null", d, d, fa) == 0);
    expect_shard_counts(d, "c", 2, 9);
    /* refusals: --kmer with a WordPiece vocab, --kmer on a text file, doc shorter than k */
    char vocab[600];
    snprintf(vocab, sizeof vocab, "%s/bert-base-uncased-vocab.txt", test_fixture_dir());
    EXPECT(test_sh("./bertc tokenize -q --vocab %s -o %s/e --kmer %s 2>/dev/null >/dev/null", vocab, d, fa) != 0);
    snprintf(p, sizeof p, "%s/t.txt", d);
    write_file(p, "ACGTAC\n", 7, 0);
    EXPECT(test_sh("./bertc tokenize -q --vocab %s/v3.txt -o %s/f --kmer %s 2>/dev/null >/dev/null", d, d, p) != 0);
    EXPECT(test_sh("./bertc tokenize -q --vocab %s/v3.txt -o %s/g --dna-doc-bases 2 %s 2>/dev/null >/dev/null", d, d,
                   fa) != 0);
    /* a text file with a k-mer vocab: one document per line (ACGTAC → 4 k-mers) */
    REQUIRE(test_sh("./bertc tokenize -q --vocab %s/v3.txt -o %s/h %s >/dev/null", d, d, p) == 0);
    expect_shard_counts(d, "h", 1, 4);
}
