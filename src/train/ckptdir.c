/* ckptdir.c — see ckptdir.h. */
#include "ckptdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/err.h"
#include "../io/file.h"

int ckptdir_remove(const char *path) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char p[4096];
    int rc = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (unlink(p) != 0) rc = -1; /* checkpoint directories hold plain files only */
    }
    closedir(d);
    if (rmdir(path) != 0) rc = -1;
    return rc;
}

static void fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { fsync(fd); close(fd); }
}

int ckptdir_begin(const char *run, int step, char *tmp, size_t n) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/checkpoints", run);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return err_set("%s: cannot create: %s", dir, strerror(errno));
    snprintf(tmp, n, "%s/step-%08d.tmp", dir, step);
    ckptdir_remove(tmp);
    if (mkdir(tmp, 0777) != 0) return err_set("%s: cannot create: %s", tmp, strerror(errno));
    return 0;
}

void ckptdir_abort(const char *run, int step) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/checkpoints/step-%08d.tmp", run, step);
    ckptdir_remove(tmp);
}

static int step_of(const char *name) {
    int s;
    char tail;
    if (sscanf(name, "step-%d%c", &s, &tail) == 1 && strlen(name) == 13) return s;
    return -1;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int ckptdir_commit(const char *run, int step, int keep) {
    char dir[4096], tmp[4200], fin[4200], latest[4200];
    snprintf(dir, sizeof dir, "%s/checkpoints", run);
    snprintf(tmp, sizeof tmp, "%s/step-%08d.tmp", dir, step);
    snprintf(fin, sizeof fin, "%s/step-%08d", dir, step);
    fsync_path(tmp);
    ckptdir_remove(fin); /* a checkpoint of the same step from an earlier, interrupted attempt */
    if (rename(tmp, fin) != 0) return err_set("%s: cannot rename into place: %s", fin, strerror(errno));
    fsync_path(dir);
    snprintf(latest, sizeof latest, "%s/latest", dir);
    afile f;
    if (afile_open(&f, latest) != 0) return -1;
    if (afile_printf(&f, "step-%08d\n", step) != 0) { afile_abort(&f); return -1; }
    if (afile_commit(&f) != 0) return -1;
    /* keep the newest `keep` (never the one just written) */
    DIR *d = opendir(dir);
    if (!d) return 0;
    int *steps = NULL, n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int s = step_of(e->d_name);
        if (s < 0) continue;
        if (n == cap) { cap = cap ? 2 * cap : 16; steps = xrealloc(steps, (size_t)cap * sizeof *steps); }
        steps[n++] = s;
    }
    closedir(d);
    qsort(steps, (size_t)n, sizeof *steps, cmp_int);
    for (int i = 0; i + keep < n; i++) {
        if (steps[i] == step) continue;
        char old[4200];
        snprintf(old, sizeof old, "%s/step-%08d", dir, steps[i]);
        ckptdir_remove(old);
    }
    free(steps);
    return 0;
}

int ckptdir_latest(const char *run, char *dir, size_t n) {
    char path[4096], name[64] = {0};
    snprintf(path, sizeof path, "%s/checkpoints/latest", run);
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : err_set("%s: cannot open: %s", path, strerror(errno));
    int got = fgets(name, sizeof name, f) != NULL;
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    if (!got || step_of(name) < 0) return err_set("%s: does not name a checkpoint (\"%s\")", path, name);
    snprintf(dir, n, "%s/checkpoints/%s", run, name);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return err_set("%s names %s, which is missing", path, dir);
    return 1;
}
