// Incremental propagation after new labels: Jacobi sweeps over the rows whose inputs changed.
//
// After a batch of labels in active learning, a full sweep recomputes a million rows to move a
// few thousand: each new label changes its dependants, and the change fades with every hop.
// Here a sweep recomputes only the rows that read a row which moved by more than tol x its largest
// score, so the cost follows the changed region (the full sweeps' stopping rule, relative per row).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "labelgraph/propagate.hpp"
#include "spmm_internal.hpp"

namespace labelgraph {

int64_t propagate_update_cpu(const CsrView& g, const int64_t* t_indptr, const int32_t* t_indices, const float* values,
                             const int32_t* labels, int64_t width, double alpha, double tol, int64_t max_iter,
                             const std::vector<int64_t>& seeds, float* y, std::vector<int64_t>& touched,
                             int64_t dense_limit, bool& needs_full_sweeps) {
  const bool clamp = alpha < 0.0;
  const float a = float(alpha), one_minus_a = float(1.0 - alpha);
  std::vector<uint32_t> stamp(static_cast<size_t>(g.n), 0), touched_mark(static_cast<size_t>(g.n), 0);
  uint32_t epoch = 0;
  touched.clear();
  needs_full_sweeps = false;
  auto touch = [&](int64_t i) {
    if (!touched_mark[i]) {
      touched_mark[i] = 1;
      touched.push_back(i);
    }
  };

  // In clamp mode a new label fixes its row; in alpha mode it changes the row's target term.
  std::vector<int64_t> changed, active;
  for (int64_t s : seeds) {
    if (clamp && labels[s] >= 0) {
      float* row = y + s * width;
      std::fill(row, row + width, 0.0f);
      row[labels[s]] = 1.0f;
      touch(s);
    }
    changed.push_back(s);
  }
  std::vector<float> next;
  int64_t sweeps = 0;
  for (; sweeps < max_iter && !changed.empty(); ++sweeps) {
    ++epoch;
    active.clear();
    auto wake = [&](int64_t i) {
      if (stamp[i] == epoch || (clamp && labels[i] >= 0)) return;  // clamped rows never change
      stamp[i] = epoch;
      active.push_back(i);
    };
    for (int64_t j : changed) {
      if (sweeps == 0 && !clamp) wake(j);  // its own target moved
      for (int64_t p = t_indptr[j]; p < t_indptr[j + 1]; ++p) wake(t_indices[p]);
    }
    const int64_t m = int64_t(active.size());
    // Past this size full SIMD sweeps are cheaper than the bookkeeping: hand over, y consistent.
    needs_full_sweeps = m > dense_limit;
    if (needs_full_sweeps) break;
    // Ascending order: gathers and writes walk memory forward. A large set is collected by one
    // pass over the stamps (a sequential read of n words) instead of an m log m sort.
    if (m * 32 > g.n) {
      active.clear();
      for (int64_t i = 0; i < g.n; ++i)
        if (stamp[i] == epoch) active.push_back(i);
    } else {
      std::sort(active.begin(), active.end());
    }
    next.assign(static_cast<size_t>(m * width), 0.0f);
#pragma omp parallel for schedule(dynamic, 256) if (m > 4096)
    for (int64_t q = 0; q < m; ++q) {  // Jacobi: every new row from the old rows
      const int64_t i = active[q];
      float* out = next.data() + q * width;
      for (int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p) {
        const float w = values[p];
        const float* src = y + int64_t(g.indices[p]) * width;
        for (int64_t c = 0; c < width; ++c) out[c] += w * src[c];
      }
      if (!clamp) {
        for (int64_t c = 0; c < width; ++c) out[c] *= a;
        if (labels[i] >= 0) out[labels[i]] += one_minus_a;
      }
    }
    changed.clear();
    for (int64_t q = 0; q < m; ++q) {
      const int64_t i = active[q];
      float* row = y + i * width;
      const float* out = next.data() + q * width;
      float move = 0.0f, scale = 0.0f;
      for (int64_t c = 0; c < width; ++c) {
        move = std::max(move, std::fabs(out[c] - row[c]));
        scale = std::max(scale, std::max(std::fabs(out[c]), std::fabs(row[c])));
      }
      if (move > 0.0f) {
        std::copy(out, out + width, row);
        touch(i);
      }
      if (detail::relative_change(move, scale) > float(tol)) changed.push_back(i);
    }
  }
  std::sort(touched.begin(), touched.end());
  return sweeps;
}

}  // namespace labelgraph
