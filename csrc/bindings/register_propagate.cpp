// Bindings of label propagation: validate array shapes, release the GIL, dispatch to csrc/cpu/.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.hpp"
#include "labelgraph/graph_order.hpp"
#include "labelgraph/prepare.hpp"
#include "labelgraph/prepared_operator.hpp"
#include "labelgraph/propagate.hpp"

namespace labelgraph::bindings {
namespace {

// Rows of a CSR (not necessarily square). The Python layer validated the graph; this only checks
// the array lengths agree, so a bypassed check cannot read out of bounds.
CsrView csr_view(const py::array& indptr, const py::array& indices) {
  CsrView g;
  g.indptr = input_data<int64_t>(indptr, "indptr");
  g.indices = input_data<int32_t>(indices, "indices");
  if (indptr.ndim() != 1 || indptr.shape(0) < 1) throw py::value_error("indptr must be 1-D with n + 1 entries");
  g.n = indptr.shape(0) - 1;
  if (g.indptr[0] != 0 || g.indptr[g.n] != indices.size()) throw py::value_error("indptr must run from 0 to nnz");
  for (int64_t i = 0; i < g.n; ++i)
    if (g.indptr[i + 1] < g.indptr[i]) throw py::value_error("indptr must be non-decreasing");
  return g;
}

const int64_t* optional_order(const py::object& order, int64_t n) {
  if (order.is_none()) return nullptr;
  const py::array a = order.cast<py::array>();
  const int64_t* po = input_data<int64_t>(a, "order");
  if (a.ndim() != 1 || a.shape(0) != n) throw py::value_error("order must have n entries");
  return po;
}

Normalization parse_normalization(const std::string& name) {
  if (name == "symmetric") return Normalization::symmetric;
  if (name == "row") return Normalization::row;
  throw py::value_error("normalization must be 'symmetric' or 'row'; got '" + name + "'");
}

// The data of a writeable C-contiguous array the result is written into, checked (`name` as the
// messages say it).
void* output_data(const py::handle& a, const std::string& name, const py::dtype& dtype,
                  const std::vector<int64_t>& shape) {
  const std::string wanted = name + " must be an array of dtype " + std::string(py::str(dtype));
  if (!py::isinstance<py::array>(a)) throw py::type_error(wanted);
  auto array = py::reinterpret_borrow<py::array>(a);
  if (!array.dtype().is(dtype)) throw py::type_error(wanted);
  const bool shaped = array.ndim() == int64_t(shape.size()) && std::equal(shape.begin(), shape.end(), array.shape());
  if (!shaped || !(array.flags() & py::array::c_style) || !array.writeable())
    throw py::value_error(name + " must be a writeable C-contiguous array of shape (n" +
                          (shape.size() == 2 ? ", n_classes)" : ")"));
  return array.mutable_data();
}

// The caller's result arrays (soft [n, n_classes] float32, hard [n] int64, unreached [n] bool, and
// with `reach` the reach column [n] float32).
PropagateOutput result_arrays(const py::object& out, int64_t n, int64_t n_classes, bool reach) {
  if (out.is_none()) return {};
  if (!py::isinstance<py::tuple>(out) || py::len(out) != (reach ? 4 : 3))
    throw py::value_error(reach ? "out must be a tuple (soft, hard, unreached, reach): the last propagate() ran the "
                                  "reach column"
                                : "out must be a tuple (soft, hard, unreached)");
  const auto arrays = py::reinterpret_borrow<py::tuple>(out);
  PropagateOutput r;
  r.soft = static_cast<float*>(output_data(arrays[0], "out: soft", py::dtype::of<float>(), {n, n_classes}));
  r.hard = static_cast<int64_t*>(output_data(arrays[1], "out: hard", py::dtype::of<int64_t>(), {n}));
  r.unreached = static_cast<uint8_t*>(output_data(arrays[2], "out: unreached", py::dtype::of<bool>(), {n}));
  if (reach) r.reach = static_cast<float*>(output_data(arrays[3], "out: reach", py::dtype::of<float>(), {n}));
  return r;
}

// A float32 C-contiguous [rows, cols] array's data, or nullptr for None.
const float* optional_rows(const py::object& a, const char* name, int64_t rows, int64_t cols) {
  if (a.is_none()) return nullptr;
  const py::array array = a.cast<py::array>();
  const float* p = input_data<float>(array, name);
  if (array.ndim() != 2 || array.shape(0) != rows || array.shape(1) != cols)
    throw py::value_error(std::string(name) + " must have shape (" + std::to_string(rows) + ", " +
                          std::to_string(cols) + ")");
  return p;
}

// PreparedOperator (csrc/cpu/prepared_operator.cpp) with the arrays it reads kept alive.
class PyPreparedOperator {
 public:
  PyPreparedOperator(py::array indptr, py::array indices, py::array values, const py::object& order, bool symmetric)
      : indptr_(std::move(indptr)), indices_(std::move(indices)), values_(std::move(values)) {
    const CsrView g = csr_view(indptr_, indices_);
    const float* pv = input_data<float>(values_, "values");
    if (values_.size() != indices_.size()) throw py::value_error("values must have one entry per nonzero");
    const int64_t* po = optional_order(order, g.n);
    if (po) order_ = order.cast<py::array>();
    op_ = std::make_unique<PreparedOperator>(g, pv, po, symmetric);
  }

  // Arrays prepare_propagation wrote and checked: nothing is read again before the first call.
  struct Checked {};
  PyPreparedOperator(Checked, py::array indptr, py::array indices, py::array values, const py::object& order,
                     bool symmetric)
      : indptr_(std::move(indptr)), indices_(std::move(indices)), values_(std::move(values)) {
    const CsrView g{indptr_.shape(0) - 1, static_cast<const int64_t*>(indptr_.data()),
                    static_cast<const int32_t*>(indices_.data())};
    const int64_t* po = nullptr;
    if (!order.is_none()) {
      order_ = order.cast<py::array>();
      po = static_cast<const int64_t*>(order_.data());
    }
    op_ = std::make_unique<PreparedOperator>(g, static_cast<const float*>(values_.data()), po, symmetric, true);
  }

  py::tuple propagate(const py::array& labels, int64_t n_classes, const py::object& init, int64_t n_iter,
                      double alpha, double tol, int n_threads, const py::object& progress, bool accelerate,
                      const py::object& seeds, const py::object& reach) {
    const int64_t n = op_->n();
    const int32_t* pl = input_data<int32_t>(labels, "labels");
    if (labels.ndim() != 1 || labels.shape(0) != n) throw py::value_error("labels must have n entries");
    if (n_classes < 1) throw py::value_error("n_classes must be >= 1");
    const float* pi = nullptr;
    if (!init.is_none()) {
      const py::array a = init.cast<py::array>();
      pi = input_data<float>(a, "init");
      if (a.ndim() != 2 || a.shape(0) != n || a.shape(1) != n_classes)
        throw py::value_error("init must have shape (n, n_classes)");
    }
    const float* psd = optional_rows(seeds, "seeds", n, n_classes);
    PropagateOptions o;
    o.n_iter = n_iter;
    o.alpha = alpha;
    o.tol = tol;
    o.n_threads = n_threads;
    o.chebyshev = accelerate;  // applied by the operator only when it is symmetric
    py::array_t<float> soft({n, n_classes});
    py::array_t<int64_t> hard(n);
    py::array_t<bool> unreached(n);
    PropagateOutput out{soft.mutable_data(), hard.mutable_data(), reinterpret_cast<uint8_t*>(unreached.mutable_data())};
    if (!reach.is_none()) {
      out.reach = static_cast<float*>(output_data(reach, "reach", py::dtype::of<float>(), {n}));
      o.reach = true;
    }
    const RunHooks hooks = python_hooks(progress);
    const PropagateStats s = without_gil([&] { return op_->propagate(pl, n_classes, pi, psd, o, hooks, out); });
    return py::make_tuple(soft, hard, unreached, s.n_iter, s.converged, s.finite, std::string(s.kernel));
  }

  // Returns (rows, soft_rows, sweeps); with `out` the rows are written there and soft_rows is None.
  py::tuple update(const py::array& rows, const py::array& classes, int64_t n_classes, double alpha, double tol,
                   int64_t max_iter, int64_t dense_rows, int n_threads, const py::object& out) {
    LabelUpdate batch;
    batch.rows = input_data<int64_t>(rows, "rows");
    batch.classes = input_data<int32_t>(classes, "classes");
    if (rows.ndim() != 1 || classes.ndim() != 1 || rows.shape(0) != classes.shape(0))
      throw py::value_error("rows and classes must be 1-D of the same length");
    batch.count = rows.shape(0);
    batch.dense_rows = dense_rows;
    return run_update(batch, n_classes, alpha, tol, max_iter, n_threads, out);
  }

  // Seeded rows changed: row rows[q] clamped to seed_values[q] (clamped[q] true) or released.
  py::tuple update_seeds(const py::array& rows, const py::array& seed_values, const py::array& clamped,
                         int64_t n_classes, double alpha, double tol, int64_t max_iter, int n_threads,
                         const py::object& out) {
    LabelUpdate batch;
    batch.rows = input_data<int64_t>(rows, "rows");
    const bool* pc = input_data<bool>(clamped, "clamped");
    if (rows.ndim() != 1 || clamped.ndim() != 1 || rows.shape(0) != clamped.shape(0))
      throw py::value_error("rows and clamped must be 1-D of the same length");
    batch.count = rows.shape(0);
    batch.seed_values = optional_rows(seed_values, "seed_values", batch.count, n_classes);
    std::vector<int32_t> classes(static_cast<size_t>(batch.count));
    for (int64_t q = 0; q < batch.count; ++q) classes[q] = pc[q] ? 0 : -1;
    batch.classes = classes.data();
    return run_update(batch, n_classes, alpha, tol, max_iter, n_threads, out);
  }

  bool has_state() const { return op_->has_state(); }

  py::array_t<int32_t> labels() const {
    py::array_t<int32_t> out(op_->n());
    op_->labels(out.mutable_data());
    return out;
  }

 private:
  // Runs one checked batch with the settings of the call it continues, without the GIL: (changed
  // rows, their [m, c] scores or None when the scores were written into `out`, sweeps).
  py::tuple run_update(LabelUpdate& batch, int64_t n_classes, double alpha, double tol, int64_t max_iter,
                       int n_threads, const py::object& out) {
    batch.n_classes = n_classes;
    batch.alpha = alpha;
    batch.tol = tol;
    batch.max_iter = max_iter;
    batch.n_threads = n_threads;
    const bool reach = op_->has_reach();
    if (reach && out.is_none())
      throw py::value_error("out=(soft, hard, unreached, reach) is required: the last propagate() ran the reach column");
    const PropagateOutput result = result_arrays(out, op_->n(), n_classes, reach);
    UpdateResult r = without_gil([&] { return op_->update(batch, result); });
    const int64_t m = int64_t(r.rows.size());
    py::array_t<int64_t> changed(m);
    std::copy(r.rows.begin(), r.rows.end(), changed.mutable_data());
    if (result.soft) return py::make_tuple(changed, py::none(), r.sweeps);
    py::array_t<float> soft({m, n_classes});
    float* ps = soft.mutable_data();
    without_gil([&] { op_->read_rows(r.rows.data(), m, ps); });
    return py::make_tuple(changed, soft, r.sweeps);
  }

  py::array indptr_, indices_, values_, order_;
  std::unique_ptr<PreparedOperator> op_;
};

double seconds_since(std::chrono::steady_clock::time_point& start) {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - start).count();
  start = now;
  return seconds;
}

// check_csr_cpu for scipy's index dtypes (int32 or int64) and float32 / float64 values.
template <class Indptr, class Index>
CsrCheck check_csr_values(int64_t n, const Indptr* pp, const Index* pi, const py::array& data, int n_threads) {
  if (py::isinstance<py::array_t<float>>(data))
    return check_csr_cpu(n, pp, pi, input_data<float>(data, "data"), n_threads);
  return check_csr_cpu(n, pp, pi, input_data<double>(data, "data"), n_threads);
}

template <class Indptr>
CsrCheck check_csr_indices(int64_t n, const Indptr* pp, const py::array& indices, const py::array& data,
                           int n_threads) {
  if (py::isinstance<py::array_t<int32_t>>(indices))
    return check_csr_values(n, pp, input_data<int32_t>(indices, "indices"), data, n_threads);
  return check_csr_values(n, pp, input_data<int64_t>(indices, "indices"), data, n_threads);
}

// Python's csr_graph checked the dtypes, shapes, indptr[0] == 0 and indptr[-1] == nnz; these
// guard the C++ boundary so that a bypassed check cannot read out of bounds.
py::object check_csr(const py::array& indptr, const py::array& indices, const py::array& data, int n_threads) {
  if (indptr.ndim() != 1 || indptr.shape(0) < 1 || indices.ndim() != 1 || data.ndim() != 1 ||
      indices.shape(0) != data.shape(0))
    throw py::value_error("indptr must be 1-D with n + 1 entries, indices and data 1-D with nnz entries");
  const int64_t n = indptr.shape(0) - 1;
  CsrCheck found;
  auto run = [&](const auto* pp) {
    if (int64_t(pp[0]) != 0 || int64_t(pp[n]) != indices.shape(0)) throw py::value_error("indptr must run from 0 to nnz");
    found = without_gil([&] { return check_csr_indices(n, pp, indices, data, n_threads); });
  };
  if (py::isinstance<py::array_t<int32_t>>(indptr))
    run(input_data<int32_t>(indptr, "indptr"));
  else
    run(input_data<int64_t>(indptr, "indptr"));
  static const char* const kNames[] = {"", "indptr_decreases", "index_out_of_range", "unsorted", "duplicate",
                                       "not_finite"};
  if (found.kind == CsrProblem::none) return py::none();
  return py::make_tuple(std::string(kNames[int(found.kind)]), found.position);
}

// The operator of a checked CSR (indptr int64, indices int32, values float32 or float64): see the
// docstring at the registration below.
py::tuple prepare_propagation(py::array indptr, py::array indices, const py::array& data, double temperature,
                              const std::string& normalization, bool check_symmetry, const std::string& reorder,
                              const py::object& given_order, int64_t sweeps, int64_t n_classes, int n_threads,
                              bool symmetric_by_construction) {
  const CsrView g = csr_view(indptr, indices);
  if (data.ndim() != 1 || data.shape(0) != indices.shape(0)) throw py::value_error("data must have nnz entries");
  const bool single = py::isinstance<py::array_t<float>>(data);
  const void* pd = single ? static_cast<const void*>(input_data<float>(data, "data"))
                          : static_cast<const void*>(input_data<double>(data, "data"));
  if (!(temperature >= 0.0) || !std::isfinite(temperature)) throw py::value_error("temperature must be >= 0 (0: weights)");
  const Normalization norm = parse_normalization(normalization);
  if (reorder != "none" && reorder != "bfs" && reorder != "auto" && reorder != "given")
    throw py::value_error("reorder must be 'none', 'bfs', 'auto' or 'given'");
  const int64_t* po = reorder == "given" ? optional_order(given_order, g.n) : nullptr;
  if (reorder == "given" && !po) throw py::value_error("reorder='given' needs an order");
  const EdgeWeights weights{temperature};
  py::dict info;
  auto clock = std::chrono::steady_clock::now();
  py::object symmetric = symmetric_by_construction ? py::object(py::bool_(true)) : py::none();
  if (check_symmetry && !symmetric_by_construction) {
    const bool result = without_gil([&] {
      return single ? csr_is_symmetric(g, static_cast<const float*>(pd), weights, n_threads)
                    : csr_is_symmetric(g, static_cast<const double*>(pd), weights, n_threads);
    });
    symmetric = py::bool_(result);
  }
  info["symmetry_s"] = seconds_since(clock);
  bool renumber = reorder == "bfs" || reorder == "given";
  if (reorder == "auto") {
    const int64_t row_bytes = int64_t(sizeof(float)) * propagation_row_width(n_classes > 0 ? n_classes : 16);
    const ReorderDecision d = without_gil([&] { return reorder_pays(g, row_bytes, sweeps); });
    renumber = d.reorder;
    info["far_fraction"] = d.far_fraction;
  }
  info["decide_s"] = seconds_since(clock);
  const int64_t n = g.n, nnz = g.indptr[n];
  py::array_t<float> values(nnz);
  float* pv = values.mutable_data();
  if (!renumber) {
    without_gil([&] {
      if (single)
        prepare_weights_cpu(g, static_cast<const float*>(pd), weights, norm, n_threads, pv);
      else
        prepare_weights_cpu(g, static_cast<const double*>(pd), weights, norm, n_threads, pv);
    });
    info["order_s"] = 0.0;
    info["weights_s"] = seconds_since(clock);
    auto op = std::make_unique<PyPreparedOperator>(PyPreparedOperator::Checked{}, indptr, indices, values, py::none(),
                                                   symmetric.is_none() ? false : symmetric.cast<bool>());
    return py::make_tuple(py::cast(std::move(op)), indptr, indices, values, py::none(), symmetric, info);
  }
  py::array_t<int64_t> order(n), new_indptr(n + 1);
  py::array_t<int32_t> new_indices(nnz);
  int64_t* order_out = order.mutable_data();
  if (po) {
    check_permutation(po, n);
    std::copy(po, po + n, order_out);
  } else {
    without_gil([&] { bfs_order_into(g, order_out); });
  }
  info["order_s"] = seconds_since(clock);
  int64_t* pip = new_indptr.mutable_data();
  int32_t* pix = new_indices.mutable_data();
  without_gil([&] {
    if (single)
      prepare_permuted_cpu(g, static_cast<const float*>(pd), weights, norm, order_out, n_threads, pip, pix, pv);
    else
      prepare_permuted_cpu(g, static_cast<const double*>(pd), weights, norm, order_out, n_threads, pip, pix, pv);
  });
  info["weights_s"] = seconds_since(clock);
  auto op = std::make_unique<PyPreparedOperator>(PyPreparedOperator::Checked{}, new_indptr, new_indices, values, order,
                                                 symmetric.is_none() ? false : symmetric.cast<bool>());
  return py::make_tuple(py::cast(std::move(op)), new_indptr, new_indices, values, order, symmetric, info);
}

}  // namespace

void register_propagate(py::module_& m) {
  m.def("check_csr", &check_csr, py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_threads") = 0,
        "O(nnz) checks of a CSR (indptr int32/int64 from 0 to nnz, indices int32/int64, data float32/float64), in\n"
        "parallel: None, or (problem, position) for the first problem in the order indptr_decreases (position in\n"
        "indptr), index_out_of_range, unsorted, duplicate (position of the first of the pair), not_finite.");
  m.def("prepare_propagation", &prepare_propagation, py::arg("indptr"), py::arg("indices"), py::arg("data"),
        py::arg("temperature"), py::arg("normalization"), py::arg("check_symmetry"), py::arg("reorder"),
        py::arg("order") = py::none(), py::arg("sweeps") = -1, py::arg("n_classes") = 0, py::arg("n_threads") = 0,
        py::arg("symmetric_by_construction") = false,
        "The propagation operator of a CSR checked by check_csr (indptr int64, indices int32, data float32 or\n"
        "float64), in O(nnz) and in parallel, without a float64 copy of the graph: log W = data / temperature\n"
        "(temperature > 0) or log(data) (0: weights >= 0), normalised ('symmetric' or 'row') into float32. reorder:\n"
        "'none', 'bfs', 'given' (`order`) or 'auto' (bfs where the cost model says it pays over `sweeps` sweeps\n"
        "at the row width of n_classes; sweeps < 0: a reused operator). check_symmetry: test W == W^T exactly.\n"
        "Returns (PreparedOperator, indptr, indices, values, order or None, symmetric or None, info) where info\n"
        "holds the seconds of each step and, for 'auto', the sampled far fraction. symmetric_by_construction: W was\n"
        "symmetrised (symmetric is then True without a test).");

  m.def(
      "log_degrees",
      [](const py::array& indptr, const py::array& log_w, int n_threads) {
        const int64_t* pp = input_data<int64_t>(indptr, "indptr");
        const double* lw = input_data<double>(log_w, "log_w");
        if (indptr.ndim() != 1 || indptr.shape(0) < 1) throw py::value_error("indptr must be 1-D with n + 1 entries");
        const int64_t n = indptr.shape(0) - 1;
        if (log_w.ndim() != 1 || pp[0] != 0 || pp[n] != log_w.size())
          throw py::value_error("log_w must be 1-D with indptr[-1] entries and indptr must start at 0");
        for (int64_t i = 0; i < n; ++i)
          if (pp[i + 1] < pp[i]) throw py::value_error("indptr must be non-decreasing");
        py::array_t<double> out(n);
        double* po = out.mutable_data();
        without_gil([&] { log_degrees_cpu(pp, n, lw, n_threads, po); });
        return out;
      },
      py::arg("indptr"), py::arg("log_w"), py::arg("n_threads") = 0,
      "Per-row logsumexp of log_w (float64 [n]); -inf for an empty row or one whose weights are all zero.");

  m.def(
      "normalize_log_weights",
      [](const py::array& indptr, const py::array& indices, const py::array& log_w, const py::array& row_log_degree,
         const py::array& col_log_degree, const std::string& normalization, int n_threads) {
        const CsrView rows = csr_view(indptr, indices);
        const double* lw = input_data<double>(log_w, "log_w");
        const double* rd = input_data<double>(row_log_degree, "row_log_degree");
        const double* cd = input_data<double>(col_log_degree, "col_log_degree");
        if (log_w.size() != indices.size()) throw py::value_error("log_w must have one entry per nonzero");
        if (row_log_degree.ndim() != 1 || row_log_degree.shape(0) != rows.n)
          throw py::value_error("row_log_degree must be 1-D with one entry per row (len(indptr) - 1)");
        if (col_log_degree.ndim() != 1) throw py::value_error("col_log_degree must be 1-D");
        const int64_t n_cols = col_log_degree.shape(0);
        for (int64_t p = 0; p < rows.indptr[rows.n]; ++p)
          if (rows.indices[p] < 0 || rows.indices[p] >= n_cols)
            throw py::value_error("indices must be in [0, len(col_log_degree))");
        const Normalization norm = parse_normalization(normalization);
        py::array_t<float> out(indices.size());
        float* po = out.mutable_data();
        without_gil([&] { normalize_log_weights_cpu(rows, lw, rd, cd, norm, n_threads, po); });
        return out;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("log_w"), py::arg("row_log_degree"), py::arg("col_log_degree"),
      py::arg("normalization"), py::arg("n_threads") = 0,
      "Normalised weights (float32 [nnz]) of a block of rows: exp(log_w - L_i) (row) or exp(log_w - L_i/2 - L_j/2)\n"
      "(symmetric), L_i = row_log_degree[i], L_j = col_log_degree[indices[p]] (column indices may be global).");

  m.def(
      "propagation_weights",
      [](const py::array& indptr, const py::array& indices, const py::array& log_w, const std::string& normalization,
         int n_threads) {
        const CsrView g = csr_view(indptr, indices);
        const double* lw = input_data<double>(log_w, "log_w");
        if (log_w.size() != indices.size()) throw py::value_error("log_w must have one entry per nonzero");
        check_column_indices(g);
        const Normalization norm = parse_normalization(normalization);
        py::array_t<float> out(indices.size());
        float* po = out.mutable_data();
        without_gil([&] { propagation_weights_cpu(g, lw, norm, n_threads, po); });
        return out;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("log_w"), py::arg("normalization"), py::arg("n_threads") = 0,
      "Normalised weights (float32, same pattern) of W = exp(log_w): normalize_log_weights(log_degrees(...)).");

  py::class_<PyPreparedOperator>(m, "PreparedOperator",
                                 "A validated normalised CSR operator with reusable iteration buffers.")
      .def(py::init<py::array, py::array, py::array, py::object, bool>(), py::arg("indptr"), py::arg("indices"),
           py::arg("values"), py::arg("order") = py::none(), py::arg("symmetric") = false)
      .def("propagate", &PyPreparedOperator::propagate, py::arg("labels"), py::arg("n_classes"),
           py::arg("init") = py::none(), py::arg("n_iter") = 20, py::arg("alpha") = -1.0, py::arg("tol") = 0.0,
           py::arg("n_threads") = 0, py::arg("progress") = py::none(), py::arg("accelerate") = true,
           py::arg("seeds") = py::none(), py::arg("reach") = py::none(),
           "All iterations of label propagation in one call; labels, init and the results in the caller's order.\n"
           "A row labeled -2 is clamped to its row of seeds (float32 [n, n_classes], finite on those rows), or\n"
           "in the alpha form takes it as its y0, where a labeled row has its one-hot (a multi-hot or all-zero row).\n"
           "reach (float32 [n], writeable): also propagate the reach column (1 on labeled and seeded rows, clamped\n"
           "there / their y0; the mass of labeled rows reaching each row) beside the scores, and write it there;\n"
           "its move counts in tol. update() then refuses class labels, and update_seeds() needs the 4-array out.\n"
           "The alpha form of a symmetric operator runs Chebyshev-accelerated unless accelerate=False.\n"
           "Returns (soft, hard, unreached, n_iter, converged, finite, kernel).")
      .def("update", &PyPreparedOperator::update, py::arg("rows"), py::arg("classes"), py::arg("n_classes"),
           py::arg("alpha") = -1.0, py::arg("tol") = 1e-4, py::arg("max_iter") = 200, py::arg("dense_rows") = -1,
           py::arg("n_threads") = 0, py::arg("out") = py::none(),
           "Continue the last propagate() after label changes at `rows` (caller order): class `classes[q]`, or\n"
           "-1 to remove the row's label. Only the rows the changes move are recomputed: residual pushes in the\n"
           "alpha form (alpha >= 0), Jacobi sweeps over the rows whose inputs moved in clamp mode. Full sweeps\n"
           "take over past `dense_rows` rows changed (alpha form) or recomputed in one sweep (clamp mode); -1:\n"
           "the defaults (alpha form: n/4 once 2n rows were pushed, or 8n pushes; clamp mode: n/2, at least\n"
           "4096). Returns (rows, soft_rows, sweeps) for every row whose scores changed; sweeps counts rounds\n"
           "of pushes in the alpha form. out=(soft, hard, unreached), the last result's arrays: the changed\n"
           "rows (every row after full sweeps took over) are written there and soft_rows is None.\n"
           "Bad input raises before anything changes; a failure after that (out of memory) drops the state.")
      .def("update_seeds", &PyPreparedOperator::update_seeds, py::arg("rows"), py::arg("seed_values"),
           py::arg("clamped"), py::arg("n_classes"), py::arg("alpha") = -1.0, py::arg("tol") = 1e-4,
           py::arg("max_iter") = 200, py::arg("n_threads") = 0, py::arg("out") = py::none(),
           "Continue the last propagate() after seeded rows change: row rows[q] (caller order) clamped to\n"
           "seed_values[q] (float32 [m, n_classes], finite) when clamped[q] (bool), else released. Full sweeps to\n"
           "tol, warm-started from the last scores when no seed entry fell and no row was released, else from the\n"
           "seeds. Returns (rows, soft_rows, sweeps) as update(). After a propagate() with reach, out must be\n"
           "(soft, hard, unreached, reach): the reach column is updated there too.")
      .def_property_readonly("has_state", &PyPreparedOperator::has_state,
                             "True when update() can continue: a propagate() (and every update since) completed.")
      .def("labels", &PyPreparedOperator::labels,
           "The labels the saved scores reflect (int32 [n], caller order, -1 unlabeled); raises without a state.");

  m.def(
      "propagate_csr",
      [](py::array indptr, py::array indices, py::array values, const py::array& labels, int64_t n_classes,
         const py::object& init, const py::object& order, int64_t n_iter, double alpha, double tol, int n_threads,
         const py::object& progress) {
        PyPreparedOperator op(std::move(indptr), std::move(indices), std::move(values), order, false);
        return op.propagate(labels, n_classes, init, n_iter, alpha, tol, n_threads, progress, false, py::none(),
                            py::none());
      },
      py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("labels"), py::arg("n_classes"),
      py::arg("init") = py::none(), py::arg("order") = py::none(), py::arg("n_iter") = 20, py::arg("alpha") = -1.0,
      py::arg("tol") = 0.0, py::arg("n_threads") = 0, py::arg("progress") = py::none(),
      "One-shot PreparedOperator(indptr, indices, values, order).propagate(...).");

  m.def("spmm_kernel_name", &spmm_kernel_name, "SpMM kernel selected by the active SIMD level.");

  m.def(
      "bfs_order",
      [](const py::array& indptr, const py::array& indices) {
        const CsrView g = csr_view(indptr, indices);
        check_column_indices(g);
        std::vector<int64_t> order = without_gil([&] { return bfs_order(g); });
        py::array_t<int64_t> out(g.n);
        std::copy(order.begin(), order.end(), out.mutable_data());
        return out;
      },
      py::arg("indptr"), py::arg("indices"), "Breadth-first node order (order[r] = old number of new node r).");

  m.def(
      "permute_csr",
      [](const py::array& indptr, const py::array& indices, const py::array& values, const py::array& order,
         int n_threads) {
        const CsrView g = csr_view(indptr, indices);
        const double* pv = input_data<double>(values, "values");
        if (values.size() != indices.size()) throw py::value_error("values must have nnz entries");
        const int64_t* po = optional_order(order, g.n);
        check_permutation(po, g.n);
        check_column_indices(g);
        PermutedCsr out = without_gil([&] { return permute_csr(g, pv, po, n_threads); });
        auto to_numpy = [](const auto& v) {
          using T = typename std::decay_t<decltype(v)>::value_type;
          py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
          std::copy(v.begin(), v.end(), a.mutable_data());
          return a;
        };
        return py::make_tuple(to_numpy(out.indptr), to_numpy(out.indices), to_numpy(out.values));
      },
      py::arg("indptr"), py::arg("indices"), py::arg("values"), py::arg("order"), py::arg("n_threads") = 0,
      "P A P^T for new node r = old node order[r], column indices sorted per row.");
}

}  // namespace labelgraph::bindings
