// Exact similarities of candidate pairs, bit-identical to the CPU kernels' (knn_rescore.cpp):
// float32 products are exact in double, so the result only depends on the order of the sums,
// which is the CPU's (four accumulators over p = 0, 4, 8, ..., the tail in the first).
#include "cuda_check.cuh"
#include "labelgraph/exact_dot.hpp"

namespace labelgraph::cuda {
namespace {

__global__ void rescore_kernel(const float* __restrict__ X, const double* __restrict__ inv, int64_t d,
                               const int64_t* __restrict__ rows, int64_t count, const int32_t* __restrict__ cand,
                               int64_t K, float* __restrict__ out) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= count * K) return;
  const int64_t i = rows[t / K], j = cand[t];
  out[t] = float(labelgraph::detail::dot_double(X + i * d, X + j * d, d) * (inv[i] * inv[j]));
}

// Thread per row: the top k of its K re-scored candidates (score descending, index ascending),
// inserted into the outputs, and the smallest score the candidate pass kept (the certificate's t).
__global__ void exact_topk_kernel(const float* __restrict__ exact, const int32_t* __restrict__ cand,
                                  const float* __restrict__ kept_scores, int64_t count, int64_t K, int64_t k,
                                  int32_t* __restrict__ out_index, float* __restrict__ out_sim,
                                  float* __restrict__ smallest_kept) {
  const int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (q >= count) return;
  float* sims = out_sim + q * k;
  int32_t* idx = out_index + q * k;
  int64_t filled = 0;
  for (int64_t e = 0; e < K; ++e) {
    const float v = exact[q * K + e];
    const int32_t j = cand[q * K + e];
    if (filled == k && !(v > sims[k - 1] || (v == sims[k - 1] && j < idx[k - 1]))) continue;
    int64_t p = filled < k ? filled++ : k - 1;
    while (p > 0 && (v > sims[p - 1] || (v == sims[p - 1] && j < idx[p - 1]))) {
      sims[p] = sims[p - 1];
      idx[p] = idx[p - 1];
      --p;
    }
    sims[p] = v;
    idx[p] = j;
  }
  smallest_kept[q] = kept_scores[q * K + K - 1];
}

}  // namespace

void knn_exact_topk(const float* exact, const int32_t* cand, const float* kept_scores, int64_t count, int64_t K,
                    int64_t k, int32_t* out_index, float* out_sim, float* smallest_kept, void* stream) {
  if (count <= 0) return;
  if (k < 1 || k > K) throw CudaError("knn_exact_topk: k must be in [1, K]");
  constexpr int threads = 128;
  exact_topk_kernel<<<detail::blocks_for(count, threads), threads, 0, detail::as_stream(stream)>>>(
      exact, cand, kept_scores, count, K, k, out_index, out_sim, smallest_kept);
  detail::check_launch("exact_topk_kernel");
}

void knn_rescore(const float* X, const double* inv_norm, int64_t d, const int64_t* rows, int64_t count,
                 const int32_t* cand, int64_t K, float* out, void* stream) {
  if (count <= 0 || K <= 0) return;
  constexpr int threads = 128;
  rescore_kernel<<<detail::blocks_for(count * K, threads), threads, 0, detail::as_stream(stream)>>>(
      X, inv_norm, d, rows, count, cand, K, out);
  detail::check_launch("rescore_kernel");
}

}  // namespace labelgraph::cuda
