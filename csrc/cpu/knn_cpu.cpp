// Public CPU entry points of the kNN: first pass (fused top-k over tiles), certificate and exact
// re-scoring, and the threshold pass for rows that could not be certified.
#include <omp.h>

#include <algorithm>
#include <numeric>

#include "knn_internal.hpp"
#include "knn_tiles.hpp"
#include "labelgraph/knn.hpp"

namespace labelgraph {
namespace detail {
namespace {

// First pass: the best K quantised scores of each row. thresholds[i] is what a score must
// exceed to enter row i: an equal score may still enter with a lower index, so worst - 1.
// thresholds8 follows thresholds through the int8 filter (only read when the rows are int8).
struct CandidateSink {
  CandidateHeaps* heaps;
  Int8Filter filter;
  std::vector<int32_t> thresholds;   // n_pad entries, INT32_MAX for padded rows
  std::vector<int32_t> thresholds8;  // filter.to_int8(thresholds)

  CandidateSink(CandidateHeaps* h, int64_t n_pad, const Int8Filter& f)
      : heaps(h), filter(f), thresholds(static_cast<size_t>(n_pad), INT32_MAX) {
    std::fill_n(thresholds.begin(), h->rows, INT32_MIN);
    thresholds8 = thresholds;  // to_int8 keeps INT32_MIN and INT32_MAX
  }
  const int32_t* row_thresholds() const { return thresholds.data(); }
  const int32_t* col_thresholds() const { return thresholds.data(); }
  const int32_t* row_thresholds8() const { return thresholds8.data(); }
  const int32_t* col_thresholds8() const { return thresholds8.data(); }
  void offer_row(int64_t i, int32_t s, int64_t j) { offer(i, s, j); }
  void offer_col(int64_t j, int32_t s, int64_t i) { offer(j, s, i); }
  void offer(int64_t i, int32_t s, int64_t j) {
    heaps->push(i, s, int32_t(j));
    if (heaps->full(i)) {
      thresholds[i] = heaps->worst_key(i) - 1;
      thresholds8[i] = filter.to_int8(thresholds[i]);
    }
  }
};

// First pass of a block pair: A rows collect candidates from B (row side of each tile) and B rows
// from A (column side), each with its own heaps and thresholds.
struct PairCandidateSink {
  CandidateSink a, b;
  const int32_t* row_thresholds() const { return a.thresholds.data(); }
  const int32_t* col_thresholds() const { return b.thresholds.data(); }
  const int32_t* row_thresholds8() const { return a.thresholds8.data(); }
  const int32_t* col_thresholds8() const { return b.thresholds8.data(); }
  void offer_row(int64_t i, int32_t s, int64_t j) { a.offer(i, s, j); }
  void offer_col(int64_t j, int32_t s, int64_t i) { b.offer(j, s, i); }
};

// Threshold pass: every score at or above the row's proven threshold is re-scored exactly.
struct RefineSink {
  const RowSource* queries;
  const RowSource* base;
  const std::vector<int32_t>* thresholds;   // proven threshold - 1, INT32_MAX for padded rows
  const std::vector<int32_t>* thresholds8;  // their int8 filter thresholds
  ExactHeaps* heaps;
  const int32_t* row_thresholds() const { return thresholds->data(); }
  const int32_t* col_thresholds() const { return nullptr; }
  const int32_t* row_thresholds8() const { return thresholds8->data(); }
  const int32_t* col_thresholds8() const { return nullptr; }
  void offer_row(int64_t q, int32_t, int64_t j) { heaps->push(q, exact_similarity(*queries, q, *base, j), int32_t(j)); }
  void offer_col(int64_t, int32_t, int64_t) {}
};

// Share of the progress bar given to the first pass; the refinement pass (usually tiny) has the rest.
constexpr double kFirstPassShare = 0.98;

int64_t panel_height(const KnnKernels& mk) { return std::lcm<int64_t>(mk.k16->mr, mk.k16->nr); }

int64_t tile_rows_for(const KnnOptions& o, const KnnKernels& mk, int64_t n, int64_t d) {
  const int64_t panel = panel_height(mk);
  int64_t rows = o.tile_rows;
  if (rows <= 0) {  // two tiles of quantised rows (d / 2 int16 words, or d / 4 int8 words, each) within the cache budget
    const int64_t bytes_per_row = 2 * 4 * (mk.k8 ? (d + 3) / 4 : (d + 1) / 2);
    rows = std::max<int64_t>(panel, o.cache_budget_bytes / bytes_per_row);
  }
  rows = std::min(rows, n);  // one tile covers everything; also keeps the rounding below from overflowing
  return (rows + panel - 1) / panel * panel;
}

// Recomputes `rows` of Q with thresholds instead of a fixed number of candidates.
void refine(const KnnKernels& mk, const float* Q, const Uncertified& todo, const RowSource& base, int64_t k,
            bool exclude_self, int64_t tile_rows, int n_threads, const RunHooks& hooks, int32_t* out_index,
            float* out_sim) {
  const int64_t nf = int64_t(todo.rows.size()), d = base.q->d;
  std::vector<float> rows(static_cast<size_t>(nf * d));
  for (int64_t f = 0; f < nf; ++f) std::copy_n(Q + todo.rows[f] * d, d, rows.begin() + f * d);
  const QuantizedRows rq = quantize_rows(rows.data(), nf, d, mk, n_threads);
  const RowSource queries{rows.data(), &rq};

  std::vector<int32_t> thresholds(static_cast<size_t>(rq.n_pad), INT32_MAX);
  for (int64_t f = 0; f < nf; ++f) thresholds[f] = todo.threshold[f] - 1;
  const Int8Filter filter = rq.int8 ? Int8Filter(rq, *base.q) : Int8Filter();
  std::vector<int32_t> thresholds8(thresholds.size());
  for (size_t f = 0; f < thresholds.size(); ++f) thresholds8[f] = filter.to_int8(thresholds[f]);
  const int threads = int(std::min<int64_t>(n_threads, std::max<int64_t>(1, base.q->n_pad / tile_rows)));
  std::vector<ExactHeaps> heaps(static_cast<size_t>(threads), ExactHeaps(nf, k));
  std::vector<RefineSink> sinks;
  for (auto& h : heaps) sinks.push_back(RefineSink{&queries, &base, &thresholds, &thresholds8, &h});
  run_search_schedule(mk, rq, *base.q, tile_rows, threads, hooks, exclude_self ? todo.rows.data() : nullptr, sinks);
  for (size_t t = 1; t < heaps.size(); ++t) heaps[0].merge_from(heaps[t]);

  std::vector<std::pair<float, int32_t>> best(static_cast<size_t>(k));
  for (int64_t f = 0; f < nf; ++f) {
    for (int64_t e = 0; e < k; ++e) best[e] = {heaps[0].key[f * k + e], heaps[0].index[f * k + e]};
    std::sort(best.begin(), best.end(),
              [](auto x, auto y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
    const int64_t i = todo.rows[f];
    for (int64_t t = 0; t < k; ++t) {
      out_index[i * k + t] = best[t].second;
      out_sim[i * k + t] = best[t].first;
    }
  }
}

}  // namespace
}  // namespace detail

using namespace detail;

KnnStats knn_graph_cpu(const float* X, int64_t n, int64_t d, const KnnOptions& options, const RunHooks& hooks,
                       int32_t* out_index, float* out_sim) {
  if (n < 2) fail("knn_graph needs at least 2 rows");
  if (d < 1) fail("X must have at least one column");
  if (options.k < 1 || options.k > n - 1) fail("k must be in [1, n - 1]");
  const KnnKernels mk = select_kernels(options, n, d);
  const int threads = resolve_threads(options.n_threads);
  const int64_t tile_rows = tile_rows_for(options, mk, n, d);
  const int64_t margin = std::min(options.margin >= 0 ? options.margin : 8 + options.k / 4, n);
  const int64_t K = std::min(options.k + margin, n - 1);

  const QuantizedRows xq = quantize_rows(X, n, d, mk, threads);
  const RowSource xs{X, &xq};
  CandidateHeaps heaps(n, K);
  CandidateSink sink(&heaps, xq.n_pad, xq.int8 ? Int8Filter(xq, xq) : Int8Filter());
  run_self_schedule(mk, xq, tile_rows, threads, hooks.stage(0.0, kFirstPassShare), sink);
  const Uncertified todo = certify_and_rescore(xs, xs, options.k, n - 1, heaps, threads, out_index, out_sim);
  if (todo.rows.empty())
    hooks.checkpoint(1.0);
  else
    refine(mk, X, todo, xs, options.k, true, tile_rows, threads, hooks.stage(kFirstPassShare, 1.0), out_index, out_sim);
  return KnnStats{tile_rows, K, int64_t(todo.rows.size()), mk.name()};
}

KnnStats knn_search_cpu(const float* Q, int64_t nq, const float* X, int64_t n, int64_t d, const KnnOptions& options,
                        const RunHooks& hooks, int32_t* out_index, float* out_sim) {
  if (nq < 1 || n < 1) fail("knn_search needs at least one query and one database row");
  if (d < 1) fail("X must have at least one column");
  if (options.k < 1 || options.k > n) fail("k must be in [1, n]");
  const KnnKernels mk = select_kernels(options, n, d);
  const int threads = resolve_threads(options.n_threads);
  const int64_t tile_rows = tile_rows_for(options, mk, std::max(n, nq), d);
  const int64_t margin = std::min(options.margin >= 0 ? options.margin : 8 + options.k / 4, n);
  const int64_t K = std::min(options.k + margin, n);

  const QuantizedRows xq = quantize_rows(X, n, d, mk, threads);
  const QuantizedRows qq = quantize_rows(Q, nq, d, mk, threads);
  const RowSource xs{X, &xq}, qs{Q, &qq};
  // Few query tiles: split the database between threads, each with private heaps.
  const int64_t q_tiles = (qq.n_pad + tile_rows - 1) / tile_rows;
  const int split = q_tiles >= 2 * threads ? 1 : int(std::min<int64_t>(threads, (xq.n_pad + tile_rows - 1) / tile_rows));
  std::vector<CandidateHeaps> heaps(static_cast<size_t>(std::max(split, 1)), CandidateHeaps(nq, K));
  std::vector<CandidateSink> sinks;
  for (auto& h : heaps) sinks.emplace_back(&h, qq.n_pad, qq.int8 ? Int8Filter(qq, xq) : Int8Filter());
  run_search_schedule(mk, qq, xq, tile_rows, threads, hooks.stage(0.0, kFirstPassShare), nullptr, sinks);
  for (size_t t = 1; t < heaps.size(); ++t) heaps[0].merge_from(heaps[t]);
  const Uncertified todo = certify_and_rescore(qs, xs, options.k, n, heaps[0], threads, out_index, out_sim);
  if (todo.rows.empty())
    hooks.checkpoint(1.0);
  else
    refine(mk, Q, todo, xs, options.k, false, tile_rows, threads, hooks.stage(kFirstPassShare, 1.0), out_index, out_sim);
  return KnnStats{tile_rows, K, int64_t(todo.rows.size()), mk.name()};
}

KnnStats knn_pair_cpu(const float* A, int64_t na, const float* B, int64_t nb, int64_t d, const KnnOptions& options,
                      const RunHooks& hooks, int32_t* a_index, float* a_sim, int32_t* b_index, float* b_sim) {
  if (na < 1 || nb < 1) fail("knn_pair needs at least one row in each block");
  if (d < 1) fail("X must have at least one column");
  if (options.k < 1) fail("k must be >= 1");
  const KnnKernels mk = select_kernels(options, std::min(na, nb), d);
  const int threads = resolve_threads(options.n_threads);
  const int64_t tile_rows = tile_rows_for(options, mk, std::max(na, nb), d);
  const int64_t margin = options.margin >= 0 ? options.margin : 8 + options.k / 4;
  const int64_t ka = std::min(options.k, nb), kb = std::min(options.k, na);
  const int64_t Ka = std::min(ka + margin, nb), Kb = std::min(kb + margin, na);

  const QuantizedRows aq = quantize_rows(A, na, d, mk, threads);
  const QuantizedRows bq = quantize_rows(B, nb, d, mk, threads);
  const RowSource as{A, &aq}, bs{B, &bq};
  CandidateHeaps a_heaps(na, Ka), b_heaps(nb, Kb);
  const Int8Filter filter = aq.int8 ? Int8Filter(aq, bq) : Int8Filter();  // symmetric in its two sides
  PairCandidateSink sink{CandidateSink(&a_heaps, aq.n_pad, filter), CandidateSink(&b_heaps, bq.n_pad, filter)};
  run_pair_schedule(mk, aq, bq, tile_rows, threads, hooks.stage(0.0, kFirstPassShare), sink);
  // Both directions are certified and, where needed, refined on their own: each is a search.
  const Uncertified a_todo = certify_and_rescore(as, bs, ka, nb, a_heaps, threads, a_index, a_sim);
  const Uncertified b_todo = certify_and_rescore(bs, as, kb, na, b_heaps, threads, b_index, b_sim);
  const double mid = (kFirstPassShare + 1.0) / 2.0;
  if (!a_todo.rows.empty())
    refine(mk, A, a_todo, bs, ka, false, tile_rows, threads, hooks.stage(kFirstPassShare, mid), a_index, a_sim);
  if (!b_todo.rows.empty())
    refine(mk, B, b_todo, as, kb, false, tile_rows, threads, hooks.stage(mid, 1.0), b_index, b_sim);
  hooks.checkpoint(1.0);
  return KnnStats{tile_rows, std::max(Ka, Kb), int64_t(a_todo.rows.size() + b_todo.rows.size()), mk.name()};
}

}  // namespace labelgraph
