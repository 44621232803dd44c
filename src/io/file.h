/* file.h — whole-file reads, read-only maps, and atomic writes.
 *
 * Every output file bertc writes goes through afile: data goes to a temporary
 * name in the target's directory, is fsynced, then renamed over the target, so
 * a crash or a full disk never leaves a half-written file under the real name.
 */
#ifndef BERTC_FILE_H
#define BERTC_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Reads a whole file into a NUL-terminated buffer (caller frees). NULL + err on failure. */
char *file_read_all(const char *path, size_t *len_out);

/* Read-only memory map of a whole file. */
typedef struct {
    const uint8_t *data; /* (size,) bytes; NULL when size == 0 */
    size_t size;
} fmap;
int fmap_open(fmap *m, const char *path);
void fmap_close(fmap *m);

/* Atomic writer: afile_open → afile_write* → afile_commit (or afile_abort). */
typedef struct {
    FILE *fp;
    char *path;     /* final name */
    char *tmp_path; /* temporary name in the same directory */
    int failed;     /* a write failed; commit will refuse */
} afile;
int afile_open(afile *f, const char *path);
int afile_write(afile *f, const void *data, size_t n);
int afile_printf(afile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Flushes, fsyncs, renames over the target and fsyncs the directory. Frees f. */
int afile_commit(afile *f);
/* Removes the temporary file. Frees f. Safe after a failed commit. */
void afile_abort(afile *f);

#endif
