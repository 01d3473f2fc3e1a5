// Packed single-precision matrix product C = alpha * A * B (+ bias) (+ C).
//
// The right-hand matrix (a weight matrix, known in advance) is packed once into panels of `nr`
// columns, each panel stored k-major (`nr` consecutive floats per row of B), so that a micro-kernel
// streams it with unit stride. A micro-kernel computes an `mr` x `nr` tile of C in registers over a
// block of at most KC rows of B (a 32 KB panel slice, resident in L1), broadcasting one element of A
// per row and step. Rows of A are taken in blocks that stay in L2; for each block, every panel of B is
// read front to back, with software prefetch ahead of the kernel: for a short text the weights cannot
// be amortised over many rows and the product is bound by how fast they stream from memory. A is read in
// place: packing it into micro-panels (as GotoBLAS does) measured no faster for these shapes
// (m <= a few thousand tokens, k <= 1536) and costs a strided copy per element.
//
// Kernels: AVX-512 (12 x 32 tile, 24 accumulators), AVX2+FMA (6 x 16 tile, 12 accumulators) and a
// portable C kernel (4 x 16) that the compiler vectorises for the baseline ISA.
#include "CTransformer.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { KC = 256, MC = 240 };

typedef void (*micro_kernel)(int mr, int nb, int kc, float alpha, const float *a, size_t lda, const float *b,
                             float *c, size_t ldc, int load_c, const float *bias);

struct hs_gemm_kernel {
    const char *name;
    int mr, nr;
    micro_kernel kernel;
};

static inline int min_int(int x, int y) { return x < y ? x : y; }

// Writes one finished row of a tile: c[j] = alpha * acc[j] (+ c[j]) (+ bias[j]) for j < nb.
static inline void store_row(const float *acc, int nb, float alpha, float *c, int load_c, const float *bias) {
    for (int j = 0; j < nb; j++) {
        float v = alpha * acc[j];
        if (bias) v += bias[j];
        if (load_c) v += c[j];
        c[j] = v;
    }
}

// MARK: portable

static void kernel_portable(int mr, int nb, int kc, float alpha, const float *a, size_t lda, const float *b,
                            float *c, size_t ldc, int load_c, const float *bias) {
    float acc[4][16];
    memset(acc, 0, sizeof acc);
    for (int p = 0; p < kc; p++) {
        const float *bp = b + (size_t)p * 16;
        for (int i = 0; i < mr; i++) {
            const float av = a[(size_t)i * lda + p];
            for (int j = 0; j < 16; j++) acc[i][j] += av * bp[j];
        }
    }
    for (int i = 0; i < mr; i++) store_row(acc[i], nb, alpha, c + (size_t)i * ldc, load_c, bias);
}

static const struct hs_gemm_kernel portable_kernel = {"portable", 4, 16, kernel_portable};

#if defined(__x86_64__)

// MARK: AVX-512

__attribute__((target("avx512f"), always_inline))
static inline void avx512_tile(const int MR, int nb, int kc, float alpha, const float *a, size_t lda, const float *b,
                               float *c, size_t ldc, int load_c, const float *bias) {
    __m512 acc0[12], acc1[12];
#pragma unroll
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        // B streams from memory when the batch is small: fetch 2 KB ahead (no fault past the end).
        _mm_prefetch((const char *)(b + (size_t)(p + 16) * 32), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + (size_t)(p + 16) * 32 + 16), _MM_HINT_T0);
        const __m512 b0 = _mm512_loadu_ps(b + (size_t)p * 32);
        const __m512 b1 = _mm512_loadu_ps(b + (size_t)p * 32 + 16);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(a[(size_t)i * lda + p]);
            acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
    }
    const __mmask16 m0 = nb >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nb) - 1u);
    const __mmask16 m1 = nb >= 32 ? (__mmask16)0xFFFF : nb <= 16 ? (__mmask16)0 : (__mmask16)((1u << (nb - 16)) - 1u);
    const __m512 va = _mm512_set1_ps(alpha);
    const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma unroll
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        __m512 r0 = _mm512_fmadd_ps(acc0[i], va, bias0);
        __m512 r1 = _mm512_fmadd_ps(acc1[i], va, bias1);
        if (load_c) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
}

#define AVX512_TILE(R)                                                                                            \
    __attribute__((target("avx512f"))) static void avx512_tile_##R(int nb, int kc, float alpha, const float *a,   \
                                                                    size_t lda, const float *b, float *c,         \
                                                                    size_t ldc, int load_c, const float *bias) {  \
        avx512_tile(R, nb, kc, alpha, a, lda, b, c, ldc, load_c, bias);                                           \
    }
AVX512_TILE(1) AVX512_TILE(2) AVX512_TILE(3) AVX512_TILE(4) AVX512_TILE(5) AVX512_TILE(6)
AVX512_TILE(7) AVX512_TILE(8) AVX512_TILE(9) AVX512_TILE(10) AVX512_TILE(11) AVX512_TILE(12)

static void kernel_avx512(int mr, int nb, int kc, float alpha, const float *a, size_t lda, const float *b,
                          float *c, size_t ldc, int load_c, const float *bias) {
    typedef void (*tile)(int, int, float, const float *, size_t, const float *, float *, size_t, int, const float *);
    static const tile tiles[13] = {0, avx512_tile_1, avx512_tile_2, avx512_tile_3, avx512_tile_4, avx512_tile_5,
                                   avx512_tile_6, avx512_tile_7, avx512_tile_8, avx512_tile_9, avx512_tile_10,
                                   avx512_tile_11, avx512_tile_12};
    tiles[mr](nb, kc, alpha, a, lda, b, c, ldc, load_c, bias);
}

static const struct hs_gemm_kernel avx512_kernel = {"avx512", 12, 32, kernel_avx512};

// MARK: AVX2 + FMA

__attribute__((target("avx2,fma"), always_inline))
static inline void avx2_tile(const int MR, int nb, int kc, float alpha, const float *a, size_t lda, const float *b,
                             float *c, size_t ldc, int load_c, const float *bias) {
    __m256 acc0[6], acc1[6];
#pragma unroll
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm256_setzero_ps();
        acc1[i] = _mm256_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        _mm_prefetch((const char *)(b + (size_t)(p + 32) * 16), _MM_HINT_T0);
        const __m256 b0 = _mm256_loadu_ps(b + (size_t)p * 16);
        const __m256 b1 = _mm256_loadu_ps(b + (size_t)p * 16 + 8);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + (size_t)i * lda + p);
            acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
        }
    }
#pragma unroll
    for (int i = 0; i < MR; i++) {
        float row[16];
        _mm256_storeu_ps(row, acc0[i]);
        _mm256_storeu_ps(row + 8, acc1[i]);
        store_row(row, nb, alpha, c + (size_t)i * ldc, load_c, bias);
    }
}

#define AVX2_TILE(R)                                                                                              \
    __attribute__((target("avx2,fma"))) static void avx2_tile_##R(int nb, int kc, float alpha, const float *a,    \
                                                                   size_t lda, const float *b, float *c,          \
                                                                   size_t ldc, int load_c, const float *bias) {   \
        avx2_tile(R, nb, kc, alpha, a, lda, b, c, ldc, load_c, bias);                                             \
    }
AVX2_TILE(1) AVX2_TILE(2) AVX2_TILE(3) AVX2_TILE(4) AVX2_TILE(5) AVX2_TILE(6)

static void kernel_avx2(int mr, int nb, int kc, float alpha, const float *a, size_t lda, const float *b,
                        float *c, size_t ldc, int load_c, const float *bias) {
    typedef void (*tile)(int, int, float, const float *, size_t, const float *, float *, size_t, int, const float *);
    static const tile tiles[7] = {0, avx2_tile_1, avx2_tile_2, avx2_tile_3, avx2_tile_4, avx2_tile_5, avx2_tile_6};
    tiles[mr](nb, kc, alpha, a, lda, b, c, ldc, load_c, bias);
}

static const struct hs_gemm_kernel avx2_kernel = {"avx2", 6, 16, kernel_avx2};

#endif

// MARK: selection

static int supports(const struct hs_gemm_kernel *kernel) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (kernel == &avx512_kernel) return __builtin_cpu_supports("avx512f");
    if (kernel == &avx2_kernel) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return kernel == &portable_kernel;
}

const hs_gemm_kernel *hs_gemm_best_kernel(void) {
#if defined(__x86_64__)
    if (supports(&avx512_kernel)) return &avx512_kernel;
    if (supports(&avx2_kernel)) return &avx2_kernel;
#endif
    return &portable_kernel;
}

const hs_gemm_kernel *hs_gemm_named_kernel(const char *name) {
    const struct hs_gemm_kernel *all[] = {
        &portable_kernel,
#if defined(__x86_64__)
        &avx512_kernel, &avx2_kernel,
#endif
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name) == 0) return supports(all[i]) ? all[i] : NULL;
    }
    return NULL;
}

const char *hs_gemm_kernel_name(const hs_gemm_kernel *kernel) { return kernel->name; }

size_t hs_gemm_packed_count(const hs_gemm_kernel *kernel, int n, int k) {
    const int nr = kernel->nr;
    return (size_t)((n + nr - 1) / nr) * (size_t)nr * (size_t)k;
}

void hs_gemm_pack_transposed(const hs_gemm_kernel *kernel, const float *b, size_t ldb, int n, int k, float *packed) {
    const int nr = kernel->nr;
    const int panels = (n + nr - 1) / nr;
    for (int p = 0; p < panels; p++) {
        float *out = packed + (size_t)p * (size_t)k * (size_t)nr;
        const int nb = min_int(nr, n - p * nr);
        for (int q = 0; q < k; q++) {
            for (int j = 0; j < nb; j++) out[(size_t)q * nr + j] = b[(size_t)(p * nr + j) * ldb + q];
            for (int j = nb; j < nr; j++) out[(size_t)q * nr + j] = 0;
        }
    }
}

void hs_gemm_pack(const hs_gemm_kernel *kernel, const float *b, size_t ldb, int k, int n, float *packed) {
    const int nr = kernel->nr;
    const int panels = (n + nr - 1) / nr;
    for (int p = 0; p < panels; p++) {
        float *out = packed + (size_t)p * (size_t)k * (size_t)nr;
        const int nb = min_int(nr, n - p * nr);
        for (int q = 0; q < k; q++) {
            memcpy(out + (size_t)q * nr, b + (size_t)q * ldb + (size_t)p * nr, (size_t)nb * sizeof(float));
            for (int j = nb; j < nr; j++) out[(size_t)q * nr + j] = 0;
        }
    }
}

void hs_gemm(const hs_gemm_kernel *g, int m, int n, int k, float alpha, const float *a, size_t lda,
             const float *packed, const float *bias, int accumulate, float *c, size_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++) {
            float *ci = c + (size_t)i * ldc;
            for (int j = 0; j < n; j++) ci[j] = (accumulate ? ci[j] : 0.0f) + (bias ? bias[j] : 0.0f);
        }
        return;
    }
    const int nr = g->nr, mr = g->mr;
    const int panels = (n + nr - 1) / nr;
    // Rows of A per block: as many as keep the block (rows x k floats) within about 1 MB of L2.
    int block_rows = (int)((1u << 20) / ((size_t)k * sizeof(float)));
    block_rows = block_rows < MC ? block_rows : MC;
    block_rows = block_rows < mr ? mr : block_rows / mr * mr;
    for (int m0 = 0; m0 < m; m0 += block_rows) {
        const int mc = min_int(block_rows, m - m0);
        // Each panel of B is read once per block of A, front to back (k-blocks inside panels), so
        // the weights stream sequentially from memory when the batch is too small to amortise them.
        for (int p = 0; p < panels; p++) {
            const int nb = min_int(nr, n - p * nr);
            for (int k0 = 0; k0 < k; k0 += KC) {
                const int kc = min_int(KC, k - k0);
                const int load_c = accumulate || k0 > 0;
                const float *block_bias = k0 + kc >= k ? bias : NULL;
                const float *bp = packed + (size_t)p * (size_t)k * (size_t)nr + (size_t)k0 * (size_t)nr;
                for (int i = 0; i < mc; i += mr) {
                    const int rows = min_int(mr, mc - i);
                    g->kernel(rows, nb, kc, alpha, a + (size_t)(m0 + i) * lda + k0, lda, bp,
                              c + (size_t)(m0 + i) * ldc + (size_t)p * nr, ldc, load_c,
                              block_bias ? block_bias + p * nr : NULL);
                }
            }
        }
    }
}
