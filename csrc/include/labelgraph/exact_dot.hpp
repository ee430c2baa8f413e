// The exact similarity's dot product, shared by the CPU kernels and the CUDA rescore so that both
// give bit-identical similarities (the GPU path's tests assert equality with the CPU graph).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define LABELGRAPH_HOST_DEVICE __host__ __device__
#else
#define LABELGRAPH_HOST_DEVICE
#endif

namespace labelgraph::detail {

// Products of floats are exact in double; four fixed accumulators keep the order (and so the
// result) the same on every machine, on the GPU, and for dot(a, b) and dot(b, a).
LABELGRAPH_HOST_DEVICE inline double dot_double(const float* a, const float* b, int64_t d) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t p = 0;
  for (; p + 4 <= d; p += 4) {
    s0 += double(a[p]) * double(b[p]);
    s1 += double(a[p + 1]) * double(b[p + 1]);
    s2 += double(a[p + 2]) * double(b[p + 2]);
    s3 += double(a[p + 3]) * double(b[p + 3]);
  }
  for (; p < d; ++p) s0 += double(a[p]) * double(b[p]);
  return (s0 + s1) + (s2 + s3);
}

}  // namespace labelgraph::detail
