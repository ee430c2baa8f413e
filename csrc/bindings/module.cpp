// The `labelgraph._core` extension module: one register call per area.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "labelgraph compiled kernels (use the labelgraph package, not this module)";
  labelgraph::bindings::register_build_info(m);
  labelgraph::bindings::register_knn(m);
  labelgraph::bindings::register_propagate(m);
#if defined(LABELGRAPH_WITH_CUDA)
  labelgraph::bindings::register_cuda(m);
#endif
}
