// Tile loops of the kNN: one tile = a block of A rows against a block of B rows, computed
// microkernel by microkernel with the top-k selection fused (a tile's scores are only looked at
// while they sit in the microkernel's output, never written to a score matrix).
#pragma once

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>
#include <vector>

#include "knn_internal.hpp"
#include "labelgraph/common.hpp"

namespace labelgraph::detail {

struct TileSpan {
  int64_t begin, end;  // rows [begin, end), multiples of lcm(mr, nr)
};

// Offers the pass bits of one microkernel's output (rows r0.., columns c0..) to the sink, as
// run_tile describes. `score(i, j, r, c)` is the int16 score of A row i = r0 + r, B row j = c0 + c.
template <class Sink, class Score>
inline void offer_passes(const QuantizedRows& A, const QuantizedRows& B, int64_t r0, int64_t c0, int mr,
                         const uint32_t* pass, bool col_side, bool same_rows, const int64_t* self_id, Sink& sink,
                         Score score) {
  const int32_t* row_thr = sink.row_thresholds();
  const int32_t* col_thr = col_side ? sink.col_thresholds() : nullptr;
  for (int r = 0; r < mr; ++r) {
    uint32_t bits = pass[r];
    const int64_t i = r0 + r;
    if (bits == 0 || i >= A.n) continue;  // padded A rows score 0 and must not reach B's heaps
    const int64_t excluded = same_rows ? i : (self_id ? self_id[i] : -1);
    while (bits != 0) {
      const int c = __builtin_ctz(bits);
      bits &= bits - 1;
      const int64_t j = c0 + c;
      if (j >= B.n) break;  // bits ascend, so every later one is padding too
      if (j == excluded) continue;
      const int32_t s = score(i, j, r, c);
      if (s > row_thr[i]) sink.offer_row(i, s, j);
      if (col_side && s > col_thr[j]) sink.offer_col(j, s, i);
    }
  }
}

// Feeds every int16 score of A[a] x B[b] that passes a threshold to `sink`:
//   sink.row_thresholds()[i] / sink.offer_row(i, s, j): candidates for A row i,
//   sink.col_thresholds()[j] / sink.offer_col(j, s, i): candidates for B row j (only if col_side;
//   this is how one tile of the symmetric self graph serves both of its row blocks).
// A score passes when it is strictly above the threshold; offers update the thresholds.
// Threshold arrays cover the padded rows (INT32_MAX there).
// `same_rows`: A and B are the same rows (skip i == j); `self_id`: B row excluded for each A row.
// With the int8 filter (A.int8), the microkernel compares int8 scores with the sink's int8
// thresholds (row_thresholds8 / col_thresholds8, Int8Filter::to_int8 of the int16 ones) and each
// pair it passes is scored exactly in int16 before the same int16 tests: the sink sees the same
// offers as without the filter (knn_internal.hpp).
template <class Sink>
void run_tile(const KnnKernels& kernels, const QuantizedRows& A, TileSpan a, const QuantizedRows& B, TileSpan b,
              bool col_side, bool same_rows, const int64_t* self_id, Sink& sink) {
  const MicroKernel& mk = *kernels.k16;
  const int mr = mk.mr, nr = mk.nr;
  alignas(64) int32_t C[kMaxMR * kMaxNR];
  alignas(64) uint32_t pass[kMaxMR];
  alignas(64) static constexpr int32_t kClosed[kMaxNR] = {
      INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
      INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
      INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
      INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX};
  if (A.int8) {
    const MicroKernel8& k8 = *kernels.k8;
    const int32_t* row_thr8 = sink.row_thresholds8();
    const int32_t* col_thr8 = col_side ? sink.col_thresholds8() : nullptr;
    for (int64_t c0 = b.begin; c0 < b.end; c0 += nr) {
      const int32_t* bp = B.b_panel(c0);
      const int32_t* gt_col = col_side ? col_thr8 + c0 : kClosed;
      for (int64_t r0 = a.begin; r0 < a.end; r0 += mr) {
        if (!k8.fn(A.a_panel(r0), bp, A.k4, B.corr8.data() + c0, row_thr8 + r0, gt_col, C, pass)) continue;
        offer_passes(A, B, r0, c0, mr, pass, col_side, same_rows, self_id, sink,
                     [&](int64_t i, int64_t j, int, int) { return k8.dot16(A.row16(i), B.row16(j), A.d2); });
      }
    }
    return;
  }
  const int32_t* col_thr = col_side ? sink.col_thresholds() : nullptr;
  for (int64_t c0 = b.begin; c0 < b.end; c0 += nr) {
    const int32_t* bp = B.b_panel(c0);
    const int32_t* gt_col = col_side ? col_thr + c0 : kClosed;
    for (int64_t r0 = a.begin; r0 < a.end; r0 += mr) {
      if (!mk.fn(A.a_panel(r0), bp, A.d2, sink.row_thresholds() + r0, gt_col, C, pass)) continue;
      offer_passes(A, B, r0, c0, mr, pass, col_side, same_rows, self_id, sink,
                   [&](int64_t, int64_t, int r, int c) { return C[r * nr + c]; });
    }
  }
}

inline std::vector<TileSpan> split_rows(int64_t n_pad, int64_t tile_rows) {
  std::vector<TileSpan> spans;
  for (int64_t b = 0; b < n_pad; b += tile_rows) spans.push_back({b, std::min(b + tile_rows, n_pad)});
  return spans;
}

// Self graph schedule. Every unordered pair of row blocks is one task, computed once and feeding
// both blocks' heaps. Tasks run in rounds of a round-robin tournament (circle method): within a
// round no two tasks share a block, so threads update disjoint heaps without locks, and each
// round ends at a barrier where the caller's thread can check for Ctrl-C and report progress.
template <class Sink>
void run_self_schedule(const KnnKernels& mk, const QuantizedRows& X, int64_t tile_rows, int n_threads,
                       const RunHooks& hooks, Sink& sink) {
  const std::vector<TileSpan> blocks = split_rows(X.n_pad, tile_rows);
  const int64_t nb = int64_t(blocks.size());
  const int64_t teams = nb + (nb % 2);  // even number of teams; team nb (if any) sits out
  const int64_t rounds = teams - 1;
  const double total = double(nb) * double(nb + 1) / 2.0;
  double done = 0.0;

#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
  for (int64_t b = 0; b < nb; ++b) run_tile(mk, X, blocks[b], X, blocks[b], false, true, nullptr, sink);
  done += double(nb);
  hooks.checkpoint(done / total);

  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t r = 0; r < rounds; ++r) {
    pairs.clear();
    pairs.emplace_back(teams - 1, r);
    for (int64_t t = 1; t < teams / 2; ++t) pairs.emplace_back((r + t) % rounds, (r - t + rounds) % rounds);
    pairs.erase(std::remove_if(pairs.begin(), pairs.end(), [&](auto p) { return p.first >= nb || p.second >= nb; }),
                pairs.end());
    const int64_t np = int64_t(pairs.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t t = 0; t < np; ++t)
      run_tile(mk, X, blocks[pairs[t].first], X, blocks[pairs[t].second], true, false, nullptr, sink);
    done += double(np);
    hooks.checkpoint(done / total);
  }
}

// Cross schedule of two different row sets: every (A block, B block) tile is computed once and
// feeds the heaps of both (col_side). Rounds of a cyclic Latin square, tile (a, (a + r) mod m) in
// round r with m = max(#A blocks, #B blocks): within a round no two tiles share an A block or a
// B block, so threads update disjoint heaps without locks, as in run_self_schedule.
template <class Sink>
void run_pair_schedule(const KnnKernels& mk, const QuantizedRows& A, const QuantizedRows& B, int64_t tile_rows,
                       int n_threads, const RunHooks& hooks, Sink& sink) {
  const std::vector<TileSpan> ablocks = split_rows(A.n_pad, tile_rows);
  const std::vector<TileSpan> bblocks = split_rows(B.n_pad, tile_rows);
  const int64_t na = int64_t(ablocks.size()), nb = int64_t(bblocks.size());
  const int64_t m = std::max(na, nb);
  for (int64_t r = 0; r < m; ++r) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int64_t a = 0; a < na; ++a) {
      const int64_t b = (a + r) % m;
      if (b < nb) run_tile(mk, A, ablocks[a], B, bblocks[b], true, false, nullptr, sink);
    }
    hooks.checkpoint(double(r + 1) / double(m));
  }
}

// Queries against a database. With enough query blocks every thread owns whole query blocks;
// otherwise the database is split between threads, each with its own sink (sinks[thread]), and
// the caller merges them.
template <class Sink>
void run_search_schedule(const KnnKernels& mk, const QuantizedRows& Q, const QuantizedRows& X, int64_t tile_rows,
                         int n_threads, const RunHooks& hooks, const int64_t* self_id, std::vector<Sink>& sinks) {
  const std::vector<TileSpan> qblocks = split_rows(Q.n_pad, tile_rows);
  const std::vector<TileSpan> xblocks = split_rows(X.n_pad, tile_rows);
  const int64_t nq = int64_t(qblocks.size()), nx = int64_t(xblocks.size());
  if (sinks.size() == 1) {
    const int64_t chunk = std::max<int64_t>(1, 4 * n_threads);
    for (int64_t q0 = 0; q0 < nq; q0 += chunk) {
      const int64_t q1 = std::min(nq, q0 + chunk);
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
      for (int64_t q = q0; q < q1; ++q)
        for (int64_t x = 0; x < nx; ++x) run_tile(mk, Q, qblocks[q], X, xblocks[x], false, false, self_id, sinks[0]);
      hooks.checkpoint(double(q1) / double(nq));
    }
    return;
  }
  const int64_t chunk = std::max<int64_t>(1, 8 * int64_t(sinks.size()));
  for (int64_t x0 = 0; x0 < nx; x0 += chunk) {
    const int64_t x1 = std::min(nx, x0 + chunk);
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(sinks.size()))
    for (int64_t x = x0; x < x1; ++x) {
      Sink& sink = sinks[size_t(omp_get_thread_num())];
      for (int64_t q = 0; q < nq; ++q) run_tile(mk, Q, qblocks[q], X, xblocks[x], false, false, self_id, sink);
    }
    hooks.checkpoint(double(x1) / double(nx));
  }
}

}  // namespace labelgraph::detail
