/* shard_list.c — see shard_list.h. */
#include "shard_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"

static void shard_list_add(shard_list *l, const char *p) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->paths = xrealloc(l->paths, (size_t)l->cap * sizeof *l->paths);
    }
    l->paths[l->n++] = xstrdup(p);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* "a.bin,dir/" → files; a directory contributes its `prefix`-*.bin files (train-, val-) in name order. */
int shard_list_expand(shard_list *l, const char *spec, const char *prefix) {
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        if (!*tok) continue;
        struct stat st;
        if (stat(tok, &st) != 0) { rc = err_set("%s: %s", tok, strerror(errno)); break; }
        if (!S_ISDIR(st.st_mode)) { shard_list_add(l, tok); continue; }
        DIR *d = opendir(tok);
        if (!d) { rc = err_set("%s: cannot list: %s", tok, strerror(errno)); break; }
        int first = l->n;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name), pl = strlen(prefix);
            if (n > pl + 4 && !strncmp(e->d_name, prefix, pl) && !strcmp(e->d_name + n - 4, ".bin")) {
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", tok, e->d_name);
                shard_list_add(l, p);
            }
        }
        closedir(d);
        if (l->n == first) rc = err_set("%s: no %s*.bin shards in this directory", tok, prefix);
        qsort(l->paths + first, (size_t)(l->n - first), sizeof *l->paths, cmp_str);
    }
    free(copy);
    return rc;
}

void shard_list_free(shard_list *l) {
    for (int i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

