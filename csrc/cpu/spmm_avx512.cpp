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

// Largest lane (through 256-bit halves: see max_all on the 512-bit reductions; the low half by
// extraction too, as _mm512_castps512_ps256 expands to an extraction into an undefined vector).
inline float lane_max(__m512 v) {
  const __m256 half = _mm256_max_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

// sum + w * *entry, rounded once (as in spmm_avx2.cpp: a scalar FMA keeps the sum in its register).
inline float add_reach(float sum, float w, const float* entry) { return __builtin_fmaf(w, *entry, sum); }

// Per-row lane-wise maxima of |new - old| and max(|new|, |old|), for the relative change.
struct RowMoves {
  __m512 move = _mm512_setzero_ps();
  __m512 scale = _mm512_setzero_ps();
  // With the reach entry's move and size (finish_reach) folded in.
  float relative(float reach_move = 0.0f, float reach_scale = 0.0f) const {
    return relative_change(std::max(lane_max(move), reach_move), std::max(lane_max(scale), reach_scale));
  }
  void fold(__m512 now, __m512 before) {
    move = max_all(move, _mm512_abs_ps(_mm512_sub_ps(now, before)));
    scale = max_all(scale, max_all(_mm512_abs_ps(now), _mm512_abs_ps(before)));
  }
};

// Columns [c0, c0 + 16V) of row i; folds |new - old| and the scores' size into `moves`; Reach:
// the reach column's sum over the same nonzeros into `reach` (as in spmm_avx2.cpp).
template <int V, bool Reach = false>
inline void row_block(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                      int64_t p_limit, int64_t c0, int label, const float* seed, RowMoves& moves,
                      float* reach = nullptr) {
  // Nonzero p adds into accumulator set (p - p0) % kSets (see spmm_avx2.cpp: narrow rows are
  // otherwise bound by the FMA latency); the sets are summed in a fixed order.
  constexpr int kSets = V == 1 ? 4 : (V == 2 ? 2 : 1);
  __m512 acc[kSets][V];
  float racc[kSets] = {};  // the reach sums (scalar FMAs: see add_reach)
  for (int s = 0; s < kSets; ++s)
    for (int v = 0; v < V; ++v) acc[s][v] = _mm512_setzero_ps();
  // Nonzero q into set s. The tail (fewer than kSets nonzeros) loops over a constant count, so
  // every set index is a compile-time constant once unrolled: with a run-time index GCC keeps
  // the accumulators in memory (a store per nonzero) as soon as the reach sums are added.
  const int64_t width = a.width;  // a local: GCC reloads a.width per nonzero in the loops with the reach sums
  auto add = [&](int s, int64_t q) {
    prefetch_rows(a, src, q, p_limit, c0, V);
    const int64_t j = a.indices[q];
    const float* row = src + j * width + c0;
    const __m512 w = _mm512_set1_ps(a.values[q]);
    for (int v = 0; v < V; ++v) acc[s][v] = _mm512_fmadd_ps(w, _mm512_load_ps(row + 16 * v), acc[s][v]);
    if constexpr (Reach) racc[s] = add_reach(racc[s], a.values[q], a.reach_src + j);
  };
  int64_t p = p0;
  for (; p + kSets <= p1; p += kSets)
    for (int s = 0; s < kSets; ++s) add(s, p + s);
  for (int s = 0; s + 1 < kSets; ++s)
    if (p + s < p1) add(s, p + s);
  if constexpr (kSets == 4) {
    for (int v = 0; v < V; ++v)
      acc[0][v] = _mm512_add_ps(_mm512_add_ps(acc[0][v], acc[1][v]), _mm512_add_ps(acc[2][v], acc[3][v]));
    if constexpr (Reach) *reach = (racc[0] + racc[1]) + (racc[2] + racc[3]);
  } else if constexpr (kSets == 2) {
    for (int v = 0; v < V; ++v) acc[0][v] = _mm512_add_ps(acc[0][v], acc[1][v]);
    if constexpr (Reach) *reach = racc[0] + racc[1];
  } else if constexpr (Reach) {
    *reach = racc[0];
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

// Widths 4 and 8 (c <= 8): one 128- or 256-bit vector per row, as in the AVX2 sweep; the reach
// column's sum into `reach` (Reach).
template <int W, bool Reach>
inline void row_narrow(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                       int64_t p_limit, int label, const float* seed, RowMoves& moves, float* reach) {
  const __mmask16 lanes = __mmask16((1u << W) - 1);
  // Two accumulator sets with the reach sums, one for single labels (as in spmm_avx2.cpp).
  constexpr int kSets = Reach ? 2 : 1;
  __m512 acc[kSets];
  float racc[kSets] = {};
  for (int s = 0; s < kSets; ++s) acc[s] = _mm512_setzero_ps();
  auto add = [&](int s, int64_t p) {
    prefetch_rows(a, src, p, p_limit, 0, 1);
    const int64_t j = a.indices[p];
    const __m512 w = _mm512_set1_ps(a.values[p]);
    acc[s] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(lanes, src + j * W), acc[s]);
    if constexpr (Reach) racc[s] = add_reach(racc[s], a.values[p], a.reach_src + j);
  };
  int64_t p = p0;
  for (; p + kSets <= p1; p += kSets)
    for (int s = 0; s < kSets; ++s) add(s, p + s);
  if (p < p1) add(0, p);  // Reach only: one nonzero left
  __m512 sum = acc[0];
  if constexpr (Reach) {
    sum = _mm512_add_ps(acc[0], acc[1]);
    *reach = racc[0] + racc[1];
  }
  if (!a.clamp) {
    const __mmask16 hit = (label >= 0 && label < W) ? __mmask16(1u << label) : __mmask16(0);
    sum = _mm512_mul_ps(_mm512_set1_ps(a.alpha), sum);
    sum = _mm512_mask_add_ps(sum, hit, sum, _mm512_set1_ps(a.one_minus_alpha));
    if (seed)
      sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_set1_ps(a.one_minus_alpha), _mm512_maskz_loadu_ps(lanes, seed)));
    if (a.omega != 1.0f)
      sum = _mm512_fmadd_ps(_mm512_set1_ps(a.omega), sum,
                            _mm512_mul_ps(_mm512_set1_ps(1.0f - a.omega), _mm512_maskz_loadu_ps(lanes, out)));
  }
  if (a.track_change) moves.fold(sum, _mm512_maskz_loadu_ps(lanes, old));  // masked-off lanes: 0 and 0
  _mm512_mask_storeu_ps(out, lanes, sum);
}

}  // namespace

// Seeded = false: no row reads seed values (every sweep of single labels, and clamp mode), so the
// seed code compiles away; Reach = false: no reach column (single labels), nor its code. Width:
// the padded width when fixed at compile time (4 to 64, chosen once per sweep as in
// spmm_avx2.cpp), 0 when read per row (wider rows).
template <bool Seeded, bool Reach, int Width = 0>
float sweep_rows_avx512(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  const int64_t p_limit = swept_nonzero_limit(a, begin, end);
  return for_each_swept_row<Reach>(a, src, dst, begin, end, [&](int label, const float* row_seed, int64_t p0,
                                                                int64_t p1, float* out, const float* old,
                                                                float* reach_out,
                                                                const float* reach_old) LABELGRAPH_ROW_INLINE {
    const float* seed = Seeded ? row_seed : nullptr;
    float reach = 0.0f, reach_move = 0.0f, reach_scale = 0.0f;
    RowMoves moves;
    if (Width ? Width == 4 : a.width == 4) {
      row_narrow<4, Reach>(a, src, out, old, p0, p1, p_limit, label, seed, moves, &reach);
    } else if (Width ? Width == 8 : a.width == 8) {
      row_narrow<8, Reach>(a, src, out, old, p0, p1, p_limit, label, seed, moves, &reach);
    } else if (Width ? Width == 16 : a.width == 16) {
      row_block<1, Reach>(a, src, out, old, p0, p1, p_limit, 0, label, seed, moves, &reach);
    } else if (Width == 0 || Width >= 32) {
      const int64_t width = Width ? Width : a.width;
      // The reach column is summed with the first column block: one pass over the nonzeros.
      int64_t c0 = 0;
      if (width >= 64) {
        row_block<4, Reach>(a, src, out, old, p0, p1, p_limit, 0, label, seed, moves, &reach);
        for (c0 = 64; c0 + 64 <= width; c0 += 64) row_block<4>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      }
      const int64_t rest = width - c0;
      if (rest == 16) row_block<1>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);  // c0 >= 64 here
      if (rest == 32) {
        if (c0 == 0) row_block<2, Reach>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves, &reach);
        else row_block<2>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      }
      if (rest == 48) {
        if (c0 == 0) row_block<3, Reach>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves, &reach);
        else row_block<3>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      }
    }
    if constexpr (Reach) finish_reach(a, reach, label, reach_out, reach_old, reach_move, reach_scale);
    return a.track_change ? moves.relative(reach_move, reach_scale) : 0.0f;
  });
}

// Every sweep at a compile-time width up to 64 floats, wider rows reading it per row.
template <bool Seeded, bool Reach>
float sweep_fixed_avx512(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  switch (a.width) {
    case 4: return sweep_rows_avx512<Seeded, Reach, 4>(a, src, dst, begin, end);
    case 8: return sweep_rows_avx512<Seeded, Reach, 8>(a, src, dst, begin, end);
    case 16: return sweep_rows_avx512<Seeded, Reach, 16>(a, src, dst, begin, end);
    case 32: return sweep_rows_avx512<Seeded, Reach, 32>(a, src, dst, begin, end);
    case 48: return sweep_rows_avx512<Seeded, Reach, 48>(a, src, dst, begin, end);
    case 64: return sweep_rows_avx512<Seeded, Reach, 64>(a, src, dst, begin, end);
    default: return sweep_rows_avx512<Seeded, Reach>(a, src, dst, begin, end);
  }
}

float sweep_avx512(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  if (a.reach_src)
    return a.seeds ? sweep_fixed_avx512<true, true>(a, src, dst, begin, end) : sweep_fixed_avx512<false, true>(a, src, dst, begin, end);
  return a.seeds ? sweep_fixed_avx512<true, false>(a, src, dst, begin, end)
                 : sweep_fixed_avx512<false, false>(a, src, dst, begin, end);
}

}  // namespace labelgraph::detail
