// Element-wise steps of the forward pass. Written so that the compiler vectorises them without
// -ffast-math: reductions keep 16 independent partial sums, and exp/erf are branch-free polynomials.
// Each function is compiled three times, for AVX-512, AVX2+FMA and the baseline ISA, and chosen at
// run time.
#include "CTransformer.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { LANES = 16 };

// exp(x): Cephes' single-precision range reduction and polynomial; 0 below -87.3.
static inline float exp_poly(float x) {
    const float clamped = x < -87.33654f ? -87.33654f : (x > 88.37626f ? 88.37626f : x);
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
    const float n = (clamped * 1.44269504088896341f + shifter) - shifter;
    float r = clamped - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.33654f ? 0.0f : y * scale;
}

// erf(z), Abramowitz & Stegun 7.1.26 (absolute error <= 1.5e-7).
static inline float erf_poly(float z) {
    const float az = fabsf(z);
    const float t = 1.0f / (1.0f + 0.3275911f * az);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    p = p * t;
    const float e = 1.0f - p * exp_poly(-az * az);
    return z < 0 ? -e : e;
}

#define DEFINE_KERNELS(SUFFIX, ATTRIBUTES)                                                                      \
    ATTRIBUTES static void exp_##SUFFIX(float *x, size_t count) {                                               \
        for (size_t i = 0; i < count; i++) x[i] = exp_poly(x[i]);                                              \
    }                                                                                                           \
    ATTRIBUTES static void gelu_##SUFFIX(float *x, size_t count) {                                              \
        for (size_t i = 0; i < count; i++) {                                                                    \
            const float v = x[i];                                                                               \
            x[i] = v * 0.5f * (1.0f + erf_poly(v * 0.70710678118654752f));                                     \
        }                                                                                                       \
    }                                                                                                           \
    ATTRIBUTES static float sum_##SUFFIX(const float *x, int n) {                                               \
        float partial[LANES] = {0};                                                                             \
        int j = 0;                                                                                              \
        for (; j + LANES <= n; j += LANES)                                                                      \
            for (int l = 0; l < LANES; l++) partial[l] += x[j + l];                                             \
        float s = 0;                                                                                            \
        for (; j < n; j++) s += x[j];                                                                           \
        for (int l = 0; l < LANES; l++) s += partial[l];                                                        \
        return s;                                                                                               \
    }                                                                                                           \
    ATTRIBUTES static void layer_norm_##SUFFIX(float *x, size_t rows, int n, const float *gamma,                \
                                               const float *beta, float eps) {                                  \
        for (size_t r = 0; r < rows; r++) {                                                                     \
            float *row = x + r * (size_t)n;                                                                     \
            const float mean = sum_##SUFFIX(row, n) / (float)n;                                                 \
            float partial[LANES] = {0};                                                                         \
            int j = 0;                                                                                          \
            for (; j + LANES <= n; j += LANES)                                                                  \
                for (int l = 0; l < LANES; l++) {                                                               \
                    const float d = row[j + l] - mean;                                                          \
                    partial[l] += d * d;                                                                        \
                }                                                                                               \
            float squares = 0;                                                                                  \
            for (; j < n; j++) squares += (row[j] - mean) * (row[j] - mean);                                    \
            for (int l = 0; l < LANES; l++) squares += partial[l];                                              \
            const float inverse = 1.0f / sqrtf(squares / (float)n + eps);                                      \
            for (j = 0; j < n; j++) row[j] = (row[j] - mean) * inverse * gamma[j] + beta[j];                    \
        }                                                                                                       \
    }                                                                                                           \
    ATTRIBUTES static void softmax_rows_##SUFFIX(float *x, int rows, int n, size_t ld) {                        \
        for (int r = 0; r < rows; r++) {                                                                        \
            float *row = x + (size_t)r * ld;                                                                    \
            float partial[LANES];                                                                               \
            for (int l = 0; l < LANES; l++) partial[l] = -INFINITY;                                             \
            int j = 0;                                                                                          \
            for (; j + LANES <= n; j += LANES)                                                                  \
                for (int l = 0; l < LANES; l++) partial[l] = row[j + l] > partial[l] ? row[j + l] : partial[l]; \
            float maximum = -INFINITY;                                                                          \
            for (; j < n; j++) maximum = row[j] > maximum ? row[j] : maximum;                                   \
            for (int l = 0; l < LANES; l++) maximum = partial[l] > maximum ? partial[l] : maximum;              \
            for (j = 0; j < n; j++) row[j] = exp_poly(row[j] - maximum);                                        \
            const float inverse = 1.0f / sum_##SUFFIX(row, n);                                                  \
            for (j = 0; j < n; j++) row[j] *= inverse;                                                          \
        }                                                                                                       \
    }

DEFINE_KERNELS(baseline, )

#if defined(__x86_64__)
DEFINE_KERNELS(avx2, __attribute__((target("avx2,fma"))))
DEFINE_KERNELS(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))))

// 2: AVX-512, 1: AVX2 + FMA, 0: baseline.
static int instruction_set(void) {
    static int known = -1;
    int value = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
                    && __builtin_cpu_supports("avx512vl") ? 2
                : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
        __atomic_store_n(&known, value, __ATOMIC_RELAXED);
    }
    return value;
}
#define DISPATCH(NAME, ...)                                                    \
    do {                                                                       \
        switch (instruction_set()) {                                           \
        case 2: NAME##_avx512(__VA_ARGS__); break;                             \
        case 1: NAME##_avx2(__VA_ARGS__); break;                               \
        default: NAME##_baseline(__VA_ARGS__);                                 \
        }                                                                      \
    } while (0)
#else
#define DISPATCH(NAME, ...) NAME##_baseline(__VA_ARGS__)
#endif

void hs_exp(float *x, size_t count) { DISPATCH(exp, x, count); }

void hs_gelu(float *x, size_t count) { DISPATCH(gelu, x, count); }

void hs_layer_norm(float *x, size_t rows, int n, const float *gamma, const float *beta, float eps) {
    DISPATCH(layer_norm, x, rows, n, gamma, beta, eps);
}

void hs_softmax_rows(float *x, int rows, int n, size_t ld) { DISPATCH(softmax_rows, x, rows, n, ld); }
