// Node orders that put neighbours close in memory, and the CSR permutation that applies them.
#pragma once

#include <cstdint>
#include <vector>

#include "labelgraph/propagate.hpp"

namespace labelgraph {

// Breadth-first order over out-edges, restarting at the lowest unvisited node: neighbours of a
// node get nearby numbers, so a sweep's gathers hit cache. O(n + nnz); deterministic.
// order[r] is the old number of new node r.
std::vector<int64_t> bfs_order(const CsrView& graph);
// The same order written to order[0, n).
void bfs_order_into(const CsrView& graph, int64_t* order);

// P A P^T for new node r = old node order[r]; column indices sorted within each row.
struct PermutedCsr {
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices;
  std::vector<double> values;
};
PermutedCsr permute_csr(const CsrView& graph, const double* values, const int64_t* order, int n_threads);

}  // namespace labelgraph
