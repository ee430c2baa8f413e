// Internals of the propagation SpMM: the per-ISA row sweep contract and the padded class width.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(LABELGRAPH_X86)
#include <xmmintrin.h>
#endif

namespace labelgraph::detail {

// Rows of Y are padded to `width` floats: 4, 8 or a multiple of 16, so a row never straddles
// more cache lines than it must (c <= 16 gathers exactly one aligned 64-byte line, c <= 8 half).
inline int64_t padded_width(int64_t n_classes) {
  if (n_classes <= 4) return 4;
  if (n_classes <= 8) return 8;
  return (n_classes + 15) / 16 * 16;
}

// One iteration over rows [begin, end): dst[i] = sum_p values[p] * src[indices[p]] in CSR order,
// then either nothing (clamp mode: labeled rows are skipped, both buffers hold their one-hot or
// seed row) or dst[i] = alpha * dst[i] + (1 - alpha) * y0[i] (alpha mode), y0[i] being
// onehot(labels[i]), the seed row seeds[i] when labels[i] == kSeededRow, zero when unlabeled. In alpha mode with
// omega != 1 (Chebyshev acceleration) that value v becomes omega * v + (1 - omega) * dst_before[i],
// dst_before being the iterate before src; with omega == 1 dst is never read.
struct SweepArgs {
  const int64_t* indptr;
  const int32_t* indices;
  const float* values;
  const int32_t* labels;  // [n]: -1 unlabeled, kSeededRow (-2) clamped to its seed row, else the class
  int64_t width;          // padded class count; src/dst rows are 64-byte aligned when width >= 16
  bool clamp;             // true: clamp mode; false: alpha mode
  float alpha;
  float one_minus_alpha;
  bool track_change;      // compute each swept row's relative change (below)
  float omega = 1.0f;     // Chebyshev weight of this iteration (alpha mode only); 1: plain Jacobi
  // Row-list mode (the incremental update's active set): position q of [begin, end) sweeps row
  // rows[q] (ascending) into dst + q * width, the old row being src + rows[q] * width; omega
  // must be 1. nullptr: position q is row q.
  const int64_t* rows = nullptr;
  float* row_change = nullptr;  // [end]: each swept position's relative change, if not nullptr
  // [n, width] (operator order, padded with zeros): the alpha form's y0 of rows labeled
  // kSeededRow; read only for those rows (any alignment). nullptr when no row is.
  const float* seeds = nullptr;
  // The reach column (PropagateOptions::reach): one float per row beside Y, its y0 1 on every
  // labeled or seeded row and 0 elsewhere, summed in the same pass over a row's nonzeros as the
  // row itself (a separate [n] array, so the classes keep their padded width: at c = 16 a
  // gathered row stays one cache line). Read from reach_src[row], written to reach_dst[position]
  // (clamp mode: both hold 1 on labeled and seeded rows); its move counts in the row's relative
  // change. nullptr: none.
  const float* reach_src = nullptr;
  float* reach_dst = nullptr;
};

// Label of a row clamped to (alpha form: started from) a given row of seed values rather than
// a one-hot row: a multi-hot label set, or all zero for a known empty set.
constexpr int32_t kSeededRow = -2;

// A row's relative change: max_c |new - old| / max_c max(|new|, |old|), 0 for a row that did not
// move. Relative, not absolute: rows far from every label hold scores far below any absolute
// tolerance, yet their argmax is still a decision that must converge.
inline float relative_change(float largest_move, float largest_score) {
  return largest_move > 0.0f ? largest_move / largest_score : 0.0f;
}

// Returns the largest relative change of the swept rows (0 when !track_change).
using SweepFn = float (*)(const SweepArgs& args, const float* src, float* dst, int64_t begin, int64_t end);

float sweep_scalar(const SweepArgs&, const float*, float*, int64_t, int64_t);
#if defined(LABELGRAPH_X86)
float sweep_avx2(const SweepArgs&, const float*, float*, int64_t, int64_t);
float sweep_avx512(const SweepArgs&, const float*, float*, int64_t, int64_t);
#endif

// Nonzeros ahead whose gathered row is prefetched: enough to cover DRAM latency at ~1 row/ns.
constexpr int64_t kPrefetchAhead = 12;

// Marks the per-row lambda a sweep passes to for_each_swept_row: GCC otherwise calls the larger
// ones (those with the reach column) out of line, a call with a full stack frame per row, which
// costs about as much as the row's ten nonzeros at c <= 16.
#if defined(__GNUC__)
#define LABELGRAPH_ROW_INLINE __attribute__((always_inline))
#else
#define LABELGRAPH_ROW_INLINE
#endif

// Calls change = row(label, seed, p0, p1, out, old, reach_out, reach_old) for each position of
// [begin, end) a sweep computes (in clamp mode labeled and seeded rows are skipped: both buffers
// hold their clamped row and nothing writes them); `seed` is the row's seed values (alpha form,
// label kSeededRow) or nullptr; reach_out / reach_old the row's reach entries (Reach) or nullptr.
// Stores each change in row_change if asked and returns the largest.
template <bool Reach, class RowFn>
inline float for_each_swept_row(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end,
                                RowFn&& row) {
  float largest = 0.0f;
  for (int64_t q = begin; q < end; ++q) {
    const int64_t i = a.rows ? a.rows[q] : q;
    const int label = a.labels[i];
    if (a.clamp && label != -1) continue;
    const float* seed = label == kSeededRow ? a.seeds + i * a.width : nullptr;
    float* reach_out = Reach ? a.reach_dst + q : nullptr;
    const float* reach_old = Reach ? a.reach_src + i : nullptr;
    const float change = row(label, seed, a.indptr[i], a.indptr[i + 1], dst + q * a.width, src + i * a.width,
                             reach_out, reach_old);
    if (a.row_change) a.row_change[q] = change;
    largest = std::max(largest, change);
  }
  return largest;
}

// A swept row's reach entry from its sum over the row's nonzeros, as the class columns are
// finished (the alpha form's y0 is 1 on a labeled or seeded row; omega as for the row); folds
// its move and size into the row's (move, scale).
inline void finish_reach(const SweepArgs& a, float sum, int label, float* out, const float* old, float& move,
                         float& scale) {
  float v = sum;
  if (!a.clamp) {
    v = a.alpha * v + (label != -1 ? a.one_minus_alpha : 0.0f);
    if (a.omega != 1.0f) v = a.omega * v + (1.0f - a.omega) * *out;
  }
  if (a.track_change) {
    move = std::max(move, std::fabs(v - *old));
    scale = std::max(scale, std::max(std::fabs(v), std::fabs(*old)));
  }
  *out = v;
}

// One past the last nonzero a sweep of positions [begin, end) may read: prefetches run ahead
// across row boundaries up to here (in row-list mode, into rows that may not be swept: harmless).
inline int64_t swept_nonzero_limit(const SweepArgs& a, int64_t begin, int64_t end) {
  if (end <= begin) return a.indptr[0];
  return a.indptr[(a.rows ? a.rows[end - 1] : end - 1) + 1];
}

// The sweep this CPU runs best among those that agree with sweep_scalar (propagate_csr.cpp).
SweepFn best_sweep();

// Flush denormals to zero in this thread while a kernel runs: values far from any label decay
// through the denormal range, where x86 arithmetic is many times slower.
class DenormalsAreZero {
 public:
#if defined(LABELGRAPH_X86)
  DenormalsAreZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }
  ~DenormalsAreZero() { _mm_setcsr(saved_); }

 private:
  unsigned int saved_;
#endif
};

#if defined(LABELGRAPH_X86)
// Prefetches the `lines` cache lines from column c0 of the row that nonzero p + kPrefetchAhead
// gathers (crossing row boundaries; nothing past p_limit). `static`: each per-ISA file keeps its
// own copy, so the linker cannot hand an AVX2 file the copy compiled with AVX-512 flags.
static inline void prefetch_rows(const SweepArgs& a, const float* src, int64_t p, int64_t p_limit, int64_t c0, int lines) {
  if (p + kPrefetchAhead >= p_limit) return;
  const float* s = src + int64_t(a.indices[p + kPrefetchAhead]) * a.width + c0;
  for (int l = 0; l < lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(s + 16 * l), _MM_HINT_T0);
}
#endif

}  // namespace labelgraph::detail
