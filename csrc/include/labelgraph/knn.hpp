// Exact top-k cosine similarity: the self graph of X (self excluded) and queries against X.
#pragma once

#include <cstdint>
#include <climits>
#include <string>

#include "labelgraph/common.hpp"
#include "labelgraph/cpu_features.hpp"

namespace labelgraph {

// Largest number of columns the int16 kernels accept: their int32 sums cannot overflow up to
// here (the proof is beside the quantisation clamp, knn_quantize.cpp).
constexpr int64_t kMaxKnnColumns = int64_t(1) << 29;
// Rows are indexed with int32 in the outputs and the candidate heaps.
constexpr int64_t kMaxKnnRows = INT32_MAX;

struct KnnOptions {
  int64_t k = 10;
  // Rows per tile; 0 sizes tiles so that two tiles of quantised rows fit cache_budget_bytes.
  // Rounded up to the kernel's panel height. Tests set it small to force many tiles.
  int64_t tile_rows = 0;
  int64_t cache_budget_bytes = int64_t(1) << 19;
  // Candidates kept per row beyond k before exact re-scoring; -1 picks 8 + k / 4.
  int64_t margin = -1;
  int n_threads = 0;  // 0: OpenMP default
  // int8 filter (knn_internal.hpp): -1 where it pays (the avx512_vnni level, at least
  // kInt8FilterMinRows rows on the other side and kInt8FilterMinColumns..2**16 columns), 0 never,
  // 1 always (tests; std::invalid_argument where the active level has no int8 kernel: avx2, avx512,
  // or d > 2**16). Results are identical either way; only the speed differs.
  int int8_filter = -1;
};

// Where the int8 filter pays (benchmarks/knn_RESULTS.md): the int8 tiles save half the multiply-
// adds of every pair, and the exact int16 scores of the pairs the filter passes cost about the
// same per row at any n, so it needs enough pairs per row.
constexpr int64_t kInt8FilterMinRows = 65536;
constexpr int64_t kInt8FilterMinColumns = 256;

struct KnnStats {
  int64_t tile_rows = 0;     // rows per tile used
  int64_t candidates = 0;    // candidates kept per row in the first pass (k + margin, capped)
  int64_t rows_refined = 0;  // rows whose candidates could not be certified and were recomputed
  std::string kernel;        // microkernel used
};

// Self graph. X: [n, d] float32, row-major, no zero rows. Writes out_index [n, k] (int32) and
// out_sim [n, k] (float32), each row by decreasing cosine similarity, ties by lower index.
KnnStats knn_graph_cpu(const float* X, int64_t n, int64_t d, const KnnOptions& options,
                       const RunHooks& hooks, int32_t* out_index, float* out_sim);

// Queries Q [nq, d] against X [n, d]; k <= n. Same output contract, shapes [nq, k].
KnnStats knn_search_cpu(const float* Q, int64_t nq, const float* X, int64_t n, int64_t d,
                        const KnnOptions& options, const RunHooks& hooks, int32_t* out_index,
                        float* out_sim);

// One pair of different row blocks, computed once for both directions (the distributed self graph
// is built from such pairs): the top-k of each A row among B's rows and of each B row among A's.
// k_a = min(k, nb), k_b = min(k, na). Writes a_index/a_sim [na, k_a] (indices into B) and
// b_index/b_sim [nb, k_b] (indices into A), each row by decreasing similarity, ties by lower index;
// similarities are bit-identical to those knn_graph_cpu computes for the same two rows.
KnnStats knn_pair_cpu(const float* A, int64_t na, const float* B, int64_t nb, int64_t d, const KnnOptions& options,
                      const RunHooks& hooks, int32_t* a_index, float* a_sim, int32_t* b_index, float* b_sim);

// Scalar reference: every similarity in double, full sort. O(nq * n * d); tests only.
// `exclude_self` drops j == i (Q must then be X).
void knn_reference_cpu(const float* Q, int64_t nq, const float* X, int64_t n, int64_t d, int64_t k,
                       bool exclude_self, int32_t* out_index, float* out_sim);

// Name of the int16 microkernel the active SIMD level selects ("avx2_6x16", ...).
std::string knn_kernel_name();
// Name of the int8 filter kernel the active level uses where it pays ("" when it has none).
std::string knn_int8_filter_name();
// The microkernel a SIMD level selects on this CPU (a lower one if that level's kernel failed
// its self-test or the CPU lacks it).
std::string knn_kernel_name_for(SimdLevel level);

}  // namespace labelgraph
