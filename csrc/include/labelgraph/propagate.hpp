// Label propagation on a sparse graph: log-domain normalised weights and the clamped / alpha update.
#pragma once

#include <cstdint>
#include <string>

#include "labelgraph/common.hpp"

namespace labelgraph {

enum class Normalization { symmetric, row };  // S = D^-1/2 W D^-1/2, or P = D^-1 W

// A square CSR matrix with sorted, unique column indices per row; empty rows are allowed.
struct CsrView {
  int64_t n = 0;
  const int64_t* indptr = nullptr;  // [n + 1]
  const int32_t* indices = nullptr;  // [nnz]
};

// Writes the normalised weights of W_ij = exp(log_w[p]) into `out` (float32, same pattern).
// Degrees are per-row logsumexps in double, so no weight or degree over- or underflows before
// the final exp; a row whose weights are all zero (or empty) is isolated (its entries are 0).
// Throws std::invalid_argument when a symmetric-normalised entry would overflow float32, which
// needs a non-symmetric W (an edge i->j into a row j of far smaller or zero degree).
void propagation_weights_cpu(const CsrView& graph, const double* log_w, Normalization normalization,
                             int n_threads, float* out);

struct PropagateOptions {
  int64_t n_iter = 20;
  double alpha = -1.0;  // < 0: clamp mode (labeled rows reset to one-hot); in (0, 1): Zhou et al.
  double tol = 0.0;     // > 0: stop once the largest change of one iteration is <= tol
  int n_threads = 0;    // 0: OpenMP default
};

struct PropagateStats {
  int64_t n_iter = 0;  // iterations run
  bool converged = false;
  const char* kernel = "";
};

// Runs all iterations of Y <- S Y (clamped) or Y <- alpha S Y + (1 - alpha) Y0 in one call.
// labels: [n] (-1 unlabeled, else < n_classes); init: [n, n_classes] or nullptr (Y0);
// soft: [n, n_classes] output. Each row sums its nonzeros in CSR order, so the result is the
// same for every run and every thread count. Ctrl-C and progress go through `hooks`.
PropagateStats propagate_csr_cpu(const CsrView& graph, const float* values, const int32_t* labels,
                                 int64_t n_classes, const float* init, const PropagateOptions& options,
                                 const RunHooks& hooks, float* soft);

// Name of the SpMM kernel the active SIMD level selects (scalar, avx2, avx512).
std::string spmm_kernel_name();

}  // namespace labelgraph
