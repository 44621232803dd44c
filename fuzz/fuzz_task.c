/* fuzz_task.c — arbitrary bytes as a labelled-task file (src/data/task.c). The first
 * byte picks the reader (TSV / CSV / JSONL / a GLUE task) and the options (label
 * kind, skip_bad); the rest is the file, handed over through a memfd. Every dataset
 * that comes back is checked: texts valid UTF-8, ids inside the vocabulary, label
 * sets sorted and distinct, values finite. */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/data/task.h"
#include "../src/text/utf8.h"

static void check(const task_data *d) {
    for (size_t i = 0; i < d->n; i++) {
        const task_example *e = &d->ex[i];
        if (!utf8_valid((const uint8_t *)e->text_a, strlen(e->text_a))) abort();
        if (e->text_b && !utf8_valid((const uint8_t *)e->text_b, strlen(e->text_b))) abort();
        if (!d->has_labels) continue;
        if (d->kind == TASK_LABEL_CLASS && (e->label < 0 || e->label >= d->labels.n)) abort();
        if (d->kind == TASK_LABEL_REGRESSION && !isfinite(e->value)) abort();
        if (d->kind == TASK_LABEL_MULTI)
            for (int32_t k = 0; k < e->n_labels; k++)
                if (e->labels[k] < 0 || e->labels[k] >= d->labels.n || (k && e->labels[k] <= e->labels[k - 1])) abort();
    }
    for (int32_t k = 0; k < d->labels.n; k++)
        if (task_labels_find(&d->labels, d->labels.names[k]) != k) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t sel = data[0];
    int fd = memfd_create("task", 0);
    if (fd < 0) return 0;
    if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    task_options o = {.kind = (task_label_kind)(sel & 3), .skip_bad = (sel >> 2) & 1, .multi_sep = "|"};
    task_data *d;
    int reader = sel >> 3; /* 0..31 */
    if (reader < 3) {
        const task_format f[3] = {TASK_FORMAT_TSV, TASK_FORMAT_CSV, TASK_FORMAT_JSONL};
        task_columns c = {"text", (sel & 0x40) ? "pair" : NULL, "label"};
        d = task_read_table(path, f[reader], &c, &o);
    } else {
        d = task_read_glue(glue_tasks[reader % glue_n_tasks].name, path, &o);
    }
    if (d) {
        check(d);
        task_free(d);
    }
    close(fd);
    return 0;
}
