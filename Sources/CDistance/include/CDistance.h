#ifndef HINDSIGHT_CDISTANCE_H
#define HINDSIGHT_CDISTANCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Signature shared by every dot-product kernel: `count` Float32 values at `a` and at `b`
/// (any alignment), summed products returned.
typedef float (*hs_dot_fn)(const void *a, const void *b, size_t count);

/// Dot product with AVX-512F (four 16-lane accumulators, masked tail). Only call when
/// `hs_cpu_has_avx512f()` is true.
float hs_dot_avx512(const void *a, const void *b, size_t count);

/// Dot product with AVX2 and FMA (four 8-lane accumulators). Only call when
/// `hs_cpu_has_avx2_fma()` is true.
float hs_dot_avx2(const void *a, const void *b, size_t count);

/// Dot products of one query against four vectors at once (AVX-512F), for exact scans:
/// the query is loaded once per step. Results go to `out[0..4)`.
void hs_dot4_avx512(const void *query, const void *v0, const void *v1, const void *v2, const void *v3,
                    size_t count, float *out);

/// Whether the CPU (and OS) support the AVX-512F kernel.
int hs_cpu_has_avx512f(void);
/// Whether the CPU (and OS) support the AVX2 + FMA kernel.
int hs_cpu_has_avx2_fma(void);

/// Signature shared by every int8 dot-product kernel: `count` u8 codes at `a` times `count` s8
/// codes at `b` (any alignment), summed exactly in 32 bits (exact for `count` up to 65,536).
typedef int32_t (*hs_dot_u8s8_fn)(const void *a, const void *b, size_t count);

/// u8·s8 dot product with AVX-512 VNNI (`vpdpbusd`, masked tail). Only call when
/// `hs_cpu_has_avx512_vnni()` is true.
int32_t hs_dot_u8s8_vnni(const void *a, const void *b, size_t count);
/// u8·s8 dot product with AVX2 (widened to 16 bits, `vpmaddwd`). Only call when `hs_cpu_has_avx2()`.
int32_t hs_dot_u8s8_avx2(const void *a, const void *b, size_t count);
/// u8·s8 dot product in plain C: any CPU, and the reference the others are tested against.
int32_t hs_dot_u8s8_portable(const void *a, const void *b, size_t count);

/// Quantises `count` floats to u8 codes `round(x / scale) + 128` with `scale = max |x| / 127`
/// (codes of 1…255); returns the scale (0 for a zero vector, whose codes are all 128).
float hs_quantize_u8(const float *x, size_t count, uint8_t *codes);
/// Quantises `count` floats to s8 codes `round(x / scale)` in −127…127 with `scale = max |x| / 127`;
/// stores the sum of the codes in `code_sum` and returns the scale.
float hs_quantize_s8(const float *x, size_t count, int8_t *codes, int32_t *code_sum);

/// Whether the CPU (and OS) support the AVX-512 VNNI kernel (with AVX-512F and BW).
int hs_cpu_has_avx512_vnni(void);
/// Whether the CPU (and OS) support AVX2.
int hs_cpu_has_avx2(void);

/// Rounds `count` floats at `x` to bf16 (the top 16 bits of a float32, round to nearest even),
/// written to `codes` as little-endian u16; both at any alignment (vectors in the map are only
/// 2-byte aligned).
void hs_to_bf16(const void *x, size_t count, void *codes);
/// Sum of `count` products of float32 `query` values and bf16 `codes` (2-byte aligned or not),
/// AVX-512F. Only call when `hs_cpu_has_avx512f()` is true.
float hs_dot_f32bf16_avx512(const void *queryBytes, const void *codes, size_t count);
/// The same with AVX2 + FMA. Only call when `hs_cpu_has_avx2_fma()` is true.
float hs_dot_f32bf16_avx2(const void *queryBytes, const void *codes, size_t count);
/// The same in plain C: any CPU, and the reference the others are tested against.
float hs_dot_f32bf16_portable(const void *queryBytes, const void *codes, size_t count);
/// Sum of `count` products of bf16 `query` codes and bf16 `codes` (both any 2-byte alignment),
/// AVX512-BF16 `vdpbf16ps`. Only call when `hs_cpu_has_avx512_bf16()` is true.
float hs_dot_bf16bf16_avx512bf16(const void *query, const void *codes, size_t count);
/// Whether the CPU (and OS) support AVX-512F, AVX-512BW and AVX512-BF16.
int hs_cpu_has_avx512_bf16(void);

/// Asks the CPU to start loading the cache lines of `bytes` bytes at `address` (no effect on
/// correctness). At most the first `max_lines` 64-byte lines are requested.
static inline void hs_prefetch(const void *address, size_t bytes, size_t max_lines) {
    const char *p = (const char *)address;
    size_t lines = (bytes + 63) / 64;
    if (lines > max_lines) lines = max_lines;
    for (size_t i = 0; i < lines; i++) __builtin_prefetch(p + 64 * i, 0, 3);
}

#ifdef __cplusplus
}
#endif

#endif

#ifndef HINDSIGHT_CRC32C
#define HINDSIGHT_CRC32C
#ifdef __cplusplus
extern "C" {
#endif
/// CRC-32C (Castagnoli) of `count` bytes, continuing from `crc` (0 to start): SSE4.2 when the
/// CPU has it, a table otherwise. Checksums of stored chunks and records, checked by `verify`.
uint32_t hs_crc32c(uint32_t crc, const void *bytes, size_t count);

/// The same CRC-32C by table lookup, the path taken without SSE4.2 (exposed so tests can check
/// that both paths agree).
uint32_t hs_crc32c_portable(uint32_t crc, const void *bytes, size_t count);
#ifdef __cplusplus
}
#endif
#endif
