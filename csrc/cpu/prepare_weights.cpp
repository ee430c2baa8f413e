// The normalised operator straight from the caller's CSR values: log-weights computed on the fly
// (no float64 copy of the graph), degrees and weights in two parallel passes, and the renumbered
// variant that permutes, sorts and normalises in the same two passes.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>
#include <vector>

#include "labelgraph/prepare.hpp"
#include "weights_internal.hpp"

namespace labelgraph {
namespace {

constexpr int64_t kNoRow = std::numeric_limits<int64_t>::max();
// Random reads (a column's degree, an old row) are prefetched this many entries or rows ahead,
// so their cache misses overlap instead of stalling one after the other.
constexpr int64_t kAhead = 16;

// Lowest caller rows with a negative weight (temperature=None) or a value / T beyond float64.
struct ValueProblems {
  int64_t negative = kNoRow;
  int64_t overflow = kNoRow;
};

template <class Value>
void note_value(Value v, double log_w, EdgeWeights weights, int64_t row, ValueProblems& problems) {
  if (weights.temperature > 0.0) {
    if (!std::isfinite(log_w)) problems.overflow = std::min(problems.overflow, row);
  } else if (v < Value(0)) {
    problems.negative = std::min(problems.negative, row);
  }
}

void raise_value_problems(const ValueProblems& problems, EdgeWeights weights) {
  std::ostringstream msg;
  if (problems.negative != kNoRow) {
    msg << "graph has negative weights (row " << problems.negative << "); with temperature=None the values must be "
        << "weights >= 0; pass a temperature to treat them as similarities";
    fail(msg.str());
  }
  if (problems.overflow != kNoRow) {
    msg << "graph values / temperature overflow float64 (temperature=" << weights.temperature
        << "); use a larger temperature";
    fail(msg.str());
  }
}

// Short rows (a kNN graph's k) sort fastest by insertion; long ones by std::sort. Keys are unique.
void sort_row(std::pair<int32_t, int32_t>* row, int64_t len) {
  if (len > 32) {
    std::sort(row, row + len, [](const auto& a, const auto& b) { return a.first < b.first; });
    return;
  }
  for (int64_t e = 1; e < len; ++e) {
    const auto item = row[e];
    int64_t f = e;
    for (; f > 0 && row[f - 1].first > item.first; --f) row[f] = row[f - 1];
    row[f] = item;
  }
}

}  // namespace

template <class Value>
void prepare_weights_cpu(const CsrView& g, const Value* data, EdgeWeights weights, Normalization normalization,
                         int n_threads, float* out) {
  const int threads = resolve_threads(n_threads);
  std::vector<double> log_degree(static_cast<size_t>(g.n));
  int64_t negative = kNoRow, overflow = kNoRow;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4096) reduction(min : negative, overflow)
  for (int64_t i = 0; i < g.n; ++i) {
    const Value* row = data + g.indptr[i];
    const int64_t len = g.indptr[i + 1] - g.indptr[i];
    ValueProblems problems;
    for (int64_t e = 0; e < len; ++e) note_value(row[e], weights.log_weight(row[e]), weights, i, problems);
    negative = std::min(negative, problems.negative);
    overflow = std::min(overflow, problems.overflow);
    log_degree[i] = weights::row_logsumexp([row, weights](int64_t e) { return weights.log_weight(row[e]); }, len);
  }
  raise_value_problems({negative, overflow}, weights);
  const double max_exponent = weights::max_float_exponent();
  const int64_t nnz = g.indptr[g.n];
  int64_t bad_row = kNoRow;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4096) reduction(min : bad_row)
  for (int64_t i = 0; i < g.n; ++i) {
    const double li = log_degree[i];
    for (int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p) {
      // The column's degree is a random read in data order: fetched kAhead entries early.
      if (p + kAhead < nnz) __builtin_prefetch(log_degree.data() + g.indices[p + kAhead]);
      const double lj = normalization == Normalization::row ? 0.0 : log_degree[g.indices[p]];
      if (!weights::normalized_weight(weights.log_weight(data[p]), li, lj, normalization, max_exponent, out[p]))
        bad_row = std::min(bad_row, i);
    }
  }
  if (bad_row != kNoRow) weights::fail_weight_overflow(normalization, bad_row);
}

// Pass A, per new row r: its entries (new column, offset in the old row) sorted by new column;
// the new columns go to out_indices, and out_values holds until pass B what that pass needs: the
// value itself when it is float32 (so pass B streams), else its offset in the old row. The
// log-degree sums the log-weights in the sorted order (as propagation_weights_cpu on a permuted
// copy does). Pass B turns each parked entry into its normalised weight.
template <class Value>
void prepare_permuted_cpu(const CsrView& g, const Value* data, EdgeWeights weights, Normalization normalization,
                          const int64_t* order, int n_threads, int64_t* out_indptr, int32_t* out_indices,
                          float* out_values) {
  static_assert(sizeof(float) == sizeof(int32_t), "offsets are parked in the float32 values");
  constexpr bool kParkValues = std::is_same_v<Value, float>;

  const int threads = resolve_threads(n_threads);
  const int64_t n = g.n;
  std::vector<int32_t> new_of_old(static_cast<size_t>(n));  // int32: 4 bytes a node stay in cache longer
  int64_t longest = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(max : longest)
  for (int64_t r = 0; r < n; ++r) {
    new_of_old[order[r]] = int32_t(r);
    longest = std::max(longest, g.indptr[order[r] + 1] - g.indptr[order[r]]);
  }
  out_indptr[0] = 0;
  for (int64_t r = 0; r < n; ++r) out_indptr[r + 1] = out_indptr[r] + (g.indptr[order[r] + 1] - g.indptr[order[r]]);
  // Old rows are read in a random order: row r + 2 kAhead's indptr entry, row r + kAhead's
  // columns and values, and the new numbers of row r + kAhead / 2's columns are fetched early, so
  // the misses overlap. (A streaming pass mapping every column first was no faster here, and its
  // nnz x 4 bytes of scratch are freshly faulted pages on every call.)
  auto prefetch_rows = [&](int64_t r) {
    if (r + 2 * kAhead < n) __builtin_prefetch(g.indptr + order[r + 2 * kAhead]);
    if (r + kAhead < n) {
      const int64_t begin = g.indptr[order[r + kAhead]], end = g.indptr[order[r + kAhead] + 1];
      if (end > begin) {
        __builtin_prefetch(g.indices + begin);
        __builtin_prefetch(g.indices + end - 1);
        __builtin_prefetch(data + begin);
        __builtin_prefetch(data + end - 1);
      }
    }
  };
  // Each thread's row buffer is sized before the region: nothing inside it allocates.
  std::vector<std::pair<int32_t, int32_t>> buffers(static_cast<size_t>(threads * longest));
  std::vector<double> log_degree(static_cast<size_t>(n));
  int64_t negative = kNoRow, overflow = kNoRow;
#pragma omp parallel num_threads(threads) reduction(min : negative, overflow)
  {
    std::pair<int32_t, int32_t>* row = buffers.data() + omp_get_thread_num() * longest;
#pragma omp for schedule(dynamic, 1024)
    for (int64_t r = 0; r < n; ++r) {
      prefetch_rows(r);
      if (r + kAhead / 2 < n) {
        const int64_t o = order[r + kAhead / 2];
        for (int64_t p = g.indptr[o]; p < g.indptr[o + 1]; ++p) __builtin_prefetch(new_of_old.data() + g.indices[p]);
      }
      const int64_t old = order[r], begin = g.indptr[old], len = g.indptr[old + 1] - begin;
      for (int64_t e = 0; e < len; ++e) row[e] = {new_of_old[g.indices[begin + e]], int32_t(e)};
      sort_row(row, len);
      const Value* old_row = data + begin;
      const int64_t q = out_indptr[r];
      ValueProblems problems;
      for (int64_t e = 0; e < len; ++e) {
        out_indices[q + e] = row[e].first;
        const Value v = old_row[row[e].second];
        if constexpr (kParkValues)
          out_values[q + e] = v;
        else
          std::memcpy(out_values + q + e, &row[e].second, sizeof(int32_t));
        note_value(v, weights.log_weight(v), weights, old, problems);
      }
      negative = std::min(negative, problems.negative);
      overflow = std::min(overflow, problems.overflow);
      log_degree[r] = weights::row_logsumexp(
          [row, old_row, weights](int64_t e) { return weights.log_weight(old_row[row[e].second]); }, len);
    }
  }
  raise_value_problems({negative, overflow}, weights);
  const double max_exponent = weights::max_float_exponent();
  int64_t bad_row = kNoRow;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1024) reduction(min : bad_row)
  for (int64_t r = 0; r < n; ++r) {
    if constexpr (!kParkValues) prefetch_rows(r);
    const Value* old_row = data + g.indptr[order[r]];
    const double li = log_degree[r];
    for (int64_t q = out_indptr[r]; q < out_indptr[r + 1]; ++q) {
      Value v;
      if constexpr (kParkValues) {
        v = out_values[q];
      } else {
        int32_t offset;
        std::memcpy(&offset, out_values + q, sizeof(int32_t));
        v = old_row[offset];
      }
      const double lj = normalization == Normalization::row ? 0.0 : log_degree[out_indices[q]];
      if (!weights::normalized_weight(weights.log_weight(v), li, lj, normalization, max_exponent, out_values[q]))
        bad_row = std::min(bad_row, order[r]);  // reported in the caller's numbering
    }
  }
  if (bad_row != kNoRow) weights::fail_weight_overflow(normalization, bad_row);
}

template void prepare_weights_cpu<float>(const CsrView&, const float*, EdgeWeights, Normalization, int, float*);
template void prepare_weights_cpu<double>(const CsrView&, const double*, EdgeWeights, Normalization, int, float*);
template void prepare_permuted_cpu<float>(const CsrView&, const float*, EdgeWeights, Normalization, const int64_t*,
                                          int, int64_t*, int32_t*, float*);
template void prepare_permuted_cpu<double>(const CsrView&, const double*, EdgeWeights, Normalization, const int64_t*,
                                           int, int64_t*, int32_t*, float*);

}  // namespace labelgraph
