/* cmd_tokenize.c — `bertc tokenize`: text files → token shards.
 *
 * One reader (serial: gzip and line splitting are cheap) fills a batch of
 * documents; every core encodes a slice of it; the shard writers append the
 * results in input order, so the output does not depend on the thread count.
 *
 * With a k-mer vocabulary (text/kmer.h) FASTA / FASTQ / GenBank inputs are read
 * record by record (data/dna.h) and each record is cut into documents of at
 * most --dna-doc-bases bases that overlap by k−1 bases, so every k-mer of the
 * record lands in exactly one document; text inputs go through the k-mer
 * tokenizer line by line. Documents with no token but [UNK] are dropped. */
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/err.h"
#include "../data/corpus.h"
#include "../data/dna.h"
#include "../data/shard.h"
#include "../io/file.h"
#include "../io/json.h"
#include "../text/kmer.h"
#include "../text/tokenizer.h"
#include "cli.h"

static const char *usage =
    "usage: bertc tokenize --vocab FILE -o DIR [options] FILE...\n"
    "\n"
    "Encodes documents into token shards DIR/train-NNNNN.bin (and DIR/val-NNNNN.bin\n"
    "with --holdout), plus DIR/vocab.txt and DIR/shards.json describing the run.\n"
    "Inputs: .txt (one document per line, or --paragraphs), .jsonl (the --field\n"
    "string of each line); any of them may be gzip-compressed (.gz).\n"
    "With a k-mer vocabulary (bertc vocab --kmer K) inputs whose first line starts\n"
    "with '>', '@' or LOCUS are read as FASTA, FASTQ or GenBank (.gz too): each\n"
    "record becomes documents of at most --dna-doc-bases bases, overlapping by k-1\n"
    "bases so each k-mer is in one document; other inputs are text whose lines are\n"
    "raw DNA or space-separated k-mers. Documents that are all [UNK] are dropped.\n"
    "\n"
    "options:\n"
    "  --vocab FILE        vocab.txt or tokenizer.json\n"
    "  -o, --out DIR       output directory (created if missing)\n"
    "  --paragraphs        .txt documents are separated by blank lines\n"
    "  --field NAME        text field of .jsonl inputs (default: text)\n"
    "  --holdout F         fraction of documents held out into val-*.bin (default 0)\n"
    "  --seed N            seed of the holdout draw (default 0)\n"
    "  --shard-tokens N    tokens per shard file (default 50000000)\n"
    "  --threads N         encoding threads (default: all cores)\n"
    "  --kmer              inputs must be FASTA/FASTQ/GenBank (needs a k-mer vocab)\n"
    "  --dna-doc-bases N   bases per DNA document (default 509+k: 510 k-mers, which\n"
    "                      with [CLS] and [SEP] fill one 512-token row)\n"
    "  --force             replace the shards of an earlier run in DIR\n"
    "  -q, --quiet         no progress line\n" CLI_NORM_FLAGS_HELP;

typedef struct {
    const char *vocab, *out, *field;
    int paragraphs, force, quiet, threads, kmer;
    double holdout;
    uint64_t seed, shard_tokens, dna_doc_bases;
    norm_config norm;
    int norm_set;
    char **inputs;
    int n_inputs;
} tokenize_args;

/* A batch of documents: texts back to back, each NUL-terminated. */
typedef struct {
    char *text;      /* (text_len,) */
    size_t text_len, text_cap;
    size_t *start;   /* (n_docs + 1,) byte offsets */
    size_t n_docs, start_cap;
} doc_batch;

/* Encoded output of one slice of a batch. */
typedef struct {
    uint32_t *ids;   /* (n_ids,) */
    size_t n_ids, ids_cap;
    size_t *doc_len; /* (n_docs,) ids per document */
} slice_out;

/* Output side: one writer per split and the files written so far. */
typedef struct {
    const char *dir, *name; /* "train" | "val" */
    shard_writer w;
    int n_shards;
    uint64_t docs, tokens;
} split_out;

static char **written;   /* every shard this run wrote: removed again on failure */
static int n_written;

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int split_flush(split_out *s) {
    if (s->w.n_docs == 0) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%05d.bin", s->dir, s->name, s->n_shards);
    if (shard_writer_flush(&s->w, path) != 0) return -1;
    written = xrealloc(written, (size_t)(n_written + 1) * sizeof *written);
    written[n_written++] = xstrdup(path);
    s->n_shards++;
    return 0;
}

static int parse_args(int argc, char **argv, tokenize_args *a) {
    memset(a, 0, sizeof *a);
    a->field = "text";
    a->shard_tokens = 50000000;
    norm_config_default(&a->norm);
    a->inputs = xmalloc((size_t)argc * sizeof *a->inputs);
    for (int i = 1; i < argc; i++) {
        const char *v;
        char *end;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            exit(0);
        } else if ((v = cli_flag_value(argc, argv, &i, "--vocab"))) a->vocab = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--out")) || (v = cli_flag_value(argc, argv, &i, "-o"))) a->out = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--field"))) a->field = v;
        else if ((v = cli_flag_value(argc, argv, &i, "--holdout"))) {
            a->holdout = strtod(v, &end);
            if (*end || !(a->holdout >= 0 && a->holdout < 1)) return cli_fail("tokenize", "--holdout must be in [0, 1), got '%s'", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--seed"))) {
            a->seed = strtoull(v, &end, 10);
            if (*end || !*v) return cli_fail("tokenize", "--seed must be an integer, got '%s'", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--shard-tokens"))) {
            a->shard_tokens = strtoull(v, &end, 10);
            if (*end || a->shard_tokens == 0) return cli_fail("tokenize", "--shard-tokens must be a positive integer, got '%s'", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--threads"))) {
            a->threads = (int)strtol(v, &end, 10);
            if (*end || a->threads <= 0) return cli_fail("tokenize", "--threads must be a positive integer, got '%s'", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--dna-doc-bases"))) {
            a->dna_doc_bases = strtoull(v, &end, 10);
            if (*end || !*v || *v == '-' || a->dna_doc_bases == 0 || a->dna_doc_bases > (1ull << 40))
                return cli_fail("tokenize", "--dna-doc-bases must be a positive integer, got '%s'", v);
        } else if (!strcmp(argv[i], "--kmer")) a->kmer = 1;
        else if (!strcmp(argv[i], "--paragraphs")) a->paragraphs = 1;
        else if (!strcmp(argv[i], "--force")) a->force = 1;
        else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) a->quiet = 1;
        else if (cli_norm_flag(argv[i], &a->norm)) a->norm_set = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_fail("tokenize", "unknown option '%s' (see --help)", argv[i]);
        else a->inputs[a->n_inputs++] = argv[i];
    }
    if (!a->vocab) return cli_fail("tokenize", "--vocab FILE is required (see --help)");
    if (!a->out) return cli_fail("tokenize", "-o DIR is required (see --help)");
    if (a->n_inputs == 0) return cli_fail("tokenize", "no input files (see --help)");
    return 0;
}

/* Refuses to mix with an earlier run's shards unless --force, which removes them. */
static int prepare_out_dir(const tokenize_args *a) {
    if (mkdir(a->out, 0777) != 0 && errno != EEXIST)
        return err_set("%s: cannot create directory: %s", a->out, strerror(errno));
    char pattern[4096];
    snprintf(pattern, sizeof pattern, "%s/*-[0-9][0-9][0-9][0-9][0-9].bin", a->out);
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc == 0 && g.gl_pathc > 0) {
        if (!a->force) {
            err_set("%s: already holds %zu shard file(s) (e.g. %s); use --force to replace them or pick another -o",
                    a->out, g.gl_pathc, g.gl_pathv[0]);
            globfree(&g);
            return -1;
        }
        for (size_t i = 0; i < g.gl_pathc; i++)
            if (unlink(g.gl_pathv[i]) != 0) {
                err_set("%s: cannot remove: %s", g.gl_pathv[i], strerror(errno));
                globfree(&g);
                return -1;
            }
    }
    if (rc == 0) globfree(&g);
    return 0;
}

/* Documents of one input: corpus lines/paragraphs/JSON, or windows of DNA records. */
typedef struct {
    corpus_reader c;
    dna_reader *d;        /* NULL: text input */
    dna_record rec;
    size_t pos;           /* start of the next window in rec */
    int have_rec;
    size_t doc_bases, k;
} doc_source;

/* Opens an input: DNA when the vocabulary is a k-mer one and the first line
 * announces FASTA/FASTQ/GenBank (required with --kmer), else text. */
static int source_open(doc_source *s, const tokenize_args *a, const char *path, int k) {
    memset(s, 0, sizeof *s);
    dna_format f = DNA_AUTO;
    if (k && dna_sniff(path, &f) != 0) return -1;
    if (f == DNA_AUTO && a->kmer)
        return err_set("%s: not FASTA, FASTQ or GenBank (--kmer wants DNA records; the first line starts with "
                       "neither '>', '@' nor LOCUS)", path);
    if (f == DNA_AUTO) return corpus_open(&s->c, path, corpus_format_for(path, a->paragraphs), a->field);
    s->d = dna_open(path, f);
    s->k = (size_t)k;
    s->doc_bases = a->dna_doc_bases ? a->dna_doc_bases : 509 + (size_t)k;
    return s->d ? 0 : -1;
}

/* Next document (1), 0 at the end, -1 on error. A record of L ≥ k bases gives
 * windows [j·T, j·T + doc_bases) ∩ [0, L) with T = doc_bases − k + 1, while a
 * window still holds a whole k-mer: L − k + 1 k-mers in all, each once. */
static int source_next(doc_source *s, const char **text, size_t *n) {
    if (!s->d) return corpus_next(&s->c, text, n);
    for (;;) {
        if (s->have_rec && s->pos + s->k <= s->rec.len) {
            size_t end = s->rec.len - s->pos > s->doc_bases ? s->pos + s->doc_bases : s->rec.len;
            *text = s->rec.seq + s->pos;
            *n = end - s->pos;
            s->pos += s->doc_bases - s->k + 1;
            return 1;
        }
        int got = dna_next(s->d, &s->rec);
        if (got <= 0) return got;
        s->have_rec = 1;
        s->pos = 0;
    }
}

static uint64_t source_offset(const doc_source *s) { return s->d ? dna_offset(s->d) : corpus_offset(&s->c); }

static void source_close(doc_source *s) {
    if (s->d) dna_close(s->d);
    else corpus_close(&s->c);
}

/* 1 if ids[0..n) holds a token other than [UNK] (k-mer documents without one are dropped). */
static int has_known_kmer(const uint32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] != KMER_UNK_ID) return 1;
    return 0;
}

static void batch_add(doc_batch *b, const char *text, size_t n) {
    if (b->text_len + n + 1 > b->text_cap) {
        while (b->text_len + n + 1 > b->text_cap) b->text_cap = b->text_cap ? 2 * b->text_cap : (1u << 20);
        b->text = xrealloc(b->text, b->text_cap);
    }
    if (b->n_docs + 2 > b->start_cap) {
        b->start_cap = b->start_cap ? 2 * b->start_cap : 4096;
        b->start = xrealloc(b->start, b->start_cap * sizeof *b->start);
    }
    if (b->n_docs == 0) b->start[0] = 0;
    memcpy(b->text + b->text_len, text, n);
    b->text[b->text_len + n] = 0;
    b->text_len += n + 1;
    b->start[++b->n_docs] = b->text_len;
}

/* Encodes the batch in n_slices contiguous slices, in parallel. */
static void batch_encode(const tokenizer *tok, const doc_batch *b, slice_out *out, int n_slices) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < n_slices; s++) {
        size_t d0 = b->n_docs * (size_t)s / (size_t)n_slices, d1 = b->n_docs * (size_t)(s + 1) / (size_t)n_slices;
        slice_out *o = &out[s];
        o->n_ids = 0;
        o->doc_len = xrealloc(o->doc_len, (d1 - d0 + 1) * sizeof *o->doc_len);
        for (size_t d = d0; d < d1; d++) {
            size_t before = o->n_ids;
            tok_encode_ids(tok, b->text + b->start[d], b->start[d + 1] - b->start[d] - 1, &o->ids, &o->n_ids,
                           &o->ids_cap);
            o->doc_len[d - d0] = o->n_ids - before;
        }
    }
}

static int write_manifest(const tokenize_args *a, const tokenizer *tok, uint64_t vhash, const split_out *train,
                          const split_out *val, uint64_t dropped, double secs, uint64_t bytes) {
    json_w w;
    json_w_init(&w, 2, 0);
    json_w_begin_object(&w);
    json_w_key(&w, "format");
    json_w_string(&w, "bertc-shards");
    json_w_key(&w, "shard_version");
    json_w_int(&w, SHARD_VERSION);
    json_w_key(&w, "vocab_size");
    json_w_uint(&w, tok_vocab_size(tok));
    char hex[32];
    snprintf(hex, sizeof hex, "%016" PRIx64, vhash);
    json_w_key(&w, "vocab_hash");
    json_w_string(&w, hex);
    const norm_config *n = tok_norm(tok);
    json_w_key(&w, "normalizer");
    json_w_begin_object(&w);
    json_w_key(&w, "clean_text"); json_w_bool(&w, n->clean_text);
    json_w_key(&w, "handle_chinese_chars"); json_w_bool(&w, n->handle_chinese_chars);
    json_w_key(&w, "strip_accents"); if (n->strip_accents < 0) json_w_null(&w); else json_w_bool(&w, n->strip_accents);
    json_w_key(&w, "lowercase"); json_w_bool(&w, n->lowercase);
    json_w_end_object(&w);
    int k = kmer_vocab_k(tok);
    if (k) {
        json_w_key(&w, "kmer"); json_w_int(&w, k);
        json_w_key(&w, "dna_doc_bases"); json_w_uint(&w, a->dna_doc_bases ? a->dna_doc_bases : 509 + (uint64_t)k);
        json_w_key(&w, "dropped_unk_documents"); json_w_uint(&w, dropped);
    }
    json_w_key(&w, "inputs");
    json_w_begin_array(&w);
    for (int i = 0; i < a->n_inputs; i++) json_w_string(&w, a->inputs[i]);
    json_w_end_array(&w);
    json_w_key(&w, "holdout"); json_w_double(&w, a->holdout);
    json_w_key(&w, "seed"); json_w_uint(&w, a->seed);
    const split_out *splits[2] = {train, val};
    for (int s = 0; s < 2; s++) {
        json_w_key(&w, splits[s]->name);
        json_w_begin_object(&w);
        json_w_key(&w, "shards"); json_w_int(&w, splits[s]->n_shards);
        json_w_key(&w, "documents"); json_w_uint(&w, splits[s]->docs);
        json_w_key(&w, "tokens"); json_w_uint(&w, splits[s]->tokens);
        json_w_end_object(&w);
    }
    json_w_key(&w, "input_bytes"); json_w_uint(&w, bytes);
    json_w_key(&w, "seconds"); json_w_double(&w, secs);
    json_w_end_object(&w);
    size_t len;
    const char *text = json_w_finish(&w, &len);
    char path[4096];
    snprintf(path, sizeof path, "%s/shards.json", a->out);
    afile f;
    int rc = afile_open(&f, path);
    if (rc == 0 && (afile_write(&f, text, len) || afile_write(&f, "\n", 1))) { afile_abort(&f); rc = -1; }
    else if (rc == 0) rc = afile_commit(&f);
    json_w_free(&w);
    return rc;
}

static int write_vocab_copy(const char *dir, const tokenizer *tok) {
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    afile f;
    if (afile_open(&f, path) != 0) return -1;
    for (uint32_t i = 0; i < tok_vocab_size(tok); i++)
        if (afile_printf(&f, "%s\n", tok_token(tok, i)) != 0) { afile_abort(&f); return -1; }
    return afile_commit(&f);
}

static void progress(int quiet, int final, uint64_t docs, uint64_t tokens, uint64_t bytes, double t0, double *last) {
    double t = now_s();
    int tty = isatty(2);
    if (quiet || (!final && t - *last < (tty ? 0.5 : 10.0))) return;
    *last = t;
    double dt = t - t0 > 1e-9 ? t - t0 : 1e-9;
    fprintf(stderr, "%stokenize: %" PRIu64 " docs, %" PRIu64 " tokens, %.1f MB read, %.2fM tokens/s, %.1f MB/s%s",
            tty ? "\r" : "", docs, tokens, (double)bytes / 1e6, (double)tokens / dt / 1e6, (double)bytes / dt / 1e6,
            tty ? (final ? "\n" : "   ") : "\n");
}

static int run(const tokenize_args *a) {
    size_t vl = strlen(a->vocab);
    if (a->norm_set && vl > 5 && !strcmp(a->vocab + vl - 5, ".json"))
        return err_set("%s: normalizer flags (--no-lowercase …) apply to a vocab.txt; a tokenizer.json carries its own "
                       "normalizer settings", a->vocab);
    tokenizer *tok = tok_load(a->vocab, &a->norm);
    if (!tok) return -1;
    int k = kmer_vocab_k(tok);
    if (!k && (a->kmer || a->dna_doc_bases)) {
        tok_free(tok);
        return err_set("%s: --kmer and --dna-doc-bases need a k-mer vocabulary (bertc vocab --kmer K), this one is "
                       "WordPiece", a->vocab);
    }
    if (k && a->dna_doc_bases && a->dna_doc_bases < (uint64_t)k) {
        tok_free(tok);
        return err_set("--dna-doc-bases %" PRIu64 " is shorter than one %d-mer", a->dna_doc_bases, k);
    }
    size_t V = tok_vocab_size(tok);
    const char **tokens = xmalloc(V * sizeof *tokens);
    for (size_t i = 0; i < V; i++) tokens[i] = tok_token(tok, (uint32_t)i);
    uint64_t vhash = vocab_hash_tokens(tokens, V);
    free(tokens);
    int rc = prepare_out_dir(a);
    int threads = a->threads ? a->threads : omp_get_max_threads();
    omp_set_num_threads(threads);
    int n_slices = threads * 4;
    split_out train = {.dir = a->out, .name = "train"}, val = {.dir = a->out, .name = "val"};
    shard_writer_init(&train.w, (uint32_t)V, vhash);
    shard_writer_init(&val.w, (uint32_t)V, vhash);
    doc_batch batch = {0};
    slice_out *slices = xcalloc((size_t)n_slices, sizeof *slices);
    uint64_t doc_no = 0, bytes_done = 0, bytes_file = 0, dropped = 0;
    double t0 = now_s(), last = t0;
    uint64_t holdout_cut = (uint64_t)(a->holdout * 18446744073709551616.0);
    if (!a->quiet && rc == 0)
        fprintf(stderr, "tokenize: %d input file(s), vocab %s (%zu tokens), %d threads → %s\n", a->n_inputs, a->vocab, V,
                threads, a->out);
    for (int fi = 0; rc == 0 && fi < a->n_inputs; fi++) {
        doc_source r;
        if ((rc = source_open(&r, a, a->inputs[fi], k)) != 0) break;
        int more = 1;
        while (more && rc == 0) {
            batch.n_docs = batch.text_len = 0;
            const char *text;
            size_t n;
            while (batch.text_len < (8u << 20) && batch.n_docs < 65536) {
                int got = source_next(&r, &text, &n);
                if (got < 0) { rc = -1; break; }
                if (got == 0) { more = 0; break; }
                batch_add(&batch, text, n);
            }
            if (rc != 0 || batch.n_docs == 0) break;
            batch_encode(tok, &batch, slices, n_slices);
            for (int s = 0; s < n_slices && rc == 0; s++) {
                const uint32_t *ids = slices[s].ids;
                size_t nd = batch.n_docs * (size_t)(s + 1) / (size_t)n_slices - batch.n_docs * (size_t)s / (size_t)n_slices;
                for (size_t d = 0; d < nd && rc == 0; d++, doc_no++) {
                    split_out *dst = holdout_cut && splitmix64(a->seed ^ splitmix64(doc_no)) < holdout_cut ? &val : &train;
                    size_t len = slices[s].doc_len[d];
                    if (k && !has_known_kmer(ids, len)) { ids += len; dropped++; continue; }
                    rc = shard_writer_add(&dst->w, ids, len);
                    ids += len;
                    dst->docs++;
                    dst->tokens += len;
                    if (rc == 0 && dst->w.n_tokens >= a->shard_tokens) rc = split_flush(dst);
                }
            }
            bytes_file = source_offset(&r);
            progress(a->quiet, 0, train.docs + val.docs, train.tokens + val.tokens, bytes_done + bytes_file, t0, &last);
        }
        bytes_done += source_offset(&r);
        source_close(&r);
    }
    if (rc == 0) rc = split_flush(&train);
    if (rc == 0) rc = split_flush(&val);
    double secs = now_s() - t0;
    if (rc == 0 && train.docs + val.docs == 0) rc = err_set("no documents in the input (all files empty?)");
    if (rc == 0) rc = write_vocab_copy(a->out, tok);
    if (rc == 0) rc = write_manifest(a, tok, vhash, &train, &val, dropped, secs, bytes_done);
    if (rc != 0) {
        for (int i = 0; i < n_written; i++) unlink(written[i]); /* no half-finished output on failure */
    } else {
        progress(a->quiet, 1, train.docs + val.docs, train.tokens + val.tokens, bytes_done, t0, &last);
        printf("documents  %" PRIu64 " (train %" PRIu64 ", val %" PRIu64 ")\n", train.docs + val.docs, train.docs, val.docs);
        printf("tokens     %" PRIu64 " (train %" PRIu64 ", val %" PRIu64 ")\n", train.tokens + val.tokens, train.tokens,
               val.tokens);
        if (k) printf("dropped    %" PRIu64 " documents with no token but [UNK]\n", dropped);
        printf("shards     %d train, %d val in %s\n", train.n_shards, val.n_shards, a->out);
        printf("time       %.2f s, %.2fM tokens/s, %.1f MB/s (%d threads)\n", secs,
               (double)(train.tokens + val.tokens) / secs / 1e6, (double)bytes_done / secs / 1e6, threads);
    }
    for (int i = 0; i < n_written; i++) free(written[i]);
    free(written);
    written = NULL;
    n_written = 0;
    for (int s = 0; s < n_slices; s++) { free(slices[s].ids); free(slices[s].doc_len); }
    free(slices);
    free(batch.text);
    free(batch.start);
    shard_writer_free(&train.w);
    shard_writer_free(&val.w);
    tok_free(tok);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    tokenize_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc == 0) {
        rc = run(&a);
        if (rc != 0) fprintf(stderr, "bertc tokenize: %s\n", err_msg());
    }
    free(a.inputs);
    return rc ? 1 : 0;
}
