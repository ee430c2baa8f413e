// Symmetry test of a CSR's log-weights in O(nnz), in parallel, instead of a transposed copy.
#include <omp.h>

#include <algorithm>
#include <atomic>

#include "labelgraph/prepare.hpp"

namespace labelgraph {

// Each entry (i, j) with j > i must find (j, i) in row j (binary search: columns are sorted) with
// the same log-weight, and the entries below the diagonal must be exactly as many as those above:
// the mirror map from above to below is then one-to-one and onto, so every entry has its mirror.
// Equal values have equal log-weights; only differing values need the transform compared (two
// doubles may divide by T to the same quotient), so the answer is that of comparing log-weights.
template <class Value>
bool csr_is_symmetric(const CsrView& g, const Value* data, EdgeWeights weights, int n_threads) {
  std::atomic<bool> mismatch{false};
  int64_t above = 0, below = 0;
  constexpr int64_t kRowsPerCheck = 4096;  // rows between looks at the early-exit flag
  constexpr int64_t kAhead = 8;             // rows
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(dynamic, 1) reduction(+ : above, below)
  for (int64_t block = 0; block < (g.n + kRowsPerCheck - 1) / kRowsPerCheck; ++block) {
    if (mismatch.load(std::memory_order_relaxed)) continue;
    const int64_t last = std::min(g.n, (block + 1) * kRowsPerCheck);
    for (int64_t i = block * kRowsPerCheck; i < last; ++i) {
      // Mirror rows are random reads: the indptr entries of row i + kAhead's columns and the
      // column lists of row i + kAhead / 2's columns are fetched early, so the misses overlap.
      if (i + kAhead < g.n)
        for (int64_t p = g.indptr[i + kAhead]; p < g.indptr[i + kAhead + 1]; ++p)
          __builtin_prefetch(g.indptr + g.indices[p]);
      if (i + kAhead / 2 < g.n)
        for (int64_t p = g.indptr[i + kAhead / 2]; p < g.indptr[i + kAhead / 2 + 1]; ++p)
          __builtin_prefetch(g.indices + g.indptr[g.indices[p]]);
      const int64_t begin = g.indptr[i], end = g.indptr[i + 1];
      // Columns are sorted: those below i come first.
      const int64_t diagonal = std::lower_bound(g.indices + begin, g.indices + end, int32_t(i)) - g.indices;
      below += diagonal - begin;
      for (int64_t p = diagonal; p < end; ++p) {
        const int64_t j = g.indices[p];
        if (j == i) continue;
        ++above;
        const int32_t* first = g.indices + g.indptr[j];
        const int32_t* last_col = g.indices + g.indptr[j + 1];
        const int32_t* mirror = std::lower_bound(first, last_col, int32_t(i));
        const int64_t q = mirror - g.indices;
        if (mirror == last_col || *mirror != i ||
            (data[q] != data[p] && weights.log_weight(data[q]) != weights.log_weight(data[p]))) {
          mismatch.store(true, std::memory_order_relaxed);
          break;
        }
      }
    }
  }
  return !mismatch.load() && above == below;
}

template bool csr_is_symmetric<float>(const CsrView&, const float*, EdgeWeights, int);
template bool csr_is_symmetric<double>(const CsrView&, const double*, EdgeWeights, int);

}  // namespace labelgraph
