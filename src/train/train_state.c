/* train_state.c — see train_state.h. */
#include "train_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../io/safetensors.h"

int train_state_save(const char *dir, const optim *opt, const char *format, const char *counters_name,
                     const int64_t *counters, int n, const char *args) {
    char path[4400];
    snprintf(path, sizeof path, "%s/trainer_state.safetensors", dir);
    int64_t total = (int64_t)opt->total, nc = n;
    float *m = xmalloc((opt->total ? opt->total : 1) * sizeof *m), *v = xmalloc((opt->total ? opt->total : 1) * sizeof *v);
    opt->be->download(m, opt->m, opt->total * sizeof *m); /* host copies */
    opt->be->download(v, opt->v, opt->total * sizeof *v);
    st_entry e[3] = {
        {.name = "optim.m", .dtype = ST_F32, .ndim = 1, .shape = &total, .data = m},
        {.name = "optim.v", .dtype = ST_F32, .ndim = 1, .shape = &total, .data = v},
        {.name = counters_name, .dtype = ST_I64, .ndim = 1, .shape = &nc, .data = counters},
    };
    st_meta meta[2] = {{.key = "format", .value = format}, {.key = "args", .value = args}};
    int rc = st_write(path, e, 3, meta, args ? 2 : 1);
    free(m);
    free(v);
    return rc;
}

int train_state_load(const char *dir, optim *opt, const char *counters_name, int64_t *counters, int n, char **args) {
    char path[4400];
    snprintf(path, sizeof path, "%s/trainer_state.safetensors", dir);
    if (args) *args = NULL;
    st_file *f = st_open(path);
    if (!f) return -1;
    const st_tensor *m = st_find(f, "optim.m"), *v = st_find(f, "optim.v"), *s = st_find(f, counters_name);
    int rc = 0;
    if (!m || !v || !s || m->numel != (int64_t)opt->total || v->numel != (int64_t)opt->total || s->numel != n)
        rc = err_set("%s: not a trainer state for this model (missing or mis-sized tensors)", path);
    size_t cap = opt->total ? opt->total : 1;
    float *hm = xmalloc(cap * sizeof *hm), *hv = xmalloc(cap * sizeof *hv); /* host copies */
    if (rc == 0) rc = st_read_f32(m, hm, opt->total);
    if (rc == 0) rc = st_read_f32(v, hv, opt->total);
    if (rc == 0) rc = st_read_i64(s, counters, (size_t)n);
    if (rc == 0) {
        opt->be->upload(opt->m, hm, opt->total * sizeof *hm);
        opt->be->upload(opt->v, hv, opt->total * sizeof *hv);
        const char *a = st_metadata_get(f, "args");
        if (args && a) *args = xstrdup(a);
    }
    free(hm);
    free(hv);
    st_close(f);
    return rc;
}

int train_metrics_truncate(const char *path, int64_t step) {
    size_t n;
    char *text = file_read_all(path, &n);
    if (!text) return 0; /* no metrics yet */
    afile f;
    int rc = afile_open(&f, path);
    for (char *line = text, *next; rc == 0 && *line; line = next) {
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        long long s = -1;
        int k = 0;
        /* whole rows only: a kill can leave a half-written last line ({"step": 1 …) */
        int whole = next > line && next[-1] == '\n' && sscanf(line, "{\"step\": %lld%n", &s, &k) == 1 &&
                    (line[k] == ',' || line[k] == '}');
        if (whole && s <= step) rc = afile_write(&f, line, (size_t)(next - line));
    }
    if (rc == 0) rc = afile_commit(&f);
    else afile_abort(&f);
    free(text);
    return rc;
}

int64_t train_f64_bits(double x) {
    int64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

double train_f64_of(int64_t bits) {
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}
