// Label propagation on the GPU: all iterations of the clamped or alpha update in one call.
//
// Y lives in two padded buffers [n, w], w = c rounded up to 4: a thread computes 4 classes of one
// row (float4 gathers, consecutive threads on the same row's consecutive classes, so each source
// row is read as one contiguous segment). Clamping is fused: in clamp mode labeled rows hold their
// one-hot in both buffers and are never written. The row's nonzeros are summed in CSR order, as
// the CPU sweep does (sweep_scalar in spmm_scalar.cpp).
#include <cmath>

#include "cuda_check.cuh"

namespace labelgraph::cuda {
namespace {

__global__ void init_kernel(int64_t n, int64_t c, int64_t w, const int32_t* __restrict__ labels,
                            const float* __restrict__ init, bool clamp, float* __restrict__ y0, float* __restrict__ y1) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * w) return;
  const int64_t i = t / w, k = t % w;
  float v = (init && k < c) ? init[i * c + k] : 0.0f;
  const int label = labels[i];
  if (label >= 0 && (clamp || !init)) v = k == label ? 1.0f : 0.0f;
  y0[t] = v;
  if (clamp && label >= 0) y1[t] = v;
}

template <bool kClamp>
__global__ void sweep_kernel(const int64_t* __restrict__ indptr, const int32_t* __restrict__ indices,
                             const float* __restrict__ values, const int32_t* __restrict__ labels, int64_t n,
                             int64_t w4, const float4* __restrict__ src, float4* __restrict__ dst, float alpha,
                             float one_minus_alpha) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= n * w4) return;
  const int64_t i = t / w4, q = t % w4;
  const int label = labels[i];
  if (kClamp && label >= 0) return;
  float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  const int64_t p1 = indptr[i + 1];
  for (int64_t p = indptr[i]; p < p1; ++p) {
    const float wv = values[p];
    const float4 s = src[int64_t(indices[p]) * w4 + q];
    acc.x += wv * s.x;
    acc.y += wv * s.y;
    acc.z += wv * s.z;
    acc.w += wv * s.w;
  }
  if (!kClamp) {
    acc.x *= alpha;
    acc.y *= alpha;
    acc.z *= alpha;
    acc.w *= alpha;
    if (label >= 0 && label / 4 == q) {  // selects, not acc[label % 4]: a run-time index spills to local memory
      const int lane = label % 4;
      acc.x += lane == 0 ? one_minus_alpha : 0.0f;
      acc.y += lane == 1 ? one_minus_alpha : 0.0f;
      acc.z += lane == 2 ? one_minus_alpha : 0.0f;
      acc.w += lane == 3 ? one_minus_alpha : 0.0f;
    }
  }
  dst[t] = acc;
}

// soft, argmax (first strictly largest positive score) and unreached; flags a non-finite score.
__global__ void finish_kernel(const float* __restrict__ y, int64_t n, int64_t c, int64_t w, float* __restrict__ soft,
                              int64_t* __restrict__ hard, uint8_t* __restrict__ unreached, int* __restrict__ nonfinite) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t best = -1;
  float best_value = 0.0f;
  bool finite = true;
  for (int64_t k = 0; k < c; ++k) {
    const float v = y[i * w + k];
    soft[i * c + k] = v;
    finite &= isfinite(v);
    if (v > best_value) {
      best = k;
      best_value = v;
    }
  }
  hard[i] = best;
  unreached[i] = best < 0;
  if (!finite) atomicOr(nonfinite, 1);
}

int64_t padded_width(int64_t c) { return (c + 3) / 4 * 4; }

}  // namespace

int64_t propagate_work_floats(int64_t n, int64_t c) { return 2 * n * padded_width(c) + 4; }

bool propagate_csr(const int64_t* indptr, const int32_t* indices, const float* values, int64_t n,
                   const int32_t* labels, int64_t c, const float* init, int64_t n_iter, double alpha, float* work,
                   float* soft, int64_t* hard, uint8_t* unreached, void* stream) {
  if (n <= 0) return true;
  const cudaStream_t s = detail::as_stream(stream);
  const int64_t w = padded_width(c), w4 = w / 4;
  const bool clamp = alpha < 0.0;
  float* buffers[2] = {work, work + n * w};
  int* nonfinite = reinterpret_cast<int*>(work + 2 * n * w);
  LG_CUDA_CHECK(cudaMemsetAsync(nonfinite, 0, sizeof(int), s));
  constexpr int threads = 256;
  init_kernel<<<detail::blocks_for(n * w, threads), threads, 0, s>>>(n, c, w, labels, init, clamp, buffers[0],
                                                                     buffers[1]);
  detail::check_launch("propagate init_kernel");
  const float a = clamp ? 1.0f : float(alpha), b = clamp ? 0.0f : float(1.0 - alpha);
  int cur = 0;
  for (int64_t it = 0; it < n_iter; ++it) {
    const auto* src = reinterpret_cast<const float4*>(buffers[cur]);
    auto* dst = reinterpret_cast<float4*>(buffers[1 - cur]);
    if (clamp)
      sweep_kernel<true><<<detail::blocks_for(n * w4, threads), threads, 0, s>>>(indptr, indices, values, labels, n, w4,
                                                                                 src, dst, a, b);
    else
      sweep_kernel<false><<<detail::blocks_for(n * w4, threads), threads, 0, s>>>(indptr, indices, values, labels, n,
                                                                                  w4, src, dst, a, b);
    detail::check_launch("propagate sweep_kernel");
    cur = 1 - cur;
  }
  finish_kernel<<<detail::blocks_for(n, threads), threads, 0, s>>>(buffers[cur], n, c, w, soft, hard, unreached,
                                                                   nonfinite);
  detail::check_launch("propagate finish_kernel");
  int flag = 0;
  LG_CUDA_CHECK(cudaMemcpyAsync(&flag, nonfinite, sizeof(int), cudaMemcpyDeviceToHost, s));
  LG_CUDA_CHECK(cudaStreamSynchronize(s));
  return flag == 0;
}

}  // namespace labelgraph::cuda
