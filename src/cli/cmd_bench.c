/* cmd_bench.c — `bertc bench`: model throughput on random tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/err.h"
#include "../core/rng.h"
#include "../model/model.h"
#include "../train/optim.h"
#include "cli.h"

static const char *usage =
    "usage: bertc bench [options]\n"
    "\n"
    "Times the model on random tokens (base size unless overridden) and prints\n"
    "tokens/s of the encoder's forward pass, or with --train of whole training steps\n"
    "(forward, MLM loss on 30% of the tokens, backward, clipping, AdamW), with the\n"
    "useful FLOPs of the issue's definition: 6·(encoder parameters)·tokens, plus\n"
    "attention (4·seq·hidden per token and layer, ×3 when training), plus the MLM head\n"
    "on the masked rows only (6·(C² + C·V) each). M2-BERT has no attention, and its\n"
    "Hyena filters and short convolutions do not multiply per token: its encoder\n"
    "parameters are the dense and block-diagonal layers' (FFT FLOPs not counted).\n"
    "On CUDA also the MFU against a bf16 8192³ GEMM measured in the same run, and the\n"
    "device memory in use.\n"
    "\n"
    "options:\n"
    "  --device D       cpu (default) | cuda | cuda-fp32\n"
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
    const char *device = "cpu";
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
        else if ((v = cli_flag_value(argc, argv, &i, "--device"))) device = v;
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
    model_opts mo = {.mlm_head = train, .max_tokens = T, .max_seqs = B, .inference = !train, .seed = 1};
    const ops *be = ops_by_name(device);
    if (!be) return cli_fail("bench", "%s", err_msg());
    int cuda = strcmp(device, "cpu") != 0;
    double peak = cuda ? cuda_gemm_peak_tflops(8192) : 0.0;
    size_t mem0 = cuda ? cuda_mem_in_use() : 0;
    model *m = model_create(&c, be, &mo);
    if (!m) return cli_fail("bench", "%s", err_msg());
    const param_table *pt = model_params(m);
    optim opt = {0};
    optim_config oc;
    optim_config_default(&oc);
    if (train && optim_init(&opt, &oc, pt, be) != 0) return cli_fail("bench", "%s", err_msg());
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
    if (!train) M = 0; /* forward: the encoder alone (as a BertModel) */
    model_batch batch = {.B = B, .T = T, .max_seqlen = S, .ids = ids, .types = types, .pos = pos, .cu_seqlens = cu,
                         .M = M, .mlm_rows = rows, .mlm_targets = tg};
    double best = 1e30, total = 0, loss = 0;
    for (int s = 0; s <= steps; s++) {
        double t0 = now_s();
        if (train) {
            model_zero_grad(m);
            loss = model_forward(m, &batch, TASK_MLM, 1, (uint32_t)s);
            model_backward(m, &batch, TASK_MLM);
            optim_clip_grad_norm(be, model_grad_data(m), pt->total, 1.0);
            optim_step(&opt, model_param_data(m), model_grad_data(m), 1.0);
            model_params_changed(m);
        } else model_forward(m, &batch, TASK_ENCODE, 0, (uint32_t)s);
        if (cuda) be->sumsq(model_param_data(m), 1); /* waits for the device: the step is done */
        double dt = now_s() - t0;
        if (s == 0) continue; /* warm-up */
        total += dt;
        if (dt < best) best = dt;
    }
    /* useful FLOPs (see usage) */
    double enc = 0;
    for (int i = 0; i < pt->n; i++) {
        const char *nm = pt->p[i].name;
        int m2_filter = strstr(nm, ".filter_fn") || strstr(nm, ".short_filter."); /* M2 hook: per-layer, not per-token */
        if (strstr(nm, "encoder.layer.") && !m2_filter) enc += (double)pt->p[i].numel;
    }
    double Cd = c.hidden, att = arch == ARCH_M2 ? 0.0 : 4.0 * S * Cd * c.layers * T;
    double flops = train ? 6.0 * enc * T + 3.0 * att + 6.0 * (Cd * Cd + Cd * c.vocab_size) * M : 2.0 * enc * T + att;
    double mean = total / steps;
    if (cuda) printf("device: %s\n", cuda_describe());
    else printf("cpu backend: %s\n", ops_cpu_describe());
    printf("bench: %s L%d C%d nh%d I%d, batch %d × seq %d (%d tokens, %d MLM rows), %s, %s\n", config_arch_name(arch),
           c.layers, c.hidden, c.heads, c.intermediate, B, S, T, M, train ? "training step" : "forward", be->name);
    printf("  mean %.4f s/step, best %.4f s  →  %.0f tokens/s (mean), %.0f tokens/s (best), %.1f tokens/ms\n", mean,
           best, T / mean, T / best, T / mean / 1e3);
    printf("  useful %.1f GFLOP/step, %.1f TFLOP/s", flops / 1e9, flops / mean / 1e12);
    if (cuda) printf(", bf16 GEMM peak %.1f TFLOP/s, MFU %.1f%%, device memory %.2f GiB", peak,
                     100.0 * flops / mean / 1e12 / peak, (double)(cuda_mem_in_use() - mem0) / (1 << 30));
    printf("%s\n", train ? "" : "");
    if (train) printf("  last loss %.4f\n", loss);
    printf("BENCH_JSON {\"arch\": \"%s\", \"device\": \"%s\", \"train\": %d, \"seq\": %d, \"batch\": %d, "
           "\"tokens_per_s\": %.1f, \"tflops\": %.2f, \"peak_tflops\": %.2f, \"mem_gib\": %.3f}\n",
           config_arch_name(arch), be->name, train, S, B, T / mean, flops / mean / 1e12, peak,
           cuda ? (double)(cuda_mem_in_use() - mem0) / (1 << 30) : 0.0);
    free(ids); free(types); free(pos); free(cu); free(rows); free(tg);
    if (train) optim_free(&opt);
    model_free(m);
    return 0;
}
