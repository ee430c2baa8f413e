// Per-row top-K selection over a similarity tile, merged into running candidate lists.
//
// Lists are sorted (score descending, index ascending) in global memory; a candidate enters only
// when it beats the row's K-th entry, which a thread keeps in registers. Insertions are rare
// (about K ln(n / K) per row over a whole pass), so the cost is one coalesced read of the tile:
// the rows kernel gives each row a warp that reads 32 consecutive scores at a time and inserts
// the lanes that beat the threshold one by one (ballot, then a warp-parallel shift); the columns
// kernel gives each column a thread per row segment, and the warp's 32 threads read 32
// consecutive scores of a tile row. This is FAISS's WarpSelect idea (faiss/gpu/utils/WarpSelectKernel.cuh) without its
// per-lane queues: the threshold test filters almost every score before any shared work.
#include <climits>
#include <cmath>

#include "cuda_check.cuh"

namespace labelgraph::cuda {
namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kUnroll = 4;  // independent loads in flight per thread

__device__ __forceinline__ bool beats(float v, int32_t j, float tv, int32_t tj) {
  return v > tv || (v == tv && j < tj);
}

__global__ void init_lists_kernel(float* scores, int32_t* indices, int64_t count) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < count) {
    scores[t] = -INFINITY;
    indices[t] = INT32_MAX;
  }
}

// Inserts (cv, cj), which beats the last entry, into the sorted list; the whole warp takes part.
__device__ void warp_insert(float* vals, int32_t* idx, int64_t K, float cv, int32_t cj, int lane) {
  int before = 0;
  for (int64_t e = lane; e < K; e += 32) before += beats(vals[e], idx[e], cv, cj);
  const int64_t pos = __reduce_add_sync(kFull, before);
  // Shift [pos, K - 1) up by one, 32 entries at a time from the top: each step reads below
  // what it writes, and the step below reads its entries before they are overwritten.
  for (int64_t top = K - 1; top > pos; top -= 32) {
    const int64_t e = top - lane;
    float v = 0.0f;
    int32_t j = 0;
    if (e > pos) {
      v = vals[e - 1];
      j = idx[e - 1];
    }
    __syncwarp();
    if (e > pos) {
      vals[e] = v;
      idx[e] = j;
    }
    __syncwarp();
  }
  if (lane == 0) {
    vals[pos] = cv;
    idx[pos] = cj;
  }
  __syncwarp();
}

__global__ void merge_rows_kernel(const float* __restrict__ tile, int64_t rows, int64_t cols, int64_t ld, int64_t col0,
                                  const int64_t* __restrict__ self_ids, int64_t self_base, float* list_scores,
                                  int32_t* list_indices, int64_t list_row0, int64_t K) {
  const int64_t r = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;  // whole warps leave together
  float* vals = list_scores + (list_row0 + r) * K;
  int32_t* idx = list_indices + (list_row0 + r) * K;
  const int64_t self = self_ids ? self_ids[r] : (self_base >= 0 ? self_base + r : -1);
  float tv = vals[K - 1];
  int32_t tj = idx[K - 1];
  const float* row = tile + r * ld;
  for (int64_t c0 = 0; c0 < cols; c0 += 32 * kUnroll) {
    float v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = c0 + u * 32 + lane;
      v[u] = c < cols ? row[c] : -INFINITY;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t c = c0 + u * 32 + lane;
      const int32_t j = int32_t(col0 + c);
      const bool valid = c < cols && col0 + c != self;
      unsigned mask = __ballot_sync(kFull, valid && beats(v[u], j, tv, tj));
      while (mask) {
        const int src = __ffs(mask) - 1;
        const float cv = __shfl_sync(kFull, v[u], src);
        const int32_t cj = __shfl_sync(kFull, j, src);
        warp_insert(vals, idx, K, cv, cj, lane);
        tv = vals[K - 1];
        tj = idx[K - 1];
        mask &= ~(1u << src);
        mask &= __ballot_sync(kFull, valid && beats(v[u], j, tv, tj));
      }
    }
  }
}

// Thread (c, s) scans rows [s * seg, (s + 1) * seg) of tile column c. With one segment it merges
// straight into the column's list; with several, each keeps a partial list in `partial`
// ([segments, cols, K]) holding only candidates that beat the column's K-th entry, and
// merge_partials_kernel folds them in: more threads than columns keep enough reads in flight.
__global__ void merge_cols_kernel(const float* __restrict__ tile, int64_t rows, int64_t cols, int64_t ld, int64_t row0,
                                  float* list_scores, int32_t* list_indices, int64_t list_row0, int64_t K,
                                  float* partial_scores, int32_t* partial_indices, int64_t segment_rows) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const int64_t s = blockIdx.y;
  const int64_t r_begin = s * segment_rows, r_end = min(rows, r_begin + segment_rows);
  const float* global_vals = list_scores + (list_row0 + c) * K;
  const int32_t* global_idx = list_indices + (list_row0 + c) * K;
  const float gv = global_vals[K - 1];
  const int32_t gj = global_idx[K - 1];
  const bool direct = partial_scores == nullptr;
  float* vals = direct ? list_scores + (list_row0 + c) * K : partial_scores + (s * cols + c) * K;
  int32_t* idx = direct ? list_indices + (list_row0 + c) * K : partial_indices + (s * cols + c) * K;
  if (!direct) {
    for (int64_t e = 0; e < K; ++e) {
      vals[e] = -INFINITY;
      idx[e] = INT32_MAX;
    }
  }
  float tv = gv;  // what a candidate must beat: the column's K-th, or the partial list's once full
  int32_t tj = gj;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kUnroll) {
    float v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = r0 + u < r_end ? tile[(r0 + u) * ld + c] : -INFINITY;
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int32_t j = int32_t(row0 + r0 + u);
      if (r0 + u >= r_end || !beats(v[u], j, tv, tj)) continue;
      int64_t e = K - 1;  // insertion sort from the end: this thread owns the list
      while (e > 0 && beats(v[u], j, vals[e - 1], idx[e - 1])) {
        vals[e] = vals[e - 1];
        idx[e] = idx[e - 1];
        --e;
      }
      vals[e] = v[u];
      idx[e] = j;
      const bool partial_full = beats(vals[K - 1], idx[K - 1], gv, gj);
      tv = direct || partial_full ? vals[K - 1] : gv;
      tj = direct || partial_full ? idx[K - 1] : gj;
    }
  }
}

// Folds the segments' partial lists of column c into its list (thread per column).
__global__ void merge_partials_kernel(int64_t cols, int64_t segments, const float* __restrict__ partial_scores,
                                      const int32_t* __restrict__ partial_indices, float* list_scores,
                                      int32_t* list_indices, int64_t list_row0, int64_t K) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float* vals = list_scores + (list_row0 + c) * K;
  int32_t* idx = list_indices + (list_row0 + c) * K;
  for (int64_t s = 0; s < segments; ++s) {
    const float* pv = partial_scores + (s * cols + c) * K;
    const int32_t* pj = partial_indices + (s * cols + c) * K;
    for (int64_t q = 0; q < K; ++q) {
      const float v = pv[q];
      const int32_t j = pj[q];
      if (!beats(v, j, vals[K - 1], idx[K - 1])) break;  // sorted: the rest cannot enter either
      int64_t e = K - 1;
      while (e > 0 && beats(v, j, vals[e - 1], idx[e - 1])) {
        vals[e] = vals[e - 1];
        idx[e] = idx[e - 1];
        --e;
      }
      vals[e] = v;
      idx[e] = j;
    }
  }
}

}  // namespace

void init_lists(float* scores, int32_t* indices, int64_t count, void* stream) {
  if (count <= 0) return;
  init_lists_kernel<<<detail::blocks_for(count, 256), 256, 0, detail::as_stream(stream)>>>(scores, indices, count);
  detail::check_launch("init_lists_kernel");
}

void merge_tile_rows(const float* tile, int64_t rows, int64_t cols, int64_t ld, int64_t col0, const int64_t* self_ids,
                     int64_t self_base, float* list_scores, int32_t* list_indices, int64_t list_row0, int64_t K,
                     void* stream) {
  if (rows <= 0 || cols <= 0) return;
  constexpr int threads = 256;
  merge_rows_kernel<<<detail::blocks_for(rows * 32, threads), threads, 0, detail::as_stream(stream)>>>(
      tile, rows, cols, ld, col0, self_ids, self_base, list_scores, list_indices, list_row0, K);
  detail::check_launch("merge_rows_kernel");
}

void merge_tile_cols(const float* tile, int64_t rows, int64_t cols, int64_t ld, int64_t row0, float* list_scores,
                     int32_t* list_indices, int64_t list_row0, int64_t K, float* partial_scores,
                     int32_t* partial_indices, int64_t segments, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  if (segments < 1 || segments > 65535) throw CudaError("merge_tile_cols: segments must be in [1, 65535]");
  if (segments > 1 && (!partial_scores || !partial_indices))
    throw CudaError("merge_tile_cols: several segments need the partial lists' buffers");
  const cudaStream_t s = detail::as_stream(stream);
  constexpr int threads = 128;
  const int64_t segment_rows = (rows + segments - 1) / segments;
  const dim3 grid(detail::blocks_for(cols, threads), unsigned(segments));
  const bool direct = segments == 1;
  merge_cols_kernel<<<grid, threads, 0, s>>>(tile, rows, cols, ld, row0, list_scores, list_indices, list_row0, K,
                                             direct ? nullptr : partial_scores, direct ? nullptr : partial_indices,
                                             segment_rows);
  detail::check_launch("merge_cols_kernel");
  if (direct) return;
  merge_partials_kernel<<<detail::blocks_for(cols, threads), threads, 0, s>>>(cols, segments, partial_scores,
                                                                               partial_indices, list_scores,
                                                                               list_indices, list_row0, K);
  detail::check_launch("merge_partials_kernel");
}

int multiprocessor_count() {
  int device = 0, count = 0;
  LG_CUDA_CHECK(cudaGetDevice(&device));
  LG_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

}  // namespace labelgraph::cuda
