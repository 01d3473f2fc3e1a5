// BF16 vectors for the graph walk: the conversion from float32, f32·bf16 dot products (a float32
// query against widened codes: a bf16 value is the top 16 bits of a float32, so widening is a
// shift) and, where the CPU has AVX512-BF16, bf16·bf16 dot products with `vdpbf16ps` (the query
// rounded to bf16 once, pairs of products summed into float32 lanes). One function per
// instruction set, chosen at run time by the Swift side. Stored codes are little-endian u16 at
// any 2-byte-aligned address: every load is unaligned.
#include "CDistance.h"
#include <string.h>

void hs_to_bf16(const void *x, size_t count, void *codes) {
    const unsigned char *in = (const unsigned char *)x;
    unsigned char *out = (unsigned char *)codes;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, in + 4 * i, 4);
        // Round to nearest, ties to even (inputs are finite: vectors are checked on entry).
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        out[2 * i] = (unsigned char)(bits >> 16);
        out[2 * i + 1] = (unsigned char)(bits >> 24);
    }
}

float hs_dot_f32bf16_portable(const void *queryBytes, const void *codes, size_t count) {
    const float *query = (const float *)queryBytes;  // any 4- or 2-byte alignment: loads are unaligned
    const unsigned char *p = (const unsigned char *)codes;
    float sum = 0.0f;
    for (size_t i = 0; i < count; i++) {
        uint16_t half;
        memcpy(&half, p + 2 * i, 2);
        uint32_t bits = (uint32_t)half << 16;
        float value, q;
        memcpy(&value, &bits, 4);
        memcpy(&q, query + i, 4);  // the query may be a vector in the map (2-byte aligned)
        sum += q * value;
    }
    return sum;
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
float hs_dot_f32bf16_avx512(const void *queryBytes, const void *codes, size_t count) {
    const float *query = (const float *)queryBytes;  // any 4- or 2-byte alignment: loads are unaligned
    const unsigned char *p = (const unsigned char *)codes;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m512i w0 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 2 * i))), 16);
        __m512i w1 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 2 * i + 32))), 16);
        acc0 = _mm512_fmadd_ps(_mm512_castsi512_ps(w0), _mm512_loadu_ps(query + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_castsi512_ps(w1), _mm512_loadu_ps(query + i + 16), acc1);
    }
    for (; i + 16 <= count; i += 16) {
        __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p + 2 * i))), 16);
        acc0 = _mm512_fmadd_ps(_mm512_castsi512_ps(w), _mm512_loadu_ps(query + i), acc0);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (i < count) sum += hs_dot_f32bf16_portable(query + i, p + 2 * i, count - i);
    return sum;
}

__attribute__((target("avx2,fma")))
float hs_dot_f32bf16_avx2(const void *queryBytes, const void *codes, size_t count) {
    const float *query = (const float *)queryBytes;  // any 4- or 2-byte alignment: loads are unaligned
    const unsigned char *p = (const unsigned char *)codes;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256i w0 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * i))), 16);
        __m256i w1 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * i + 16))), 16);
        acc0 = _mm256_fmadd_ps(_mm256_castsi256_ps(w0), _mm256_loadu_ps(query + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_castsi256_ps(w1), _mm256_loadu_ps(query + i + 8), acc1);
    }
    __m256 acc = _mm256_add_ps(acc0, acc1);
    __m128 low = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    low = _mm_add_ps(low, _mm_movehl_ps(low, low));
    low = _mm_add_ss(low, _mm_movehdup_ps(low));
    float sum = _mm_cvtss_f32(low);
    if (i < count) sum += hs_dot_f32bf16_portable(query + i, p + 2 * i, count - i);
    return sum;
}

// vdpbf16ps: lane j of the accumulator adds a[2j]·b[2j] + a[2j+1]·b[2j+1], so 32 bf16 pairs per
// instruction, in the stored order; the sum of all lanes is the dot product. The tail (count not
// a multiple of 32) is a masked load, zeros beyond it.
__attribute__((target("avx512f,avx512bw,avx512bf16")))
float hs_dot_bf16bf16_avx512bf16(const void *query, const void *codes, size_t count) {
    const unsigned char *q = (const unsigned char *)query, *p = (const unsigned char *)codes;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 64 <= count; i += 64) {
        __m512i a0 = _mm512_loadu_si512(q + 2 * i), b0 = _mm512_loadu_si512(p + 2 * i);
        __m512i a1 = _mm512_loadu_si512(q + 2 * i + 64), b1 = _mm512_loadu_si512(p + 2 * i + 64);
        acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)a0, (__m512bh)b0);
        acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)a1, (__m512bh)b1);
    }
    for (; i + 32 <= count; i += 32) {
        __m512i a = _mm512_loadu_si512(q + 2 * i), b = _mm512_loadu_si512(p + 2 * i);
        acc0 = _mm512_dpbf16_ps(acc0, (__m512bh)a, (__m512bh)b);
    }
    if (i < count) {
        __mmask32 mask = (__mmask32)((1ull << (count - i)) - 1);
        __m512i a = _mm512_maskz_loadu_epi16(mask, q + 2 * i), b = _mm512_maskz_loadu_epi16(mask, p + 2 * i);
        acc1 = _mm512_dpbf16_ps(acc1, (__m512bh)a, (__m512bh)b);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

int hs_cpu_has_avx512_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
}
#else
int hs_cpu_has_avx512_bf16(void) { return 0; }
float hs_dot_bf16bf16_avx512bf16(const void *query, const void *codes, size_t count) {
    (void)query; (void)codes; (void)count; __builtin_trap();
}
float hs_dot_f32bf16_avx512(const void *queryBytes, const void *codes, size_t count) { return hs_dot_f32bf16_portable(queryBytes, codes, count); }
float hs_dot_f32bf16_avx2(const void *queryBytes, const void *codes, size_t count) { return hs_dot_f32bf16_portable(queryBytes, codes, count); }
#endif
