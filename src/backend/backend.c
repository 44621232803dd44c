/* backend.c — choosing a backend by name (--device). The CUDA tables come from
 * src/backend/cuda/ in a `make GPU=1` build; without it the weak definitions
 * below stand in and say that there is no CUDA here. */
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "ops.h"

__attribute__((weak)) const ops *ops_cuda_f32(void) { return NULL; }
__attribute__((weak)) const ops *ops_cuda_bf16(void) { return NULL; }
__attribute__((weak)) int cuda_available(void) { return 0; }
__attribute__((weak)) double cuda_gemm_peak_tflops(int n) { (void)n; return 0.0; }
__attribute__((weak)) size_t cuda_mem_in_use(void) { return 0; }
__attribute__((weak)) const char *cuda_describe(void) { return "this build has no CUDA backend (build with make GPU=1)"; }

static const ops *ops_by_name_plain(const char *device) {
    if (!strcmp(device, "cpu")) return ops_cpu();
    int bf16 = !strcmp(device, "cuda") || !strcmp(device, "cuda-bf16");
    if (!bf16 && strcmp(device, "cuda-fp32") != 0) {
        err_set("--device %s: unknown (cpu, cuda, cuda-fp32)", device);
        return NULL;
    }
    const ops *o = bf16 ? ops_cuda_bf16() : ops_cuda_f32();
    if (!o || !cuda_available()) {
        err_set("--device %s: %s", device, cuda_describe());
        return NULL;
    }
    return o;
}

const ops *ops_by_name(const char *device) {
    const ops *o = ops_by_name_plain(device);
    const char *check = getenv("BERTC_CHECK_FINITE");
    return o && check && *check && strcmp(check, "0") ? ops_check_finite(o) : o;
}
