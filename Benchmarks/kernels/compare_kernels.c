// ns per pair of Hindsight's dot-product kernels next to other implementations for this CPU:
// SimSIMD's hand-written kernels (Skylake/AVX-512 and Haswell/AVX2 variants), hnswlib's
// InnerProductSIMD16ExtAVX512 loop (copied below, one accumulator), OpenBLAS cblas_sdot when
// linked, and a plain loop compiled with -O3 -march=native. Vectors are in L1 (the kernel, not
// memory, is measured); each figure is the best of 7 runs. Built and run by run.sh.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <immintrin.h>
#include "../../Sources/CDistance/include/CDistance.h"
#include <simsimd/simsimd.h>
#ifdef WITH_OPENBLAS
#include <cblas.h>
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f")))
static float hnswlib_avx512(const void *a, const void *b, size_t n) {
    const float *x = a, *y = b, *end = x + (n / 16) * 16;
    __m512 sum = _mm512_set1_ps(0);
    while (x < end) {
        sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_loadu_ps(x), _mm512_loadu_ps(y)));
        x += 16; y += 16;
    }
    float tmp[16];
    _mm512_store_ps(tmp, sum);
    float s = 0;
    for (int i = 0; i < 16; i++) s += tmp[i];
    return s;
}

static float plain_loop(const void *a, const void *b, size_t n) {
    const float *x = a, *y = b;
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

static float simsimd_skylake(const void *a, const void *b, size_t n) {
    simsimd_distance_t d;
    simsimd_dot_f32_skylake(a, b, n, &d);
    return (float)d;
}

static float simsimd_haswell(const void *a, const void *b, size_t n) {
    simsimd_distance_t d;
    simsimd_dot_f32_haswell(a, b, n, &d);
    return (float)d;
}

#ifdef WITH_OPENBLAS
static float openblas_sdot(const void *a, const void *b, size_t n) { return cblas_sdot((int)n, a, 1, b, 1); }
#endif

typedef float (*kernel)(const void *, const void *, size_t);

static double measure(kernel f, const float *a, const float *b, size_t n) {
    long iterations = 20000000 / (long)n * 16;
    double best = 1e9;
    volatile float sink = 0;
    for (int run = 0; run < 7; run++) {
        float acc = 0;
        double t0 = now();
        for (long i = 0; i < iterations; i++) acc += f(a, b, n);
        double t = (now() - t0) / iterations * 1e9;
        sink += acc;
        if (t < best) best = t;
    }
    (void)sink;
    return best;
}

int main(void) {
    struct { const char *name; kernel f; } kernels[] = {
        {"hindsight avx512", hs_dot_avx512},
        {"hindsight avx2", hs_dot_avx2},
        {"simsimd skylake (avx512)", simsimd_skylake},
        {"simsimd haswell (avx2)", simsimd_haswell},
        {"hnswlib avx512 loop", hnswlib_avx512},
#ifdef WITH_OPENBLAS
        {"openblas cblas_sdot", openblas_sdot},
#endif
        {"plain loop -O3 -march=native", plain_loop},
    };
    size_t dims[] = {384, 768, 1536};
    printf("| kernel |");
    for (int d = 0; d < 3; d++) printf(" d=%zu ns |", dims[d]);
    printf("\n|---|---:|---:|---:|\n");
    float *a = aligned_alloc(64, 1536 * 4), *b = aligned_alloc(64, 1536 * 4);
    for (int i = 0; i < 1536; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.2f; }
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (k == 0 && !hs_cpu_has_avx512f()) continue;
        printf("| %s |", kernels[k].name);
        for (int d = 0; d < 3; d++) printf(" %.1f |", measure(kernels[k].f, a, b, dims[d]));
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
