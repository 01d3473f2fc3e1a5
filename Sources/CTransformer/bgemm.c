// BF16 matrix product for the `bf16` precision of the embedder: C = A_bf16 * W_bf16 + bias (+ C), with
// float32 accumulation.
//
// Weights are rounded to bf16 once, when the model loads; activations row by row at run time (round
// to nearest, ties to even); layer norm, GELU, softmax and attention stay float32. AVX512-BF16's
// `vdpbf16ps` takes pairs: lane j of a float32 accumulator adds a[2s]·b[2s][j] + a[2s+1]·b[2s+1][j]
// (products exact, sums in float32), so k is taken two at a time and odd k is padded with a zero.
//
// Packed weights: panels of BNR = 32 columns; within a panel, pair steps s = 0 … kp/2 − 1, each step
// 32 columns × 2 bf16 (the two k of one column together: the operand layout of `vdpbf16ps` for two
// 16-lane registers), 128 bytes. Activation rows: kp bf16 each (kp = k rounded up to even), the pair
// (a[2s], a[2s+1]) read as one 32-bit value and broadcast.
//
// Kernels: AVX512-BF16 (12 × 32 tile, 24 accumulators) and a portable C kernel over the same layout
// that widens each bf16 to float32 (a shift) and sums each pair before adding it, as the instruction does.
#include "CTransformer.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { BNR = 32, BMR = 12, BKC = 128 /* pair steps per k-block: 256 k, a 16 KB panel slice */, BMC = 240 };

typedef void (*b_micro_kernel)(int mr, int nb, int steps, const uint16_t *a, size_t lda, const uint16_t *b,
                               float *c, size_t ldc, int load_c, const float *bias);
typedef void (*b_converter)(const float *x, size_t ldx, int m, int k, uint16_t *out, size_t ldo);

struct hs_bgemm_kernel {
    const char *name;
    b_micro_kernel kernel;
    b_converter convert;
};

static inline int bmin_int(int x, int y) { return x < y ? x : y; }

static inline uint16_t to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    bits += 0x7FFFu + ((bits >> 16) & 1u);  // nearest, ties to even (inputs are finite)
    return (uint16_t)(bits >> 16);
}

static inline float from_bf16(uint16_t code) {
    uint32_t bits = (uint32_t)code << 16;
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

size_t hs_bgemm_row_elements(int k) { return k > 0 ? (size_t)((k + 1) / 2 * 2) : 0; }

size_t hs_bgemm_packed_count(int n, int k) { return (size_t)((n + BNR - 1) / BNR) * BNR * hs_bgemm_row_elements(k); }

void hs_bgemm_pack_weights(const float *w, size_t ldw, int n, int k, uint16_t *packed) {
    const size_t kp = hs_bgemm_row_elements(k);
    memset(packed, 0, hs_bgemm_packed_count(n, k) * sizeof(uint16_t));
    for (int j = 0; j < n; j++) {
        const float *row = w + (size_t)j * ldw;
        uint16_t *panel = packed + (size_t)(j / BNR) * kp * BNR;
        const int column = j % BNR;
        for (int q = 0; q < k; q++) panel[(size_t)(q / 2) * BNR * 2 + (size_t)column * 2 + q % 2] = to_bf16(row[q]);
    }
}

static void convert_portable(const float *x, size_t ldx, int m, int k, uint16_t *out, size_t ldo) {
    const size_t kp = hs_bgemm_row_elements(k);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        uint16_t *codes = out + (size_t)i * ldo;
        for (int q = 0; q < k; q++) codes[q] = to_bf16(row[q]);
        for (size_t q = (size_t)k; q < kp; q++) codes[q] = 0;
    }
}

void hs_bgemm_convert_rows(const hs_bgemm_kernel *kernel, const float *x, size_t ldx, int m, int k, uint16_t *out, size_t ldo) {
    kernel->convert(x, ldx, m, k, out, ldo);
}

// Writes one finished row of a tile: c[j] = acc[j] (+ bias[j]) (+ c[j]) for j < nb.
static inline void bstore_row(const float *acc, int nb, float *c, int load_c, const float *bias) {
    for (int j = 0; j < nb; j++) {
        float v = acc[j];
        if (bias) v += bias[j];
        if (load_c) v += c[j];
        c[j] = v;
    }
}

// MARK: portable

static void bkernel_portable(int mr, int nb, int steps, const uint16_t *a, size_t lda, const uint16_t *b,
                             float *c, size_t ldc, int load_c, const float *bias) {
    float acc[BMR][BNR];
    memset(acc, 0, sizeof acc);
    for (int s = 0; s < steps; s++) {
        const uint16_t *bp = b + (size_t)s * BNR * 2;
        for (int i = 0; i < mr; i++) {
            const float a0 = from_bf16(a[(size_t)i * lda + 2 * (size_t)s]), a1 = from_bf16(a[(size_t)i * lda + 2 * (size_t)s + 1]);
            for (int j = 0; j < BNR; j++) acc[i][j] += a0 * from_bf16(bp[2 * j]) + a1 * from_bf16(bp[2 * j + 1]);
        }
    }
    for (int i = 0; i < mr; i++) bstore_row(acc[i], nb, c + (size_t)i * ldc, load_c, bias);
}

static const struct hs_bgemm_kernel bportable_kernel = {"portable", bkernel_portable, convert_portable};

#if defined(__x86_64__)

// MARK: AVX512-BF16

__attribute__((target("avx512f,avx512bw,avx512bf16"), always_inline))
static inline void bf16_tile(const int MR, int nb, int steps, const uint16_t *a, size_t lda, const uint16_t *b,
                             float *c, size_t ldc, int load_c, const float *bias) {
    __m512 acc0[BMR], acc1[BMR];
#pragma unroll
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
    }
    for (int s = 0; s < steps; s++) {
        _mm_prefetch((const char *)(b + (size_t)(s + 16) * 64), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + (size_t)(s + 16) * 64 + 32), _MM_HINT_T0);
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + (size_t)s * 64);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + (size_t)s * 64 + 32);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            uint32_t pair;
            memcpy(&pair, a + (size_t)i * lda + 2 * (size_t)s, 4);
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)pair);
            acc0[i] = _mm512_dpbf16_ps(acc0[i], ai, b0);
            acc1[i] = _mm512_dpbf16_ps(acc1[i], ai, b1);
        }
    }
    const __mmask16 m0 = nb >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nb) - 1u);
    const __mmask16 m1 = nb >= 32 ? (__mmask16)0xFFFF : nb <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nb - 16)) - 1u);
    const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma unroll
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 r0 = _mm512_add_ps(acc0[i], bias0);
        __m512 r1 = _mm512_add_ps(acc1[i], bias1);
        if (load_c) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
}

#define BF16_TILE(R)                                                                                                   \
    __attribute__((target("avx512f,avx512bw,avx512bf16"))) static void bf16_tile_##R(                                 \
        int nb, int steps, const uint16_t *a, size_t lda, const uint16_t *b, float *c, size_t ldc, int load_c,          \
        const float *bias) {                                                                                           \
        bf16_tile(R, nb, steps, a, lda, b, c, ldc, load_c, bias);                                                      \
    }
BF16_TILE(1) BF16_TILE(2) BF16_TILE(3) BF16_TILE(4) BF16_TILE(5) BF16_TILE(6)
BF16_TILE(7) BF16_TILE(8) BF16_TILE(9) BF16_TILE(10) BF16_TILE(11) BF16_TILE(12)

static void bkernel_avx512bf16(int mr, int nb, int steps, const uint16_t *a, size_t lda, const uint16_t *b,
                               float *c, size_t ldc, int load_c, const float *bias) {
    typedef void (*tile)(int, int, const uint16_t *, size_t, const uint16_t *, float *, size_t, int, const float *);
    static const tile tiles[13] = {0, bf16_tile_1, bf16_tile_2, bf16_tile_3, bf16_tile_4, bf16_tile_5, bf16_tile_6,
                                   bf16_tile_7, bf16_tile_8, bf16_tile_9, bf16_tile_10, bf16_tile_11, bf16_tile_12};
    tiles[mr](nb, steps, a, lda, b, c, ldc, load_c, bias);
}

// `vcvtne2ps2bf16`: 32 floats to bf16 per instruction, nearest even (as to_bf16, denormals to zero).
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void convert_avx512bf16(const float *x, size_t ldx, int m, int k, uint16_t *out, size_t ldo) {
    const size_t kp = hs_bgemm_row_elements(k);
    for (int i = 0; i < m; i++) {
        const float *row = x + (size_t)i * ldx;
        uint16_t *codes = out + (size_t)i * ldo;
        int q = 0;
        for (; q + 32 <= k; q += 32) {
            __m512bh pair = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + q + 16), _mm512_loadu_ps(row + q));
            _mm512_storeu_si512(codes + q, (__m512i)pair);
        }
        for (; q < k; q++) codes[q] = to_bf16(row[q]);
        for (size_t r = (size_t)k; r < kp; r++) codes[r] = 0;
    }
}

static const struct hs_bgemm_kernel bavx512bf16_kernel = {"avx512bf16", bkernel_avx512bf16, convert_avx512bf16};

#endif

// MARK: selection

static int bsupports(const struct hs_bgemm_kernel *kernel) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (kernel == &bavx512bf16_kernel)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16");
#endif
    return kernel == &bportable_kernel;
}

const hs_bgemm_kernel *hs_bgemm_best_kernel(void) {
#if defined(__x86_64__)
    if (bsupports(&bavx512bf16_kernel)) return &bavx512bf16_kernel;
#endif
    return &bportable_kernel;
}

const hs_bgemm_kernel *hs_bgemm_named_kernel(const char *name) {
    const struct hs_bgemm_kernel *all[] = {
        &bportable_kernel,
#if defined(__x86_64__)
        &bavx512bf16_kernel,
#endif
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name) == 0) return bsupports(all[i]) ? all[i] : NULL;
    }
    return NULL;
}

const char *hs_bgemm_kernel_name(const hs_bgemm_kernel *kernel) { return kernel->name; }

void hs_bgemm(const hs_bgemm_kernel *g, int m, int n, int k, const uint16_t *a, size_t lda, const uint16_t *packed,
              const float *bias, int accumulate, float *c, size_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            for (int j = 0; j < n; j++) ci[j] = (accumulate ? ci[j] : 0.0f) + (bias ? bias[j] : 0.0f);
        }
        return;
    }
    const size_t kp = hs_bgemm_row_elements(k);
    const int steps = (int)(kp / 2);
    const int panels = (n + BNR - 1) / BNR;
    // Rows of A per block: as many as keep the block (rows x kp bf16) within about 1 MB of L2.
    int block_rows = (int)((1u << 20) / (kp * sizeof(uint16_t)));
    block_rows = block_rows < BMC ? block_rows : BMC;
    block_rows = block_rows < BMR ? BMR : block_rows / BMR * BMR;
    for (int m0 = 0; m0 < m; m0 += block_rows) {
        const int mc = bmin_int(block_rows, m - m0);
        for (int p = 0; p < panels; p++) {
            const int nb = bmin_int(BNR, n - p * BNR);
            for (int s0 = 0; s0 < steps; s0 += BKC) {
                const int sc = bmin_int(BKC, steps - s0);
                const int load_c = accumulate || s0 > 0;
                const float *block_bias = s0 + sc >= steps ? bias : NULL;
                const uint16_t *bp = packed + (size_t)p * kp * BNR + (size_t)s0 * BNR * 2;
                for (int i = 0; i < mc; i += BMR) {
                    const int rows = bmin_int(BMR, mc - i);
                    g->kernel(rows, nb, sc, a + (size_t)(m0 + i) * lda + 2 * (size_t)s0, lda, bp,
                              c + (size_t)(m0 + i) * ldc + (size_t)p * BNR, ldc, load_c,
                              block_bias ? block_bias + p * BNR : NULL);
                }
            }
        }
    }
}
