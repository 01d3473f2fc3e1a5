// Int8 vectors for the graph walk: quantisers and u8·s8 dot products, one function per
// instruction set, chosen at run time by the Swift side. Stored vectors hold u8 codes (the signed
// code plus 128) so that AVX-512 VNNI's vpdpbusd (u8 × s8) multiplies them with the query's s8
// codes directly; the caller subtracts 128 × (sum of the query's codes) once per query.
// Every load is unaligned: LMDB values are only 2-byte aligned.
#include "CDistance.h"
#include <math.h>

static float hs_int8_scale(const float *x, size_t count) {
    float peak = 0.0f;
    for (size_t i = 0; i < count; i++) {
        float magnitude = fabsf(x[i]);
        if (magnitude > peak) peak = magnitude;
    }
    return peak / 127.0f;
}

// Rounds half away from zero after clamping to [-127, 127]; written without lrintf so the loops
// below vectorise (lrintf was 1.5% of an int8 search's time, called once per query dimension).
static inline int hs_int8_code(float value, float inverse) {
    float scaled = value * inverse;
    scaled = scaled > 127.0f ? 127.0f : (scaled < -127.0f ? -127.0f : scaled);
    return (int)(scaled + (scaled >= 0.0f ? 0.5f : -0.5f));
}

float hs_quantize_u8(const float *x, size_t count, uint8_t *codes) {
    float scale = hs_int8_scale(x, count);
    float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
    for (size_t i = 0; i < count; i++) codes[i] = (uint8_t)(hs_int8_code(x[i], inverse) + 128);
    return scale;
}

float hs_quantize_s8(const float *x, size_t count, int8_t *codes, int32_t *code_sum) {
    float scale = hs_int8_scale(x, count);
    float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
    int32_t sum = 0;
    for (size_t i = 0; i < count; i++) {
        int code = hs_int8_code(x[i], inverse);
        codes[i] = (int8_t)code;
        sum += code;
    }
    *code_sum = sum;
    return scale;
}

int32_t hs_dot_u8s8_portable(const void *a, const void *b, size_t count) {
    const uint8_t *x = (const uint8_t *)a;
    const int8_t *y = (const int8_t *)b;
    int32_t sum = 0;
    for (size_t i = 0; i < count; i++) sum += (int32_t)x[i] * (int32_t)y[i];
    return sum;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512vnni")))
int32_t hs_dot_u8s8_vnni(const void *a, const void *b, size_t count) {
    const uint8_t *x = (const uint8_t *)a;
    const int8_t *y = (const int8_t *)b;
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 128 <= count; i += 128) {
        s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i));
        s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(x + i + 64), _mm512_loadu_si512(y + i + 64));
    }
    if (i + 64 <= count) {
        s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(x + i), _mm512_loadu_si512(y + i));
        i += 64;
    }
    if (i < count) {
        __mmask64 mask = (__mmask64)((1ull << (count - i)) - 1ull);
        s1 = _mm512_dpbusd_epi32(s1, _mm512_maskz_loadu_epi8(mask, x + i), _mm512_maskz_loadu_epi8(mask, y + i));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

__attribute__((target("avx2")))
int32_t hs_dot_u8s8_avx2(const void *a, const void *b, size_t count) {
    const uint8_t *x = (const uint8_t *)a;
    const int8_t *y = (const int8_t *)b;
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    size_t i = 0;
    // Widened to 16 bits first: vpmaddubsw would saturate (255 × 127 × 2 > 32767).
    for (; i + 32 <= count; i += 32) {
        __m256i x0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
        __m256i y0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y + i)));
        __m256i x1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(x + i + 16)));
        __m256i y1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y + i + 16)));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(x0, y0));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(x1, y1));
    }
    __m256i s = _mm256_add_epi32(s0, s1);
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
    int32_t sum = _mm_cvtsi128_si32(h);
    for (; i < count; i++) sum += (int32_t)x[i] * (int32_t)y[i];
    return sum;
}

int hs_cpu_has_avx512_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}

int hs_cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

#else  // Not x86: only the portable kernel exists; these are never chosen.

int32_t hs_dot_u8s8_vnni(const void *a, const void *b, size_t count) { (void)a; (void)b; (void)count; __builtin_trap(); }
int32_t hs_dot_u8s8_avx2(const void *a, const void *b, size_t count) { (void)a; (void)b; (void)count; __builtin_trap(); }
int hs_cpu_has_avx512_vnni(void) { return 0; }
int hs_cpu_has_avx2(void) { return 0; }

#endif
