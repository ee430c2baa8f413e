// Normalised propagation weights S = D^-1/2 W D^-1/2 (or D^-1 W) computed in the log domain.
//
// W_ij = exp(s_ij / T) over- or underflows for small T (T = 0.001 puts exponents near 1000), and a
// plain row sum of underflowed weights gives a zero degree. With the log-degree
// L_i = logsumexp_j(log W_ij) (in double), S_ij = exp(log W_ij - L_i/2 - L_j/2): for a symmetric W
// every exponent is <= 0, so nothing overflows and the largest entry of a row never vanishes.
#include <omp.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "labelgraph/propagate.hpp"
#include "weights_internal.hpp"

namespace labelgraph {

using weights::kNegInf;

void weights::fail_weight_overflow(Normalization normalization, int64_t row) {
  std::ostringstream msg;
  if (normalization == Normalization::row)
    msg << "normalization='row' overflows float32 at row " << row
        << ": its row_log_degree is far below the logsumexp of its log weights; pass the row's log degree";
  else
    msg << "normalization='symmetric' overflows float32 at row " << row
        << ": it has an edge to a row of far smaller (or zero) degree, which only a non-symmetric graph has; "
           "pass symmetrize='max' or 'mean', or normalization='row'";
  fail(msg.str());
}

void log_degrees_cpu(const int64_t* indptr, int64_t n_rows, const double* log_w, int n_threads, double* out) {
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static)
  for (int64_t i = 0; i < n_rows; ++i) {
    const double* row = log_w + indptr[i];
    out[i] = weights::row_logsumexp([row](int64_t e) { return row[e]; }, indptr[i + 1] - indptr[i]);
  }
}

void normalize_log_weights_cpu(const CsrView& rows, const double* log_w, const double* row_log_degree,
                               const double* col_log_degree, Normalization normalization, int n_threads,
                               float* out) {
  // Symmetric entries above FLT_MAX need an edge i->j whose reverse row j is far lighter (only a
  // non-symmetric W); the first such edge (lowest row) is reported instead of storing inf.
  const double max_exponent = weights::max_float_exponent();
  int64_t bad_row = rows.n;
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static) reduction(min : bad_row)
  for (int64_t i = 0; i < rows.n; ++i) {
    const double li = row_log_degree[i];
    for (int64_t p = rows.indptr[i]; p < rows.indptr[i + 1]; ++p) {
      const double lj = normalization == Normalization::row ? 0.0 : col_log_degree[rows.indices[p]];
      if (!weights::normalized_weight(log_w[p], li, lj, normalization, max_exponent, out[p]))
        bad_row = std::min(bad_row, i);
    }
  }
  if (bad_row < rows.n) weights::fail_weight_overflow(normalization, bad_row);
}

void propagation_weights_cpu(const CsrView& g, const double* log_w, Normalization normalization, int n_threads,
                             float* out) {
  std::vector<double> log_degree(static_cast<size_t>(g.n));
  log_degrees_cpu(g.indptr, g.n, log_w, n_threads, log_degree.data());
  normalize_log_weights_cpu(g, log_w, log_degree.data(), log_degree.data(), normalization, n_threads, out);
}

}  // namespace labelgraph
