// Similarity tiles S = A . B^T: cuBLAS (bf16 inputs on the tensor cores with float32 sums, or
// plain float32 without TF32), loaded at run time with dlopen so labelgraph neither links nor
// ships cuBLAS; where it cannot be loaded, simple kernels of our own: WMMA bf16 tensor-core tiles
// and shared-memory float32 tiles (correct at any size, several times slower than cuBLAS).
#include <cuda_bf16.h>
#include <dlfcn.h>
#include <mma.h>

#include <climits>
#include <string>

#include "cuda_check.cuh"

namespace labelgraph::cuda {
namespace {

// ---- cuBLAS through dlopen: the few entry points and enum values used (cublas_api.h, CUDA 12/13) ----
using Handle = void*;
using CreateFn = int (*)(Handle*);
using DestroyFn = int (*)(Handle);
using SetStreamFn = int (*)(Handle, cudaStream_t);
using SetMathModeFn = int (*)(Handle, int);
using GemmExFn = int (*)(Handle, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                         const void*, void*, int, int, int, int);
constexpr int kOpN = 0, kOpT = 1, kStatusAllocFailed = 3, kGemmDefault = -1;
constexpr int kComputeF32 = 68, kComputeF32Pedantic = 69;
constexpr int kDefaultMath = 0, kDisallowReducedPrecisionReduction = 16;

struct Cublas {
  void* lib = nullptr;
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  SetStreamFn set_stream = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  GemmExFn gemm_ex = nullptr;
};

// The library at `path` (empty: the loader's search path), or nothing.
Cublas load_cublas(const std::string& path) {
  Cublas c;
  for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
    c.lib = dlopen(path.empty() ? name : path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (c.lib || !path.empty()) break;
  }
  if (!c.lib) return c;
  c.create = reinterpret_cast<CreateFn>(dlsym(c.lib, "cublasCreate_v2"));
  c.destroy = reinterpret_cast<DestroyFn>(dlsym(c.lib, "cublasDestroy_v2"));
  c.set_stream = reinterpret_cast<SetStreamFn>(dlsym(c.lib, "cublasSetStream_v2"));
  c.set_math_mode = reinterpret_cast<SetMathModeFn>(dlsym(c.lib, "cublasSetMathMode"));
  c.gemm_ex = reinterpret_cast<GemmExFn>(dlsym(c.lib, "cublasGemmEx"));
  if (!c.create || !c.destroy || !c.set_stream || !c.set_math_mode || !c.gemm_ex) {
    dlclose(c.lib);
    return Cublas{};
  }
  return c;
}

void check_cublas(int status, const char* what) {
  if (status == 0) return;
  const std::string message = std::string(what) + " returned cuBLAS status " + std::to_string(status);
  if (status == kStatusAllocFailed) throw DeviceOutOfMemory("GPU out of memory: " + message);
  throw CudaError(message);
}

// ---- fallback kernels ------------------------------------------------------------------------
namespace wmma = nvcuda::wmma;
constexpr int kTile = 64;       // block tile 64 x 64, four warps of 32 x 32
constexpr int kDepth = 32;      // columns of d staged per step
constexpr int kLds = kDepth + 8;  // bf16 leading dimension: a multiple of 8, rows offset across banks

__global__ void wmma_bf16_kernel(const __nv_bfloat16* __restrict__ A, int64_t m, const __nv_bfloat16* __restrict__ B,
                                 int64_t n, int64_t d, float* __restrict__ C, int64_t ldc) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  __shared__ __align__(32) __nv_bfloat16 sa[kTile * kLds];
  __shared__ __align__(32) __nv_bfloat16 sb[kTile * kLds];
  __shared__ __align__(32) float sc[4][16 * 16];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = warp / 2, wn = warp % 2;
  const int64_t bm = int64_t(blockIdx.y) * kTile, bn = int64_t(blockIdx.x) * kTile;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
  for (auto& row : acc)
    for (auto& f : row) wmma::fill_fragment(f, 0.0f);
  const __nv_bfloat16 zero = __float2bfloat16(0.0f);
  for (int64_t k0 = 0; k0 < d; k0 += kDepth) {
    for (int e = threadIdx.x; e < kTile * kDepth; e += blockDim.x) {
      const int r = e / kDepth, c = e % kDepth;
      const bool in_d = k0 + c < d;
      sa[r * kLds + c] = (bm + r < m && in_d) ? A[(bm + r) * d + k0 + c] : zero;
      sb[r * kLds + c] = (bn + r < n && in_d) ? B[(bn + r) * d + k0 + c] : zero;
    }
    __syncthreads();
    for (int kk = 0; kk < kDepth; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb[2];
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], sa + (wm * 32 + i * 16) * kLds + kk, kLds);
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], sb + (wn * 32 + j * 16) * kLds + kk, kLds);
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {  // through shared memory: C's rows need not be 32-byte aligned
      wmma::store_matrix_sync(sc[warp], acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int64_t r = bm + wm * 32 + i * 16 + e / 16, c = bn + wn * 32 + j * 16 + e % 16;
        if (r < m && c < n) C[r * ldc + c] = sc[warp][e];
      }
      __syncwarp();
    }
  }
#endif
}

constexpr int kF = 16;  // float32 fallback: 16 x 16 tiles, one output per thread

__global__ void sgemm_kernel(const float* __restrict__ A, int64_t m, const float* __restrict__ B, int64_t n, int64_t d,
                             float* __restrict__ C, int64_t ldc) {
  __shared__ float sa[kF][kF + 1], sb[kF][kF + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t r = int64_t(blockIdx.y) * kF + ty, c = int64_t(blockIdx.x) * kF + tx;
  const int64_t rb = int64_t(blockIdx.x) * kF + ty;  // the B row this thread stages
  float acc = 0.0f;
  for (int64_t k0 = 0; k0 < d; k0 += kF) {
    sa[ty][tx] = (r < m && k0 + tx < d) ? A[r * d + k0 + tx] : 0.0f;
    sb[ty][tx] = (rb < n && k0 + tx < d) ? B[rb * d + k0 + tx] : 0.0f;
    __syncthreads();
    for (int k = 0; k < kF; ++k) acc = fmaf(sa[ty][k], sb[tx][k], acc);
    __syncthreads();
  }
  if (r < m && c < n) C[r * ldc + c] = acc;
}

}  // namespace

GemmHandle::GemmHandle(const std::string& cublas_path) {
  Cublas lib = load_cublas(cublas_path);
  if (!lib.lib) return;
  Handle h = nullptr;
  check_cublas(lib.create(&h), "cublasCreate");
  // Sums stay in float32 throughout (the accumulation bound of certificate.py, Lemma 3).
  check_cublas(lib.set_math_mode(h, kDefaultMath | kDisallowReducedPrecisionReduction), "cublasSetMathMode");
  auto* held = new Cublas(lib);
  impl_ = held;
  handle_ = h;
}

GemmHandle::~GemmHandle() {
  if (impl_) {
    auto* lib = static_cast<Cublas*>(impl_);
    lib->destroy(handle_);
    delete lib;  // the library stays loaded: other handles may use it
  }
}

const char* GemmHandle::name() const { return impl_ ? "cublas" : "wmma"; }

void GemmHandle::tile_scores(const void* A, int64_t m, const void* B, int64_t n, int64_t d, bool bf16, float* scores,
                             int64_t ldc, void* stream) {
  if (m <= 0 || n <= 0) return;
  if (m > INT_MAX || n > INT_MAX || d > INT_MAX || ldc > INT_MAX)
    throw CudaError("tile_scores: a tile side, d or the leading dimension exceeds 2**31 - 1");
  const cudaStream_t s = detail::as_stream(stream);
  if (impl_) {
    auto* lib = static_cast<Cublas*>(impl_);
    check_cublas(lib->set_stream(handle_, s), "cublasSetStream");
    const float one = 1.0f, zero = 0.0f;
    const int type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    // Row-major A [m, d] and B [n, d] are column-major d x m and d x n; row-major scores [m, n]
    // are the column-major n x m matrix B^T A: cuBLAS's first operand is B, transposed.
    check_cublas(lib->gemm_ex(handle_, kOpT, kOpN, int(n), int(m), int(d), &one, B, type, int(d), A, type, int(d),
                              &zero, scores, CUDA_R_32F, int(ldc), bf16 ? kComputeF32 : kComputeF32Pedantic,
                              kGemmDefault),
                 "cublasGemmEx (similarity tile)");
    return;
  }
  int device = 0, major = 0;
  LG_CUDA_CHECK(cudaGetDevice(&device));
  LG_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 8) throw CudaError("labelgraph's bf16 tile kernel needs compute capability 8.0 or newer (or cuBLAS)");
  if (bf16) {
    const dim3 grid(unsigned((n + kTile - 1) / kTile), unsigned((m + kTile - 1) / kTile));
    wmma_bf16_kernel<<<grid, 128, 0, s>>>(static_cast<const __nv_bfloat16*>(A), m,
                                          static_cast<const __nv_bfloat16*>(B), n, d, scores, ldc);
    detail::check_launch("wmma_bf16_kernel");
  } else {
    const dim3 grid(unsigned((n + kF - 1) / kF), unsigned((m + kF - 1) / kF));
    sgemm_kernel<<<grid, dim3(kF, kF), 0, s>>>(static_cast<const float*>(A), m, static_cast<const float*>(B), n, d,
                                               scores, ldc);
    detail::check_launch("sgemm_kernel");
  }
}

}  // namespace labelgraph::cuda
