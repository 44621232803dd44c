/* cmd_bench.c — `bertc bench`: model throughput on random tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../model/model.h"
#include "cli.h"

static const char *usage =
    "usage: bertc bench [options]\n"
    "\n"
    "Times the model on random tokens (base size unless overridden) and prints\n"
    "tokens/s of the forward pass, and of forward + backward with --train.\n"
    "\n"
    "options:\n"
    "  --arch bert|mosaicbert|m2bert  architecture (default mosaicbert)\n"
    "  --seq N          sequence length (default 128)\n"
    "  --batch N        sequences per batch (default 32)\n"
    "  --steps N        timed steps after one warm-up (default 3)\n"
    "  --layers N, --hidden N, --heads N, --intermediate N   model size overrides\n"
    "  --train          also run the backward pass (MLM on 30% of tokens)\n";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cmd_bench(int argc, char **argv) {
    model_arch arch = ARCH_MOSAIC;
    int S = 128, B = 32, steps = 3, train = 0, layers = 0, hidden = 0, heads = 0, inter = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(usage, stdout); return 0; }
        else if ((v = cli_flag_value(argc, argv, &i, "--arch"))) {
            if (!strcmp(v, "bert")) arch = ARCH_BERT;
            else if (!strcmp(v, "mosaicbert") || !strcmp(v, "mosaic")) arch = ARCH_MOSAIC;
            else if (!strcmp(v, "m2bert") || !strcmp(v, "m2")) arch = ARCH_M2; /* M2 hook */
            else return cli_fail("bench", "--arch must be bert, mosaicbert or m2bert, got '%s'", v);
        } else if ((v = cli_flag_value(argc, argv, &i, "--seq"))) S = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--batch"))) B = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--steps"))) steps = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--layers"))) layers = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--hidden"))) hidden = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--heads"))) heads = atoi(v);
        else if ((v = cli_flag_value(argc, argv, &i, "--intermediate"))) inter = atoi(v);
        else if (!strcmp(argv[i], "--train")) train = 1;
        else return cli_fail("bench", "unknown option '%s' (see --help)", argv[i]);
    }
    if (S <= 0 || B <= 0 || steps <= 0) return cli_fail("bench", "--seq, --batch and --steps must be positive");
    model_config c;
    config_default(&c, arch);
    if (layers) c.layers = layers;
    if (hidden) c.hidden = hidden;
    if (heads) c.heads = heads;
    if (inter) c.intermediate = inter;
    if (arch != ARCH_MOSAIC && S > c.max_position) c.max_position = S;
    if (arch == ARCH_M2 && S > c.m2_l_max) c.m2_l_max = S; /* M2 hook: the Hyena features cover the row */
    int T = B * S;
    model_opts mo = {.mlm_head = 1, .max_tokens = T, .max_seqs = B, .inference = !train, .seed = 1};
    model *m = model_create(&c, ops_cpu(), &mo);
    if (!m) return cli_fail("bench", "%s", err_msg());
    int32_t *ids = xmalloc((size_t)T * 4), *types = xcalloc((size_t)T, 4), *pos = xmalloc((size_t)T * 4);
    int32_t *cu = xmalloc(((size_t)B + 1) * 4), *rows = xmalloc((size_t)T * 4), *tg = xmalloc((size_t)T * 4);
    rng_key k = {.seed = 3, .stream = RNG_STREAM_FIXTURE};
    int M = 0;
    for (int t = 0; t < T; t++) {
        ids[t] = 1000 + (int32_t)(rng_u32(k, (uint64_t)t) % 20000u);
        pos[t] = t % S;
        if (rng_uniform(k, (uint64_t)(T + t)) < 0.3f) { rows[M] = t; tg[M++] = ids[t]; }
    }
    for (int b = 0; b <= B; b++) cu[b] = b * S;
    model_batch batch = {.B = B, .T = T, .max_seqlen = S, .ids = ids, .types = types, .pos = pos, .cu_seqlens = cu,
                         .M = M, .mlm_rows = rows, .mlm_targets = tg};
    double best = 1e30, total = 0;
    for (int s = 0; s <= steps; s++) {
        double t0 = now_s();
        model_forward(m, &batch, TASK_MLM, train, (uint32_t)s);
        if (train) {
            model_zero_grad(m);
            model_backward(m, &batch, TASK_MLM);
        }
        double dt = now_s() - t0;
        if (s == 0) continue; /* warm-up */
        total += dt;
        if (dt < best) best = dt;
    }
    printf("cpu backend: %s\n", ops_cpu_describe());
    printf("bench: %s L%d C%d nh%d I%d, batch %d × seq %d (%d tokens, %d MLM rows), %s, cpu\n", config_arch_name(arch),
           c.layers, c.hidden, c.heads, c.intermediate, B, S, T, M, train ? "forward+backward" : "forward");
    printf("  mean %.3f s/step, best %.3f s  →  %.0f tokens/s (mean), %.0f tokens/s (best)\n", total / steps, best,
           T / (total / steps), T / best);
    free(ids); free(types); free(pos); free(cu); free(rows); free(tg);
    model_free(m);
    return 0;
}
