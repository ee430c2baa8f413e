// AVX-512F propagation sweep: the AVX2 sweep with 16-float vectors (one zmm = one cache line).
//
// Only called when active_simd_level() >= avx512; no development machine here can run it, so it
// stays a line-by-line translation of spmm_avx2.cpp.
#include <immintrin.h>

#include <algorithm>

#include "spmm_internal.hpp"

namespace labelgraph::detail {
namespace {

// _mm512_max_ps and _mm512_reduce_max_ps expand to _mm512_undefined_ps(), which GCC 12 flags as
// uninitialised under -Wall; the masked form with every lane set is the same instruction.
inline __m512 max_all(__m512 a, __m512 b) { return _mm512_mask_max_ps(a, __mmask16(0xFFFF), a, b); }

// Columns [c0, c0 + 16V) of row i; returns the running max of |new - old|.
template <int V>
inline __m512 row_block(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                        int64_t p_limit, int64_t c0, int label, __m512 change) {
  // Nonzero p adds into accumulator set (p - p0) % kSets (see spmm_avx2.cpp: narrow rows are
  // otherwise bound by the FMA latency); the sets are summed in a fixed order.
  constexpr int kSets = V == 1 ? 4 : (V == 2 ? 2 : 1);
  __m512 acc[kSets][V];
  for (int s = 0; s < kSets; ++s)
    for (int v = 0; v < V; ++v) acc[s][v] = _mm512_setzero_ps();
  int64_t p = p0;
  for (; p + kSets <= p1; p += kSets) {
    for (int s = 0; s < kSets; ++s) {
      prefetch_rows(a, src, p + s, p_limit, c0, V);
      const float* row = src + int64_t(a.indices[p + s]) * a.width + c0;
      const __m512 w = _mm512_set1_ps(a.values[p + s]);
      for (int v = 0; v < V; ++v) acc[s][v] = _mm512_fmadd_ps(w, _mm512_load_ps(row + 16 * v), acc[s][v]);
    }
  }
  for (int s = 0; p < p1; ++p, ++s) {
    prefetch_rows(a, src, p, p_limit, c0, V);
    const float* row = src + int64_t(a.indices[p]) * a.width + c0;
    const __m512 w = _mm512_set1_ps(a.values[p]);
    for (int v = 0; v < V; ++v) acc[s][v] = _mm512_fmadd_ps(w, _mm512_load_ps(row + 16 * v), acc[s][v]);
  }
  if constexpr (kSets == 4) {
    for (int v = 0; v < V; ++v)
      acc[0][v] = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]), _mm512_add_ps(acc[2][v], acc[3][v]));
  } else if constexpr (kSets == 2) {
    for (int v = 0; v < V; ++v) acc[0][v] = _mm512_add_ps(acc[0][v], acc[1][v]);
  }
  for (int v = 0; v < V; ++v) {
    __m512 y = acc[0][v];
    if (!a.clamp) {
      const int lane = label - int(c0) - 16 * v;
      const __mmask16 hit = (lane >= 0 && lane < 16) ? __mmask16(1u << lane) : __mmask16(0);
      y = _mm512_mul_ps(_mm512_set1_ps(a.alpha), y);
      y = _mm512_mask_add_ps(y, hit, y, _mm512_set1_ps(a.one_minus_alpha));
    }
    if (a.track_change) change = max_all(change, _mm512_abs_ps(_mm512_sub_ps(y, _mm512_load_ps(old + c0 + 16 * v))));
    _mm512_store_ps(out + c0 + 16 * v, y);
  }
  return change;
}

// Widths 4 and 8 (c <= 8): one 128- or 256-bit vector per row, as in the AVX2 sweep.
template <int W>
inline __m512 row_narrow(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                         int64_t p_limit, int label, __m512 change) {
  const __mmask16 lanes = __mmask16((1u << W) - 1);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t p = p0; p < p1; ++p) {
    prefetch_rows(a, src, p, p_limit, 0, 1);
    const __m512 w = _mm512_set1_ps(a.values[p]);
    acc = _mm512_fmadd_ps(w, _mm512_maskz_load_ps(lanes, src + int64_t(a.indices[p]) * W), acc);
  }
  if (!a.clamp) {
    const __mmask16 hit = (label >= 0 && label < W) ? __mmask16(1u << label) : __mmask16(0);
    acc = _mm512_mul_ps(_mm512_set1_ps(a.alpha), acc);
    acc = _mm512_mask_add_ps(acc, hit, acc, _mm512_set1_ps(a.one_minus_alpha));
  }
  if (a.track_change) change = max_all(change, _mm512_abs_ps(_mm512_sub_ps(acc, _mm512_maskz_load_ps(lanes, old))));
  _mm512_mask_store_ps(out, lanes, acc);
  return change;
}

}  // namespace

float sweep_avx512(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  const int64_t p_limit = a.indptr[end];
  __m512 change = _mm512_setzero_ps();
  for_each_swept_row(a, src, dst, begin, end, [&](int label, int64_t p0, int64_t p1, float* out, const float* old) {
    if (a.width == 4) {
      change = row_narrow<4>(a, src, out, old, p0, p1, p_limit, label, change);
    } else if (a.width == 8) {
      change = row_narrow<8>(a, src, out, old, p0, p1, p_limit, label, change);
    } else if (a.width == 16) {
      change = row_block<1>(a, src, out, old, p0, p1, p_limit, 0, label, change);
    } else {
      int64_t c0 = 0;
      for (; c0 + 64 <= a.width; c0 += 64) change = row_block<4>(a, src, out, old, p0, p1, p_limit, c0, label, change);
      const int64_t rest = a.width - c0;
      if (rest == 16) change = row_block<1>(a, src, out, old, p0, p1, p_limit, c0, label, change);
      if (rest == 32) change = row_block<2>(a, src, out, old, p0, p1, p_limit, c0, label, change);
      if (rest == 48) change = row_block<3>(a, src, out, old, p0, p1, p_limit, c0, label, change);
    }
  });
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, change);
  return *std::max_element(lanes, lanes + 16);
}

}  // namespace labelgraph::detail
