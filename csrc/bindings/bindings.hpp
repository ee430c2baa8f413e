// Helpers shared by the register_<area>.cpp files: run hooks that call back into Python, and
// the one place where a cancelled kernel turns back into the pending Python exception.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <utility>

#include "labelgraph/common.hpp"

namespace labelgraph::bindings {

namespace py = pybind11;

void register_build_info(py::module_& m);
void register_knn(py::module_& m);
void register_propagate(py::module_& m);
void register_cuda(py::module_& m);  // register_cuda.cpp, in CUDA builds only

// Hooks for a kernel running with the GIL released: Ctrl-C is noticed through
// PyErr_CheckSignals, and `progress` (None or a callable taking a float) is called.
inline RunHooks python_hooks(const py::object& progress) {
  RunHooks hooks;
  hooks.should_stop = [] {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  };
  if (!progress.is_none()) {
    hooks.progress = [progress](double fraction) {
      py::gil_scoped_acquire gil;
      progress(fraction);
    };
  }
  return hooks;
}

// Runs `kernel` without the GIL. A Cancelled kernel re-raises the Python exception that
// PyErr_CheckSignals left pending (KeyboardInterrupt for Ctrl-C).
template <class Fn>
auto without_gil(Fn&& kernel) {
  bool cancelled = false;
  using Result = decltype(kernel());
  if constexpr (std::is_void_v<Result>) {
    {
      py::gil_scoped_release release;
      try {
        kernel();
      } catch (const Cancelled&) {
        cancelled = true;
      }
    }
    if (cancelled) throw py::error_already_set();
  } else {
    Result result{};
    {
      py::gil_scoped_release release;
      try {
        result = kernel();
      } catch (const Cancelled&) {
        cancelled = true;
      }
    }
    if (cancelled) throw py::error_already_set();
    return result;
  }
}

// Pointer to a C-contiguous array of dtype T; the Python layer has validated already, this
// only guards the C++ boundary.
template <class T>
const T* input_data(const py::array& a, const char* name) {
  if (!py::isinstance<py::array_t<T>>(a) || !(a.flags() & py::array::c_style))
    throw py::type_error(std::string(name) + " has the wrong dtype or is not C-contiguous");
  return static_cast<const T*>(a.data());
}

}  // namespace labelgraph::bindings
