// Dot-product kernels, one function per instruction set, chosen at run time by the Swift side.
// Every load is unaligned: LMDB values are only 2-byte aligned.
#include "CDistance.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx512f")))
float hs_dot_avx512(const void *a, const void *b, size_t count) {
    const float *x = (const float *)a, *y = (const float *)b;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= count; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), s3);
    }
    for (; i + 16 <= count; i += 16) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
    }
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + i), _mm512_maskz_loadu_ps(mask, y + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f")))
void hs_dot4_avx512(const void *query, const void *v0, const void *v1, const void *v2, const void *v3,
                    size_t count, float *out) {
    const float *q = (const float *)query;
    const float *p0 = (const float *)v0, *p1 = (const float *)v1, *p2 = (const float *)v2, *p3 = (const float *)v3;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 qv = _mm512_loadu_ps(q + i);
        s0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(p0 + i), s0);
        s1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(p1 + i), s1);
        s2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(p2 + i), s2);
        s3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(p3 + i), s3);
    }
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        __m512 qv = _mm512_maskz_loadu_ps(mask, q + i);
        s0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, p0 + i), s0);
        s1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, p1 + i), s1);
        s2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, p2 + i), s2);
        s3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, p3 + i), s3);
    }
    out[0] = _mm512_reduce_add_ps(s0);
    out[1] = _mm512_reduce_add_ps(s1);
    out[2] = _mm512_reduce_add_ps(s2);
    out[3] = _mm512_reduce_add_ps(s3);
}

__attribute__((target("avx2,fma")))
static inline float hs_hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 shuf = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, shuf);
    shuf = _mm_movehl_ps(shuf, sums);
    sums = _mm_add_ss(sums, shuf);
    return _mm_cvtss_f32(sums);
}

__attribute__((target("avx2,fma")))
float hs_dot_avx2(const void *a, const void *b, size_t count) {
    const float *x = (const float *)a, *y = (const float *)b;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= count; i += 8) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    }
    float tail = 0.0f;
    for (; i < count; i++) tail += x[i] * y[i];
    return hs_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))) + tail;
}

int hs_cpu_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

int hs_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else  // Not x86: only the portable Swift kernel exists; these are never chosen.

float hs_dot_avx512(const void *a, const void *b, size_t count) { (void)a; (void)b; (void)count; __builtin_trap(); }
float hs_dot_avx2(const void *a, const void *b, size_t count) { (void)a; (void)b; (void)count; __builtin_trap(); }
void hs_dot4_avx512(const void *query, const void *v0, const void *v1, const void *v2, const void *v3,
                    size_t count, float *out) {
    (void)query; (void)v0; (void)v1; (void)v2; (void)v3; (void)count; (void)out; __builtin_trap();
}
int hs_cpu_has_avx512f(void) { return 0; }
int hs_cpu_has_avx2_fma(void) { return 0; }

#endif
