// The O(nnz) checks of a caller's CSR, in parallel: indptr order, column range, sorted unique
// columns, finite values. Each problem kind reports its lowest position, whatever the threads.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "labelgraph/prepare.hpp"

namespace labelgraph {

template <class Indptr, class Index, class Value>
CsrCheck check_csr_cpu(int64_t n, const Indptr* indptr, const Index* indices, const Value* data, int n_threads) {
  const int threads = resolve_threads(n_threads);
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  int64_t decreases = kNone;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(min : decreases)
  for (int64_t i = 0; i < n; ++i)
    if (indptr[i + 1] < indptr[i]) decreases = std::min(decreases, i);
  if (decreases != kNone) return {CsrProblem::indptr_decreases, decreases};
  // indptr runs from 0 to nnz without decreasing: every row's range lies inside the entries.
  int64_t out_of_range = kNone, unsorted = kNone, duplicate = kNone, not_finite = kNone;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4096) \
    reduction(min : out_of_range, unsorted, duplicate, not_finite)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t begin = indptr[i], end = indptr[i + 1];
    for (int64_t p = begin; p < end; ++p) {
      const int64_t j = int64_t(indices[p]);
      if (j < 0 || j >= n) out_of_range = std::min(out_of_range, p);
      if (p > begin) {  // a pair (p - 1, p) is reported at p - 1, as numpy's diff does
        const int64_t previous = int64_t(indices[p - 1]);
        if (j < previous) unsorted = std::min(unsorted, p - 1);
        if (j == previous) duplicate = std::min(duplicate, p - 1);
      }
      if (!std::isfinite(data[p])) not_finite = std::min(not_finite, p);
    }
  }
  if (out_of_range != kNone) return {CsrProblem::index_out_of_range, out_of_range};
  if (unsorted != kNone) return {CsrProblem::unsorted, unsorted};
  if (duplicate != kNone) return {CsrProblem::duplicate, duplicate};
  if (not_finite != kNone) return {CsrProblem::not_finite, not_finite};
  return {};
}

#define LABELGRAPH_CHECK_CSR(INDPTR, INDEX, VALUE) \
  template CsrCheck check_csr_cpu<INDPTR, INDEX, VALUE>(int64_t, const INDPTR*, const INDEX*, const VALUE*, int);
LABELGRAPH_CHECK_CSR(int32_t, int32_t, float)
LABELGRAPH_CHECK_CSR(int32_t, int32_t, double)
LABELGRAPH_CHECK_CSR(int32_t, int64_t, float)
LABELGRAPH_CHECK_CSR(int32_t, int64_t, double)
LABELGRAPH_CHECK_CSR(int64_t, int32_t, float)
LABELGRAPH_CHECK_CSR(int64_t, int32_t, double)
LABELGRAPH_CHECK_CSR(int64_t, int64_t, float)
LABELGRAPH_CHECK_CSR(int64_t, int64_t, double)
#undef LABELGRAPH_CHECK_CSR

}  // namespace labelgraph
