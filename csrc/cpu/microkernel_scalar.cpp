// Portable microkernels: int16 (4 x 8), the fallback for CPUs without AVX2, and the int8 filter
// kernel and int16 row dot product, the oracles the SIMD ones are checked against.
#include <cstdint>

#include "knn_internal.hpp"

namespace labelgraph::detail {
namespace {
inline int32_t low16(int32_t w) { return static_cast<int16_t>(static_cast<uint16_t>(uint32_t(w) & 0xffffu)); }
inline int32_t high16(int32_t w) { return static_cast<int16_t>(static_cast<uint16_t>(uint32_t(w) >> 16)); }
}  // namespace

bool microkernel_scalar(const int32_t* a, const int32_t* b, int64_t k2, const int32_t* gt_row, const int32_t* gt_col,
                        int32_t* c, uint32_t* pass) {
  constexpr int MR = 4, NR = 8;
  int32_t acc[MR][NR] = {};
  for (int64_t t = 0; t < k2; ++t) {
    const int32_t* at = a + t * MR;
    const int32_t* bt = b + t * NR;
    for (int r = 0; r < MR; ++r) {
      const int32_t a0 = low16(at[r]), a1 = high16(at[r]);
      for (int j = 0; j < NR; ++j) acc[r][j] += a0 * low16(bt[j]) + a1 * high16(bt[j]);
    }
  }
  uint32_t any = 0;
  for (int r = 0; r < MR; ++r) {
    uint32_t bits = 0;
    for (int j = 0; j < NR; ++j) {
      c[r * NR + j] = acc[r][j];
      bits |= uint32_t(acc[r][j] > gt_row[r] || acc[r][j] > gt_col[j]) << j;
    }
    pass[r] = bits;
    any |= bits;
  }
  return any != 0;
}

bool microkernel_scalar_int8(const int32_t* a, const int32_t* b, int64_t k4, const int32_t* corr,
                             const int32_t* gt_row, const int32_t* gt_col, int32_t* c, uint32_t* pass) {
  constexpr int MR = 4, NR = 8;
  uint32_t acc[MR][NR] = {};  // unsigned: the offset sums may wrap (knn_internal.hpp), as vpdpbusd's do
  for (int64_t t = 0; t < k4; ++t) {
    const int32_t* at = a + t * MR;
    const int32_t* bt = b + t * NR;
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j)
        for (int s = 0; s < 4; ++s) {
          const int32_t x = int32_t((uint32_t(at[r]) >> (8 * s)) & 0xffu);             // uint8
          const int32_t y = int32_t(int8_t(uint8_t((uint32_t(bt[j]) >> (8 * s)) & 0xffu)));  // int8
          acc[r][j] += uint32_t(x * y);
        }
  }
  uint32_t any = 0;
  for (int r = 0; r < MR; ++r) {
    uint32_t bits = 0;
    for (int j = 0; j < NR; ++j) {
      const int32_t v = int32_t(acc[r][j] - uint32_t(corr[j]));
      c[r * NR + j] = v;
      bits |= uint32_t(v > gt_row[r] || v > gt_col[j]) << j;
    }
    pass[r] = bits;
    any |= bits;
  }
  return any != 0;
}

int32_t dot16_scalar(const int32_t* a, const int32_t* b, int64_t d2) {
  int32_t s = 0;  // no overflow: the bound beside the int16 quantisation (knn_quantize.cpp)
  for (int64_t t = 0; t < d2; ++t) s += low16(a[t]) * low16(b[t]) + high16(a[t]) * high16(b[t]);
  return s;
}

}  // namespace labelgraph::detail
