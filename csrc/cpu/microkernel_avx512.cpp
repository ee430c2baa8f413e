// AVX-512 microkernels (12 x 32): int16 by vpmaddwd + vpaddd (AVX512BW) and vpdpwssd (AVX512-VNNI);
// the int8 filter kernel by vpdpbusd (AVX512-VNNI) and the int16 row dot product it rescores with.
// Intrinsics: 32 registers leave the compiler room for 24 accumulators, 2 B vectors and the
// broadcast. Not every test machine has AVX-512: select_microkernel() checks each against the
// scalar kernel before first use and falls back if they disagree.
#include <immintrin.h>

#include <cstdint>

#include "knn_internal.hpp"

namespace labelgraph::detail {

#define LG_ROW(r, MADD)                              \
  {                                                  \
    const __m512i av = _mm512_set1_epi32(at[r]);     \
    c##r##a = MADD(c##r##a, av, b0);                 \
    c##r##b = MADD(c##r##b, av, b1);                 \
  }

#define LG_KERNEL_BODY(MADD) LG_KERNEL_INIT(_mm512_setzero_si512(), _mm512_setzero_si512()) LG_KERNEL_LOOP(MADD)

#define LG_KERNEL_INIT(ZA, ZB)                                                                                    \
  const __m512i za = ZA, zb = ZB;                                                                                 \
  __m512i c0a = za, c0b = zb, c1a = za, c1b = zb, c2a = za, c2b = zb, c3a = za, c3b = zb, c4a = za, c4b = zb,     \
          c5a = za, c5b = zb, c6a = za, c6b = zb, c7a = za, c7b = zb, c8a = za, c8b = zb, c9a = za, c9b = zb,     \
          c10a = za, c10b = zb, c11a = za, c11b = zb;

#define LG_KERNEL_LOOP(MADD)                                                                                      \
  for (int64_t t = 0; t < k2; ++t) {                                                                              \
    const int32_t* at = a + t * 12;                                                                               \
    const int32_t* bt = b + t * 32;                                                                               \
    const __m512i b0 = _mm512_loadu_si512(bt);                                                                    \
    const __m512i b1 = _mm512_loadu_si512(bt + 16);                                                               \
    LG_ROW(0, MADD) LG_ROW(1, MADD) LG_ROW(2, MADD) LG_ROW(3, MADD) LG_ROW(4, MADD) LG_ROW(5, MADD)               \
    LG_ROW(6, MADD) LG_ROW(7, MADD) LG_ROW(8, MADD) LG_ROW(9, MADD) LG_ROW(10, MADD) LG_ROW(11, MADD)             \
  }                                                                                                               \
  const __m512i rows[24] = {c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b, c4a, c4b, c5a, c5b,                          \
                            c6a, c6b, c7a, c7b, c8a, c8b, c9a, c9b, c10a, c10b, c11a, c11b};                      \
  const __m512i col0 = _mm512_loadu_si512(gt_col);                                                                \
  const __m512i col1 = _mm512_loadu_si512(gt_col + 16);                                                           \
  uint32_t any = 0;                                                                                               \
  for (int r = 0; r < 12; ++r) {                                                                                  \
    _mm512_storeu_si512(c + 32 * r, rows[2 * r]);                                                                 \
    _mm512_storeu_si512(c + 32 * r + 16, rows[2 * r + 1]);                                                        \
    const __m512i row = _mm512_set1_epi32(gt_row[r]);                                                             \
    const uint32_t lo = _mm512_cmpgt_epi32_mask(rows[2 * r], row) | _mm512_cmpgt_epi32_mask(rows[2 * r], col0);    \
    const uint32_t hi = _mm512_cmpgt_epi32_mask(rows[2 * r + 1], row) | _mm512_cmpgt_epi32_mask(rows[2 * r + 1], col1); \
    pass[r] = lo | (hi << 16);                                                                                    \
    any |= pass[r];                                                                                               \
  }                                                                                                               \
  return any != 0;

#define LG_MADD_BW(acc, x, y) _mm512_add_epi32(acc, _mm512_madd_epi16(x, y))
#define LG_MADD_VNNI(acc, x, y) _mm512_dpwssd_epi32(acc, x, y)
#define LG_MADD_VNNI8(acc, x, y) _mm512_dpbusd_epi32(acc, x, y)

bool microkernel_avx512(const int32_t* a, const int32_t* b, int64_t k2, const int32_t* gt_row, const int32_t* gt_col,
                        int32_t* c, uint32_t* pass) {
  LG_KERNEL_BODY(LG_MADD_BW)
}

__attribute__((target("avx512vnni"))) bool microkernel_avx512_vnni(const int32_t* a, const int32_t* b, int64_t k2,
                                                                    const int32_t* gt_row, const int32_t* gt_col,
                                                                    int32_t* c, uint32_t* pass) {
  LG_KERNEL_BODY(LG_MADD_VNNI)
}

// The accumulators start at -corr (the +128 offset of A's values, knn_internal.hpp).
__attribute__((target("avx512vnni"))) bool microkernel_avx512_vnni_int8(const int32_t* a, const int32_t* b, int64_t k2,
                                                                         const int32_t* corr, const int32_t* gt_row,
                                                                         const int32_t* gt_col, int32_t* c,
                                                                         uint32_t* pass) {
  LG_KERNEL_INIT(_mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(corr)),
                 _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(corr + 16)))
  LG_KERNEL_LOOP(LG_MADD_VNNI8)
}

int32_t dot16_avx512(const int32_t* a, const int32_t* b, int64_t d2) {
  __m512i acc = _mm512_setzero_si512();
  int64_t t = 0;
  for (; t + 16 <= d2; t += 16) acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_loadu_si512(a + t), _mm512_loadu_si512(b + t)));
  if (t < d2) {
    const __mmask16 m = __mmask16((1u << (d2 - t)) - 1u);
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maskz_loadu_epi32(m, a + t), _mm512_maskz_loadu_epi32(m, b + t)));
  }
  return _mm512_reduce_add_epi32(acc);
}

#undef LG_MADD_VNNI8
#undef LG_MADD_VNNI
#undef LG_MADD_BW
#undef LG_KERNEL_BODY
#undef LG_KERNEL_INIT
#undef LG_KERNEL_LOOP
#undef LG_ROW

}  // namespace labelgraph::detail
