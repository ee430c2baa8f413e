// Host entry points of the CUDA kernels (csrc/cuda/*.cu). Every pointer is a device pointer, every
// `stream` a cudaStream_t passed as void* (0: the legacy default stream), so this header needs no
// CUDA headers and the binding (register_cuda.cpp) compiles with the host compiler. Launches are
// asynchronous on `stream`; each function checks the launch and every CUDA call and throws
// DeviceOutOfMemory (out of memory) or CudaError (anything else).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace labelgraph::cuda {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct DeviceOutOfMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- memory (device_memory.cu) -------------------------------------------------------------
void* device_alloc(size_t bytes);  // cudaMalloc; DeviceOutOfMemory names the size and what is free
void device_free(void* ptr) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes, void* stream);  // synchronous for the host buffer
void copy_to_host(void* dst, const void* src, size_t bytes, void* stream);    // returns once dst holds the data
void copy_on_device(void* dst, const void* src, size_t bytes, void* stream);
void synchronize(void* stream);
void mem_get_info(size_t* free_bytes, size_t* total_bytes);
int current_device();
void set_device(int device);  // this runtime's current device (labelgraph links its own static runtime)

// ---- kNN (knn_prepare.cu, knn_gemm.cu, knn_select.cu, knn_rescore.cu) ------------------------
// X [n, d] float32 row-major -> inv_norm [n] double (1 / ||x||, squares summed left to right in
// double, as the CPU kernels), unit [n, d] float32 = float32(x * inv), unit_bf16 [n, d] bf16 (as
// uint16), errors [n] double = ||unit_bf16 - unit|| rounded up. Rows must be finite and non-zero.
void knn_prepare(const float* X, int64_t n, int64_t d, double* inv_norm, float* unit, uint16_t* unit_bf16,
                 double* errors, void* stream);
// dst[r] = src[rows[r]] for rows of `row_bytes` bytes (a multiple of 2); rows: [count] int64.
void gather_rows(const void* src, const int64_t* rows, int64_t count, int64_t row_bytes, void* dst, void* stream);

// Tile products on the current device: cuBLAS when it can be loaded (dlopen of `cublas_path`, or
// of libcublas.so.13 / .so.12 on the loader's path when empty), else labelgraph's own kernels.
class GemmHandle {
 public:
  explicit GemmHandle(const std::string& cublas_path = "");
  ~GemmHandle();
  GemmHandle(const GemmHandle&) = delete;
  GemmHandle& operator=(const GemmHandle&) = delete;
  // scores [m, n] float32 (row-major, leading dimension ldc) = A [m, d] . B [n, d]^T; A and B
  // row-major with leading dimension d; bf16: A, B hold bf16 (uint16), float32 accumulation;
  // float32: A, B float32, plain float32 arithmetic (no TF32).
  void tile_scores(const void* A, int64_t m, const void* B, int64_t n, int64_t d, bool bf16, float* scores,
                   int64_t ldc, void* stream);
  const char* name() const;  // "cublas" or "wmma" (the fallback kernels)

 private:
  void* impl_ = nullptr;    // the loaded cuBLAS entry points, or null
  void* handle_ = nullptr;  // the cublasHandle_t
};

// Candidate lists: scores [rows, K] float32 and indices [rows, K] int32, sorted by decreasing
// score, ties by increasing index; empty slots (-inf, INT32_MAX).
void init_lists(float* scores, int32_t* indices, int64_t count, void* stream);
// Merges tile row r (scores[r * ld + c], candidate col0 + c) into list row list_row0 + r. A
// candidate equal to the row's own id (self_ids[r] when self_ids is given, else self_base + r
// when self_base >= 0) is skipped. One warp per row.
void merge_tile_rows(const float* tile, int64_t rows, int64_t cols, int64_t ld, int64_t col0, const int64_t* self_ids,
                     int64_t self_base, float* list_scores, int32_t* list_indices, int64_t list_row0, int64_t K,
                     void* stream);
// Merges tile column c (candidates row0 + r) into list row list_row0 + c. One thread per column
// and row segment; with segments > 1, partial_scores / partial_indices hold [segments, cols, K].
void merge_tile_cols(const float* tile, int64_t rows, int64_t cols, int64_t ld, int64_t row0, float* list_scores,
                     int32_t* list_indices, int64_t list_row0, int64_t K, float* partial_scores,
                     int32_t* partial_indices, int64_t segments, void* stream);
int multiprocessor_count();  // of the current device
// out[q, e] = float32(dot_double(X[rows[q]], X[cand[q, e]]) * (inv[rows[q]] * inv[cand[q, e]])),
// the CPU kernels' exact similarity bit for bit (knn_rescore.cpp).
void knn_rescore(const float* X, const double* inv_norm, int64_t d, const int64_t* rows, int64_t count,
                 const int32_t* cand, int64_t K, float* out, void* stream);
// Per row q: the top k of (exact[q, :], cand[q, :]) by score descending, index ascending, into
// out_index / out_sim [count, k], and smallest_kept[q] = kept_scores[q, K - 1].
void knn_exact_topk(const float* exact, const int32_t* cand, const float* kept_scores, int64_t count, int64_t K,
                    int64_t k, int32_t* out_index, float* out_sim, float* smallest_kept, void* stream);

// ---- propagation (propagate_csr.cu) ----------------------------------------------------------
// All `n_iter` iterations of Y <- S Y with labeled rows clamped to their one-hot (alpha < 0) or
// Y <- alpha S Y + (1 - alpha) Y0 (alpha in (0, 1)), S the CSR (indptr [n + 1] int64, indices
// [nnz] int32, values [nnz] float32). labels [n] int32 (-1 unlabeled); init [n, c] float32 or
// nullptr (one-hot rows of the labels). Writes soft [n, c], hard [n] int64 (argmax, ties to the
// lower class; -1 for an all-zero row) and unreached [n] uint8. Returns false if a score is not
// finite. `work` holds 2 * n * round_up(c, 4) floats (the double buffer).
bool propagate_csr(const int64_t* indptr, const int32_t* indices, const float* values, int64_t n,
                   const int32_t* labels, int64_t c, const float* init, int64_t n_iter, double alpha, float* work,
                   float* soft, int64_t* hard, uint8_t* unreached, void* stream);
int64_t propagate_work_floats(int64_t n, int64_t c);

}  // namespace labelgraph::cuda
