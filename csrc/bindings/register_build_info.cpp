// build_info(): version, SIMD level, OpenMP threads, CUDA; and the SIMD override for tests.
#include <omp.h>

#include <string>

#include "bindings.hpp"
#include "labelgraph/cpu_features.hpp"
#include "labelgraph/knn.hpp"
#include "labelgraph/propagate.hpp"
#if defined(LABELGRAPH_WITH_CUDA)
#include "labelgraph/cuda_info.hpp"
#endif

namespace labelgraph::bindings {

void register_build_info(py::module_& m) {
  m.def("build_info", [] {
    py::dict info;
    info["version"] = LABELGRAPH_VERSION;
    info["simd"] = simd_level_name(active_simd_level());
    info["simd_detected"] = simd_level_name(detected_simd_level());
    info["knn_kernel"] = knn_kernel_name();
    info["spmm_kernel"] = spmm_kernel_name();
    info["openmp_threads"] = omp_get_max_threads();
    info["compiler"] = std::string(__VERSION__);
#if defined(LABELGRAPH_WITH_CUDA)
    std::string error;
    const int count = cuda::device_count(&error);
    py::list names;
    for (int i = 0; i < count; ++i) names.append(cuda::device_description(i));
    info["cuda_compiled"] = true;
    info["gpu_available"] = count > 0;
    info["gpus"] = names;
    info["cuda_error"] = error.empty() ? py::object(py::none()) : py::object(py::str(error));
#else
    info["cuda_compiled"] = false;
    info["gpu_available"] = false;
    info["gpus"] = py::list();
    info["cuda_error"] = py::str("labelgraph was built without CUDA");
#endif
    return info;
  });
  m.def(
      "set_simd_level", [](const std::string& level) { set_simd_level(parse_simd_level(level)); }, py::arg("level"),
      "Cap the SIMD level the kernels use (scalar, avx2, avx512, avx512_vnni); for tests and comparisons.");
  m.def("simd_levels_available", [] {
    py::list out;
    for (int l = 0; l <= int(detected_simd_level()); ++l) out.append(simd_level_name(SimdLevel(l)));
    return out;
  });
}

}  // namespace labelgraph::bindings
