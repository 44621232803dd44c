/* file.c — see file.h. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"

char *file_read_all(const char *path, size_t *len_out) {
    FILE *fp = fopen(path, "rb");
    if (!fp) { err_set("%s: cannot open: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) { cap *= 2; buf = xrealloc(buf, cap); }
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) { free(buf); err_set("%s: read error", path); return NULL; }
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

int fmap_open(fmap *m, const char *path) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return err_set("%s: cannot stat: %s", path, strerror(errno)); }
    if (!S_ISREG(st.st_mode)) { close(fd); return err_set("%s: not a regular file", path); }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) { close(fd); return err_set("%s: cannot map: %s", path, strerror(errno)); }
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return 0;
}

void fmap_close(fmap *m) {
    if (m->data) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

static void afile_free(afile *f) {
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    f->fp = NULL;
}

int afile_open(afile *f, const char *path) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 32;
    f->path = xstrdup(path);
    f->tmp_path = xmalloc(n);
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        err_set("%s: cannot write it (creating %s first: %s)", path, f->tmp_path, strerror(errno));
        afile_free(f);
        return -1;
    }
    return 0;
}

int afile_write(afile *f, const void *data, size_t n) {
    if (f->failed) return -1;
    if (n && fwrite(data, 1, n, f->fp) != n) {
        f->failed = 1;
        return err_set("%s: write failed: %s", f->path, strerror(errno));
    }
    return 0;
}

int afile_printf(afile *f, const char *fmt, ...) {
    if (f->failed) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f->fp, fmt, ap);
    va_end(ap);
    if (r < 0) {
        f->failed = 1;
        return err_set("%s: write failed: %s", f->path, strerror(errno));
    }
    return 0;
}

static void fsync_dir_of(const char *path) {
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
    free(copy);
}

int afile_commit(afile *f) {
    int rc = 0;
    if (f->failed) rc = -1;
    if (rc == 0 && fflush(f->fp) != 0) rc = err_set("%s: write failed: %s", f->path, strerror(errno));
    if (rc == 0 && fsync(fileno(f->fp)) != 0) rc = err_set("%s: fsync failed: %s", f->path, strerror(errno));
    if (fclose(f->fp) != 0 && rc == 0) rc = err_set("%s: close failed: %s", f->path, strerror(errno));
    f->fp = NULL;
    if (rc == 0 && rename(f->tmp_path, f->path) != 0)
        rc = err_set("%s: cannot rename into place: %s", f->path, strerror(errno));
    if (rc != 0) unlink(f->tmp_path);
    else fsync_dir_of(f->path);
    afile_free(f);
    return rc;
}

void afile_abort(afile *f) {
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    afile_free(f);
}
