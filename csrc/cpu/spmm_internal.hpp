// Internals of the propagation SpMM: the per-ISA row sweep contract and the padded class width.
#pragma once

#include <cstdint>

namespace labelgraph::detail {

// Rows of Y are padded to `width` floats: 4, 8 or a multiple of 16, so a row never straddles
// more cache lines than it must (c <= 16 gathers exactly one aligned 64-byte line, c <= 8 half).
inline int64_t padded_width(int64_t n_classes) {
  if (n_classes <= 4) return 4;
  if (n_classes <= 8) return 8;
  return (n_classes + 15) / 16 * 16;
}

// One iteration over rows [begin, end): dst[i] = sum_p values[p] * src[indices[p]] in CSR order,
// then either nothing (clamp mode: labeled rows are skipped, both buffers hold their one-hot)
// or dst[i] = alpha * dst[i] + (1 - alpha) * onehot(labels[i]) (alpha mode).
struct SweepArgs {
  const int64_t* indptr;
  const int32_t* indices;
  const float* values;
  const int32_t* labels;  // [n]: -1 unlabeled, else the class
  int64_t width;          // padded class count; src/dst rows are 64-byte aligned when width >= 16
  bool clamp;             // true: clamp mode; false: alpha mode
  float alpha;
  float one_minus_alpha;
  bool track_change;      // compute max |dst[i] - src[i]| over the swept rows
};

// Returns the largest absolute change of the swept rows (0 when !track_change).
using SweepFn = float (*)(const SweepArgs& args, const float* src, float* dst, int64_t begin, int64_t end);

float sweep_scalar(const SweepArgs&, const float*, float*, int64_t, int64_t);
#if defined(LABELGRAPH_X86)
float sweep_avx2(const SweepArgs&, const float*, float*, int64_t, int64_t);
float sweep_avx512(const SweepArgs&, const float*, float*, int64_t, int64_t);
#endif

// Nonzeros ahead whose gathered row is prefetched: enough to cover DRAM latency at ~1 row/ns.
constexpr int64_t kPrefetchAhead = 12;

}  // namespace labelgraph::detail
