// Bindings of the kNN kernels: validate shapes at the boundary, release the GIL, dispatch.
#include <algorithm>
#include <string>

#include "bindings.hpp"
#include "labelgraph/knn.hpp"

namespace labelgraph::bindings {
namespace {

py::dict stats_dict(const KnnStats& s) {
  py::dict d;
  d["tile_rows"] = s.tile_rows;
  d["candidates"] = s.candidates;
  d["rows_refined"] = s.rows_refined;
  d["kernel"] = s.kernel;
  return d;
}

// A 2-D float32 matrix within the kernels' limits: rows indexed with int32, at most
// kMaxKnnColumns columns (the int32 accumulation bound). Checked before any output is allocated.
const float* knn_matrix(const py::array& a, const char* name) {
  const float* data = input_data<float>(a, name);
  if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be 2-D");
  if (a.shape(0) > kMaxKnnRows)
    throw py::value_error(std::string(name) + " has " + std::to_string(a.shape(0)) +
                          " rows; the kNN kernels index rows with int32, at most 2**31-1");
  if (a.shape(1) > kMaxKnnColumns)
    throw py::value_error(std::string(name) + " has " + std::to_string(a.shape(1)) +
                          " columns; the int16 kNN kernels are exact up to 2**29 columns: reduce the dimension "
                          "(e.g. PCA)");
  return data;
}

// int8_filter: None (where it pays), True or False (KnnOptions::int8_filter).
KnnOptions options_from(int64_t k, int64_t tile_rows, int64_t margin, int n_threads, const py::object& int8_filter) {
  KnnOptions o;
  o.k = k;
  o.tile_rows = tile_rows;
  o.margin = margin;
  o.n_threads = n_threads;
  if (!int8_filter.is_none()) {
    if (!py::isinstance<py::bool_>(int8_filter)) throw py::type_error("int8_filter must be None, True or False");
    o.int8_filter = int8_filter.cast<bool>() ? 1 : 0;
  }
  return o;
}

}  // namespace

void register_knn(py::module_& m) {
  m.def(
      "knn_graph",
      [](const py::array& X, int64_t k, int64_t tile_rows, int64_t margin, int n_threads, const py::object& progress,
         const py::object& int8_filter) {
        const float* x = knn_matrix(X, "X");
        const int64_t n = X.shape(0), d = X.shape(1);
        if (k < 1 || k > n - 1) throw py::value_error("k must be in [1, n - 1]");
        py::array_t<int32_t> index({n, k});
        py::array_t<float> sim({n, k});
        int32_t* pi = index.mutable_data();
        float* ps = sim.mutable_data();
        const KnnOptions o = options_from(k, tile_rows, margin, n_threads, int8_filter);
        const RunHooks hooks = python_hooks(progress);
        const KnnStats stats = without_gil([&] { return knn_graph_cpu(x, n, d, o, hooks, pi, ps); });
        return py::make_tuple(index, sim, stats_dict(stats));
      },
      py::arg("X"), py::arg("k"), py::arg("tile_rows") = 0, py::arg("margin") = -1, py::arg("n_threads") = 0,
      py::arg("progress") = py::none(), py::arg("int8_filter") = py::none());

  m.def(
      "knn_search",
      [](const py::array& Q, const py::array& X, int64_t k, int64_t tile_rows, int64_t margin, int n_threads,
         const py::object& progress, const py::object& int8_filter) {
        const float* q = knn_matrix(Q, "queries");
        const float* x = knn_matrix(X, "X");
        if (Q.shape(1) != X.shape(1)) throw py::value_error("queries and X must be 2-D with the same number of columns");
        const int64_t nq = Q.shape(0), n = X.shape(0), d = X.shape(1);
        if (k < 1 || k > n) throw py::value_error("k must be in [1, n]");
        py::array_t<int32_t> index({nq, k});
        py::array_t<float> sim({nq, k});
        int32_t* pi = index.mutable_data();
        float* ps = sim.mutable_data();
        const KnnOptions o = options_from(k, tile_rows, margin, n_threads, int8_filter);
        const RunHooks hooks = python_hooks(progress);
        const KnnStats stats = without_gil([&] { return knn_search_cpu(q, nq, x, n, d, o, hooks, pi, ps); });
        return py::make_tuple(index, sim, stats_dict(stats));
      },
      py::arg("queries"), py::arg("X"), py::arg("k"), py::arg("tile_rows") = 0, py::arg("margin") = -1,
      py::arg("n_threads") = 0, py::arg("progress") = py::none(), py::arg("int8_filter") = py::none());

  m.def(
      "knn_pair",
      [](const py::array& A, const py::array& B, int64_t k, int64_t tile_rows, int64_t margin, int n_threads,
         const py::object& progress, const py::object& int8_filter) {
        const float* a = knn_matrix(A, "A");
        const float* b = knn_matrix(B, "B");
        if (A.shape(1) != B.shape(1)) throw py::value_error("A and B must be 2-D with the same number of columns");
        const int64_t na = A.shape(0), nb = B.shape(0), d = A.shape(1);
        if (k < 1) throw py::value_error("k must be >= 1");
        const int64_t ka = std::min(k, nb), kb = std::min(k, na);
        py::array_t<int32_t> a_index({na, ka}), b_index({nb, kb});
        py::array_t<float> a_sim({na, ka}), b_sim({nb, kb});
        int32_t *pai = a_index.mutable_data(), *pbi = b_index.mutable_data();
        float *pas = a_sim.mutable_data(), *pbs = b_sim.mutable_data();
        const KnnOptions o = options_from(k, tile_rows, margin, n_threads, int8_filter);
        const RunHooks hooks = python_hooks(progress);
        const KnnStats stats =
            without_gil([&] { return knn_pair_cpu(a, na, b, nb, d, o, hooks, pai, pas, pbi, pbs); });
        return py::make_tuple(a_index, a_sim, b_index, b_sim, stats_dict(stats));
      },
      py::arg("A"), py::arg("B"), py::arg("k"), py::arg("tile_rows") = 0, py::arg("margin") = -1,
      py::arg("n_threads") = 0, py::arg("progress") = py::none(), py::arg("int8_filter") = py::none(),
      "Top-k of A's rows among B's and of B's rows among A's, from one pass over the tiles of A x B.");

  m.def(
      "knn_reference",
      [](const py::array& Q, const py::array& X, int64_t k, bool exclude_self) {
        const float* q = knn_matrix(Q, "queries");
        const float* x = knn_matrix(X, "X");
        if (Q.shape(1) != X.shape(1)) throw py::value_error("queries and X must be 2-D with the same number of columns");
        const int64_t nq = Q.shape(0), n = X.shape(0), d = X.shape(1);
        if (k < 1 || k > n - (exclude_self ? 1 : 0)) throw py::value_error("k out of range");
        py::array_t<int32_t> index({nq, k});
        py::array_t<float> sim({nq, k});
        int32_t* pi = index.mutable_data();
        float* ps = sim.mutable_data();
        without_gil([&] { knn_reference_cpu(q, nq, x, n, d, k, exclude_self, pi, ps); });
        return py::make_tuple(index, sim);
      },
      py::arg("queries"), py::arg("X"), py::arg("k"), py::arg("exclude_self"),
      "Scalar C++ reference (double similarities, full sort); O(nq * n * d), for tests.");
}

}  // namespace labelgraph::bindings
