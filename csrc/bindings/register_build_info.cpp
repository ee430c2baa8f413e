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

namespace {

// A level name (any case) this CPU supports; ValueError otherwise.
SimdLevel supported_level(const std::string& name) {
  const SimdLevel level = parse_simd_level(name);
  if (level > detected_simd_level())
    throw py::value_error(std::string("simd level '") + simd_level_name(level) + "' is not supported by this CPU (it has '" +
                          simd_level_name(detected_simd_level()) + "')");
  return level;
}

}  // namespace

void register_build_info(py::module_& m) {
  m.def("build_info", [] {
    py::dict info;
    info["version"] = LABELGRAPH_VERSION;
    auto text_or_none = [](const std::string& s) { return s.empty() ? py::object(py::none()) : py::object(py::str(s)); };
    // An unknown LABELGRAPH_SIMD leaves no level in use: every kernel call raises simd_error.
    const std::string simd_error = simd_env_error();
    info["simd_env"] = text_or_none(simd_env_value());
    info["simd_error"] = text_or_none(simd_error);
    info["simd"] = simd_error.empty() ? py::object(py::str(simd_level_name(active_simd_level()))) : py::object(py::none());
    info["simd_detected"] = simd_level_name(detected_simd_level());
    info["knn_kernel"] = simd_error.empty() ? py::object(py::str(knn_kernel_name())) : py::object(py::none());
    // The int8 filter kernel the kNN adds where it pays (knn.hpp: kInt8FilterMinRows), or None.
    info["knn_int8_filter"] = simd_error.empty() ? text_or_none(knn_int8_filter_name()) : py::object(py::none());
    info["spmm_kernel"] = simd_error.empty() ? py::object(py::str(spmm_kernel_name())) : py::object(py::none());
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
      "Cap the SIMD level the kernels use (scalar, avx2, avx512, avx512_vnni; any case); for tests and comparisons.");
  m.def(
      "knn_kernel_for_level",
      [](const std::string& level) { return knn_kernel_name_for(supported_level(level)); }, py::arg("level"),
      "The kNN microkernel a SIMD level selects on this CPU (a lower level's if its kernel failed the self-test).");
  m.def(
      "spmm_kernel_for_level",
      [](const std::string& level) { return spmm_kernel_name_for(supported_level(level)); }, py::arg("level"),
      "The propagation SpMM kernel a SIMD level selects on this CPU.");
  m.def("simd_levels_available", [] {
    py::list out;
    for (int l = 0; l <= int(detected_simd_level()); ++l) out.append(simd_level_name(SimdLevel(l)));
    return out;
  });
}

}  // namespace labelgraph::bindings
