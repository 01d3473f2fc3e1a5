// Integer matrix product for the `int8` precision of the embedder: C = dequantise(A_q * W_q) + bias (+ C).
//
// Both operands are quantised in blocks of QG = 32 consecutive k (the scheme of llama.cpp's Q8_0):
// weights once, per output channel and block, w_q = round(w / s_w), s_w = max|w| / 127 over the block;
// activations at run time, per row and block, the same way. Quantising a whole row (or a whole
// channel) with one scale was measured too coarse for BERT, whose layer-norm outputs have a few
// channels far larger than the rest (lowest fixture cosine to f32: 0.986 per row, 0.998 per block;
// docs/benchmarks.md). VNNI's `vpdpbusd` multiplies unsigned by signed bytes, so weights are stored
// plus 128 (in [1, 255]) and each activation block carries 128 x the sum of its values, which the
// kernel subtracts:  sum_p (w_q,p + 128) a_q,p - 128 sum_p a_q,p = sum_p w_q,p a_q,p, exact in int32.
// Per block the integer sum is scaled by s_a s_w and added to a float accumulator.
//
// Packed weights: panels of QNR = 32 columns; within a panel, k in steps of 4, each step 32 columns x
// 4 bytes (the 4 consecutive k of one column together: the operand layout of `vpdpbusd` for two
// 16-lane registers); k is padded to a whole block with zero activations. Weight scales: per panel,
// per block, 32 floats.
//
// Kernels: AVX-512 VNNI (6 x 32 tile: 12 int32 block sums and 12 float accumulators in registers)
// and a portable C kernel over the same layout.
#include "CTransformer.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { QNR = 32, QG = 32, QMR = 6, QMC = 240 };

typedef void (*q_micro_kernel)(int mr, int nb, int blocks, const int8_t *a, size_t lda, const float *a_scales,
                               const int32_t *a_offsets, size_t lds, const uint8_t *b, const float *w_scales,
                               const float *bias, int accumulate, float *c, size_t ldc);

typedef void (*q_quantizer)(const float *x, size_t ldx, int m, int k, int8_t *out, size_t ldo, float *scales,
                            int32_t *offsets, size_t lds);

struct hs_qgemm_kernel {
    const char *name;
    q_micro_kernel kernel;
    q_quantizer quantize;
};

static inline int qmin_int(int x, int y) { return x < y ? x : y; }

size_t hs_qgemm_blocks(int k) { return k > 0 ? (size_t)((k + QG - 1) / QG) : 0; }

size_t hs_qgemm_row_bytes(int k) { return hs_qgemm_blocks(k) * QG; }

size_t hs_qgemm_packed_bytes(int n, int k) { return (size_t)((n + QNR - 1) / QNR) * QNR * hs_qgemm_row_bytes(k); }

size_t hs_qgemm_scale_count(int n, int k) { return (size_t)((n + QNR - 1) / QNR) * QNR * hs_qgemm_blocks(k); }

// The scale of a block: its largest magnitude maps to 127 (1 for a block of zeros).
static inline float block_scale(const float *values, int count) {
    float largest = 0;
    for (int p = 0; p < count; p++) largest = fmaxf(largest, fabsf(values[p]));
    return largest > 0 ? largest / 127.0f : 1.0f;
}

// round(v / scale) into [-127, 127], half to even (as lrintf and the AVX-512 conversion do).
static inline int quantize_value(float v, float inverse) {
    long q = lrintf(v * inverse);
    return (int)(q > 127 ? 127 : (q < -127 ? -127 : q));
}

void hs_qgemm_pack_weights(const float *w, size_t ldw, int n, int k, uint8_t *packed, float *scales) {
    const int blocks = (int)hs_qgemm_blocks(k);
    memset(packed, 128, hs_qgemm_packed_bytes(n, k));
    memset(scales, 0, hs_qgemm_scale_count(n, k) * sizeof(float));
    for (int j = 0; j < n; j++) {
        const float *row = w + (size_t)j * ldw;
        uint8_t *panel = packed + (size_t)(j / QNR) * (size_t)blocks * QG * QNR;
        float *panel_scales = scales + (size_t)(j / QNR) * (size_t)blocks * QNR;
        const int column = j % QNR;
        for (int g = 0; g < blocks; g++) {
            const int start = g * QG, end = qmin_int(k, start + QG);
            const float scale = block_scale(row + start, end - start);
            const float inverse = 1.0f / scale;
            for (int q = start; q < end; q++) {
                panel[(size_t)(q / 4) * QNR * 4 + column * 4 + q % 4] = (uint8_t)(quantize_value(row[q], inverse) + 128);
            }
            panel_scales[(size_t)g * QNR + column] = scale;
        }
    }
}

// MARK: activations

static void quantize_rows_portable(const float *x, size_t ldx, int m, int k, int8_t *out, size_t ldo, float *scales,
                                   int32_t *offsets, size_t lds) {
    const int blocks = (int)hs_qgemm_blocks(k);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        int8_t *q = out + (size_t)i * ldo;
        for (int g = 0; g < blocks; g++) {
            const int start = g * QG, end = qmin_int(k, start + QG);
            const float scale = block_scale(row + start, end - start);
            const float inverse = 1.0f / scale;
            int32_t sum = 0;
            for (int p = start; p < end; p++) {
                q[p] = (int8_t)quantize_value(row[p], inverse);
                sum += q[p];
            }
            for (int p = end; p < start + QG; p++) q[p] = 0;
            scales[(size_t)i * lds + g] = scale;
            offsets[(size_t)i * lds + g] = 128 * sum;
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void quantize_rows_avx512(const float *x, size_t ldx, int m, int k, int8_t *out, size_t ldo, float *scales,
                                 int32_t *offsets, size_t lds) {
    const int blocks = (int)hs_qgemm_blocks(k);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        int8_t *q = out + (size_t)i * ldo;
        for (int g = 0; g < blocks; g++) {
            const int start = g * QG, left = k - start;
            const __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
            const __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF : left <= 16 ? (__mmask16)0 : (__mmask16)((1u << (left - 16)) - 1u);
            const __m512 v0 = _mm512_maskz_loadu_ps(m0, row + start), v1 = _mm512_maskz_loadu_ps(m1, row + start + 16);
            const float largest = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            const float scale = largest > 0 ? largest / 127.0f : 1.0f;
            const __m512 inverse = _mm512_set1_ps(1.0f / scale);
            const __m512i top = _mm512_set1_epi32(127), bottom = _mm512_set1_epi32(-127);
            // Rounds to nearest even, as lrintf does; masked-off lanes are 0.
            const __m512i q0 = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v0, inverse)), top), bottom);
            const __m512i q1 = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v1, inverse)), top), bottom);
            _mm512_mask_cvtepi32_storeu_epi8(q + start, 0xFFFF, q0);
            _mm512_mask_cvtepi32_storeu_epi8(q + start + 16, 0xFFFF, q1);
            scales[(size_t)i * lds + g] = scale;
            offsets[(size_t)i * lds + g] = 128 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        }
    }
}
#endif

void hs_qgemm_quantize_rows(const hs_qgemm_kernel *kernel, const float *x, size_t ldx, int m, int k, int8_t *out, size_t ldo,
                            float *scales, int32_t *offsets, size_t lds) {
    kernel->quantize(x, ldx, m, k, out, ldo, scales, offsets, lds);
}

// Writes one finished row: c[j] = acc[j] + bias[j] (+ c[j]) for j < nb.
static inline void q_store_row(const float *acc, int nb, const float *bias, int accumulate, float *c) {
    for (int j = 0; j < nb; j++) {
        float v = acc[j];
        if (bias) v += bias[j];
        if (accumulate) v += c[j];
        c[j] = v;
    }
}

// MARK: portable

static void q_kernel_portable(int mr, int nb, int blocks, const int8_t *a, size_t lda, const float *a_scales,
                              const int32_t *a_offsets, size_t lds, const uint8_t *b, const float *w_scales,
                              const float *bias, int accumulate, float *c, size_t ldc) {
    for (int i = 0; i < mr; i++) {
        float acc[QNR];
        memset(acc, 0, sizeof acc);
        const int8_t *ai = a + (size_t)i * lda;
        for (int g = 0; g < blocks; g++) {
            int32_t sums[QNR];
            memset(sums, 0, sizeof sums);
            for (int t = 0; t < QG / 4; t++) {
                const uint8_t *bt = b + ((size_t)g * (QG / 4) + t) * QNR * 4;
                const int8_t *at = ai + g * QG + t * 4;
                for (int j = 0; j < QNR; j++) {
                    sums[j] += (int32_t)bt[j * 4] * at[0] + (int32_t)bt[j * 4 + 1] * at[1] + (int32_t)bt[j * 4 + 2] * at[2] +
                               (int32_t)bt[j * 4 + 3] * at[3];
                }
            }
            const float sa = a_scales[(size_t)i * lds + g];
            const int32_t offset = a_offsets[(size_t)i * lds + g];
            for (int j = 0; j < QNR; j++) acc[j] += (float)(sums[j] - offset) * (sa * w_scales[(size_t)g * QNR + j]);
        }
        q_store_row(acc, nb, bias, accumulate, c + (size_t)i * ldc);
    }
}

static const struct hs_qgemm_kernel q_portable_kernel = {"portable", q_kernel_portable, quantize_rows_portable};

#if defined(__x86_64__)

// MARK: AVX-512 VNNI

__attribute__((target("avx512f,avx512vnni"), always_inline))
static inline void vnni_tile(const int MR, int nb, int blocks, const int8_t *a, size_t lda, const float *a_scales,
                             const int32_t *a_offsets, size_t lds, const uint8_t *b, const float *w_scales,
                             const float *bias, int accumulate, float *c, size_t ldc) {
    __m512 f0[QMR], f1[QMR];
#pragma unroll
    for (int i = 0; i < MR; i++) {
        f0[i] = _mm512_setzero_ps();
        f1[i] = _mm512_setzero_ps();
    }
    for (int g = 0; g < blocks; g++) {
        __m512i s0[QMR], s1[QMR];
#pragma unroll
        for (int i = 0; i < MR; i++) {
            s0[i] = _mm512_setzero_si512();
            s1[i] = _mm512_setzero_si512();
        }
        const uint8_t *bg = b + (size_t)g * (QG / 4) * 128;
#pragma unroll
        for (int t = 0; t < QG / 4; t++) {
            _mm_prefetch((const char *)(bg + (size_t)(t + 8) * 128), _MM_HINT_T0);
            _mm_prefetch((const char *)(bg + (size_t)(t + 8) * 128 + 64), _MM_HINT_T0);
            const __m512i b0 = _mm512_loadu_si512((const void *)(bg + (size_t)t * 128));
            const __m512i b1 = _mm512_loadu_si512((const void *)(bg + (size_t)t * 128 + 64));
#pragma unroll
            for (int i = 0; i < MR; i++) {
                int32_t four;
                memcpy(&four, a + (size_t)i * lda + (size_t)g * QG + (size_t)t * 4, sizeof four);
                const __m512i ai = _mm512_set1_epi32(four);
                s0[i] = _mm512_dpbusd_epi32(s0[i], b0, ai);
                s1[i] = _mm512_dpbusd_epi32(s1[i], b1, ai);
            }
        }
        const __m512 ws0 = _mm512_loadu_ps(w_scales + (size_t)g * QNR), ws1 = _mm512_loadu_ps(w_scales + (size_t)g * QNR + 16);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            const __m512i offset = _mm512_set1_epi32(a_offsets[(size_t)i * lds + g]);
            const __m512 sa = _mm512_set1_ps(a_scales[(size_t)i * lds + g]);
            f0[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s0[i], offset)), _mm512_mul_ps(sa, ws0), f0[i]);
            f1[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s1[i], offset)), _mm512_mul_ps(sa, ws1), f1[i]);
        }
    }
    const __mmask16 m0 = nb >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nb) - 1u);
    const __mmask16 m1 = nb >= 32 ? (__mmask16)0xFFFF : nb <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nb - 16)) - 1u);
    const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma unroll
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 r0 = _mm512_add_ps(f0[i], bias0), r1 = _mm512_add_ps(f1[i], bias1);
        if (accumulate) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
}

#define VNNI_TILE(R)                                                                                                \
    __attribute__((target("avx512f,avx512vnni"))) static void vnni_tile_##R(                                        \
        int nb, int blocks, const int8_t *a, size_t lda, const float *a_scales, const int32_t *a_offsets,           \
        size_t lds, const uint8_t *b, const float *w_scales, const float *bias, int accumulate, float *c,           \
        size_t ldc) {                                                                                               \
        vnni_tile(R, nb, blocks, a, lda, a_scales, a_offsets, lds, b, w_scales, bias, accumulate, c, ldc);          \
    }
VNNI_TILE(1) VNNI_TILE(2) VNNI_TILE(3) VNNI_TILE(4) VNNI_TILE(5) VNNI_TILE(6)

static void q_kernel_vnni(int mr, int nb, int blocks, const int8_t *a, size_t lda, const float *a_scales,
                          const int32_t *a_offsets, size_t lds, const uint8_t *b, const float *w_scales,
                          const float *bias, int accumulate, float *c, size_t ldc) {
    typedef void (*tile)(int, int, const int8_t *, size_t, const float *, const int32_t *, size_t, const uint8_t *,
                         const float *, const float *, int, float *, size_t);
    static const tile tiles[QMR + 1] = {0, vnni_tile_1, vnni_tile_2, vnni_tile_3, vnni_tile_4, vnni_tile_5, vnni_tile_6};
    tiles[mr](nb, blocks, a, lda, a_scales, a_offsets, lds, b, w_scales, bias, accumulate, c, ldc);
}

static const struct hs_qgemm_kernel q_vnni_kernel = {"avx512vnni", q_kernel_vnni, quantize_rows_avx512};

#endif

// MARK: selection

static int q_supports(const struct hs_qgemm_kernel *kernel) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (kernel == &q_vnni_kernel) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
#endif
    return kernel == &q_portable_kernel;
}

const hs_qgemm_kernel *hs_qgemm_best_kernel(void) {
#if defined(__x86_64__)
    if (q_supports(&q_vnni_kernel)) return &q_vnni_kernel;
#endif
    return &q_portable_kernel;
}

const hs_qgemm_kernel *hs_qgemm_named_kernel(const char *name) {
    const struct hs_qgemm_kernel *all[] = {
        &q_portable_kernel,
#if defined(__x86_64__)
        &q_vnni_kernel,
#endif
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name) == 0) return q_supports(all[i]) ? all[i] : NULL;
    }
    return NULL;
}

const char *hs_qgemm_kernel_name(const hs_qgemm_kernel *kernel) { return kernel->name; }

void hs_qgemm(const hs_qgemm_kernel *g, int m, int n, int k, const int8_t *a, size_t lda, const float *a_scales,
              const int32_t *a_offsets, size_t lds, const uint8_t *packed, const float *w_scales, const float *bias,
              int accumulate, float *c, size_t ldc) {
    if (m <= 0 || n <= 0) return;
    const int blocks = (int)hs_qgemm_blocks(k);
    const int panels = (n + QNR - 1) / QNR;
    // Rows of A per block of rows: as many as keep them within about 512 KB of L2.
    int block_rows = (int)((1u << 19) / (lda > 0 ? lda : 1));
    block_rows = block_rows < QMC ? block_rows : QMC;
    block_rows = block_rows < QMR ? QMR : block_rows / QMR * QMR;
    for (int m0 = 0; m0 < m; m0 += block_rows) {
        const int mc = qmin_int(block_rows, m - m0);
        for (int p = 0; p < panels; p++) {
            const int nb = qmin_int(QNR, n - p * QNR);
            const uint8_t *bp = packed + (size_t)p * (size_t)blocks * QG * QNR;
            const float *sp = w_scales + (size_t)p * (size_t)blocks * QNR;
            for (int i = 0; i < mc; i += QMR) {
                const int rows = qmin_int(QMR, mc - i);
                const size_t row = (size_t)(m0 + i);
                g->kernel(rows, nb, blocks, a + row * lda, lda, a_scales + row * lds, a_offsets + row * lds, lds, bp, sp,
                          bias ? bias + p * QNR : NULL, accumulate, c + row * ldc + (size_t)p * QNR, ldc);
            }
        }
    }
}
