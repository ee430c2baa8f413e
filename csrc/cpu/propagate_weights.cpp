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

namespace labelgraph {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(sum_p exp(x_p)) over one row; -inf for an empty row or one whose weights are all zero.
double row_logsumexp(const double* x, int64_t count) {
  double top = kNegInf;
  for (int64_t p = 0; p < count; ++p) top = std::max(top, x[p]);
  if (top == kNegInf) return kNegInf;
  double sum = 0.0;
  for (int64_t p = 0; p < count; ++p) sum += std::exp(x[p] - top);  // each term in (0, 1], one term is 1
  return top + std::log(sum);
}

}  // namespace

void propagation_weights_cpu(const CsrView& g, const double* log_w, Normalization normalization, int n_threads,
                             float* out) {
  const int threads = resolve_threads(n_threads);
  std::vector<double> log_degree(g.n);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < g.n; ++i)
    log_degree[i] = row_logsumexp(log_w + g.indptr[i], g.indptr[i + 1] - g.indptr[i]);

  // Symmetric entries above FLT_MAX need an edge i->j whose reverse row j is far lighter (only a
  // non-symmetric W); the first such edge (lowest row) is reported instead of storing inf.
  const double max_exponent = std::log(double(FLT_MAX));
  int64_t bad_row = g.n;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(min : bad_row)
  for (int64_t i = 0; i < g.n; ++i) {
    const double li = log_degree[i];
    for (int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p) {
      if (log_w[p] == kNegInf) {  // zero weight (temperature=None); also covers an isolated row
        out[p] = 0.0f;
        continue;
      }
      double exponent;
      if (normalization == Normalization::row) {
        exponent = log_w[p] - li;  // <= 0 by construction
      } else {
        const double lj = log_degree[g.indices[p]];
        exponent = (lj == kNegInf) ? std::numeric_limits<double>::infinity() : log_w[p] - 0.5 * li - 0.5 * lj;
      }
      if (exponent > max_exponent) {
        bad_row = std::min(bad_row, i);
        out[p] = 0.0f;
        continue;
      }
      out[p] = float(std::exp(exponent));
    }
  }
  if (bad_row < g.n) {
    std::ostringstream msg;
    msg << "normalization='symmetric' overflows float32 at row " << bad_row
        << ": it has an edge to a row of far smaller (or zero) degree, which only a non-symmetric graph has; "
           "pass symmetrize='max' or 'mean', or normalization='row'";
    fail(msg.str());
  }
}

}  // namespace labelgraph
