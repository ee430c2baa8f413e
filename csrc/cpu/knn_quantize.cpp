// Normalises rows and quantises them to int16 pairs in microkernel panels, with the exact
// quantisation error of each row (the certificate in knn_rescore.cpp is built from it).
#include <omp.h>

#include <climits>
#include <cmath>
#include <numeric>
#include <sstream>
#include <string>

#include "knn_internal.hpp"
#include "labelgraph/common.hpp"
#include "labelgraph/knn.hpp"

namespace labelgraph::detail {
namespace {

constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52

std::string list_rows(const std::vector<int64_t>& rows) {
  std::ostringstream out;
  for (size_t i = 0; i < rows.size() && i < 10; ++i) out << (i ? ", " : "") << rows[i];
  if (rows.size() > 10) out << ", ...";
  return out.str();
}

static_assert(23171LL * 23171LL >= kMaxKnnColumns, "sqrt(kMaxKnnColumns) < 23171");
static_assert((2LL * 32767 + 23171) * (2LL * 32767 + 23171) <= 4LL * INT32_MAX,
              "(S + sqrt(kMaxKnnColumns) / 2)^2 must fit in int32");
static_assert(kQuantScale == 32767.0, "the bound above is written for S = 32767");

}  // namespace

QuantizedRows quantize_rows(const float* X, int64_t n, int64_t d, const MicroKernel& mk, int n_threads) {
  if (d > kMaxKnnColumns)
    fail("X has " + std::to_string(d) + " columns; the int16 kNN kernels are exact up to 2**29 columns: "
         "reduce the dimension (e.g. PCA)");
  if (n > kMaxKnnRows)
    fail("X has " + std::to_string(n) + " rows; the kNN kernels index rows with int32, at most 2**31-1");
  QuantizedRows out;
  out.n = n;
  out.d = d;
  out.d2 = (d + 1) / 2;
  out.mr = mk.mr;
  out.nr = mk.nr;
  const int64_t panel = std::lcm<int64_t>(mk.mr, mk.nr);
  out.n_pad = (n + panel - 1) / panel * panel;
  out.a_words = make_aligned<int32_t>(out.n_pad * out.d2);
  out.b_words = make_aligned<int32_t>(out.n_pad * out.d2);
  out.inv_norm.assign(static_cast<size_t>(n), 0.0);
  out.err.assign(static_cast<size_t>(n), 0.0);

  const int64_t n_panels = out.n_pad / panel;
  std::vector<char> bad(static_cast<size_t>(n), 0);  // 1: zero row, 2: NaN or inf
  double err_max = 0.0;
  // One row of int16 per thread, allocated before the region (nothing inside it may throw).
  std::vector<int16_t> scratch(static_cast<size_t>(n_threads * out.d2 * 2));
#pragma omp parallel for schedule(static) num_threads(n_threads) reduction(max : err_max)
  for (int64_t pi = 0; pi < n_panels; ++pi) {
    int16_t* q = scratch.data() + omp_get_thread_num() * out.d2 * 2;
    for (int64_t r = 0; r < panel; ++r) {
      const int64_t i = pi * panel + r;
      std::fill(q, q + out.d2 * 2, int16_t(0));
      if (i < n) {
        const float* x = X + i * d;
        double sq = 0.0;
        for (int64_t p = 0; p < d; ++p) sq += double(x[p]) * double(x[p]);
        if (!std::isfinite(sq)) {
          bad[i] = 2;
        } else if (sq == 0.0) {
          bad[i] = 1;
        } else {
          const double inv = 1.0 / std::sqrt(sq);
          double err = 0.0;
          for (int64_t p = 0; p < d; ++p) {
            const double u = double(x[p]) * inv;  // |u| <= 1 up to rounding, so |v| <= S
            // Round to nearest even by the 1.5 * 2^52 trick: no libm call on the baseline ISA.
            const double v = (u * kQuantScale + kRoundMagic) - kRoundMagic;
            // Clamped to [-S, S], S = 32767: -32768 never occurs, so a vpmaddwd pair sum is at most
            // 2 S^2 < 2^31. Overflow bound of the int32 sums (all microkernels, any blocking): with
            // |u| = 1 and each coordinate rounded by at most 1/2, |q_i| <= S + sqrt(d) / 2, so by
            // Cauchy-Schwarz every partial sum of q_i . q_j over any set of coordinates is at most
            // (S + sqrt(d) / 2)^2 in absolute value. For d <= kMaxKnnColumns = 2^29, sqrt(d) < 23171
            // and (2 S + 23171)^2 <= 4 INT32_MAX (the static_asserts below), so no sum overflows and
            // no score reaches INT32_MIN (the thresholds subtract 1 from a kept score).
            q[p] = int16_t(v > kQuantScale ? kQuantScale : (v < -kQuantScale ? -kQuantScale : v));
            const double e = u - double(q[p]) / kQuantScale;
            err += e * e;
          }
          out.inv_norm[i] = inv;
          // Slack covers the rounding of this sum and of u (relative 1e-15 on values below 1e-4).
          out.err[i] = std::sqrt(err) * (1.0 + 1e-9) + 1e-12;
          err_max = std::fmax(err_max, out.err[i]);
        }
      }
      int32_t* a = out.a_words.get() + (i / out.mr) * out.d2 * out.mr + i % out.mr;
      int32_t* b = out.b_words.get() + (i / out.nr) * out.d2 * out.nr + i % out.nr;
      for (int64_t t = 0; t < out.d2; ++t) {
        const int32_t word = int32_t(uint32_t(uint16_t(q[2 * t])) | (uint32_t(uint16_t(q[2 * t + 1])) << 16));
        a[t * out.mr] = word;
        b[t * out.nr] = word;
      }
    }
  }
  out.err_max = err_max;

  std::vector<int64_t> zero_rows, nonfinite_rows;
  for (int64_t i = 0; i < n; ++i) {
    if (bad[i] == 1) zero_rows.push_back(i);
    if (bad[i] == 2) nonfinite_rows.push_back(i);
  }
  if (!nonfinite_rows.empty())
    fail("X has " + std::to_string(nonfinite_rows.size()) + " rows with NaN or inf (rows " + list_rows(nonfinite_rows) +
         "); remove or impute them");
  if (!zero_rows.empty())
    fail("X has " + std::to_string(zero_rows.size()) + " all-zero rows (rows " + list_rows(zero_rows) +
         "); cosine similarity is undefined for them: drop them before building the graph");
  return out;
}

}  // namespace labelgraph::detail
