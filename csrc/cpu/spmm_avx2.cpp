// AVX2+FMA propagation sweep: rows gathered as aligned 8-float vectors, prefetched ahead.
//
// The sweep is bound by the random gathers of src rows (one 64-byte line per nonzero for
// c <= 16), so the loop keeps a whole row block in registers and prefetches the rows of the
// nonzeros kPrefetchAhead positions ahead, across row boundaries.
#include <immintrin.h>

#include <algorithm>

#include "spmm_internal.hpp"

namespace labelgraph::detail {
namespace {

// Largest lane.
inline float lane_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}

// sum + w * *entry, rounded once (as _mm_fmadd_ss): a scalar FMA on floats lets GCC fold the
// reach entry's load into vfmadd231ss and keep the sum in its register; _mm_fmadd_ss takes the
// upper lanes from a multiplicand, which cost a load and a register copy per nonzero.
inline float add_reach(float sum, float w, const float* entry) { return __builtin_fmaf(w, *entry, sum); }

// Per-row lane-wise maxima of |new - old| and max(|new|, |old|), for the relative change.
struct RowMoves {
  __m256 move = _mm256_setzero_ps();
  __m256 scale = _mm256_setzero_ps();
  // With the reach entry's move and size (finish_reach) folded in.
  float relative(float reach_move = 0.0f, float reach_scale = 0.0f) const {
    return relative_change(std::max(lane_max(move), reach_move), std::max(lane_max(scale), reach_scale));
  }
};

// Columns [c0, c0 + 8V) of row i; folds |new - old| and the scores' size into `moves`. Nonzero p adds into
// accumulator set p % kSets: with one set every FMA waits for the previous one (4 cycles), which
// bounds narrow rows (c <= 16) at 4 cycles per nonzero; the sets are summed in a fixed order, so
// results stay the same on every run and thread count. Reach: the reach column's sum over the
// same nonzeros into `reach` (one scalar accumulator per set, summed in the same order).
template <int V, bool Reach = false>
inline void row_block(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                      int64_t p_limit, int64_t c0, int label, const float* seed, RowMoves& moves,
                      float* reach = nullptr) {
  constexpr int kSets = V <= 2 ? 4 : (V <= 4 ? 2 : 1);
  __m256 acc[kSets][V];
  float racc[kSets] = {};  // the reach sums (scalar FMAs: see add_reach)
  for (int s = 0; s < kSets; ++s)
    for (int v = 0; v < V; ++v) acc[s][v] = _mm256_setzero_ps();
  // Nonzero q into set s. The tail (fewer than kSets nonzeros) loops over a constant count, so
  // every set index is a compile-time constant once unrolled: with a run-time index GCC keeps
  // the accumulators in memory (a store per nonzero) as soon as the reach sums are added.
  const int64_t width = a.width;  // a local: GCC reloads a.width per nonzero in the loops with the reach sums
  auto add = [&](int s, int64_t q) {
    prefetch_rows(a, src, q, p_limit, c0, (V + 1) / 2);
    const int64_t j = a.indices[q];
    const float* row = src + j * width + c0;
    const __m256 w = _mm256_broadcast_ss(a.values + q);
    for (int v = 0; v < V; ++v) acc[s][v] = _mm256_fmadd_ps(w, _mm256_load_ps(row + 8 * v), acc[s][v]);
    if constexpr (Reach) racc[s] = add_reach(racc[s], _mm256_cvtss_f32(w), a.reach_src + j);
  };
  int64_t p = p0;
  for (; p + kSets <= p1; p += kSets)
    for (int s = 0; s < kSets; ++s) add(s, p + s);
  for (int s = 0; s + 1 < kSets; ++s)
    if (p + s < p1) add(s, p + s);
  if constexpr (kSets == 4) {
    for (int v = 0; v < V; ++v)
      acc[0][v] = _mm256_add_ps(_mm256_add_ps(acc[0][v], acc[1][v]), _mm256_add_ps(acc[2][v], acc[3][v]));
    if constexpr (Reach) *reach = (racc[0] + racc[1]) + (racc[2] + racc[3]);
  } else if constexpr (kSets == 2) {
    for (int v = 0; v < V; ++v) acc[0][v] = _mm256_add_ps(acc[0][v], acc[1][v]);
    if constexpr (Reach) *reach = racc[0] + racc[1];
  } else if constexpr (Reach) {
    *reach = racc[0];
  }
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int v = 0; v < V; ++v) {
    __m256 y = acc[0][v];
    if (!a.clamp) {
      // alpha * (S Y)_i + (1 - alpha) * onehot(label): the one-hot lane found by comparison.
      const __m256i hit = _mm256_cmpeq_epi32(lane, _mm256_set1_epi32(label - int(c0) - 8 * v));
      const __m256 bias = _mm256_and_ps(_mm256_castsi256_ps(hit), _mm256_set1_ps(a.one_minus_alpha));
      y = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(a.alpha), y), bias);
      if (seed)
        y = _mm256_add_ps(y, _mm256_mul_ps(_mm256_set1_ps(a.one_minus_alpha), _mm256_loadu_ps(seed + c0 + 8 * v)));
      if (a.omega != 1.0f)
        y = _mm256_fmadd_ps(_mm256_set1_ps(a.omega), y,
                            _mm256_mul_ps(_mm256_set1_ps(1.0f - a.omega), _mm256_load_ps(out + c0 + 8 * v)));
    }
    if (a.track_change) {
      const __m256 before = _mm256_load_ps(old + c0 + 8 * v);
      moves.move = _mm256_max_ps(moves.move, _mm256_and_ps(abs_mask, _mm256_sub_ps(y, before)));
      moves.scale = _mm256_max_ps(moves.scale, _mm256_max_ps(_mm256_and_ps(abs_mask, y), _mm256_and_ps(abs_mask, before)));
    }
    _mm256_store_ps(out + c0 + 8 * v, y);
  }
}

// Width 4 (c <= 4): one 128-bit vector per row; folds its moves into `moves` (the 128-bit lanes
// in the low half, zeros above) and the reach column's sum into `reach` (Reach).
template <bool Reach>
inline void row_narrow(const SweepArgs& a, const float* src, float* out, const float* old, int64_t p0, int64_t p1,
                       int64_t p_limit, int label, const float* seed, RowMoves& moves, float* reach) {
  // With the reach sums each loop step does twice the work on two FMA
  // chains, so nonzero p adds into set (p - p0) % 2 and the sets are summed in a fixed order;
  // single labels keep one set (their sums, and results, as before).
  constexpr int kSets = Reach ? 2 : 1;
  __m128 acc[kSets];
  float racc[kSets] = {};
  for (int s = 0; s < kSets; ++s) acc[s] = _mm_setzero_ps();
  auto add = [&](int s, int64_t p) {
    prefetch_rows(a, src, p, p_limit, 0, 1);
    const int64_t j = a.indices[p];
    const __m128 w = _mm_broadcast_ss(a.values + p);
    if constexpr (Reach) {
      // 4 j: the row's offset in floats and the reach entry's in bytes. Written so, GCC makes the
      // row's address with one lea per nonzero, where it otherwise copies j and shifts the copy.
      const int64_t offset = j * 4;
      acc[s] = _mm_fmadd_ps(w, _mm_load_ps(src + offset), acc[s]);
      racc[s] = add_reach(racc[s], _mm_cvtss_f32(w), reinterpret_cast<const float*>(
                                                         reinterpret_cast<const char*>(a.reach_src) + offset));
    } else {
      acc[s] = _mm_fmadd_ps(w, _mm_load_ps(src + j * 4), acc[s]);
    }
  };
  int64_t p = p0;
  for (; p + kSets <= p1; p += kSets)
    for (int s = 0; s < kSets; ++s) add(s, p + s);
  if (p < p1) add(0, p);  // Reach only: one nonzero left
  __m128 sum = acc[0];
  if constexpr (Reach) {
    sum = _mm_add_ps(acc[0], acc[1]);
    *reach = racc[0] + racc[1];
  }
  if (!a.clamp) {
    const __m128i hit = _mm_cmpeq_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32(label));
    const __m128 bias = _mm_and_ps(_mm_castsi128_ps(hit), _mm_set1_ps(a.one_minus_alpha));
    sum = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(a.alpha), sum), bias);
    if (seed) sum = _mm_add_ps(sum, _mm_mul_ps(_mm_set1_ps(a.one_minus_alpha), _mm_loadu_ps(seed)));
    if (a.omega != 1.0f)
      sum = _mm_fmadd_ps(_mm_set1_ps(a.omega), sum, _mm_mul_ps(_mm_set1_ps(1.0f - a.omega), _mm_load_ps(out)));
  }
  _mm_store_ps(out, sum);
  if (!a.track_change) return;
  const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  const __m128 before = _mm_load_ps(old);
  moves.move = _mm256_zextps128_ps256(_mm_and_ps(abs_mask, _mm_sub_ps(sum, before)));
  moves.scale = _mm256_zextps128_ps256(_mm_max_ps(_mm_and_ps(abs_mask, sum), _mm_and_ps(abs_mask, before)));
}

}  // namespace

// Seeded = false: no row reads seed values (every sweep of single labels, and clamp mode), so the
// seed code compiles away; Reach = false: no reach column (single labels), nor its code. Width:
// the padded width when fixed at compile time (4 to 64, chosen once per sweep by
// sweep_fixed_avx2, so each row skips the width tests and its loop keeps more in registers;
// benchmarks/multilabel/RESULTS.md, session 27), 0 when read per row (wider rows).
template <bool Seeded, bool Reach, int Width = 0>
float sweep_rows_avx2(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  const int64_t p_limit = swept_nonzero_limit(a, begin, end);
  return for_each_swept_row<Reach>(a, src, dst, begin, end, [&](int label, const float* row_seed, int64_t p0,
                                                                int64_t p1, float* out, const float* old,
                                                                float* reach_out,
                                                                const float* reach_old) LABELGRAPH_ROW_INLINE {
    const float* seed = Seeded ? row_seed : nullptr;
    float reach = 0.0f, reach_move = 0.0f, reach_scale = 0.0f;
    RowMoves moves;
    if (Width ? Width == 4 : a.width == 4) {
      row_narrow<Reach>(a, src, out, old, p0, p1, p_limit, label, seed, moves, &reach);
    } else if (Width ? Width == 8 : a.width == 8) {
      row_block<1, Reach>(a, src, out, old, p0, p1, p_limit, 0, label, seed, moves, &reach);
    } else if (Width ? Width == 16 : a.width == 16) {
      row_block<2, Reach>(a, src, out, old, p0, p1, p_limit, 0, label, seed, moves, &reach);
    } else if (Width == 0 || Width >= 32) {
      const int64_t width = Width ? Width : a.width;
      // The reach column is summed with the first column block: one pass over the nonzeros.
      int64_t c0 = 0;
      if (width >= 64) {
        row_block<8, Reach>(a, src, out, old, p0, p1, p_limit, 0, label, seed, moves, &reach);
        for (c0 = 64; c0 + 64 <= width; c0 += 64) row_block<8>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      }
      const int64_t rest = width - c0;
      if (rest == 16) row_block<2>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);  // c0 >= 64 here
      if (rest == 32) {
        if (c0 == 0) row_block<4, Reach>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves, &reach);
        else row_block<4>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      }
      if (rest == 48) {
        if (c0 == 0) row_block<6, Reach>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves, &reach);
        else row_block<6>(a, src, out, old, p0, p1, p_limit, c0, label, seed, moves);
      }
    }
    if constexpr (Reach) finish_reach(a, reach, label, reach_out, reach_old, reach_move, reach_scale);
    return a.track_change ? moves.relative(reach_move, reach_scale) : 0.0f;
  });
}

// Every sweep at a compile-time width up to 64 floats, wider rows reading it per row.
template <bool Seeded, bool Reach>
float sweep_fixed_avx2(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  switch (a.width) {
    case 4: return sweep_rows_avx2<Seeded, Reach, 4>(a, src, dst, begin, end);
    case 8: return sweep_rows_avx2<Seeded, Reach, 8>(a, src, dst, begin, end);
    case 16: return sweep_rows_avx2<Seeded, Reach, 16>(a, src, dst, begin, end);
    case 32: return sweep_rows_avx2<Seeded, Reach, 32>(a, src, dst, begin, end);
    case 48: return sweep_rows_avx2<Seeded, Reach, 48>(a, src, dst, begin, end);
    case 64: return sweep_rows_avx2<Seeded, Reach, 64>(a, src, dst, begin, end);
    default: return sweep_rows_avx2<Seeded, Reach>(a, src, dst, begin, end);
  }
}

float sweep_avx2(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  if (a.reach_src)
    return a.seeds ? sweep_fixed_avx2<true, true>(a, src, dst, begin, end) : sweep_fixed_avx2<false, true>(a, src, dst, begin, end);
  return a.seeds ? sweep_fixed_avx2<true, false>(a, src, dst, begin, end)
                 : sweep_fixed_avx2<false, false>(a, src, dst, begin, end);
}

}  // namespace labelgraph::detail
