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
static_assert(127.5 * 127.5 * double(kMaxInt8Columns) < double(INT32_MAX), "int8 scores must fit in int32");

}  // namespace

QuantizedRows quantize_rows(const float* X, int64_t n, int64_t d, const KnnKernels& kernels, int n_threads) {
  if (d > kMaxKnnColumns)
    fail("X has " + std::to_string(d) + " columns; the int16 kNN kernels are exact up to 2**29 columns: "
         "reduce the dimension (e.g. PCA)");
  if (n > kMaxKnnRows)
    fail("X has " + std::to_string(n) + " rows; the kNN kernels index rows with int32, at most 2**31-1");
  QuantizedRows out;
  out.n = n;
  out.d = d;
  out.d2 = (d + 1) / 2;
  out.k4 = (d + 3) / 4;
  out.int8 = kernels.k8 != nullptr;
  out.mr = kernels.k16->mr;
  out.nr = kernels.k16->nr;
  const int64_t panel = std::lcm<int64_t>(out.mr, out.nr);
  out.n_pad = (n + panel - 1) / panel * panel;
  out.a_words = make_aligned<int32_t>(out.n_pad * out.words());
  out.b_words = make_aligned<int32_t>(out.n_pad * out.words());
  if (out.int8) {
    out.rows16 = make_aligned<int32_t>(out.n_pad * out.d2);
    out.corr8.assign(static_cast<size_t>(out.n_pad), 0);
  }
  out.inv_norm.assign(static_cast<size_t>(n), 0.0);
  out.err.assign(static_cast<size_t>(n), 0.0);

  // Norms first: the int8 scale is common to all rows (so int8 scores compare across rows) and
  // set by the largest normalised coordinate.
  std::vector<char> bad(static_cast<size_t>(n), 0);  // 1: zero row, 2: NaN or inf
  double coord_max = 0.0;
#pragma omp parallel for schedule(static) num_threads(n_threads) reduction(max : coord_max)
  for (int64_t i = 0; i < n; ++i) {
    const float* x = X + i * d;
    double sq = 0.0, am = 0.0;
    for (int64_t p = 0; p < d; ++p) {
      sq += double(x[p]) * double(x[p]);
      am = std::fmax(am, std::fabs(double(x[p])));
    }
    if (!std::isfinite(sq)) {
      bad[i] = 2;
    } else if (sq == 0.0) {
      bad[i] = 1;
    } else {
      out.inv_norm[i] = 1.0 / std::sqrt(sq);
      coord_max = std::fmax(coord_max, am * out.inv_norm[i]);
    }
  }
  // |u_p| <= coord_max (up to rounding, hence the clamp below), and coord_max >= 1 / sqrt(d).
  out.scale8 = coord_max > 0.0 ? kQuant8Max / coord_max : 1.0;

  const int64_t n_panels = out.n_pad / panel;
  const int64_t W = out.words();
  double err_max = 0.0, err8_max = 0.0;
  // One row of int16 and one of int8 per thread, allocated before the region (nothing inside may throw).
  std::vector<int16_t> scratch(static_cast<size_t>(n_threads * out.d2 * 2));
  std::vector<int8_t> scratch8(static_cast<size_t>(n_threads * out.k4 * 4));
#pragma omp parallel for schedule(static) num_threads(n_threads) reduction(max : err_max, err8_max)
  for (int64_t pi = 0; pi < n_panels; ++pi) {
    int16_t* q = scratch.data() + omp_get_thread_num() * out.d2 * 2;
    int8_t* q8 = scratch8.data() + omp_get_thread_num() * out.k4 * 4;
    for (int64_t r = 0; r < panel; ++r) {
      const int64_t i = pi * panel + r;
      std::fill(q, q + out.d2 * 2, int16_t(0));
      std::fill(q8, q8 + out.k4 * 4, int8_t(0));
      if (i < n && bad[i] == 0) {
        const float* x = X + i * d;
        const double inv = out.inv_norm[i];
        double err = 0.0, err8 = 0.0;
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
          if (out.int8) {
            // int8: |q8_i| <= scale8 + sqrt(d) / 2 <= 127.5 sqrt(d) (scale8 <= 127 sqrt(d)), so
            // |q8_i . q8_j| <= 127.5^2 d < 2^31 for d <= kMaxInt8Columns; the kernel's offset sums
            // may wrap, the result is exact modulo 2^32 and so exact.
            const double v8 = (u * out.scale8 + kRoundMagic) - kRoundMagic;
            q8[p] = int8_t(v8 > kQuant8Max ? kQuant8Max : (v8 < -kQuant8Max ? -kQuant8Max : v8));
            const double e8 = u - double(q8[p]) / out.scale8;
            err8 += e8 * e8;
          }
        }
        // Slack covers the rounding of this sum and of u (relative 1e-15 on values below 1e-4).
        out.err[i] = std::sqrt(err) * (1.0 + 1e-9) + 1e-12;
        err_max = std::fmax(err_max, out.err[i]);
        if (out.int8) err8_max = std::fmax(err8_max, std::sqrt(err8) * (1.0 + 1e-9) + 1e-12);
      }
      int32_t* a = out.a_words.get() + (i / out.mr) * W * out.mr + i % out.mr;
      int32_t* b = out.b_words.get() + (i / out.nr) * W * out.nr + i % out.nr;
      if (!out.int8) {
        for (int64_t t = 0; t < out.d2; ++t) {
          const int32_t word = int32_t(uint32_t(uint16_t(q[2 * t])) | (uint32_t(uint16_t(q[2 * t + 1])) << 16));
          a[t * out.mr] = word;
          b[t * out.nr] = word;
        }
        continue;
      }
      int32_t* row16 = out.rows16.get() + i * out.d2;
      for (int64_t t = 0; t < out.d2; ++t)
        row16[t] = int32_t(uint32_t(uint16_t(q[2 * t])) | (uint32_t(uint16_t(q[2 * t + 1])) << 16));
      int32_t sum = 0;
      for (int64_t t = 0; t < out.k4; ++t) {
        uint32_t wa = 0, wb = 0;
        for (int s = 0; s < 4; ++s) {
          wa |= uint32_t(uint8_t(int32_t(q8[4 * t + s]) + 128)) << (8 * s);  // A side: q + 128 in [1, 255]
          wb |= uint32_t(uint8_t(q8[4 * t + s])) << (8 * s);
          sum += q8[4 * t + s];
        }
        a[t * out.mr] = int32_t(wa);
        b[t * out.nr] = int32_t(wb);
      }
      out.corr8[i] = 128 * sum;
    }
  }
  out.err_max = err_max;
  out.err8_max = err8_max;

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

Int8Filter::Int8Filter(const QuantizedRows& a, const QuantizedRows& b) {
  const double e16 = std::fmax(a.err_max, b.err_max), e8 = std::fmax(a.err8_max, b.err8_max);
  const double delta = (2.0 * e16 + e16 * e16) + (2.0 * e8 + e8 * e8) + 1e-9;  // 1e-9: rounding of this sum
  const double s8 = a.scale8 * b.scale8;
  ratio = s8 / (kQuantScale * kQuantScale);
  shift = s8 * delta;
}

}  // namespace labelgraph::detail
