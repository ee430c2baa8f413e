// Exact re-scoring of candidates and the per-row certificate that the true top k are among them.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "knn_internal.hpp"

namespace labelgraph::detail {

Uncertified certify_and_rescore(const RowSource& queries, const RowSource& base, int64_t k, int64_t possible,
                                const CandidateHeaps& heaps, int n_threads, int32_t* out_index, float* out_sim) {
  const int64_t nq = heaps.rows, K = heaps.K;
  const double S2 = kQuantScale * kQuantScale;
  std::vector<int64_t> threshold(static_cast<size_t>(nq), INT64_MIN);  // INT64_MIN: certified

  // Per-thread buffers allocated before the region: nothing inside it may throw.
  std::vector<std::pair<int32_t, int32_t>> cand_all(static_cast<size_t>(n_threads * K));  // (quantised score, index)
  std::vector<std::pair<float, int32_t>> exact_all(static_cast<size_t>(n_threads * K));
#pragma omp parallel num_threads(n_threads)
  {
    std::pair<int32_t, int32_t>* cand = cand_all.data() + omp_get_thread_num() * K;
    std::pair<float, int32_t>* exact = exact_all.data() + omp_get_thread_num() * K;
#pragma omp for schedule(dynamic, 256)
    for (int64_t i = 0; i < nq; ++i) {
      const int32_t cnt = heaps.count[i];
      for (int32_t e = 0; e < cnt; ++e) cand[e] = {heaps.key[i * K + e], heaps.index[i * K + e]};
      std::sort(cand, cand + cnt,
                [](auto x, auto y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
      // |cos - q_i.q_j / S^2| <= e_i + (1 + e_i) e_j + 1e-7 (float32 rounding of the result); 1e-6 is slack.
      const double e_i = queries.q->err[i];
      const double eps = e_i + (1.0 + e_i) * base.q->err_max + 1e-6;
      const double margin = 2.0 * eps * S2;
      const double a_k = double(cand[k - 1].first);
      const bool certified = cnt == possible || a_k - double(cand[cnt - 1].first) > margin;
      if (!certified) {
        threshold[i] = int64_t(std::floor(a_k - margin));
        continue;
      }
      int32_t m = 0;  // only candidates within the margin of the k-th can be in the exact top k
      while (m < cnt && double(cand[m].first) >= a_k - margin) {
        exact[m] = {exact_similarity(queries, i, base, cand[m].second), cand[m].second};
        ++m;
      }
      std::partial_sort(exact, exact + k, exact + m,
                        [](auto x, auto y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
      for (int64_t t = 0; t < k; ++t) {
        out_index[i * k + t] = exact[t].second;
        out_sim[i * k + t] = exact[t].first;
      }
    }
  }

  Uncertified out;
  for (int64_t i = 0; i < nq; ++i) {
    if (threshold[i] == INT64_MIN) continue;
    out.rows.push_back(i);
    out.threshold.push_back(int32_t(std::max<int64_t>(threshold[i], INT32_MIN + 1)));
  }
  return out;
}

}  // namespace labelgraph::detail
