// Binds the CUDA kernels as the private submodule `_core._cuda` (used by labelgraph.gpu) (compiled only in a CUDA build): device pointers are Python ints, streams are ints (cudaStream_t), shapes
// are ints; the Python layer (labelgraph/gpu/) validates. Every call releases the GIL. CUDA
// failures raise RuntimeError naming the call; out of device memory raises MemoryError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>

#include "bindings.hpp"
#include "labelgraph/cuda_kernels.hpp"

namespace labelgraph::bindings {

namespace cu = labelgraph::cuda;

namespace {

template <class T>
T* ptr(uintptr_t address) {
  return reinterpret_cast<T*>(address);
}

void* stream_of(uintptr_t stream) { return reinterpret_cast<void*>(stream); }

// An owned device allocation; Python wraps it in an object exposing __cuda_array_interface__.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t nbytes) : nbytes_(nbytes), ptr_(cu::device_alloc(nbytes)) {}
  ~DeviceBuffer() { cu::device_free(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  uintptr_t ptr() const { return reinterpret_cast<uintptr_t>(ptr_); }
  size_t nbytes() const { return nbytes_; }

 private:
  size_t nbytes_;
  void* ptr_;
};

void check_host(const py::array& a, size_t nbytes, const char* name) {
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + " must be C-contiguous");
  if (size_t(a.nbytes()) != nbytes) throw py::value_error(std::string(name) + " has the wrong number of bytes");
}

}  // namespace

void register_cuda(py::module_& parent) {
  py::module_ m = parent.def_submodule("_cuda", "CUDA kernels (use labelgraph.knn_graph / propagate with device='cuda')");
  static py::exception<cu::CudaError> cuda_error(m, "CudaError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const cu::DeviceOutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const cu::CudaError& e) {
      py::set_error(cuda_error, e.what());
    }
  });
  using py::arg;
  const auto nogil = py::call_guard<py::gil_scoped_release>();

  py::class_<DeviceBuffer>(m, "DeviceBuffer", "An owned cudaMalloc allocation of `nbytes` bytes on the current device.")
      .def(py::init<size_t>(), arg("nbytes"), nogil)
      .def_property_readonly("ptr", &DeviceBuffer::ptr)
      .def_property_readonly("nbytes", &DeviceBuffer::nbytes);

  m.def("copy_to_device", [](uintptr_t dst, const py::array& src, size_t nbytes, uintptr_t stream) {
    check_host(src, nbytes, "src");
    const void* data = src.data();
    py::gil_scoped_release release;
    cu::copy_to_device(ptr<void>(dst), data, nbytes, stream_of(stream));
  }, arg("dst"), arg("src"), arg("nbytes"), arg("stream"));
  m.def("copy_to_host", [](py::array& dst, uintptr_t src, size_t nbytes, uintptr_t stream) {
    check_host(dst, nbytes, "dst");
    if (!dst.writeable()) throw py::value_error("dst must be writeable");
    void* data = dst.mutable_data();
    py::gil_scoped_release release;
    cu::copy_to_host(data, ptr<const void>(src), nbytes, stream_of(stream));
  }, arg("dst"), arg("src"), arg("nbytes"), arg("stream"));
  m.def("copy_on_device", [](uintptr_t dst, uintptr_t src, size_t nbytes, uintptr_t stream) {
    cu::copy_on_device(ptr<void>(dst), ptr<const void>(src), nbytes, stream_of(stream));
  }, arg("dst"), arg("src"), arg("nbytes"), arg("stream"), nogil);
  m.def("synchronize", [](uintptr_t stream) { cu::synchronize(stream_of(stream)); }, arg("stream"), nogil);
  m.def("mem_get_info", [] {
    size_t free_bytes = 0, total = 0;
    cu::mem_get_info(&free_bytes, &total);
    return py::make_tuple(free_bytes, total);
  }, "(free, total) bytes of the current device");
  m.def("current_device", &cu::current_device);
  m.def("set_device", &cu::set_device, arg("device"), "Make `device` current for labelgraph's kernels.");

  m.def("knn_prepare", [](uintptr_t X, int64_t n, int64_t d, uintptr_t inv, uintptr_t unit, uintptr_t unit_bf16,
                          uintptr_t errors, uintptr_t stream) {
    cu::knn_prepare(ptr<const float>(X), n, d, ptr<double>(inv), ptr<float>(unit), ptr<uint16_t>(unit_bf16),
                    ptr<double>(errors), stream_of(stream));
  }, arg("X"), arg("n"), arg("d"), arg("inv_norm"), arg("unit"), arg("unit_bf16"), arg("errors"), arg("stream"), nogil);
  m.def("gather_rows", [](uintptr_t src, uintptr_t rows, int64_t count, int64_t row_bytes, uintptr_t dst,
                          uintptr_t stream) {
    cu::gather_rows(ptr<const void>(src), ptr<const int64_t>(rows), count, row_bytes, ptr<void>(dst),
                    stream_of(stream));
  }, arg("src"), arg("rows"), arg("count"), arg("row_bytes"), arg("dst"), arg("stream"), nogil);

  py::class_<cu::GemmHandle>(m, "GemmHandle", "Similarity tiles on the current device: cuBLAS when loadable, else WMMA kernels.")
      .def(py::init<const std::string&>(), arg("cublas_path") = "", nogil)
      .def_property_readonly("name", &cu::GemmHandle::name)
      .def("tile_scores", [](cu::GemmHandle& h, uintptr_t A, int64_t m_rows, uintptr_t B, int64_t n_rows, int64_t d,
                             bool bf16, uintptr_t scores, int64_t ldc, uintptr_t stream) {
        h.tile_scores(ptr<const void>(A), m_rows, ptr<const void>(B), n_rows, d, bf16, ptr<float>(scores), ldc,
                      stream_of(stream));
      }, arg("A"), arg("m"), arg("B"), arg("n"), arg("d"), arg("bf16"), arg("scores"), arg("ldc"), arg("stream"), nogil);

  m.def("init_lists", [](uintptr_t scores, uintptr_t indices, int64_t count, uintptr_t stream) {
    cu::init_lists(ptr<float>(scores), ptr<int32_t>(indices), count, stream_of(stream));
  }, arg("scores"), arg("indices"), arg("count"), arg("stream"), nogil);
  m.def("merge_tile_rows", [](uintptr_t tile, int64_t rows, int64_t cols, int64_t ld, int64_t col0, uintptr_t self_ids,
                              int64_t self_base, uintptr_t scores, uintptr_t indices, int64_t list_row0, int64_t K,
                              uintptr_t stream) {
    cu::merge_tile_rows(ptr<const float>(tile), rows, cols, ld, col0, ptr<const int64_t>(self_ids), self_base,
                        ptr<float>(scores), ptr<int32_t>(indices), list_row0, K, stream_of(stream));
  }, arg("tile"), arg("rows"), arg("cols"), arg("ld"), arg("col0"), arg("self_ids"), arg("self_base"), arg("scores"),
     arg("indices"), arg("list_row0"), arg("K"), arg("stream"), nogil);
  m.def("merge_tile_cols", [](uintptr_t tile, int64_t rows, int64_t cols, int64_t ld, int64_t row0, uintptr_t scores,
                              uintptr_t indices, int64_t list_row0, int64_t K, uintptr_t partial_scores,
                              uintptr_t partial_indices, int64_t segments, uintptr_t stream) {
    cu::merge_tile_cols(ptr<const float>(tile), rows, cols, ld, row0, ptr<float>(scores), ptr<int32_t>(indices),
                        list_row0, K, ptr<float>(partial_scores), ptr<int32_t>(partial_indices), segments,
                        stream_of(stream));
  }, arg("tile"), arg("rows"), arg("cols"), arg("ld"), arg("row0"), arg("scores"), arg("indices"), arg("list_row0"),
     arg("K"), arg("partial_scores"), arg("partial_indices"), arg("segments"), arg("stream"), nogil);
  m.def("multiprocessor_count", &cu::multiprocessor_count);
  m.def("knn_rescore", [](uintptr_t X, uintptr_t inv, int64_t d, uintptr_t rows, int64_t count, uintptr_t cand,
                          int64_t K, uintptr_t out, uintptr_t stream) {
    cu::knn_rescore(ptr<const float>(X), ptr<const double>(inv), d, ptr<const int64_t>(rows), count,
                    ptr<const int32_t>(cand), K, ptr<float>(out), stream_of(stream));
  }, arg("X"), arg("inv_norm"), arg("d"), arg("rows"), arg("count"), arg("cand"), arg("K"), arg("out"), arg("stream"),
     nogil);

  m.def("knn_exact_topk", [](uintptr_t exact, uintptr_t cand, uintptr_t kept_scores, int64_t count, int64_t K,
                             int64_t k, uintptr_t out_index, uintptr_t out_sim, uintptr_t smallest_kept,
                             uintptr_t stream) {
    cu::knn_exact_topk(ptr<const float>(exact), ptr<const int32_t>(cand), ptr<const float>(kept_scores), count, K, k,
                       ptr<int32_t>(out_index), ptr<float>(out_sim), ptr<float>(smallest_kept), stream_of(stream));
  }, arg("exact"), arg("cand"), arg("kept_scores"), arg("count"), arg("K"), arg("k"), arg("out_index"),
     arg("out_sim"), arg("smallest_kept"), arg("stream"), nogil);

  m.def("propagate_work_floats", &cu::propagate_work_floats, arg("n"), arg("n_classes"));
  m.def("propagate_csr", [](uintptr_t indptr, uintptr_t indices, uintptr_t values, int64_t n, uintptr_t labels,
                            int64_t c, uintptr_t init, int64_t n_iter, double alpha, uintptr_t work, uintptr_t soft,
                            uintptr_t hard, uintptr_t unreached, uintptr_t stream) {
    return cu::propagate_csr(ptr<const int64_t>(indptr), ptr<const int32_t>(indices), ptr<const float>(values), n,
                             ptr<const int32_t>(labels), c, ptr<const float>(init), n_iter, alpha, ptr<float>(work),
                             ptr<float>(soft), ptr<int64_t>(hard), ptr<uint8_t>(unreached), stream_of(stream));
  }, arg("indptr"), arg("indices"), arg("values"), arg("n"), arg("labels"), arg("n_classes"), arg("init"),
     arg("n_iter"), arg("alpha"), arg("work"), arg("soft"), arg("hard"), arg("unreached"), arg("stream"), nogil,
     "All n_iter iterations; returns False if a score is not finite.");
}

}  // namespace labelgraph::bindings
