// The two formulas of the log-domain normalisation, shared by propagate_weights.cpp (float64
// log-weights given) and prepare_weights.cpp (log-weights computed from the caller's values), so
// both give the same float32 weights bit for bit.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

#include "labelgraph/propagate.hpp"

namespace labelgraph::weights {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(sum_e exp(log_weight(e))) over e in [0, count), in that order; -inf for an empty row or one
// whose weights are all zero. Each term is in (0, 1] and one of them is 1, so nothing overflows.
template <class LogWeight>
double row_logsumexp(LogWeight log_weight, int64_t count) {
  double top = kNegInf;
  for (int64_t e = 0; e < count; ++e) top = std::max(top, log_weight(e));
  if (top == kNegInf) return kNegInf;
  double sum = 0.0;
  for (int64_t e = 0; e < count; ++e) sum += std::exp(log_weight(e) - top);
  return top + std::log(sum);
}

// Largest exponent whose exp fits in float32.
inline double max_float_exponent() { return std::log(double(FLT_MAX)); }

// The normalised weight of an edge of log-weight `log_w` from a row of log-degree `li` to a
// column of log-degree `lj`; false (and 0 stored) when it overflows float32, which needs a
// non-symmetric W (an edge into a row of far smaller or zero degree).
inline bool normalized_weight(double log_w, double li, double lj, Normalization normalization, double max_exponent,
                              float& out) {
  out = 0.0f;
  if (log_w == kNegInf) return true;  // zero weight (temperature=None); also covers an isolated row
  double exponent;
  if (normalization == Normalization::row) {
    exponent = log_w - li;  // <= 0 when li is this row's logsumexp
  } else {
    exponent = (lj == kNegInf) ? std::numeric_limits<double>::infinity() : log_w - 0.5 * li - 0.5 * lj;
  }
  if (exponent > max_exponent) return false;
  out = float(std::exp(exponent));
  return true;
}

// Throws std::invalid_argument naming the row (the caller's numbering) whose weight overflowed.
[[noreturn]] void fail_weight_overflow(Normalization normalization, int64_t row);

}  // namespace labelgraph::weights
