// Numeric kernels of the transformer forward pass (module Embedding): a packed matrix product with
// per-ISA micro-kernels chosen once at run time, and the element-wise steps (layer norm, GELU,
// softmax). Plain C so that the hot loops are vectorised the same way in debug and release builds
// of the Swift package.
#ifndef HINDSIGHT_CTRANSFORMER_H
#define HINDSIGHT_CTRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A matrix-product kernel (one per instruction set). A matrix packed for one kernel is only valid
/// with that kernel.
typedef struct hs_gemm_kernel hs_gemm_kernel;

/// The fastest kernel this CPU runs.
const hs_gemm_kernel *hs_gemm_best_kernel(void);

/// The kernel named `name` ("avx512", "avx2", "portable"), or NULL when this CPU cannot run it.
const hs_gemm_kernel *hs_gemm_named_kernel(const char *name);

/// The kernel's name.
const char *hs_gemm_kernel_name(const hs_gemm_kernel *kernel);

/// The number of floats of a packed `k` x `n` right-hand matrix.
size_t hs_gemm_packed_count(const hs_gemm_kernel *kernel, int n, int k);

/// Packs a right-hand matrix given as its transpose: `b` holds `n` rows of `k` floats (row `j` is
/// column `j` of the product's right-hand side; the layout of a linear layer's weight), row stride
/// `ldb`. `packed` receives `hs_gemm_packed_count(kernel, n, k)` floats; padding columns are zero.
void hs_gemm_pack_transposed(const hs_gemm_kernel *kernel, const float *b, size_t ldb, int n, int k, float *packed);

/// Packs a right-hand matrix given as `k` rows of `n` floats, row stride `ldb`.
void hs_gemm_pack(const hs_gemm_kernel *kernel, const float *b, size_t ldb, int k, int n, float *packed);

/// C = alpha * A * B (+ bias on every row) (+ C when `accumulate` is non-zero), where A is `m` x `k`
/// (row stride `lda`), B is packed `k` x `n` for `kernel`, C is `m` x `n` (row stride `ldc`);
/// `bias` may be NULL.
void hs_gemm(const hs_gemm_kernel *kernel, int m, int n, int k, float alpha, const float *a, size_t lda,
             const float *packed, const float *bias, int accumulate, float *c, size_t ldc);

/// An integer matrix-product kernel (the embedder's `int8` precision: blocks of 32 k with a scale
/// each, for weights and activations; see qgemm.c). Packed weights and quantised rows have one
/// layout for every integer kernel.
typedef struct hs_qgemm_kernel hs_qgemm_kernel;

/// The fastest integer kernel this CPU runs ("avx512vnni" or "portable").
const hs_qgemm_kernel *hs_qgemm_best_kernel(void);

/// The integer kernel named `name`, or NULL when this CPU cannot run it.
const hs_qgemm_kernel *hs_qgemm_named_kernel(const char *name);

/// The integer kernel's name.
const char *hs_qgemm_kernel_name(const hs_qgemm_kernel *kernel);

/// The quantisation blocks of `k` values (32 each, the last one padded).
size_t hs_qgemm_blocks(int k);

/// The bytes of one quantised row of `k` values (whole blocks).
size_t hs_qgemm_row_bytes(int k);

/// The bytes of `n` packed weight rows of `k` values.
size_t hs_qgemm_packed_bytes(int n, int k);

/// The floats of the block scales of `n` packed weight rows of `k` values.
size_t hs_qgemm_scale_count(int n, int k);

/// Quantises a linear layer's weight (`n` rows of `k` floats, row stride `ldw`: PyTorch's layout)
/// per output channel and block: `packed` receives `hs_qgemm_packed_bytes(n, k)` bytes, `scales`
/// `hs_qgemm_scale_count(n, k)` floats.
void hs_qgemm_pack_weights(const float *w, size_t ldw, int n, int k, uint8_t *packed, float *scales);

/// Quantises `m` rows of `k` floats (row stride `ldx`) per row and block with `kernel`'s
/// instruction set (every kernel writes the same bytes): `out` receives `m` rows of
/// `hs_qgemm_row_bytes(k)` bytes (row stride `ldo`); `scales` and `offsets` one value per row and
/// block (row stride `lds` >= `hs_qgemm_blocks(k)`): the block's scale and 128 x the sum of its values.
void hs_qgemm_quantize_rows(const hs_qgemm_kernel *kernel, const float *x, size_t ldx, int m, int k, int8_t *out, size_t ldo,
                            float *scales, int32_t *offsets, size_t lds);

/// C = dequantised(A W^T) (+ bias on every row) (+ C when `accumulate` is non-zero): A is `m` rows
/// quantised by `hs_qgemm_quantize_rows` (strides `lda`, `lds`), W `n` x `k` packed by
/// `hs_qgemm_pack_weights`, C is `m` x `n` (row stride `ldc`); `bias` may be NULL.
void hs_qgemm(const hs_qgemm_kernel *kernel, int m, int n, int k, const int8_t *a, size_t lda, const float *a_scales,
              const int32_t *a_offsets, size_t lds, const uint8_t *packed, const float *w_scales, const float *bias,
              int accumulate, float *c, size_t ldc);

/// A bf16 matrix-product kernel (AVX512-BF16 `vdpbf16ps` or portable C; see bgemm.c): weights and
/// activations rounded to bf16, products summed in float32.
typedef struct hs_bgemm_kernel hs_bgemm_kernel;

/// The fastest bf16 kernel this CPU supports (the portable one always exists).
const hs_bgemm_kernel *hs_bgemm_best_kernel(void);

/// The bf16 kernel called `name` ("avx512bf16", "portable"), or NULL if unknown or unsupported.
const hs_bgemm_kernel *hs_bgemm_named_kernel(const char *name);

/// The kernel's name.
const char *hs_bgemm_kernel_name(const hs_bgemm_kernel *kernel);

/// bf16 values per converted row of `k` inputs: `k` rounded up to even (the pad is zero).
size_t hs_bgemm_row_elements(int k);

/// bf16 values of W (`n` x `k`) packed by `hs_bgemm_pack_weights`.
size_t hs_bgemm_packed_count(int n, int k);

/// Rounds W (`n` rows of `k` floats, row stride `ldw`: PyTorch's layout) to bf16 and packs it.
void hs_bgemm_pack_weights(const float *w, size_t ldw, int n, int k, uint16_t *packed);

/// Rounds `m` rows of `k` floats (stride `ldx`) to bf16 (nearest, ties to even), each row
/// `hs_bgemm_row_elements(k)` values at stride `ldo`, zero-padded.
void hs_bgemm_convert_rows(const hs_bgemm_kernel *kernel, const float *x, size_t ldx, int m, int k, uint16_t *out, size_t ldo);

/// C = A Wᵀ + bias (+ C when `accumulate`): A `m` rows converted by `hs_bgemm_convert_rows`
/// (stride `lda`), W packed by `hs_bgemm_pack_weights`, C `m` x `n` (stride `ldc`); `bias` may be NULL.
void hs_bgemm(const hs_bgemm_kernel *kernel, int m, int n, int k, const uint16_t *a, size_t lda, const uint16_t *packed,
              const float *bias, int accumulate, float *c, size_t ldc);

/// Layer normalisation of `rows` rows of `n` floats (stride `n`), in place:
/// x = (x - mean) / sqrt(var + eps) * gamma + beta.
void hs_layer_norm(float *x, size_t rows, int n, const float *gamma, const float *beta, float eps);

/// x = x * 0.5 * (1 + erf(x / sqrt 2)) in place (erf to about 1.5e-7).
void hs_gelu(float *x, size_t count);

/// Softmax of each of `rows` rows over its first `n` floats (stride `ld`), in place.
void hs_softmax_rows(float *x, int rows, int n, size_t ld);

/// exp(x) for each of `count` floats, in place (relative error about 2e-7; inputs below -87 give 0).
void hs_exp(float *x, size_t count);

#ifdef __cplusplus
}
#endif
#endif
