// Portable C++ propagation sweep: the oracle the SIMD sweeps are tested against.
#include <algorithm>
#include <cmath>

#include "spmm_internal.hpp"

namespace labelgraph::detail {

// Seeded = false: no row reads seed values (every sweep of single labels, and clamp mode), so the
// seed code compiles away; Reach = false: no reach column (single labels), nor its code.
template <bool Seeded, bool Reach>
float sweep_rows_scalar(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  constexpr int64_t kBlock = 64;  // columns accumulated at a time (a stack buffer, not n x c)
  float acc[kBlock];
  return for_each_swept_row<Reach>(a, src, dst, begin, end, [&](int label, const float* row_seed, int64_t p0,
                                                                int64_t p1, float* out, const float* old,
                                                                float* reach_out,
                                                                const float* reach_old) LABELGRAPH_ROW_INLINE {
    const float* seed = Seeded ? row_seed : nullptr;
    float move = 0.0f, scale = 0.0f, reach = 0.0f;
    for (int64_t c0 = 0; c0 < a.width; c0 += kBlock) {
      const int64_t bw = std::min(kBlock, a.width - c0);
      std::fill(acc, acc + bw, 0.0f);
      for (int64_t p = p0; p < p1; ++p) {
        const float w = a.values[p];
        const int64_t j = a.indices[p];
        const float* s = src + j * a.width + c0;
        for (int64_t c = 0; c < bw; ++c) acc[c] += w * s[c];
        if (Reach && c0 == 0) reach += w * a.reach_src[j];  // with the first block: one pass
      }
      for (int64_t c = 0; c < bw; ++c) {
        float v = acc[c];
        if (!a.clamp)
          v = a.alpha * v + (seed ? a.one_minus_alpha * seed[c0 + c] : (c0 + c == label ? a.one_minus_alpha : 0.0f));
        if (!a.clamp && a.omega != 1.0f) v = a.omega * v + (1.0f - a.omega) * out[c0 + c];
        if (a.track_change) {
          move = std::max(move, std::fabs(v - old[c0 + c]));
          scale = std::max(scale, std::max(std::fabs(v), std::fabs(old[c0 + c])));
        }
        out[c0 + c] = v;
      }
    }
    if constexpr (Reach) finish_reach(a, reach, label, reach_out, reach_old, move, scale);
    return relative_change(move, scale);
  });
}

float sweep_scalar(const SweepArgs& a, const float* src, float* dst, int64_t begin, int64_t end) {
  if (a.reach_src)
    return a.seeds ? sweep_rows_scalar<true, true>(a, src, dst, begin, end)
                   : sweep_rows_scalar<false, true>(a, src, dst, begin, end);
  return a.seeds ? sweep_rows_scalar<true, false>(a, src, dst, begin, end)
                 : sweep_rows_scalar<false, false>(a, src, dst, begin, end);
}

}  // namespace labelgraph::detail
