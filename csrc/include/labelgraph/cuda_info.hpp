// What the CUDA runtime sees (only compiled when labelgraph is built with CUDA).
#pragma once

#include <string>

namespace labelgraph::cuda {

// Number of usable CUDA devices; 0 with `error` set when the runtime or driver is missing.
int device_count(std::string* error);

// Name and compute capability of device `index`, e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
std::string device_description(int index);

}  // namespace labelgraph::cuda
