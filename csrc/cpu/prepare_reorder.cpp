// When renumbering the nodes pays within a call: a sampled locality measure and the cost model.
#include <algorithm>
#include <cstdlib>

#include "labelgraph/prepare.hpp"

namespace labelgraph {
namespace {

// Rows sampled (evenly spaced) to estimate the far fraction: its error is about 1 / sqrt(nnz sampled).
constexpr int64_t kSampleRows = 8192;
// Y rows within this many bytes of a row's own count as near: they were gathered recently by the
// rows around it and sit in the L2 cache (2 MiB a core on the development machines, half kept for
// the streamed CSR).
constexpr int64_t kNearBytes = int64_t(1) << 20;
// Below this size Y stays in cache whatever the order (the former AUTO_REORDER_MIN_ROWS: 50,000
// rows of 64 bytes).
constexpr int64_t kCachedBytes = 50'000 * 64;
// bfs_order + prepare_permuted_cpu cost about this many far gathers per nonzero more than
// prepare_weights_cpu (measured: benchmarks/propagation_RESULTS.md, "One call at 10^6 rows").
constexpr double kReorderCostInFarGathers = 6.0;
// A reused operator (sweeps unknown) is renumbered when more than this share of gathers is far.
constexpr double kReusedFarFraction = 0.25;

}  // namespace

double far_fraction(const CsrView& g, int64_t window) {
  const int64_t stride = std::max<int64_t>(1, g.n / kSampleRows);
  int64_t far = 0, total = 0;
  for (int64_t i = 0; i < g.n; i += stride) {
    for (int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p) far += std::llabs(int64_t(g.indices[p]) - i) > window;
    total += g.indptr[i + 1] - g.indptr[i];
  }
  return total == 0 ? 0.0 : double(far) / double(total);
}

ReorderDecision reorder_pays(const CsrView& g, int64_t row_bytes, int64_t sweeps) {
  ReorderDecision d;
  row_bytes = std::max<int64_t>(row_bytes, 1);
  if (g.n * row_bytes <= kCachedBytes || g.indptr[g.n] == 0) return d;
  d.far_fraction = far_fraction(g, std::max<int64_t>(1, kNearBytes / row_bytes));
  d.reorder = sweeps < 0 ? d.far_fraction > kReusedFarFraction
                         : double(sweeps) * d.far_fraction > kReorderCostInFarGathers;
  return d;
}

}  // namespace labelgraph
