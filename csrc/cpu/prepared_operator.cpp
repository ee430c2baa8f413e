// The prepared operator: saved propagation state, and incremental updates after label changes
// with their hand-over to full sweeps when a change spreads over the graph.
#include "labelgraph/prepared_operator.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>

namespace labelgraph {
namespace {

// When the alpha form's push update hands over to full sweeps (Chebyshev-accelerated when
// symmetric): once more than n / kSpreadFraction rows changed after kPushesBeforeSpread x n pushes
// (a push costs about four rows of a full sweep: it scatters into its dependants), or after
// kPushLimitPerRow x n pushes (at least kPushLimitMin) whatever the spread. The measurements these
// values come from are in benchmarks/propagation_RESULTS.md ("Push update hand-over").
constexpr int64_t kSpreadFraction = 4, kPushesBeforeSpread = 2, kPushLimitPerRow = 8,
                  kPushLimitMin = int64_t(1) << 20;

// A batch that only adds labels hands its pushes over to Jacobi sweeps of the rows still above the
// tolerance after n / kPushesPerRowSweeps pushes (at least kPushesBeforeSweepsMin): a push
// scatters its residual row into each dependant (a read-modify-write of a row per edge), where a
// swept row gathers its inputs once, so a change that reaches a large region (the first label of
// a class) is cheaper swept; a small change finishes its pushes first
// (benchmarks/serve/RESULTS.md, "First labels").
constexpr int64_t kPushesPerRowSweeps = 32, kPushesBeforeSweepsMin = 4096;

// A round of pushes pushes at most n / 16 rows (4 blocks of n / 64, propagate_push.cpp), so 16
// rounds can push every row once: the update's max_iter counts these "sweeps" of pushes.
constexpr int64_t kRoundsPerSweep = 16;

// The clamped update: an active set past n / kDenseUpdateFraction (and kDenseUpdateMinRows) rows
// runs full (SIMD, all-row) sweeps instead. Active rows are swept at nearly the full sweep's cost
// per row, and most rows of a large region settle before the rest, so the limit is high
// (benchmarks/propagation_RESULTS.md, "Clamped update hand-over").
constexpr int64_t kDenseUpdateFraction = 2, kDenseUpdateMinRows = 4096;

}  // namespace

void check_column_indices(const CsrView& g) {
  for (int64_t p = 0; p < g.indptr[g.n]; ++p)
    if (g.indices[p] < 0 || g.indices[p] >= g.n) fail("indices must be in [0, n)");
}

void check_permutation(const int64_t* order, int64_t n) {
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (order[i] < 0 || order[i] >= n || seen[order[i]]) fail("order must be a permutation of 0..n-1");
    seen[order[i]] = 1;
  }
}

// Column indices in range and `order` a permutation are checked once here, so the hot path (a
// new label set every few seconds in active learning) does not re-read the whole graph.
PreparedOperator::PreparedOperator(const CsrView& graph, const float* values, const int64_t* order, bool symmetric,
                                   bool checked)
    : g_(graph), values_(values), order_(order), symmetric_(symmetric) {
  if (!checked) check_column_indices(g_);
  if (order_) {
    if (!checked) check_permutation(order_, g_.n);
    new_of_old_.resize(static_cast<size_t>(g_.n));
    for (int64_t i = 0; i < g_.n; ++i) new_of_old_[order_[i]] = i;
  }
}

PropagateStats PreparedOperator::propagate(const int32_t* labels, int64_t n_classes, const float* init,
                                           const float* seed_values, PropagateOptions options,
                                           const RunHooks& hooks, const PropagateOutput& out) {
  // propagate_csr_cpu's own checks, made before the state is dropped.
  if (n_classes < 1) fail("n_classes must be >= 1");
  if (options.n_iter < 0) fail("n_iter must be >= 0");
  if (!(options.alpha < 0.0) && !(options.alpha > 0.0 && options.alpha < 1.0)) fail("alpha must be in (0, 1)");
  bool any_seeded = false;
  for (int64_t i = 0; i < g_.n; ++i) {
    if (labels[i] < -2 || labels[i] >= n_classes) fail("labels must be in [-2, n_classes)");
    any_seeded |= labels[i] == -2;
  }
  if (any_seeded && !seed_values) fail("rows labeled -2 (seeded) need seed values");
  for (int64_t i = 0; i < g_.n && any_seeded; ++i)
    for (int64_t k = 0; k < n_classes && labels[i] == -2; ++k)
      if (!std::isfinite(seed_values[i * n_classes + k])) fail("seed values of seeded rows must be finite");
  options.chebyshev = options.chebyshev && symmetric_;
  std::lock_guard<std::mutex> lock(busy_);
  state_ready_ = false;  // stays false if the run throws (Ctrl-C, a bad option, out of memory)
  push_state_.ready = false;
  const PropagateStats stats = propagate_csr_cpu(g_, values_, order_, labels, n_classes, init, seed_values, nullptr,
                                                 options, hooks, out, workspace_);
  if (any_seeded) state_seeds_.assign(seed_values, seed_values + g_.n * n_classes);
  else state_seeds_.clear();
  // Keep what update() continues from: the final Y and the labels, in operator order.
  state_labels_.resize(static_cast<size_t>(g_.n));
  for (int64_t i = 0; i < g_.n; ++i) state_labels_[i] = labels[caller_row(i)];
  state_buffer_ = stats.final_buffer;
  state_classes_ = n_classes;
  state_alpha_ = options.alpha;
  state_reach_ = options.reach;
  state_ready_ = true;
  return stats;
}

// Everything an update could reject, checked before any state changes.
void PreparedOperator::check_update(const LabelUpdate& b) const {
  if (!state_ready_) fail("update() continues a propagate(): call propagate() first");
  if (b.n_classes != state_classes_ || b.alpha != state_alpha_)
    fail("update() must use the n_classes and alpha of the last propagate()");
  if (b.max_iter < 0 || !(b.tol > 0.0)) fail("update() needs max_iter >= 0 and tol > 0");
  if (!state_seeds_.empty() && !b.seed_values)
    fail("the last propagate() had seeded rows (-2): change them with update_seeds(), not class labels");
  if (state_reach_ && !b.seed_values)
    fail("the last propagate() ran the reach column, which update() does not carry: use update_seeds()");
  if (b.seed_values) {
    for (int64_t q = 0; q < b.count; ++q) {
      if (b.rows[q] < 0 || b.rows[q] >= g_.n) fail("rows must be in [0, n)");
      for (int64_t k = 0; k < b.n_classes; ++k)
        if (!std::isfinite(b.seed_values[q * b.n_classes + k])) fail("seed values must be finite");
    }
    return;
  }
  for (int64_t q = 0; q < b.count; ++q) {
    if (b.rows[q] < 0 || b.rows[q] >= g_.n) fail("rows must be in [0, n)");
    if (b.classes[q] < -1 || b.classes[q] >= b.n_classes)
      fail("classes must be in [-1, n_classes) (-1 removes the row's label)");
  }
}

UpdateResult PreparedOperator::update(const LabelUpdate& batch, const PropagateOutput& out) {
  std::lock_guard<std::mutex> lock(busy_);
  check_update(batch);
  if (!symmetric_ && transpose_indptr_.empty()) build_transpose();  // all or nothing; no state yet
  try {
    return run_update(batch, out);
  } catch (...) {
    // The labels were saved before the kernel ran: without the scores they imply, the state is
    // dropped, and the next update() asks for a propagate().
    state_ready_ = false;
    push_state_.ready = false;
    throw;
  }
}

UpdateResult PreparedOperator::run_update(const LabelUpdate& b, const PropagateOutput& out) {
  if (b.seed_values) return run_seed_update(b, out);
  const int64_t width = propagation_row_width(b.n_classes);
  std::vector<int64_t> seeds(static_cast<size_t>(b.count));
  std::vector<int32_t> old_labels(static_cast<size_t>(b.count)), new_labels(static_cast<size_t>(b.count));
  for (int64_t q = 0; q < b.count; ++q) {  // a row repeated in the batch: its previous label is the one before
    const int64_t i = operator_row(b.rows[q]);
    seeds[q] = i;
    old_labels[q] = state_labels_[i];
    new_labels[q] = b.classes[q];
    state_labels_[i] = b.classes[q];
  }
  const bool retracts = std::any_of(old_labels.begin(), old_labels.end(), [](int32_t l) { return l >= 0; });
  // A symmetric S is its own transpose.
  const CsrView dependants{g_.n, symmetric_ ? g_.indptr : transpose_indptr_.data(),
                           symmetric_ ? g_.indices : transpose_indices_.data()};
  float* y = workspace_.buffer(state_buffer_);
  std::vector<int64_t> touched;
  bool needs_full_sweeps = false;
  int64_t sweeps = 0;
  if (b.alpha >= 0.0) {
    PushLimits limits;
    limits.rounds = b.max_iter * kRoundsPerSweep;
    limits.changed_rows = b.dense_rows >= 0 ? b.dense_rows : g_.n / kSpreadFraction;
    limits.pushes_before_spread = b.dense_rows >= 0 ? 0 : kPushesBeforeSpread * g_.n;
    limits.pushes = std::max(kPushLimitPerRow * g_.n, kPushLimitMin);
    if (!retracts && b.dense_rows < 0)
      limits.pushes = std::min(limits.pushes, std::max(g_.n / kPushesPerRowSweeps, kPushesBeforeSweepsMin));
    const PushUpdateStats stats =
        propagate_push_cpu(dependants, symmetric_ ? values_ : transpose_values_.data(), seeds, new_labels, old_labels,
                           b.n_classes, width, b.alpha, b.tol, limits, y, push_state_, touched, b.n_threads);
    sweeps = (stats.rounds + kRoundsPerSweep - 1) / kRoundsPerSweep;
    // Unfinished pushes (any limit reached, the round budget included) hand over to sweeps:
    // stopping there would return a state short of the tolerance (a batch removing many labels
    // runs out of rounds first). A batch that only adds labels continues by Jacobi sweeps over the
    // rows whose residual is still above the tolerance and then the rows their moves reach (a
    // flood from the first label of a class or of a region is swept, not pushed row by row); past
    // the dense limit, or for a batch that takes labels back, full sweeps.
    needs_full_sweeps = !stats.finished;
    if (needs_full_sweeps && !retracts && sweeps < b.max_iter) {
      const int64_t dense_limit =
          b.dense_rows >= 0 ? b.dense_rows : std::max(g_.n / kDenseUpdateFraction, kDenseUpdateMinRows);
      std::vector<int64_t> swept;
      sweeps += propagate_update_cpu(g_, dependants.indptr, dependants.indices, values_, state_labels_.data(), width,
                                     b.tol, b.max_iter - sweeps, stats.pending, y,
                                     workspace_.buffer(1 - state_buffer_), swept, dense_limit, needs_full_sweeps,
                                     b.n_threads, b.alpha);
      // The swept rows moved without their residuals: theirs start over (as after full sweeps).
      push_state_.restart_rows(y, swept, width);
      std::vector<int64_t> both;
      both.reserve(touched.size() + swept.size());
      std::set_union(touched.begin(), touched.end(), swept.begin(), swept.end(), std::back_inserter(both));
      touched.swap(both);
    }
    if (needs_full_sweeps) sweeps = 0;
  } else {
    const int64_t dense_limit =
        b.dense_rows >= 0 ? b.dense_rows : std::max(g_.n / kDenseUpdateFraction, kDenseUpdateMinRows);
    sweeps = propagate_update_cpu(g_, dependants.indptr, dependants.indices, values_, state_labels_.data(), width,
                                  b.tol, b.max_iter, seeds, y, workspace_.buffer(1 - state_buffer_), touched,
                                  dense_limit, needs_full_sweeps, b.n_threads);
  }
  UpdateResult result;
  if (needs_full_sweeps) {
    // A batch that takes labels back (removed or changed) restarts the sweeps from the labels: a
    // warm start holds the old label's mass on rows whose true scores are tiny, and the per-row
    // relative rule then needs many times the sweeps of a cold run to see it decay
    // (benchmarks/propagation_RESULTS.md, "Label removal").
    result.sweeps = sweeps + continue_with_full_sweeps(b, b.alpha >= 0.0 ? b.max_iter : b.max_iter - sweeps,
                                                       retracts, out);
    result.full_sweeps = true;
    result.rows.resize(static_cast<size_t>(g_.n));
    for (int64_t r = 0; r < g_.n; ++r) result.rows[r] = r;
    return result;
  }
  result.sweeps = sweeps;
  write_changed_rows(touched, b.n_classes, b.n_threads, out, result.rows);
  return result;
}

// Seeded rows changed (LabelUpdate::seed_values): the new seed values saved, then full sweeps to
// the tolerance, warm-started from the current scores when every change only adds mass (no seed
// entry fell, no row was released; see run_update on retractions), else from the seeds alone.
UpdateResult PreparedOperator::run_seed_update(const LabelUpdate& b, const PropagateOutput& out) {
  const int64_t c = b.n_classes;
  if (state_seeds_.empty()) state_seeds_.assign(static_cast<size_t>(g_.n * c), 0.0f);
  bool retracts = false;
  for (int64_t q = 0; q < b.count; ++q) {
    const int64_t r = b.rows[q], i = operator_row(r);
    const float* now = b.seed_values + q * c;
    float* saved = state_seeds_.data() + r * c;
    const int32_t label = b.classes[q] < 0 ? -1 : -2;  // classes[q] < 0 releases the row
    if (state_labels_[i] >= 0) retracts = true;  // a one-hot label replaced
    if (state_reach_ && state_labels_[i] != -1 && label == -1) retracts = true;  // its reach mass goes
    if (state_labels_[i] == -2)
      for (int64_t k = 0; k < c; ++k) retracts |= label == -1 ? saved[k] != 0.0f : now[k] < saved[k];
    state_labels_[i] = label;
    if (label == -2) std::copy(now, now + c, saved);
  }
  UpdateResult result;
  result.sweeps = continue_with_full_sweeps(b, b.max_iter, retracts, out);
  result.full_sweeps = true;
  result.rows.resize(static_cast<size_t>(g_.n));
  for (int64_t r = 0; r < g_.n; ++r) result.rows[r] = r;
  return result;
}

// Caller rows of `operator_rows`, and their scores, argmax and unreached flag written to `out`
// (when given) in parallel: no temporary copies, no Python pass over them.
void PreparedOperator::write_changed_rows(const std::vector<int64_t>& operator_rows, int64_t n_classes,
                                          int n_threads, const PropagateOutput& out,
                                          std::vector<int64_t>& caller_rows) const {
  const int64_t m = int64_t(operator_rows.size()), width = propagation_row_width(n_classes);
  caller_rows.resize(static_cast<size_t>(m));
  const float* y = workspace_.buffer(state_buffer_);
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static) if (m > 4096)
  for (int64_t q = 0; q < m; ++q) {
    const int64_t i = operator_rows[q];
    caller_rows[q] = caller_row(i);
    if (out.soft) write_result_row(y + i * width, n_classes, caller_rows[q], out);
  }
}

// The rest of an update whose changed region grew past the dense limit: full sweeps warm-started
// from the current state (or from the labels alone, `from_labels`), to the same relative
// tolerance; every row is written to `out` when given. Returns the sweeps run.
int64_t PreparedOperator::continue_with_full_sweeps(const LabelUpdate& b, int64_t max_iter, bool from_labels,
                                                    const PropagateOutput& out) {
  const int64_t n = g_.n, c = b.n_classes, width = propagation_row_width(c);
  std::vector<float> init(static_cast<size_t>(n * c)), reach_init(state_reach_ ? static_cast<size_t>(n) : 0);
  std::vector<int32_t> labels(static_cast<size_t>(n));
  const float* y = workspace_.buffer(state_buffer_);
  const float* y_reach = state_reach_ ? workspace_.reach(state_buffer_) : nullptr;
  for (int64_t i = 0; i < n; ++i) {  // operator order -> caller order
    const int64_t dst = caller_row(i);
    std::copy(y + i * width, y + i * width + c, init.data() + dst * c);
    if (y_reach) reach_init[dst] = y_reach[i];
    labels[dst] = state_labels_[i];
  }
  PropagateOptions o;
  o.n_iter = std::max<int64_t>(max_iter, 0);
  o.alpha = b.alpha;
  o.tol = b.tol;
  o.n_threads = b.n_threads;
  o.chebyshev = symmetric_;
  o.reach = state_reach_;
  push_state_.ready = false;  // full sweeps move every row: residuals start over
  const PropagateStats s = propagate_csr_cpu(g_, values_, order_, labels.data(), c, from_labels ? nullptr : init.data(),
                                             state_seeds_.empty() ? nullptr : state_seeds_.data(),
                                             from_labels || !state_reach_ ? nullptr : reach_init.data(), o, RunHooks{},
                                             out, workspace_);
  state_buffer_ = s.final_buffer;
  return s.n_iter;
}

void PreparedOperator::read_rows(const int64_t* rows, int64_t count, float* dst) const {
  std::lock_guard<std::mutex> lock(busy_);
  if (!state_ready_) fail("no propagation state: call propagate() first");
  const int64_t c = state_classes_, width = propagation_row_width(c);
  for (int64_t q = 0; q < count; ++q)
    if (rows[q] < 0 || rows[q] >= g_.n) fail("rows must be in [0, n)");
  const float* y = workspace_.buffer(state_buffer_);
  for (int64_t q = 0; q < count; ++q) {
    const float* src = y + operator_row(rows[q]) * width;
    std::copy(src, src + c, dst + q * c);
  }
}

bool PreparedOperator::has_state() const {
  std::lock_guard<std::mutex> lock(busy_);
  return state_ready_;
}

bool PreparedOperator::has_reach() const {
  std::lock_guard<std::mutex> lock(busy_);
  return state_ready_ && state_reach_;
}

void PreparedOperator::labels(int32_t* dst) const {
  std::lock_guard<std::mutex> lock(busy_);
  if (!state_ready_) fail("no propagation state: call propagate() first");
  for (int64_t i = 0; i < g_.n; ++i) dst[caller_row(i)] = state_labels_[i];
}

// For each column j, the rows whose sums read j (ascending) and the weights they read it with.
// Built into locals and moved in at the end, so a failed allocation leaves no half-built transpose.
void PreparedOperator::build_transpose() {
  const int64_t n = g_.n, nnz = g_.indptr[n];
  std::vector<int64_t> indptr(static_cast<size_t>(n + 1), 0);
  std::vector<int32_t> indices(static_cast<size_t>(nnz));
  std::vector<float> values(static_cast<size_t>(nnz));
  for (int64_t p = 0; p < nnz; ++p) ++indptr[g_.indices[p] + 1];
  for (int64_t j = 0; j < n; ++j) indptr[j + 1] += indptr[j];
  std::vector<int64_t> fill(indptr.begin(), indptr.end() - 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = g_.indptr[i]; p < g_.indptr[i + 1]; ++p) {
      const int64_t q = fill[g_.indices[p]]++;
      indices[q] = int32_t(i);
      values[q] = values_[p];
    }
  transpose_indptr_ = std::move(indptr);
  transpose_indices_ = std::move(indices);
  transpose_values_ = std::move(values);
}

}  // namespace labelgraph
