// A normalised CSR operator kept between calls: full propagation and incremental label updates.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "labelgraph/common.hpp"
#include "labelgraph/propagate.hpp"

namespace labelgraph {

// One batch of label changes for PreparedOperator::update.
struct LabelUpdate {
  const int64_t* rows = nullptr;     // [count] caller rows
  const int32_t* classes = nullptr;  // [count] their new class; -1 removes the row's label
  int64_t count = 0;
  int64_t n_classes = 0;             // must equal the last propagate()'s
  double alpha = -1.0;               // must equal the last propagate()'s (< 0: clamp mode)
  double tol = 1e-4;                 // > 0: relative per-row tolerance of the result
  int64_t max_iter = 200;            // rounds of pushes (alpha form) or sweeps (clamp mode), then full sweeps
  int64_t dense_rows = -1;           // rows past which full sweeps take over; -1: the defaults below
  int n_threads = 0;                 // 0: OpenMP default; the result does not depend on it
  // Seeded rows instead of class labels: [count, n_classes] (caller order of `rows`), row q's new
  // seed values, with classes[q] >= 0 seeding the row and -1 releasing it (see propagate()).
  const float* seed_values = nullptr;
};

struct UpdateResult {
  std::vector<int64_t> rows;  // caller rows whose scores changed, ascending in operator order
  int64_t sweeps = 0;         // rounds of pushes / sweeps, plus the full sweeps after a hand-over
  bool full_sweeps = false;   // full sweeps took over: every row is in `rows` (in caller order)
};

// The operator's arrays (owned by the caller, read-only, alive as long as this object), the
// iteration buffers and the state the last propagate() left, which update() continues: the final
// scores and the labels, in operator order. Every public method takes a lock, so calls from
// several threads are serialised. Throws std::invalid_argument for bad input, before any state
// changes; if an update fails after it changed the state (out of memory), the state is dropped
// (has_state() false) rather than kept with labels the scores do not reflect.
class PreparedOperator {
 public:
  // `graph` square with sorted unique column indices (checked: in range), `values` [nnz] the
  // normalised weights, `order` nullptr or a permutation (checked): operator row r is caller row
  // order[r]. `symmetric`: the caller guarantees S is symmetric, so the alpha form may be
  // Chebyshev-accelerated and S is its own transpose. `checked`: the caller (prepare_propagation)
  // already checked the indices and the order, so the O(nnz) checks are not repeated.
  PreparedOperator(const CsrView& graph, const float* values, const int64_t* order, bool symmetric,
                   bool checked = false);
  PreparedOperator(const PreparedOperator&) = delete;
  PreparedOperator& operator=(const PreparedOperator&) = delete;

  int64_t n() const { return g_.n; }

  // All iterations of propagate_csr_cpu (labels, init and out in caller order); `options.chebyshev`
  // is applied only when the operator is symmetric. Keeps the result for update().
  // seed_values: as for propagate_csr_cpu (rows labeled -2), kept for update(). options.reach:
  // the reach column runs too (from its y0), into out.reach; update() then accepts only seed
  // batches (update_seeds: full sweeps carry the column; the push and row-list updates do not).
  PropagateStats propagate(const int32_t* labels, int64_t n_classes, const float* init, const float* seed_values,
                           PropagateOptions options, const RunHooks& hooks, const PropagateOutput& out);

  // Continues the last propagate() after the label changes of `batch` (new, changed or removed
  // labels): residual pushes in the alpha form (propagate_push_cpu; a batch that only adds labels
  // continues by Jacobi sweeps once its pushes pass a budget), Jacobi sweeps over the rows whose
  // inputs moved in clamp mode (propagate_update_cpu); full sweeps take over when the change
  // spreads (see the limits in prepared_operator.cpp). With `out` (caller order, all
  // arrays non-null) the changed rows are written there; read_rows() gives them otherwise.
  UpdateResult update(const LabelUpdate& batch, const PropagateOutput& out);

  // Scores of caller rows `rows` [count] into dst [count, n_classes] (of the last propagate/update).
  void read_rows(const int64_t* rows, int64_t count, float* dst) const;

  bool has_state() const;
  // True when the saved state carries the reach column (the last propagate() had options.reach).
  bool has_reach() const;
  // The labels the saved scores reflect, in caller order, into dst [n]; throws without a state.
  void labels(int32_t* dst) const;

 private:
  void check_update(const LabelUpdate& batch) const;
  void build_transpose();
  UpdateResult run_update(const LabelUpdate& batch, const PropagateOutput& out);
  UpdateResult run_seed_update(const LabelUpdate& batch, const PropagateOutput& out);
  int64_t continue_with_full_sweeps(const LabelUpdate& batch, int64_t max_iter, bool from_labels,
                                    const PropagateOutput& out);
  void write_changed_rows(const std::vector<int64_t>& operator_rows, int64_t n_classes, int n_threads,
                          const PropagateOutput& out, std::vector<int64_t>& caller_rows) const;
  int64_t caller_row(int64_t i) const { return order_ ? order_[i] : i; }
  int64_t operator_row(int64_t r) const { return order_ ? new_of_old_[r] : r; }

  CsrView g_;
  const float* values_;
  const int64_t* order_;
  bool symmetric_;
  std::vector<int64_t> new_of_old_;  // inverse of order_ (empty without one)
  mutable std::mutex busy_;
  PropagateWorkspace workspace_;
  // State of the last propagate(), continued by update().
  bool state_ready_ = false;
  int state_buffer_ = 0;
  int64_t state_classes_ = 0;
  double state_alpha_ = -1.0;
  bool state_reach_ = false;           // the reach column runs with Y (workspace_.reach(state_buffer_))
  std::vector<int32_t> state_labels_;  // operator order
  std::vector<float> state_seeds_;     // [n, classes] caller order, the seeded rows' values; empty: none
  // For each row j, the rows whose sums read j (built on the first update of a non-symmetric S).
  std::vector<int64_t> transpose_indptr_;
  std::vector<int32_t> transpose_indices_;
  std::vector<float> transpose_values_;
  PushState push_state_;  // the alpha form's update: residuals kept between batches
};

// Throws std::invalid_argument unless every column index of `graph` is in [0, n).
void check_column_indices(const CsrView& graph);
// Throws std::invalid_argument unless order[0..n) is a permutation of 0..n-1.
void check_permutation(const int64_t* order, int64_t n);

}  // namespace labelgraph
