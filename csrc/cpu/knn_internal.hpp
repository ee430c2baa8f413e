// Internals of the tiled kNN: quantised row panels, microkernel contract, candidate heaps.
//
// Method. Rows are normalised and quantised to int16 (q = round(32767 * x / |x|)). Integer dot
// products are exact, so tile results do not depend on blocking, threads or ISA, and int16
// multiply-add (vpmaddwd) runs more MACs/cycle than float32 FMA (benchmarks/knn_RESULTS.md). Each
// row keeps its top k + margin candidates by quantised score; they are re-scored exactly (double
// dot products of the caller's float32 rows) and a per-row certificate proves no true top-k
// neighbour was dropped:
// with |cos - q_i.q_j / S^2| <= eps_ij, every true neighbour has quantised score >= A_k - 2 eps,
// so if the worst kept candidate A_K < A_k - 2 eps nothing was lost. Rows that fail are recomputed
// with a threshold instead of a fixed candidate count (rare: exact duplicates, near ties).
//
// int8 filter (the VNNI level, where it pays: KnnOptions::int8_filter in knn.hpp; measurements in
// benchmarks/knn_RESULTS.md). Where an int8 microkernel exists, tiles are computed in int8
// (vpdpbusd: twice the multiply-adds of int16 per instruction) and used only as a filter: a pair
// whose int8 score reaches the row's int8 threshold gets its exact int16 score (one dot product of
// the two rows), and the candidate heaps see int16 scores only. The int8 threshold is the int16 one
// lowered by a proven bound on the two quantisations' disagreement (Int8Filter), so every pair the
// int16 pass would offer is offered: heaps, certificate and results are identical to the int16 path.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <vector>

#include "labelgraph/cpu_features.hpp"
#include "labelgraph/exact_dot.hpp"
#include "labelgraph/knn.hpp"

namespace labelgraph::detail {

constexpr double kQuantScale = 32767.0;
constexpr double kQuant8Max = 127.0;  // int8 values lie in [-127, 127]
// Largest d for the int8 filter: |q8_i . q8_j| <= (127.5)^2 d must fit in int32 (knn_quantize.cpp).
constexpr int64_t kMaxInt8Columns = int64_t(1) << 16;
constexpr int kMaxMR = 16;
constexpr int kMaxNR = 32;

// C[r * nr + c] = sum_t dot2(a[t * mr + r], b[t * nr + c]) for r < mr, c < nr, where each int32
// word packs two int16 values (element 2t in the low half). Bit c of pass[r] is set when
// C[r][c] > gt_row[r] or C[r][c] > gt_col[c]; returns whether any bit is set.
using MicroKernelFn = bool (*)(const int32_t* a, const int32_t* b, int64_t k2, const int32_t* gt_row,
                               const int32_t* gt_col, int32_t* c, uint32_t* pass);

struct MicroKernel {
  int mr;
  int nr;
  MicroKernelFn fn;
  const char* name;
};

bool microkernel_scalar(const int32_t*, const int32_t*, int64_t, const int32_t*, const int32_t*, int32_t*, uint32_t*);
constexpr MicroKernel kScalarKernel{4, 8, microkernel_scalar, "scalar_4x8"};
#if defined(LABELGRAPH_X86)
bool microkernel_avx2(const int32_t*, const int32_t*, int64_t, const int32_t*, const int32_t*, int32_t*, uint32_t*);
bool microkernel_avx512(const int32_t*, const int32_t*, int64_t, const int32_t*, const int32_t*, int32_t*, uint32_t*);
bool microkernel_avx512_vnni(const int32_t*, const int32_t*, int64_t, const int32_t*, const int32_t*, int32_t*, uint32_t*);
constexpr MicroKernel kAvx2Kernel{6, 16, microkernel_avx2, "avx2_6x16"};
constexpr MicroKernel kAvx512Kernel{12, 32, microkernel_avx512, "avx512_12x32"};
constexpr MicroKernel kAvx512VnniKernel{12, 32, microkernel_avx512_vnni, "avx512vnni_12x32"};
#endif

// int8 filter kernel: C[r * nr + c] = sum_t dot4(a[t * mr + r] as uint8 x4, b[t * nr + c] as int8 x4)
// - corr[c], where A stores q + 128 (so the unsigned operand of vpdpbusd is in [1, 255]) and corr[c]
// = 128 * sum(q_c) removes the offset: C = q_r . q_c exactly (int32 wraparound cancels). Pass bits
// as MicroKernelFn. dot16 is the exact int16 dot product of two rows stored as int16 pairs.
using MicroKernel8Fn = bool (*)(const int32_t* a, const int32_t* b, int64_t k4, const int32_t* corr,
                                const int32_t* gt_row, const int32_t* gt_col, int32_t* c, uint32_t* pass);
using Dot16Fn = int32_t (*)(const int32_t* a, const int32_t* b, int64_t d2);

struct MicroKernel8 {
  int mr;
  int nr;
  MicroKernel8Fn fn;
  Dot16Fn dot16;
  const char* name;
};

bool microkernel_scalar_int8(const int32_t*, const int32_t*, int64_t, const int32_t*, const int32_t*, const int32_t*,
                             int32_t*, uint32_t*);
int32_t dot16_scalar(const int32_t* a, const int32_t* b, int64_t d2);
constexpr MicroKernel8 kScalarKernel8{4, 8, microkernel_scalar_int8, dot16_scalar, "scalar_int8_4x8"};
#if defined(LABELGRAPH_X86)
bool microkernel_avx512_vnni_int8(const int32_t*, const int32_t*, int64_t, const int32_t*, const int32_t*,
                                  const int32_t*, int32_t*, uint32_t*);
int32_t dot16_avx512(const int32_t* a, const int32_t* b, int64_t d2);
constexpr MicroKernel8 kAvx512VnniKernel8{12, 32, microkernel_avx512_vnni_int8, dot16_avx512, "avx512vnni_int8_12x32"};
#endif

// The kernels one call uses: the int16 microkernel and the int8 filter kernel of the same mr x nr,
// if the level has one (avx512_vnni; scalar, for tests) and d <= kMaxInt8Columns.
struct KnnKernels {
  const MicroKernel* k16;
  const MicroKernel8* k8;  // nullptr: int16 tiles
  const char* name() const { return k8 ? k8->name : k16->name; }
};
KnnKernels select_kernels_for(SimdLevel level, int64_t d);
// For one call: the active level's kernels, the int8 filter kept per KnnOptions::int8_filter
// (`rows`: the rows on the other side of each row's search). Throws std::invalid_argument for
// int8_filter = 1 without an int8 kernel.
KnnKernels select_kernels(const KnnOptions& options, int64_t rows, int64_t d);

// Kernel for the active SIMD level. A SIMD kernel that fails a self-test against a plain loop
// (run once, on first use) is never used: the next level down is taken.
const MicroKernel& select_microkernel();
const MicroKernel& select_microkernel_for(SimdLevel level);  // the kernel `level` would select

template <class T>
struct AlignedDeleter {
  void operator()(T* p) const { std::free(p); }
};
template <class T>
using AlignedArray = std::unique_ptr<T[], AlignedDeleter<T>>;

template <class T>
AlignedArray<T> make_aligned(int64_t count) {
  const size_t bytes = ((static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(T) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return AlignedArray<T>(static_cast<T*>(p));
}

// Rows quantised to int16 pairs, packed twice: as A micro-panels of mr rows (word (t, row) at
// a_words[(row / mr) * d2 * mr + t * mr + row % mr]) and as B micro-panels of nr rows (same with
// nr), so each microkernel streams two contiguous blocks. Rows past n are zero; n_pad is a
// multiple of lcm(mr, nr).
// With int8 (KnnKernels::k8 set) the panels hold int8 quads instead (k4 = ceil(d / 4) words per
// row, A side offset by +128), plus the int16 rows unpacked (rows16, d2 words per row) for the
// exact score of the pairs the filter passes.
struct QuantizedRows {
  int64_t n = 0, d = 0, d2 = 0, k4 = 0, mr = 0, nr = 0, n_pad = 0;
  bool int8 = false;
  AlignedArray<int32_t> a_words, b_words;  // int16 pairs, or int8 quads when int8
  AlignedArray<int32_t> rows16;            // int8 only: [n_pad, d2] int16 pairs, row-major
  std::vector<int32_t> corr8;              // int8 only: [n_pad] 128 * sum of the row's int8 values
  std::vector<double> inv_norm;  // 1 / |x_i|
  std::vector<double> err;       // |x_i / |x_i| - q_i / S|, exact up to double rounding
  double err_max = 0.0;
  double scale8 = 0.0;    // int8 only: q8 = round(scale8 * x / |x|), scale8 = 127 / max |x_ip| / |x_i|
  double err8_max = 0.0;  // int8 only: max_i |x_i / |x_i| - q8_i / scale8|

  int64_t words() const { return int8 ? k4 : d2; }
  const int32_t* a_panel(int64_t row) const { return a_words.get() + row * words(); }  // row % mr == 0
  const int32_t* b_panel(int64_t row) const { return b_words.get() + row * words(); }  // row % nr == 0
  const int32_t* row16(int64_t row) const { return rows16.get() + row * d2; }
};

// Throws std::invalid_argument naming all-zero or non-finite rows.
QuantizedRows quantize_rows(const float* X, int64_t n, int64_t d, const KnnKernels& kernels, int n_threads);

// Maps an int16 score threshold of the filter's rows to an int8 one: whenever the int16 score of a
// pair exceeds t16, its int8 score exceeds to_int8(t16). From |cos - q.q' / S^2| <= e + (1 + e) e'
// for both quantisations (e: a row's quantisation error, knn_rescore.cpp),
//   q16.q16' / S16^2 <= q8.q8' / (s8 s8') + delta,  delta = sum over both of (2 e_max + e_max^2),
// so t8 = floor(s8 s8' (t16 / S16^2 - delta)) - 1 (the -1 absorbs the rounding of the product).
struct Int8Filter {
  double ratio = 0.0;  // s8 s8' / S16^2
  double shift = 0.0;  // s8 s8' delta
  Int8Filter() = default;
  Int8Filter(const QuantizedRows& a, const QuantizedRows& b);
  int32_t to_int8(int32_t t16) const {
    if (t16 == INT32_MIN || t16 == INT32_MAX) return t16;  // open / closed (padded rows) stay so
    const double v = std::floor(double(t16) * ratio - shift) - 1.0;
    return v <= double(INT32_MIN + 1) ? INT32_MIN + 1 : (v >= double(INT32_MAX - 1) ? INT32_MAX - 1 : int32_t(v));
  }
};

// Best K entries per row by (key desc, index asc), each row a min-heap whose root is the worst
// entry. The kept set does not depend on the order of pushes, so results are the same for any
// thread count or tile order.
template <class Key>
struct TopKHeaps {
  int64_t rows = 0, K = 0;
  std::vector<Key> key;
  std::vector<int32_t> index, count;

  TopKHeaps(int64_t rows_, int64_t K_)
      : rows(rows_), K(K_), key(static_cast<size_t>(rows_ * K_)), index(static_cast<size_t>(rows_ * K_)), count(static_cast<size_t>(rows_), 0) {}

  bool full(int64_t i) const { return count[i] == K; }
  Key worst_key(int64_t i) const { return key[i * K]; }

  void push(int64_t i, Key s, int32_t j) {
    Key* hk = key.data() + i * K;
    int32_t* hi = index.data() + i * K;
    int32_t n = count[i];
    if (n < K) {  // sift up from the new leaf
      int32_t c = n;
      while (c > 0) {
        const int32_t p = (c - 1) / 2;
        if (!worse(s, j, hk[p], hi[p])) break;
        hk[c] = hk[p];
        hi[c] = hi[p];
        c = p;
      }
      hk[c] = s;
      hi[c] = j;
      count[i] = n + 1;
      return;
    }
    if (!worse(hk[0], hi[0], s, j)) return;  // not better than the worst kept entry
    int32_t c = 0;
    for (;;) {  // sift down from the root
      int32_t w = 2 * c + 1;
      if (w >= n) break;
      if (w + 1 < n && worse(hk[w + 1], hi[w + 1], hk[w], hi[w])) ++w;
      if (!worse(hk[w], hi[w], s, j)) break;
      hk[c] = hk[w];
      hi[c] = hi[w];
      c = w;
    }
    hk[c] = s;
    hi[c] = j;
  }

  void merge_from(const TopKHeaps& other) {
    for (int64_t i = 0; i < rows; ++i)
      for (int32_t e = 0; e < other.count[i]; ++e) push(i, other.key[i * K + e], other.index[i * K + e]);
  }

  static bool worse(Key a, int32_t ia, Key b, int32_t ib) { return a < b || (a == b && ia > ib); }
};

using CandidateHeaps = TopKHeaps<int32_t>;  // quantised scores, first pass
using ExactHeaps = TopKHeaps<float>;         // exact similarities, refinement pass

// Exact similarity used for the final ranking: float32(dot_double(x_i, x_j) * inv_i * inv_j),
// dot_double from labelgraph/exact_dot.hpp (shared with the CUDA rescore).

}  // namespace labelgraph::detail

namespace labelgraph::detail {

// One side of a search: the caller's float32 rows and their quantisation.
struct RowSource {
  const float* X;
  const QuantizedRows* q;
};

inline float exact_similarity(const RowSource& a, int64_t i, const RowSource& b, int64_t j) {
  const int64_t d = a.q->d;
  return float(dot_double(a.X + i * d, b.X + j * d, d) * (a.q->inv_norm[i] * b.q->inv_norm[j]));
}

// Rows whose candidates could not be certified, with the quantised-score threshold that any
// true top-k neighbour is proven to reach.
struct Uncertified {
  std::vector<int64_t> rows;
  std::vector<int32_t> threshold;
};

// Certifies each row's candidates (see the top of this file), re-scores the certified ones
// exactly and writes their top k to out_index / out_sim; returns the rest. `possible` is the
// number of neighbours a row has at all (n - 1 for the self graph, n for a search).
Uncertified certify_and_rescore(const RowSource& queries, const RowSource& base, int64_t k, int64_t possible,
                                const CandidateHeaps& heaps, int n_threads, int32_t* out_index, float* out_sim);

}  // namespace labelgraph::detail
