// Scalar reference kNN: every similarity in double, a full sort per row. The test oracle.
#include <algorithm>
#include <cmath>
#include <vector>

#include "knn_internal.hpp"
#include "labelgraph/knn.hpp"

namespace labelgraph {

void knn_reference_cpu(const float* Q, int64_t nq, const float* X, int64_t n, int64_t d, int64_t k, bool exclude_self,
                       int32_t* out_index, float* out_sim) {
  auto inv_norm = [d](const float* x) {
    double s = 0.0;
    for (int64_t p = 0; p < d; ++p) s += double(x[p]) * double(x[p]);
    return 1.0 / std::sqrt(s);
  };
  std::vector<double> inv_x(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) inv_x[j] = inv_norm(X + j * d);
  std::vector<std::pair<float, int32_t>> all;
  for (int64_t i = 0; i < nq; ++i) {
    const double inv_q = inv_norm(Q + i * d);
    all.clear();
    for (int64_t j = 0; j < n; ++j) {
      if (exclude_self && j == i) continue;
      all.emplace_back(float(detail::dot_double(Q + i * d, X + j * d, d) * (inv_q * inv_x[j])), int32_t(j));
    }
    std::sort(all.begin(), all.end(),
              [](auto x, auto y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
    for (int64_t t = 0; t < k; ++t) {
      out_index[i * k + t] = all[t].second;
      out_sim[i * k + t] = all[t].first;
    }
  }
}

}  // namespace labelgraph
