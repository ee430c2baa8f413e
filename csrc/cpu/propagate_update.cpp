// Incremental propagation after new labels: Jacobi sweeps over the rows whose inputs changed
// (clamp mode; the alpha form pushes residuals first, propagate_push.cpp, and continues here when
// its change reaches a large region).
//
// After a batch of labels in active learning, a full sweep recomputes a million rows to move a
// few thousand: each new label changes its dependants, and the change fades with every hop.
// Here a sweep recomputes only the rows that read a row which moved by more than tol x its largest
// score, so the cost follows the changed region (the full sweeps' stopping rule, relative per row).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "labelgraph/propagate.hpp"
#include "spmm_internal.hpp"

namespace labelgraph {
namespace {

// Active rows per parallel task: enough work to amortise the scheduling, small enough to balance.
constexpr int64_t kRowsPerTask = 512;
// Changed rows below which waking their dependants stays on one thread.
constexpr int64_t kParallelWakeRows = 2048;
// Rows below which the pass over the stamps stays on one thread: it reads n words, less than one
// fork and join of the team costs on a busy machine (the alpha form's floods run ~50 sweeps).
constexpr int64_t kParallelScanRows = int64_t(1) << 20;

// The rows one sweep recomputes: the dependants of the rows that changed, marked with the sweep's
// stamp by concurrent threads; returned once each and in ascending order whatever the threads'
// interleaving, which keeps the results the same on every run.
class ActiveRows {
 public:
  ActiveRows(int64_t n, int threads) : n_(n), stamp_(new std::atomic<uint32_t>[size_t(n)]), local_(size_t(threads)) {
    for (int64_t i = 0; i < n; ++i) stamp_[i].store(0, std::memory_order_relaxed);
  }

  // Dependants (transpose rows) of `changed`, and the rows of `also` themselves; rows `frozen`
  // says never change (clamped labels) are left out.
  template <class Frozen>
  const std::vector<int64_t>& wake(const std::vector<int64_t>& changed, const std::vector<int64_t>& also,
                                   const int64_t* t_indptr, const int32_t* t_indices, Frozen&& frozen) {
    ++epoch_;
    const int64_t count = int64_t(changed.size());
    const int threads = count >= kParallelWakeRows ? int(local_.size()) : 1;
    clear_local();  // OpenMP may run fewer threads than asked: no list may keep a stale row
    // A plain (relaxed) store, not a compare-exchange: two threads may both claim a row, and the
    // sort below drops the copy; the large-set path reads the stamps instead.
    auto claim = [&](std::vector<int64_t>& mine, int64_t i) {
      if (stamp_[i].load(std::memory_order_relaxed) == epoch_ || frozen(i)) return;
      stamp_[i].store(epoch_, std::memory_order_relaxed);
      mine.push_back(i);
    };
    for (int64_t i : also) claim(local_[0], i);
    ParallelErrors errors;  // the lists grow inside the region
#pragma omp parallel num_threads(threads)
    {
      std::vector<int64_t>& mine = local_[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
      for (int64_t k = 0; k < count; ++k) {
        errors.run([&] {
          const int64_t j = changed[size_t(k)];
          for (int64_t p = t_indptr[j]; p < t_indptr[j + 1]; ++p) claim(mine, t_indices[p]);
        });
      }
    }
    errors.rethrow();
    int64_t claimed = 0;  // at least the set's size: a row two threads claimed counts twice
    for (const auto& part : local_) claimed += int64_t(part.size());
    rows_.clear();
    if (claimed * 32 > n_) {
      // A large set: one pass over the stamps (a sequential read of n words) instead of an
      // m log m sort; per-thread slices concatenated in order come out ascending.
      clear_local();
#pragma omp parallel num_threads(int(local_.size())) if (n_ >= kParallelScanRows)
      {
        std::vector<int64_t>& mine = local_[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n_; ++i)
          if (stamp_[i].load(std::memory_order_relaxed) == epoch_) errors.run([&] { mine.push_back(i); });
      }
      errors.rethrow();
      for (const auto& part : local_) rows_.insert(rows_.end(), part.begin(), part.end());
    } else {
      for (const auto& part : local_) rows_.insert(rows_.end(), part.begin(), part.end());
      std::sort(rows_.begin(), rows_.end());
      rows_.erase(std::unique(rows_.begin(), rows_.end()), rows_.end());
    }
    return rows_;
  }

 private:
  void clear_local() {
    for (auto& part : local_) part.clear();
  }

  int64_t n_;
  uint32_t epoch_ = 0;
  std::unique_ptr<std::atomic<uint32_t>[]> stamp_;
  std::vector<std::vector<int64_t>> local_;
  std::vector<int64_t> rows_;
};

}  // namespace

int64_t propagate_update_cpu(const CsrView& g, const int64_t* t_indptr, const int32_t* t_indices, const float* values,
                             const int32_t* labels, int64_t width, double tol, int64_t max_iter,
                             const std::vector<int64_t>& seeds, float* y, float* scratch,
                             std::vector<int64_t>& touched, int64_t dense_limit, bool& needs_full_sweeps,
                             int n_threads, double alpha) {
  const bool clamp = alpha < 0.0;
  const int threads = resolve_threads(n_threads);
  std::vector<uint8_t> touched_mark(static_cast<size_t>(g.n), 0);
  touched.clear();
  needs_full_sweeps = false;
  auto touch = [&](int64_t i) {
    if (!touched_mark[i]) {
      touched_mark[i] = 1;
      touched.push_back(i);
    }
  };

  // A new (or changed) label fixes its row, which wakes its dependants; a row whose label was
  // removed is free again: the first sweep recomputes it, and its dependants once it moves.
  std::vector<int64_t> changed, freed;
  for (int64_t s : seeds) {
    if (!clamp) {
      freed.push_back(s);  // alpha form: recomputed by the first sweep (a labeled row too: nothing is clamped)
    } else if (labels[s] >= 0) {
      float* row = y + s * width;
      std::fill(row, row + width, 0.0f);
      row[labels[s]] = 1.0f;
      touch(s);
      changed.push_back(s);
    } else {
      freed.push_back(s);
    }
  }
  ActiveRows active_rows(g.n, threads);
  auto frozen = [&](int64_t i) { return clamp && labels[i] >= 0; };  // clamped rows never change
  // Jacobi over the active rows by the SIMD sweep in row-list mode: new rows packed into scratch,
  // each with its relative change; then the rows that moved are copied back (y is read-only while
  // the sweep runs, so every new row comes from the old rows).
  detail::SweepArgs args{g.indptr, g.indices, values, labels, width, clamp, clamp ? 0.0f : float(alpha),
                         clamp ? 1.0f : float(1.0 - alpha), true};
  const detail::SweepFn sweep = detail::best_sweep();
  std::vector<float> row_change;
  int64_t sweeps = 0;
  for (; sweeps < max_iter && !(changed.empty() && freed.empty()); ++sweeps) {
    const std::vector<int64_t>& active = active_rows.wake(changed, freed, t_indptr, t_indices, frozen);
    freed.clear();
    const int64_t m = int64_t(active.size());
    // Past this size full SIMD sweeps are cheaper than the bookkeeping: hand over, y consistent.
    needs_full_sweeps = m > dense_limit;
    if (needs_full_sweeps) break;
    row_change.assign(static_cast<size_t>(m), 0.0f);
    args.rows = active.data();
    args.row_change = row_change.data();
    const int64_t blocks = (m + kRowsPerTask - 1) / kRowsPerTask;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (m > 4 * kRowsPerTask)
    for (int64_t b = 0; b < blocks; ++b) {
      detail::DenormalsAreZero daz;
      sweep(args, y, scratch, b * kRowsPerTask, std::min(m, (b + 1) * kRowsPerTask));
    }
    changed.clear();
    for (int64_t q = 0; q < m; ++q) {
      if (row_change[q] > 0.0f) touch(active[q]);
      if (row_change[q] > float(tol)) changed.push_back(active[q]);
    }
#pragma omp parallel for num_threads(threads) schedule(static) if (m > 4 * kRowsPerTask)
    for (int64_t q = 0; q < m; ++q)
      if (row_change[q] > 0.0f) std::copy(scratch + q * width, scratch + (q + 1) * width, y + active[q] * width);
  }
  std::sort(touched.begin(), touched.end());
  return sweeps;
}

}  // namespace labelgraph
