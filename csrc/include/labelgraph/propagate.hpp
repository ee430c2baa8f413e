// Label propagation on a sparse graph: log-domain normalised weights and the clamped / alpha update.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "labelgraph/common.hpp"
#include "labelgraph/cpu_features.hpp"

namespace labelgraph {

enum class Normalization { symmetric, row };  // S = D^-1/2 W D^-1/2, or P = D^-1 W

// A square CSR matrix with sorted, unique column indices per row; empty rows are allowed.
struct CsrView {
  int64_t n = 0;
  const int64_t* indptr = nullptr;  // [n + 1]
  const int32_t* indices = nullptr;  // [nnz]
};

// Writes the normalised weights of W_ij = exp(log_w[p]) into `out` (float32, same pattern):
// log_degrees_cpu, then normalize_log_weights_cpu with the same degrees for rows and columns.
// Degrees are per-row logsumexps in double, so no weight or degree over- or underflows before
// the final exp; a row whose weights are all zero (or empty) is isolated (its entries are 0).
// Throws std::invalid_argument when a symmetric-normalised entry would overflow float32, which
// needs a non-symmetric W (an edge i->j into a row j of far smaller or zero degree).
void propagation_weights_cpu(const CsrView& graph, const double* log_w, Normalization normalization,
                             int n_threads, float* out);

// out[i] = log(sum_p exp(log_w[p])) over row i's entries [indptr[i], indptr[i + 1]), in double;
// -inf for an empty row or one whose weights are all zero.
void log_degrees_cpu(const int64_t* indptr, int64_t n_rows, const double* log_w, int n_threads, double* out);

// The normalised weights of a block of rows: out[p] = exp(log_w[p] - L_i) (row) or
// exp(log_w[p] - L_i / 2 - L_j / 2) (symmetric), L_i = row_log_degree[i], L_j =
// col_log_degree[j] for column j = rows.indices[p] (indices into col_log_degree: a block's columns
// may be global rows). rows.n is the number of rows; zero weights give 0. Throws
// std::invalid_argument when an entry would overflow float32 (see propagation_weights_cpu).
void normalize_log_weights_cpu(const CsrView& rows, const double* log_w, const double* row_log_degree,
                               const double* col_log_degree, Normalization normalization, int n_threads,
                               float* out);

struct PropagateOptions {
  int64_t n_iter = 20;
  double alpha = -1.0;  // < 0: clamp mode (labeled rows reset to one-hot / seed values); in (0, 1): Zhou et al.
  double tol = 0.0;     // > 0: stop once no row moved by more than tol x its largest score (relative)
  bool chebyshev = false;  // alpha mode: Chebyshev acceleration, valid only when S has real eigenvalues (W symmetric)
  int n_threads = 0;    // 0: OpenMP default
  // Also propagate the reach column: 1 on every labeled or seeded row (clamped there; the alpha
  // form's y0), 0 elsewhere, i.e. the mass of labeled rows reaching each row (the denominator of
  // multi-label shares). Kept in its own [n] array beside Y and summed in the same pass over each
  // row's nonzeros, so Y's rows keep the padded width of n_classes (a c + 1-th column would add a
  // padded block at c = 16, 64: a second cache line per gathered row). Its move counts in `tol`.
  bool reach = false;
};

struct PropagateStats {
  int64_t n_iter = 0;  // iterations run
  bool converged = false;
  bool finite = true;  // false if any score is inf or NaN (a diverging non-symmetric operator)
  const char* kernel = "";
  int final_buffer = 0;  // workspace buffer holding the final Y (operator order, padded rows)
};

// Where the result goes, in the caller's row order.
struct PropagateOutput {
  float* soft = nullptr;        // [n, n_classes]
  int64_t* hard = nullptr;      // [n] argmax (ties to the lowest class), -1 when the row is all zero
  uint8_t* unreached = nullptr; // [n] 1 when the row is all zero
  float* reach = nullptr;       // [n] the reach column (PropagateOptions::reach), or nullptr
};

// Writes one row's `c` scores to caller row `dst` of `out`, with its argmax and unreached flag;
// returns false if a score is not finite. Scores are >= 0: the first strictly largest positive
// entry is the argmax (ties to the lower class), and a row without one is all zero: unreached.
inline bool write_result_row(const float* row, int64_t c, int64_t dst, const PropagateOutput& out) {
  std::copy(row, row + c, out.soft + dst * c);
  int64_t best = -1;
  float best_value = 0.0f;
  bool finite = true;
  for (int64_t k = 0; k < c; ++k) {
    finite &= std::isfinite(row[k]);
    if (row[k] > best_value) {
      best = k;
      best_value = row[k];
    }
  }
  out.hard[dst] = best;
  out.unreached[dst] = best < 0;
  return finite;
}

// The two Y buffers of the iteration, 64-byte aligned, and the reach column's two [n] buffers,
// kept between calls by a prepared operator so a new label set costs no allocation or page
// faults (the active-learning loop).
class PropagateWorkspace {
 public:
  PropagateWorkspace() = default;
  PropagateWorkspace(const PropagateWorkspace&) = delete;
  PropagateWorkspace& operator=(const PropagateWorkspace&) = delete;
  ~PropagateWorkspace();
  float* buffer(int b) { return buffers_[b]; }
  const float* buffer(int b) const { return buffers_[b]; }
  float* reach(int b) { return reach_[b].data(); }
  const float* reach(int b) const { return reach_[b].data(); }
  void reserve(int64_t floats_per_buffer);  // grows only; contents are not kept
  void reserve_reach(int64_t rows);         // grows only; contents are not kept

 private:
  float* buffers_[2] = {nullptr, nullptr};
  int64_t capacity_ = 0;
  std::vector<float> reach_[2];
};

// Runs all iterations of Y <- S Y (clamped) or Y <- alpha S Y + (1 - alpha) Y0 in one call.
// The operator may be stored in another node order than the caller's: `order` (nullptr: the
// same) maps operator row r to caller row order[r]; labels [n] (-1 unlabeled, -2 seeded, else <
// n_classes), init ([n, n_classes] or nullptr) and seed_values ([n, n_classes], read only on the
// rows labeled -2, nullptr when none is) are in the caller's order, and so is `out`. A seeded row
// is clamped to its seed values (clamp mode; e.g. a multi-hot label set, or all zero for a known
// empty set) or has them as its y0 (alpha form) where a labeled row has its one-hot.
// With options.reach the reach column runs too: it starts from reach_init ([n], caller order;
// clamp mode: 1 on labeled and seeded rows whatever it holds), or from its y0 when reach_init is
// nullptr, and is written to out.reach (workspace.reach(stats.final_buffer) without `out`).
// Each row sums its nonzeros in a fixed order, so the result is the same for every run and
// every thread count. Ctrl-C and progress go through `hooks`. With `out` all null nothing is
// written (the final Y stays in the workspace buffer stats.final_buffer, operator order; `finite`
// is then not checked).
PropagateStats propagate_csr_cpu(const CsrView& graph, const float* values, const int64_t* order,
                                 const int32_t* labels, int64_t n_classes, const float* init,
                                 const float* seed_values, const float* reach_init, const PropagateOptions& options,
                                 const RunHooks& hooks, const PropagateOutput& out, PropagateWorkspace& workspace);

// Incremental update of a clamped propagation after new labels (active learning; the alpha form
// uses propagate_push_cpu below). `y` holds the previous scores in operator order (rows of
// `width` floats); `labels` the labels in operator order, already including the new ones; `seeds`
// the operator rows whose label changed (labels[s] == -1: removed, the row is free again and is
// recomputed with its dependants). Only rows an input of which changed are re-swept (Jacobi
// on that active set), and a row that moved by at most `tol` x its largest score does not wake
// its dependants: the result matches full sweeps run to the same relative tolerance, at the cost
// of the region the new labels actually change. `transpose_indptr` / `transpose_indices` give,
// for each row j, the rows whose sums read j. `scratch` holds n x width floats, 64-byte aligned
// (new rows are built there). Returns the sweeps run and fills `touched` with every row whose
// value changed. When a sweep would recompute more than `dense_limit` rows it stops before that
// sweep with `needs_full_sweeps` set (y holds the sweeps done so far): the caller continues with
// full sweeps. `n_threads` <= 0: OpenMP's default. The result does not depend on it.
//
// With `alpha` in (0, 1) the same Jacobi runs on the alpha form instead (y_i <- alpha (S y)_i +
// (1 - alpha) onehot(labels[i]), no row clamped): `seeds` are then rows recomputed by the first
// sweep whatever their inputs did (rows whose target changed, or whose residual is known to be
// above the tolerance), their dependants woken once they move.
int64_t propagate_update_cpu(const CsrView& graph, const int64_t* transpose_indptr, const int32_t* transpose_indices,
                             const float* values, const int32_t* labels, int64_t width, double tol, int64_t max_iter,
                             const std::vector<int64_t>& seeds, float* y, float* scratch, std::vector<int64_t>& touched,
                             int64_t dense_limit, bool& needs_full_sweeps, int n_threads, double alpha = -1.0);

// What an incremental push update (propagate_push.cpp) keeps between batches, in operator order.
struct PushState {
  // [n, stride]: per row alpha S y + b - y not yet pushed (below tol x the row's largest |y|),
  // then zeros, and in the last float that largest |y| (read with the residual: one cache line).
  std::vector<float> residual;
  int64_t stride = 0;          // a padded width with room for the last float
  std::vector<uint8_t> flags;  // [n]: scratch marks of a run, zero between runs
  bool ready = false;          // false after anything but a push update changed y

  void start(const float* y, int64_t n, int64_t n_classes, int64_t width, int n_threads);
  // After `rows` (ascending) were recomputed by sweeps: their residuals start over from zero (as
  // start() assumes for every row), their scales from y; the other rows keep theirs.
  void restart_rows(const float* y, const std::vector<int64_t>& rows, int64_t width);
};

struct PushUpdateStats {
  int64_t rounds = 0;     // rounds of pushes between which the row blocks exchange their changes
  int64_t pushes = 0;     // rows pushed
  bool finished = false;  // no row's residual exceeds tol x its largest score
  std::vector<int64_t> pending;  // when not finished: the rows whose residual still exceeds it, ascending
};

// When an incremental push update stops early, checked after each round (in which each of its
// row blocks pushes at most about n / 64 rows): the caller then continues with full sweeps.
struct PushLimits {
  int64_t rounds = 0;                // rounds run
  int64_t changed_rows = 0;          // a change reaching more rows than this has spread: full
  int64_t pushes_before_spread = 0;  //   sweeps pay, once at least this many pushes were made
  int64_t pushes = 0;                // pushes made, whatever the spread
};

// Incremental update of the alpha form after new labels by residual pushes. `dependants` holds,
// for each row u, the rows v whose sums read u, with `dependant_weights` the weights S_vu (the
// transpose of S; S itself when symmetric). Seed q (operator order) is labeled seed_labels[q]
// (-1: its label is removed); before it, previous_labels[q] (-1: none; a row repeated in a batch:
// the one before). Rows are
// pushed while their residual exceeds `tol` x their largest score, so the result satisfies the
// full sweeps' relative stopping rule. Stops early at the end of a round that passes one of
// `limits` (finished false, y and the residual consistent). `y` has rows of `width` floats;
// `touched` gets every row whose scores changed, ascending. The result does not depend on
// `n_threads`. If it throws (out of memory), y and `state` are inconsistent: start over.
PushUpdateStats propagate_push_cpu(const CsrView& dependants, const float* dependant_weights,
                                   const std::vector<int64_t>& seeds, const std::vector<int32_t>& seed_labels,
                                   const std::vector<int32_t>& previous_labels, int64_t n_classes, int64_t width,
                                   double alpha, double tol, const PushLimits& limits, float* y, PushState& state,
                                   std::vector<int64_t>& touched, int n_threads);

// Floats per row of Y for n_classes classes (padded so a row starts on a cache line).
int64_t propagation_row_width(int64_t n_classes);

// Name of the SpMM kernel the active SIMD level selects (scalar, avx2, avx512).
std::string spmm_kernel_name();
// The SpMM kernel a SIMD level selects on this CPU (a lower one if its sweep failed the self-test).
std::string spmm_kernel_name_for(SimdLevel level);

}  // namespace labelgraph
