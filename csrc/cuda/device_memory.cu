// Device memory for the Python layer: allocation with a clear out-of-memory error, copies, sync.
#include "cuda_check.cuh"

namespace labelgraph::cuda {

using detail::as_stream;

void* device_alloc(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes == 0 ? 1 : bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total = 0;
    cudaMemGetInfo(&free_bytes, &total);
    throw DeviceOutOfMemory("GPU out of memory: could not allocate " + std::to_string(bytes) + " bytes (" +
                            std::to_string(free_bytes) + " of " + std::to_string(total) +
                            " bytes free); pass a smaller memory_budget or free GPU memory");
  }
  detail::check(status, "cudaMalloc");
  return ptr;
}

void device_free(void* ptr) noexcept { cudaFree(ptr); }

void copy_to_device(void* dst, const void* src, size_t bytes, void* stream) {
  LG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, as_stream(stream)));
  LG_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));  // the host buffer may go away after return
}

void copy_to_host(void* dst, const void* src, size_t bytes, void* stream) {
  LG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(stream)));
  LG_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));
}

void copy_on_device(void* dst, const void* src, size_t bytes, void* stream) {
  LG_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(stream)));
}

void synchronize(void* stream) { LG_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream))); }

void mem_get_info(size_t* free_bytes, size_t* total_bytes) { LG_CUDA_CHECK(cudaMemGetInfo(free_bytes, total_bytes)); }

int current_device() {
  int device = 0;
  LG_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

void set_device(int device) { LG_CUDA_CHECK(cudaSetDevice(device)); }

}  // namespace labelgraph::cuda
