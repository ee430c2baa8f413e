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

// Largest lane (through 256-bit halves: see max_all on the 512-bit reductions).
inline float lane_max(__m512 v) {
  const __m256 half = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

// Per-row lane-wise maxima of |new - old| and max(|new|, |old|), for the relative change.
struct RowMoves {
  __m512 move = _mm512_setzero_ps();
  __m512 scale = _mm512_setzero_ps();
  float relative() const { return relative_change(lane_max(move), lane_max(scale)); }
  void fold(__m512 now, __m512 before) {
    move = max_all(move, _mm512_abs_ps(_mm512_sub_ps(now, before)));
    scale = max_all(scale, max_all(_mm512_abs_ps(now), _mm512_abs_ps(before)));
  }
};

// Columns [c0, c0 + 16V) of row i; folds |new - old| and the scores' size into `moves`.
template <int V>
inline void row_block(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                      int64_t p_limit, int64_t c0, int label, const float* seed, RowMoves& moves) {
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
      if (seed)
        y = _mm512_add_ps(y, _mm512_mul_ps(_mm512_set1_ps(a.one_minus_alpha), _mm512_loadu_ps(seed + c0 + 16 * v)));
      if (a.omega != 1.0f)
        y = _mm512_fmadd_ps(_mm512_set1_ps(a.omega), y,
                            _mm512_mul_ps(_mm512_set1_ps(1.0f - a.omega), _mm512_load_ps(out + c0 + 16 * v)));
    }
    if (a.track_change) moves.fold(y, _mm512_load_ps(old + c0 + 16 * v));
    _mm512_store_ps(out + c0 + 16 * v, y);
  }
}

// Widths 4 and 8 (c <= 8): one 128- or 256-bit vector per row, as in the AVX2 sweep.
template <int W>
inline void row_narrow(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                       int64_t p_limit, int label, const float* seed, RowMoves& moves) {
  const __mmask16 lanes = __mmask16((1u << W) - 1);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t p = p0; p < p1; ++p) {
    prefetch_rows(a, src, p, p_limit, 0, 1);
    const __m512 w = _mm512_set1_ps(a.values[p]);
    acc = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(lanes, src + int64_t(a.indices[p]) * W), acc);
  }
  if (!a.clamp) {
    const __mmask16 hit = (label >= 0 && label < W) ? __mmask16(1u << label) : __mmask16(0);
    acc = _mm512_mul_ps(_mm512_set1_ps(a.alpha), acc);
    acc = _mm512_mask_add_ps(acc, hit, acc, _mm512_set1_ps(a.one_minus_alpha));
    if (seed)
      acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_set1_ps(a.one_minus_alpha), _mm512_maskz_loadu_ps(lanes, seed)));
    if (a.omega != 1.0f)
      acc = _mm512_fmadd_ps(_mm512_set1_ps(a.omega), acc,
                            _mm512_mul_ps(_mm512_set1_ps(1.0f - a.omega), _mm512_maskz_loadu_ps(lanes, out)));
  }
  if (a.track_change) moves.fold(acc, _mm512_maskz_loadu_ps(lanes, old));  // masked-off lanes: 0 and 0
  _mm512_mask_storeu_ps(out, lanes, acc);
}

}  // namespace

// Seeded = false: no row reads seed values (every sweep of single labels, and clamp mode), so the
// seed code compiles away.
template <bool Seeded>
float sweep_rows_avx512(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  const int64_t p_limit = swept_nonzero_limit(a, begin, end);
  return for_each_swept_row(a, src, dst, begin, end, [&](int label, const float* row_seed, int64_t p0, int64_t p1,
                                                         float* out, const float* old) {
    const float* seed = Seeded ? row_seed : nullptr;
    RowMoves moves;
    if (a.width == 4) {
      row_narrow<4>(a, src, out, old, p0, p1, p_limit, label, seed, moves);
    } else if (a.width == 8) {
      row_narrow<8>(a, src, out, old, p0, p1, p_limit, label, seed, moves);
    } else if (a.width == 16) {
      row_block<1>(a, src, out, old, p0, p1, p_limit, 0, label, seed, moves);
    } else {
      int64_t c0 = 0;
      for (; c0 + 64 <= a.width; c0 += 64) row_block<4>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      const int64_t rest = a.width - c0;
      if (rest == 16) row_block<1>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      if (rest == 32) row_block<2>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      if (rest == 48) row_block<3>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
    }
    return a.track_change ? moves.relative() : 0.0f;
  });
}

float sweep_avx512(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  return a.seeds ? sweep_rows_avx512<true>(a, src, dst, begin, end) : sweep_rows_avx512<false>(a, src, dst, begin, end);
}

}  // namespace labelgraph::detail
