// Bindings of the kNN kernels: validate shapes at the boundary, release the GIL, dispatch.
#include <algorithm>

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

KnnOptions options_from(int64_t k, int64_t tile_rows, int64_t margin, int n_threads) {
  KnnOptions o;
  o.k = k;
  o.tile_rows = tile_rows;
  o.margin = margin;
  o.n_threads = n_threads;
  return o;
}

}  // namespace

void register_knn(py::module_& m) {
  m.def(
      "knn_graph",
      [](const py::array& X, int64_t k, int64_t tile_rows, int64_t margin, int n_threads, const py::object& progress) {
        const float* x = input_data<float>(X, "X");
        if (X.ndim() != 2) throw py::value_error("X must be 2-D");
        const int64_t n = X.shape(0), d = X.shape(1);
        if (k < 1 || k > n - 1) throw py::value_error("k must be in [1, n - 1]");
        py::array_t<int32_t> index({n, k});
        py::array_t<float> sim({n, k});
        int32_t* pi = index.mutable_data();
        float* ps = sim.mutable_data();
        const KnnOptions o = options_from(k, tile_rows, margin, n_threads);
        const RunHooks hooks = python_hooks(progress);
        const KnnStats stats = without_gil([&] { return knn_graph_cpu(x, n, d, o, hooks, pi, ps); });
        return py::make_tuple(index, sim, stats_dict(stats));
      },
      py::arg("X"), py::arg("k"), py::arg("tile_rows") = 0, py::arg("margin") = -1, py::arg("n_threads") = 0,
      py::arg("progress") = py::none());

  m.def(
      "knn_search",
      [](const py::array& Q, const py::array& X, int64_t k, int64_t tile_rows, int64_t margin, int n_threads,
         const py::object& progress) {
        const float* q = input_data<float>(Q, "queries");
        const float* x = input_data<float>(X, "X");
        if (Q.ndim() != 2 || X.ndim() != 2 || Q.shape(1) != X.shape(1))
          throw py::value_error("queries and X must be 2-D with the same number of columns");
        const int64_t nq = Q.shape(0), n = X.shape(0), d = X.shape(1);
        if (k < 1 || k > n) throw py::value_error("k must be in [1, n]");
        py::array_t<int32_t> index({nq, k});
        py::array_t<float> sim({nq, k});
        int32_t* pi = index.mutable_data();
        float* ps = sim.mutable_data();
        const KnnOptions o = options_from(k, tile_rows, margin, n_threads);
        const RunHooks hooks = python_hooks(progress);
        const KnnStats stats = without_gil([&] { return knn_search_cpu(q, nq, x, n, d, o, hooks, pi, ps); });
        return py::make_tuple(index, sim, stats_dict(stats));
      },
      py::arg("queries"), py::arg("X"), py::arg("k"), py::arg("tile_rows") = 0, py::arg("margin") = -1,
      py::arg("n_threads") = 0, py::arg("progress") = py::none());

  m.def(
      "knn_pair",
      [](const py::array& A, const py::array& B, int64_t k, int64_t tile_rows, int64_t margin, int n_threads,
         const py::object& progress) {
        const float* a = input_data<float>(A, "A");
        const float* b = input_data<float>(B, "B");
        if (A.ndim() != 2 || B.ndim() != 2 || A.shape(1) != B.shape(1))
          throw py::value_error("A and B must be 2-D with the same number of columns");
        const int64_t na = A.shape(0), nb = B.shape(0), d = A.shape(1);
        if (k < 1) throw py::value_error("k must be >= 1");
        const int64_t ka = std::min(k, nb), kb = std::min(k, na);
        py::array_t<int32_t> a_index({na, ka}), b_index({nb, kb});
        py::array_t<float> a_sim({na, ka}), b_sim({nb, kb});
        int32_t *pai = a_index.mutable_data(), *pbi = b_index.mutable_data();
        float *pas = a_sim.mutable_data(), *pbs = b_sim.mutable_data();
        const KnnOptions o = options_from(k, tile_rows, margin, n_threads);
        const RunHooks hooks = python_hooks(progress);
        const KnnStats stats =
            without_gil([&] { return knn_pair_cpu(a, na, b, nb, d, o, hooks, pai, pas, pbi, pbs); });
        return py::make_tuple(a_index, a_sim, b_index, b_sim, stats_dict(stats));
      },
      py::arg("A"), py::arg("B"), py::arg("k"), py::arg("tile_rows") = 0, py::arg("margin") = -1,
      py::arg("n_threads") = 0, py::arg("progress") = py::none(),
      "Top-k of A's rows among B's and of B's rows among A's, from one pass over the tiles of A x B.");

  m.def(
      "knn_reference",
      [](const py::array& Q, const py::array& X, int64_t k, bool exclude_self) {
        const float* q = input_data<float>(Q, "queries");
        const float* x = input_data<float>(X, "X");
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
