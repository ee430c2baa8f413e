// Status checks for every CUDA runtime call and kernel launch: errors become
// C++ exceptions (DeviceOutOfMemory for out-of-memory, CudaError otherwise) naming the call.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "labelgraph/cuda_kernels.hpp"

namespace labelgraph::cuda::detail {

[[noreturn]] inline void throw_cuda(cudaError_t status, const char* what) {
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  const std::string message = std::string(what) + ": " + cudaGetErrorName(status) + " (" +
                              cudaGetErrorString(status) + ")";
  if (status == cudaErrorMemoryAllocation) throw DeviceOutOfMemory("GPU out of memory in " + message);
  throw CudaError("CUDA error in " + message);
}

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw_cuda(status, what);
}

// After a launch: a bad configuration shows up here, a fault in the kernel at the next sync.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

inline unsigned blocks_for(int64_t items, int threads) { return unsigned((items + threads - 1) / threads); }

}  // namespace labelgraph::cuda::detail

#define LG_CUDA_CHECK(call) ::labelgraph::cuda::detail::check((call), #call)
