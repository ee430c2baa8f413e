// Breadth-first node order and CSR permutation in O(n + nnz), for cache-friendly propagation.
#include "labelgraph/graph_order.hpp"

#include <omp.h>

#include <algorithm>
#include <numeric>

namespace labelgraph {

// A node's row is a random place in memory (the caller's order is random), so each dequeued node
// costs two cache misses (its indptr entry, then its columns). The queue says which nodes come
// next: their indptr entries are prefetched kIndptrAhead nodes ahead and their columns
// kColumnsAhead ahead (by then the indptr entry is in cache), so the misses overlap.
void bfs_order_into(const CsrView& g, int64_t* order) {
  constexpr int64_t kIndptrAhead = 16, kColumnsAhead = 8;
  std::vector<uint8_t> seen(static_cast<size_t>(g.n), 0);
  int64_t tail = 0;  // `order` doubles as the BFS queue: [head, tail) waits
  for (int64_t start = 0; start < g.n; ++start) {
    if (seen[start]) continue;
    seen[start] = 1;
    int64_t head = tail;
    order[tail++] = start;
    while (head < tail) {
      if (head + kIndptrAhead < tail) __builtin_prefetch(g.indptr + order[head + kIndptrAhead]);
      if (head + kColumnsAhead < tail) __builtin_prefetch(g.indices + g.indptr[order[head + kColumnsAhead]]);
      const int64_t u = order[head++];
      for (int64_t p = g.indptr[u]; p < g.indptr[u + 1]; ++p) {
        const int64_t v = g.indices[p];
        if (!seen[v]) {
          seen[v] = 1;
          order[tail++] = v;
        }
      }
    }
  }
}

std::vector<int64_t> bfs_order(const CsrView& g) {
  std::vector<int64_t> order(static_cast<size_t>(g.n));
  bfs_order_into(g, order.data());
  return order;
}

PermutedCsr permute_csr(const CsrView& g, const double* values, const int64_t* order, int n_threads) {
  const int64_t n = g.n;
  const int threads = resolve_threads(n_threads);
  std::vector<int64_t> new_of_old(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) new_of_old[order[r]] = r;
  PermutedCsr out;
  out.indptr.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t r = 0; r < n; ++r) out.indptr[r + 1] = out.indptr[r] + (g.indptr[order[r] + 1] - g.indptr[order[r]]);
  out.indices.resize(static_cast<size_t>(out.indptr[n]));
  out.values.resize(static_cast<size_t>(out.indptr[n]));
  // Each thread's row buffer is sized for the longest row before the region: nothing inside it
  // allocates (an exception escaping an OpenMP region would terminate the process).
  int64_t longest = 0;
  for (int64_t i = 0; i < n; ++i) longest = std::max(longest, g.indptr[i + 1] - g.indptr[i]);
  std::vector<std::pair<int32_t, double>> rows(static_cast<size_t>(threads * longest));
#pragma omp parallel num_threads(threads)
  {
    std::pair<int32_t, double>* row = rows.data() + omp_get_thread_num() * longest;
#pragma omp for schedule(dynamic, 1024)
    for (int64_t r = 0; r < n; ++r) {
      const int64_t old = order[r], len = g.indptr[old + 1] - g.indptr[old];
      for (int64_t e = 0; e < len; ++e) {
        const int64_t p = g.indptr[old] + e;
        row[e] = {int32_t(new_of_old[g.indices[p]]), values[p]};
      }
      std::sort(row, row + len, [](const auto& a, const auto& b) { return a.first < b.first; });
      int64_t q = out.indptr[r];
      for (int64_t e = 0; e < len; ++e) {
        out.indices[q] = row[e].first;
        out.values[q++] = row[e].second;
      }
    }
  }
  return out;
}

}  // namespace labelgraph
