// Bindings of label propagation: normalised weights and the iteration driver, GIL released.
#include <algorithm>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.hpp"
#include "labelgraph/graph_order.hpp"
#include "labelgraph/propagate.hpp"

namespace labelgraph::bindings {
namespace {

// The Python layer validated the CSR (square, sorted unique indices in range); this only checks
// the array lengths agree, so a bypassed check cannot read out of bounds.
CsrView csr_view(const py::array& indptr, const py::array& indices) {
  CsrView g;
  g.indptr = input_data<int64_t>(indptr, "indptr");
  g.indices = input_data<int32_t>(indices, "indices");
  if (indptr.ndim() != 1 || indptr.shape(0) < 1) throw py::value_error("indptr must be 1-D with n + 1 entries");
  g.n = indptr.shape(0) - 1;
  if (g.indptr[0] != 0 || g.indptr[g.n] != indices.size()) throw py::value_error("indptr must run from 0 to nnz");
  return g;
}

// Column indices in range and, if given, `order` a permutation: checked once, so the hot path
// (a new label set every few seconds in active learning) does not re-read the whole graph.
void check_indices(const CsrView& g) {
  for (int64_t p = 0; p < g.indptr[g.n]; ++p)
    if (g.indices[p] < 0 || g.indices[p] >= g.n) throw py::value_error("indices must be in [0, n)");
}

const int64_t* checked_order(const py::object& order, int64_t n) {
  if (order.is_none()) return nullptr;
  const py::array a = order.cast<py::array>();
  const int64_t* po = input_data<int64_t>(a, "order");
  if (a.ndim() != 1 || a.shape(0) != n) throw py::value_error("order must have n entries");
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (po[i] < 0 || po[i] >= n || seen[po[i]]) throw py::value_error("order must be a permutation of 0..n-1");
    seen[po[i]] = 1;
  }
  return po;
}

// Holds the operator's arrays (kept alive, read-only by contract) and the iteration buffers.
class PreparedOperator {
 public:
  // `symmetric`: the caller guarantees W is symmetric, so S has real eigenvalues in [-1, 1] and the
  // alpha form may be Chebyshev-accelerated.
  PreparedOperator(py::array indptr, py::array indices, py::array values, const py::object& order, bool symmetric)
      : indptr_(std::move(indptr)), indices_(std::move(indices)), values_(std::move(values)), symmetric_(symmetric) {
    g_ = csr_view(indptr_, indices_);
    pv_ = input_data<float>(values_, "values");
    if (values_.size() != indices_.size()) throw py::value_error("values must have one entry per nonzero");
    check_indices(g_);
    if (!order.is_none()) order_ = order.cast<py::array>();
    po_ = checked_order(order, g_.n);
  }

  py::tuple propagate(const py::array& labels, int64_t n_classes, const py::object& init, int64_t n_iter,
                      double alpha, double tol, int n_threads, const py::object& progress, bool accelerate) {
    const int32_t* pl = input_data<int32_t>(labels, "labels");
    if (labels.ndim() != 1 || labels.shape(0) != g_.n) throw py::value_error("labels must have n entries");
    if (n_classes < 1) throw py::value_error("n_classes must be >= 1");
    for (int64_t i = 0; i < g_.n; ++i)
      if (pl[i] < -1 || pl[i] >= n_classes) throw py::value_error("labels must be in [-1, n_classes)");
    const float* pi = nullptr;
    if (!init.is_none()) {
      const py::array a = init.cast<py::array>();
      pi = input_data<float>(a, "init");
      if (a.ndim() != 2 || a.shape(0) != g_.n || a.shape(1) != n_classes)
        throw py::value_error("init must have shape (n, n_classes)");
    }
    PropagateOptions o;
    o.n_iter = n_iter;
    o.alpha = alpha;
    o.tol = tol;
    o.n_threads = n_threads;
    o.chebyshev = symmetric_ && accelerate;
    py::array_t<float> soft({g_.n, n_classes});
    py::array_t<int64_t> hard(g_.n);
    py::array_t<bool> unreached(g_.n);
    const PropagateOutput out{soft.mutable_data(), hard.mutable_data(),
                              reinterpret_cast<uint8_t*>(unreached.mutable_data())};
    const RunHooks hooks = python_hooks(progress);
    const PropagateStats s = without_gil([&] {
      std::lock_guard<std::mutex> lock(busy_);  // one call at a time uses the buffers
      state_ready_ = false;
      PropagateStats stats = propagate_csr_cpu(g_, pv_, po_, pl, n_classes, pi, o, hooks, out, workspace_);
      // Keep what update() continues from: the final Y and the labels, in operator order.
      state_labels_.resize(static_cast<size_t>(g_.n));
      for (int64_t i = 0; i < g_.n; ++i) state_labels_[i] = pl[po_ ? po_[i] : i];
      state_buffer_ = stats.final_buffer;
      state_classes_ = n_classes;
      state_alpha_ = alpha;
      state_ready_ = true;
      push_state_.ready = false;
      return stats;
    });
    return py::make_tuple(soft, hard, unreached, s.n_iter, s.converged, s.finite, std::string(s.kernel));
  }

  // Continues the last propagate() after labels were added to `rows` (caller order, with their
  // classes in `classes`): see propagate_push_cpu (alpha form) and propagate_update_cpu (clamp
  // mode). Returns (rows, soft_rows, sweeps): every caller row whose scores changed (ascending in
  // operator order) and its new scores.
  //
  // With `out` = (soft [n, n_classes] float32, hard [n] int64, unreached [n] bool), the previous
  // result's arrays in caller order, the changed rows (every row after a hand-over to full sweeps)
  // are written there instead and soft_rows is None: no temporary copies, and no Python pass over
  // them while the GIL is held.
  py::tuple update(const py::array& rows, const py::array& classes, int64_t n_classes, double alpha, double tol,
                   int64_t max_iter, int64_t dense_rows, int n_threads, const py::object& out) {
    const int64_t* pr = input_data<int64_t>(rows, "rows");
    const int32_t* pc = input_data<int32_t>(classes, "classes");
    if (rows.ndim() != 1 || classes.ndim() != 1 || rows.shape(0) != classes.shape(0))
      throw py::value_error("rows and classes must be 1-D of the same length");
    if (!state_ready_) throw py::value_error("update() continues a propagate(): call propagate() first");
    if (n_classes != state_classes_ || alpha != state_alpha_)
      throw py::value_error("update() must use the n_classes and alpha of the last propagate()");
    if (max_iter < 0 || !(tol > 0.0)) throw py::value_error("update() needs max_iter >= 0 and tol > 0");
    std::vector<int64_t> seeds;
    for (int64_t q = 0; q < rows.shape(0); ++q) {
      if (pr[q] < 0 || pr[q] >= g_.n) throw py::value_error("rows must be in [0, n)");
      if (pc[q] < 0 || pc[q] >= n_classes) throw py::value_error("classes must be in [0, n_classes)");
    }
    const PropagateOutput result = result_arrays(out, n_classes);
    const int64_t width = propagation_row_width(n_classes);
    std::vector<int64_t> touched;
    bool needs_full_sweeps = false;
    int64_t sweeps = without_gil([&] {
      std::lock_guard<std::mutex> lock(busy_);
      if (!symmetric_ && transpose_indptr_.empty()) build_transpose();
      if (po_ && new_of_old_.empty()) {
        new_of_old_.resize(static_cast<size_t>(g_.n));
        for (int64_t i = 0; i < g_.n; ++i) new_of_old_[po_[i]] = i;
      }
      std::vector<int32_t> old_labels, new_labels;
      for (int64_t q = 0; q < rows.shape(0); ++q) {
        const int64_t i = po_ ? new_of_old_[pr[q]] : pr[q];
        old_labels.push_back(state_labels_[i]);
        new_labels.push_back(pc[q]);
        state_labels_[i] = pc[q];
        seeds.push_back(i);
      }
      // A symmetric S is its own transpose.
      const CsrView dependants{g_.n, symmetric_ ? g_.indptr : transpose_indptr_.data(),
                               symmetric_ ? g_.indices : transpose_indices_.data()};
      if (alpha >= 0.0) {
        PushLimits limits;
        limits.rounds = max_iter;
        limits.changed_rows = dense_rows >= 0 ? dense_rows : g_.n / kSpreadFraction;
        limits.pushes_before_spread = dense_rows >= 0 ? 0 : kPushesBeforeSpread * g_.n;
        limits.pushes = std::max(kPushLimitPerRow * g_.n, kPushLimitMin);
        const PushUpdateStats stats = propagate_push_cpu(
            dependants, symmetric_ ? pv_ : transpose_values_.data(), seeds, new_labels, old_labels, n_classes, width,
            alpha, tol, limits, workspace_.buffer(state_buffer_), push_state_, touched, n_threads);
        needs_full_sweeps = !stats.finished && stats.rounds < max_iter;
        return stats.rounds;
      }
      return propagate_update_cpu(g_, dependants.indptr, dependants.indices, pv_, state_labels_.data(),
                                  width, tol, max_iter, seeds, workspace_.buffer(state_buffer_),
                                  workspace_.buffer(1 - state_buffer_), touched,
                                  dense_rows >= 0 ? dense_rows : std::max(g_.n / kDenseUpdateFraction, kDenseUpdateMinRows),
                                  needs_full_sweeps, n_threads);
    });
    if (needs_full_sweeps)
      return continue_with_full_sweeps(n_classes, alpha, tol, max_iter - sweeps, sweeps, n_threads, result);
    const int64_t m = int64_t(touched.size());
    py::array_t<int64_t> out_rows(m);
    int64_t* caller_rows = out_rows.mutable_data();
    const float* y = workspace_.buffer(state_buffer_);
    if (result.soft) {
      without_gil([&] {
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static)
        for (int64_t q = 0; q < m; ++q) {
          const int64_t i = touched[q];
          caller_rows[q] = po_ ? po_[i] : i;
          write_result_row(y + i * width, n_classes, caller_rows[q], result);
        }
      });
      return py::make_tuple(out_rows, py::none(), sweeps);
    }
    py::array_t<float> out_soft({m, n_classes});
    for (int64_t q = 0; q < m; ++q) {
      const int64_t i = touched[q];
      caller_rows[q] = po_ ? po_[i] : i;
      std::copy(y + i * width, y + i * width + n_classes, out_soft.mutable_data() + q * n_classes);
    }
    return py::make_tuple(out_rows, out_soft, sweeps);
  }

 private:
  py::array indptr_, indices_, values_, order_;
  CsrView g_;
  const float* pv_ = nullptr;
  const int64_t* po_ = nullptr;
  bool symmetric_ = false;
  PropagateWorkspace workspace_;
  std::mutex busy_;
  // State of the last propagate(), continued by update().
  bool state_ready_ = false;
  int state_buffer_ = 0;
  int64_t state_classes_ = 0;
  double state_alpha_ = -1.0;
  std::vector<int32_t> state_labels_;
  std::vector<int64_t> new_of_old_, transpose_indptr_;
  std::vector<int32_t> transpose_indices_;
  std::vector<float> transpose_values_;
  PushState push_state_;  // the alpha form's update: residuals kept between batches

  // The alpha form's update hands over to full sweeps (Chebyshev-accelerated when symmetric) once
  // a quarter of the rows changed after 2n pushes (a push costs about four rows of a full sweep:
  // it scatters into its dependants), or after 8n pushes (at least 2^20). Per batch of 10 at 1M
  // rows: on the 8-D benchmark graph with 1,000 labels, 1.3-2.1 M pushes and 0.2-0.3 M rows
  // changed (a quarter after n pushes handed some batches over: 2.5 s instead of 1 s); with 100
  // labels, 0.4 M rows changed after 2 M pushes and no end in sight. On the 2-D graph with 100
  // labels, up to 7 M pushes but 0.12 M rows changed: full sweeps there barely converge at all.
  static constexpr int64_t kSpreadFraction = 4, kPushesBeforeSpread = 2, kPushLimitPerRow = 8,
                           kPushLimitMin = int64_t(1) << 20;

  // The clamped update: an active set past n / 2 (and 4096 rows) runs full (SIMD, all-row) sweeps
  // instead. Active rows are swept at nearly the full sweep's cost per row, and
  // most rows of a large region settle before the rest: at 1M rows an n / 8 limit made an 8-D
  // update with 1,000 labels 2.5 s against 1 s at n / 2.
  static constexpr int64_t kDenseUpdateFraction = 2, kDenseUpdateMinRows = 4096;

  // The caller's result arrays update() writes the changed rows to (all null without `out`).
  PropagateOutput result_arrays(const py::object& out, int64_t n_classes) const {
    if (out.is_none()) return {};
    if (!py::isinstance<py::tuple>(out) || py::len(out) != 3)
      throw py::value_error("out must be a tuple (soft, hard, unreached)");
    const auto arrays = py::reinterpret_borrow<py::tuple>(out);
    auto checked = [&](const py::handle& a, const char* name, const py::dtype& dtype, std::vector<int64_t> shape) {
      auto array = py::reinterpret_borrow<py::array>(a);
      if (!py::isinstance<py::array>(a) || !array.dtype().is(dtype))
        throw py::type_error(std::string("out: ") + name + " must be an array of dtype " + std::string(py::str(dtype)));
      const bool shaped = array.ndim() == int64_t(shape.size()) &&
                          std::equal(shape.begin(), shape.end(), array.shape());
      if (!shaped || !(array.flags() & py::array::c_style) || !array.writeable())
        throw py::value_error(std::string("out: ") + name + " must be a writeable C-contiguous array of shape (n" +
                              (shape.size() == 2 ? ", n_classes)" : ")"));
      return array.mutable_data();
    };
    PropagateOutput r;
    r.soft = static_cast<float*>(checked(arrays[0], "soft", py::dtype::of<float>(), {g_.n, n_classes}));
    r.hard = static_cast<int64_t*>(checked(arrays[1], "hard", py::dtype::of<int64_t>(), {g_.n}));
    r.unreached = static_cast<uint8_t*>(checked(arrays[2], "unreached", py::dtype::of<bool>(), {g_.n}));
    return r;
  }

  // The rest of an update() whose changed region grew past the dense limit: full sweeps warm-
  // started from the current state, to the same relative tolerance. Every row is returned, or
  // written to `result` when the caller passed its arrays.
  py::tuple continue_with_full_sweeps(int64_t n_classes, double alpha, double tol, int64_t max_iter, int64_t sweeps,
                                      int n_threads, const PropagateOutput& result) {
    const int64_t width = propagation_row_width(n_classes);
    py::array_t<float> init({g_.n, n_classes});
    py::array_t<int32_t> labels(g_.n);
    py::array_t<int64_t> all_rows(g_.n);
    py::array_t<float> soft = result.soft ? py::array_t<float>() : py::array_t<float>({g_.n, n_classes});
    py::array_t<int64_t> hard = result.soft ? py::array_t<int64_t>() : py::array_t<int64_t>(g_.n);
    py::array_t<bool> unreached = result.soft ? py::array_t<bool>() : py::array_t<bool>(g_.n);
    const PropagateOutput out = result.soft ? result
                                            : PropagateOutput{soft.mutable_data(), hard.mutable_data(),
                                                              reinterpret_cast<uint8_t*>(unreached.mutable_data())};
    PropagateOptions o;
    o.n_iter = std::max<int64_t>(max_iter, 0);
    o.alpha = alpha;
    o.tol = tol;
    o.n_threads = n_threads;
    o.chebyshev = symmetric_;
    const PropagateStats stats = without_gil([&] {
      std::lock_guard<std::mutex> lock(busy_);
      push_state_.ready = false;  // full sweeps move every row: residuals start over
      const float* y = workspace_.buffer(state_buffer_);
      float* pi = init.mutable_data();
      int32_t* pl = labels.mutable_data();
      for (int64_t i = 0; i < g_.n; ++i) {  // operator order -> caller order
        const int64_t dst = po_ ? po_[i] : i;
        std::copy(y + i * width, y + i * width + n_classes, pi + dst * n_classes);
        pl[dst] = state_labels_[i];
        all_rows.mutable_data()[i] = i;
      }
      PropagateStats s = propagate_csr_cpu(g_, pv_, po_, pl, n_classes, pi, o, RunHooks{}, out, workspace_);
      state_buffer_ = s.final_buffer;
      return s;
    });
    return py::make_tuple(all_rows, result.soft ? py::object(py::none()) : py::object(soft), sweeps + stats.n_iter);
  }

  // For each column j, the rows whose sums read j (ascending) and the weights they read it with.
  void build_transpose() {
    transpose_indptr_.assign(static_cast<size_t>(g_.n + 1), 0);
    const int64_t nnz = g_.indptr[g_.n];
    for (int64_t p = 0; p < nnz; ++p) ++transpose_indptr_[g_.indices[p] + 1];
    for (int64_t j = 0; j < g_.n; ++j) transpose_indptr_[j + 1] += transpose_indptr_[j];
    transpose_indices_.resize(static_cast<size_t>(nnz));
    transpose_values_.resize(static_cast<size_t>(nnz));
    std::vector<int64_t> fill(transpose_indptr_.begin(), transpose_indptr_.end() - 1);
    for (int64_t i = 0; i < g_.n; ++i)
      for (int64_t p = g_.indptr[i]; p < g_.indptr[i + 1]; ++p) {
        const int64_t q = fill[g_.indices[p]]++;
        transpose_indices_[q] = int32_t(i);
        transpose_values_[q] = pv_[p];
      }
  }
};

Normalization parse_normalization(const std::string& name) {
  if (name == "symmetric") return Normalization::symmetric;
  if (name == "row") return Normalization::row;
  throw py::value_error("normalization must be 'symmetric' or 'row'; got '" + name + "'");
}

}  // namespace

void register_propagate(py::module_& m) {
  m.def(
      "propagation_weights",
      [](const py::array& indptr, const py::array& indices, const py::array& log_w, const std::string& normalization,
         int n_threads) {
        const CsrView g = csr_view(indptr, indices);
        const double* lw = input_data<double>(log_w, "log_w");
        if (log_w.size() != indices.size()) throw py::value_error("log_w must have one entry per nonzero");
        const Normalization norm = parse_normalization(normalization);
        py::array_t<float> out(indices.size());
        float* po = out.mutable_data();
        without_gil([&] { propagation_weights_cpu(g, lw, norm, n_threads, po); });
        return out;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("log_w"), py::arg("normalization"), py::arg("n_threads") = 0,
      "Normalised weights (float32, same pattern) of W = exp(log_w), degrees by per-row logsumexp.");

  py::class_<PreparedOperator>(m, "PreparedOperator",
                               "A validated normalised CSR operator with reusable iteration buffers.")
      .def(py::init<py::array, py::array, py::array, py::object, bool>(), py::arg("indptr"), py::arg("indices"),
           py::arg("values"), py::arg("order") = py::none(), py::arg("symmetric") = false)
      .def("propagate", &PreparedOperator::propagate, py::arg("labels"), py::arg("n_classes"),
           py::arg("init") = py::none(), py::arg("n_iter") = 20, py::arg("alpha") = -1.0, py::arg("tol") = 0.0,
           py::arg("n_threads") = 0, py::arg("progress") = py::none(), py::arg("accelerate") = true,
           "All iterations of label propagation in one call; labels, init and the results in the caller's order.\n"
           "The alpha form of a symmetric operator runs Chebyshev-accelerated unless accelerate=False.\n"
           "Returns (soft, hard, unreached, n_iter, converged, finite, kernel).")
      .def("update", &PreparedOperator::update, py::arg("rows"), py::arg("classes"), py::arg("n_classes"),
           py::arg("alpha") = -1.0, py::arg("tol") = 1e-4, py::arg("max_iter") = 200, py::arg("dense_rows") = -1,
           py::arg("n_threads") = 0, py::arg("out") = py::none(),
           "Continue the last propagate() after new labels at `rows` (caller order), recomputing only the rows\n"
           "the new labels change: residual pushes in the alpha form (alpha >= 0), Jacobi sweeps over the rows\n"
           "whose inputs moved in clamp mode. Full sweeps take over past `dense_rows` rows changed (alpha form)\n"
           "or recomputed in one sweep (clamp mode); -1: the defaults (alpha form: n/4 once 2n rows were\n"
           "pushed, or 8n pushes; clamp mode: n/2, at least 4096). Returns (rows, soft_rows, sweeps) for\n"
           "every row whose scores changed; sweeps counts rounds of pushes in the alpha form.\n"
           "out=(soft, hard, unreached), the last result's arrays: the changed rows (every row after full\n"
           "sweeps took over) are written there and soft_rows is None.");

  m.def(
      "propagate_csr",
      [](py::array indptr, py::array indices, py::array values, const py::array& labels, int64_t n_classes,
         const py::object& init, const py::object& order, int64_t n_iter, double alpha, double tol, int n_threads,
         const py::object& progress) {
        PreparedOperator op(std::move(indptr), std::move(indices), std::move(values), order, false);
        return op.propagate(labels, n_classes, init, n_iter, alpha, tol, n_threads, progress, false);
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
        check_indices(g);
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
        const int64_t* po = input_data<int64_t>(order, "order");
        if (values.size() != indices.size()) throw py::value_error("values must have nnz entries");
        checked_order(order, g.n);
        check_indices(g);
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
