// Rows of X ready for the kNN passes: inverse norms (double, the CPU kernels' summation order),
// float32 unit rows, bf16 unit rows and each row's bf16 rounding error (certificate.py, Lemma 1).
#include <cuda_bf16.h>

#include "cuda_check.cuh"

namespace labelgraph::cuda {
namespace {

constexpr int kNormRows = 128;  // rows per block, one thread each
constexpr int kNormChunk = 32;  // columns staged per step

// One thread sums one row's squares left to right, as knn_quantize.cpp does, so the inverse norm
// is the CPU's bit for bit; the block stages 128 x 32 columns in shared memory so the global
// reads stay coalesced (a thread reading its own row would stride by d).
__global__ void inverse_norms_kernel(const float* __restrict__ X, int64_t n, int64_t d, double* __restrict__ inv) {
  __shared__ float stage[kNormRows][kNormChunk + 1];  // +1: no bank conflicts on the column reads
  const int64_t row0 = int64_t(blockIdx.x) * kNormRows;
  double sq = 0.0;
  for (int64_t c0 = 0; c0 < d; c0 += kNormChunk) {
    for (int e = threadIdx.x; e < kNormRows * kNormChunk; e += blockDim.x) {
      const int r = e / kNormChunk, c = e % kNormChunk;
      const int64_t gr = row0 + r, gc = c0 + c;
      stage[r][c] = (gr < n && gc < d) ? X[gr * d + gc] : 0.0f;
    }
    __syncthreads();
    const int width = int(d - c0 < kNormChunk ? d - c0 : kNormChunk);
    for (int c = 0; c < width; ++c) {
      const double v = stage[threadIdx.x][c];
      sq += v * v;  // exact product: fused or not, one rounding per step, as on the CPU
    }
    __syncthreads();
  }
  if (row0 + threadIdx.x < n) inv[row0 + threadIdx.x] = 1.0 / sqrt(sq);
}

// One warp per row: unit = float32(x * inv), its bf16 rounding, and ||bf16 - unit|| rounded up.
__global__ void unit_rows_kernel(const float* __restrict__ X, int64_t n, int64_t d, const double* __restrict__ inv,
                                 float* __restrict__ unit, __nv_bfloat16* __restrict__ unit_bf16,
                                 double* __restrict__ errors) {
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= n) return;
  const double r = inv[row];
  double e2 = 0.0;
  for (int64_t c = lane; c < d; c += 32) {
    const float u = float(double(X[row * d + c]) * r);
    const __nv_bfloat16 b = __float2bfloat16_rn(u);
    unit[row * d + c] = u;
    unit_bf16[row * d + c] = b;
    const double diff = double(__bfloat162float(b)) - double(u);  // exact in double
    e2 += diff * diff;
  }
  for (int offset = 16; offset > 0; offset /= 2) e2 += __shfl_down_sync(0xffffffffu, e2, offset);
  if (lane == 0) errors[row] = sqrt(e2) * (1.0 + 1e-9) + 1e-12;  // slack: the rounding of this sum
}

__global__ void gather_rows_kernel(const uint16_t* __restrict__ src, const int64_t* __restrict__ rows,
                                   int64_t count, int64_t row_halfwords, uint16_t* __restrict__ dst) {
  for (int64_t r = blockIdx.x; r < count; r += gridDim.x) {
    const uint16_t* from = src + rows[r] * row_halfwords;
    for (int64_t c = threadIdx.x; c < row_halfwords; c += blockDim.x) dst[r * row_halfwords + c] = from[c];
  }
}

}  // namespace

void knn_prepare(const float* X, int64_t n, int64_t d, double* inv_norm, float* unit, uint16_t* unit_bf16,
                 double* errors, void* stream) {
  if (n <= 0) return;
  const cudaStream_t s = detail::as_stream(stream);
  inverse_norms_kernel<<<detail::blocks_for(n, kNormRows), kNormRows, 0, s>>>(X, n, d, inv_norm);
  detail::check_launch("inverse_norms_kernel");
  constexpr int threads = 256;
  unit_rows_kernel<<<detail::blocks_for(n * 32, threads), threads, 0, s>>>(
      X, n, d, inv_norm, unit, reinterpret_cast<__nv_bfloat16*>(unit_bf16), errors);
  detail::check_launch("unit_rows_kernel");
}

void gather_rows(const void* src, const int64_t* rows, int64_t count, int64_t row_bytes, void* dst, void* stream) {
  if (count <= 0) return;
  if (row_bytes % 2 != 0) throw CudaError("gather_rows: row_bytes must be even");
  const unsigned blocks = unsigned(count < 65535 ? count : 65535);
  gather_rows_kernel<<<blocks, 128, 0, detail::as_stream(stream)>>>(static_cast<const uint16_t*>(src), rows, count,
                                                                    row_bytes / 2, static_cast<uint16_t*>(dst));
  detail::check_launch("gather_rows_kernel");
}

}  // namespace labelgraph::cuda
