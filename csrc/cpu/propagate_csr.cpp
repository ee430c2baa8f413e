// Iteration driver of label propagation: one OpenMP region for all iterations, double buffering.
//
// Rows are split once into contiguous per-thread ranges of equal (nonzeros + rows), so every
// thread sweeps the same rows in every iteration (static schedule, no per-iteration fork/join);
// a single barrier per iteration separates reading buffer t from writing it again at t + 1.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <vector>

#include "labelgraph/cpu_features.hpp"
#include "labelgraph/propagate.hpp"
#include "spmm_internal.hpp"

#if defined(LABELGRAPH_X86)
#include <immintrin.h>
#endif

namespace labelgraph {
namespace {

struct Sweep {
  detail::SweepFn fn;
  const char* name;
};

#if defined(LABELGRAPH_X86)
bool close(float got, float want) { return std::fabs(got - want) <= 1e-4f * (1.0f + std::fabs(want)); }

bool close_rows(const float* got, const float* want, int64_t width) {
  for (int64_t k = 0; k < width; ++k)
    if (!close(got[k], want[k])) return false;
  return true;
}

// True if `sweep` matches the scalar sweep on a small random graph, for every padded width, both
// update forms (one-hot and seeded rows), a Chebyshev weight and the row-list mode, with and
// without the reach column. Guards the sweeps a test machine may not run (AVX-512): one that
// disagrees is never selected.
bool agrees_with_scalar(detail::SweepFn sweep) {
  constexpr int64_t n = 37, degree = 5;
  std::mt19937 rng(777);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<int64_t> indptr(n + 1);
  std::vector<int32_t> indices, labels(n);
  std::vector<float> values;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t e = 0; e < degree + i % 3; ++e) {  // rows of 5 to 7 nonzeros: every tail length
      indices.push_back(int32_t((i * 7 + e * 11) % n));
      values.push_back(unit(rng));
    }
    indptr[i + 1] = int64_t(indices.size());
  }
  std::vector<float> reach_src(n), reach_got(n), reach_want(n);
  for (int64_t width : {int64_t(4), int64_t(8), int64_t(16), int64_t(32), int64_t(48), int64_t(64), int64_t(112)}) {
    for (int form = 0; form < 6; ++form) {
      const float omega = std::array<float, 3>{1.0f, 1.3f, -1.0f}[form % 3];  // -1: clamp mode
      const bool clamp = omega < 0.0f, reach = form >= 3;
      for (int64_t i = 0; i < n; ++i)
        labels[i] = i % 4 == 0 ? int32_t(i % std::min<int64_t>(width, 7)) : (i % 8 == 2 ? detail::kSeededRow : -1);
      std::vector<float> seeds(n * width);
      for (float& s : seeds) s = unit(rng);
      detail::SweepArgs args{indptr.data(), indices.data(), values.data(), labels.data(), width, clamp,
                             0.7f, 0.3f, true, clamp ? 1.0f : omega};
      args.seeds = seeds.data();
      for (int64_t i = 0; i < n; ++i) {
        reach_src[i] = unit(rng);
        reach_got[i] = reach_want[i] = unit(rng);
      }
      if (reach) args.reach_src = reach_src.data();
      PropagateWorkspace in_out, scalar_out;  // 64-byte aligned rows, as the sweeps require
      in_out.reserve(n * width);
      scalar_out.reserve(n * width);
      float *src = in_out.buffer(0), *got = in_out.buffer(1), *want = scalar_out.buffer(0);
      for (int64_t e = 0; e < n * width; ++e) src[e] = unit(rng);
      for (int64_t e = 0; e < n * width; ++e) got[e] = want[e] = unit(rng);  // the iterate before src
      detail::SweepArgs want_args = args;
      if (reach) {
        want_args.reach_dst = reach_want.data();
        args.reach_dst = reach_got.data();
      }
      const float change_want = detail::sweep_scalar(want_args, src, want, 0, n);
      const float change_got = sweep(args, src, got, 0, n);
      if (!close(change_got, change_want)) return false;
      for (int64_t i = 0; i < n; ++i) {
        if (clamp && labels[i] != -1) continue;  // not written in clamp mode
        if (!close_rows(got + i * width, want + i * width, width) || !close(reach_got[i], reach_want[i])) return false;
      }
      if (omega != 1.0f && !clamp) continue;
      // Row-list mode (the incremental update): a subset of rows into packed outputs, with each
      // position's change.
      std::vector<int64_t> rows;
      for (int64_t i = 0; i < n; ++i)
        if (i % 3 != 1 && !(clamp && labels[i] != -1)) rows.push_back(i);
      const int64_t m = int64_t(rows.size());
      std::vector<float> row_got(m, -1.0f), row_want(m, -2.0f);
      detail::SweepArgs list_args = want_args;
      list_args.rows = rows.data();
      list_args.row_change = row_want.data();
      detail::sweep_scalar(list_args, src, want, 0, m);
      list_args.row_change = row_got.data();
      if (reach) list_args.reach_dst = reach_got.data();
      sweep(list_args, src, got, 0, m);
      for (int64_t q = 0; q < m; ++q)
        if (!close_rows(got + q * width, want + q * width, width) || !close(row_got[q], row_want[q]) ||
            !close(reach_got[q], reach_want[q]))
          return false;
    }
  }
  return true;
}
#endif

Sweep select_sweep(SimdLevel level) {
#if defined(LABELGRAPH_X86)
  static const bool avx512_ok = detected_simd_level() >= SimdLevel::avx512 && agrees_with_scalar(detail::sweep_avx512);
  static const bool avx2_ok = detected_simd_level() >= SimdLevel::avx2 && agrees_with_scalar(detail::sweep_avx2);
  if (level >= SimdLevel::avx512 && avx512_ok) return {detail::sweep_avx512, "avx512"};
  if (level >= SimdLevel::avx2 && avx2_ok) return {detail::sweep_avx2, "avx2"};
#else
  (void)level;
#endif
  return {detail::sweep_scalar, "scalar"};
}

Sweep select_sweep() { return select_sweep(active_simd_level()); }

// First row of each of `parts` ranges of about equal cost(i) = indptr[i] + i.
std::vector<int64_t> balanced_row_starts(const CsrView& g, int parts) {
  std::vector<int64_t> starts(parts + 1);
  const double total = double(g.indptr[g.n] + g.n);
  for (int t = 0; t <= parts; ++t) {
    const double target = total * t / parts;
    int64_t lo = 0, hi = g.n;  // smallest i with cost(i) >= target
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (double(g.indptr[mid] + mid) < target) lo = mid + 1; else hi = mid;
    }
    starts[t] = lo;
  }
  starts[parts] = g.n;
  return starts;
}

}  // namespace

detail::SweepFn detail::best_sweep() { return select_sweep().fn; }

std::string spmm_kernel_name() { return select_sweep().name; }
std::string spmm_kernel_name_for(SimdLevel level) { return select_sweep(level).name; }

int64_t propagation_row_width(int64_t n_classes) { return detail::padded_width(n_classes); }

PropagateWorkspace::~PropagateWorkspace() {
  std::free(buffers_[0]);
  std::free(buffers_[1]);
}

void PropagateWorkspace::reserve(int64_t floats_per_buffer) {
  if (floats_per_buffer <= capacity_) return;
  const size_t bytes = (size_t(floats_per_buffer) * sizeof(float) + 63) / 64 * 64;
  for (float*& b : buffers_) {
    std::free(b);
    b = static_cast<float*>(std::aligned_alloc(64, std::max<size_t>(bytes, 64)));
    if (b == nullptr) {
      capacity_ = 0;
      throw std::bad_alloc();
    }
  }
  capacity_ = floats_per_buffer;
}

void PropagateWorkspace::reserve_reach(int64_t rows) {
  for (std::vector<float>& r : reach_)
    if (int64_t(r.size()) < rows) {
      r.clear();  // contents are not kept: no copy when it grows
      r.resize(static_cast<size_t>(rows));
    }
}

PropagateStats propagate_csr_cpu(const CsrView& g, const float* values, const int64_t* order,
                                 const int32_t* caller_labels, int64_t n_classes, const float* init,
                                 const float* seed_values, const float* reach_init, const PropagateOptions& o,
                                 const RunHooks& hooks, const PropagateOutput& out, PropagateWorkspace& workspace) {
  if (n_classes < 1) fail("n_classes must be >= 1");
  if (o.n_iter < 0) fail("n_iter must be >= 0");
  const bool clamp = o.alpha < 0.0;
  if (!clamp && !(o.alpha > 0.0 && o.alpha < 1.0)) fail("alpha must be in (0, 1)");
  const int64_t n = g.n, c = n_classes, width = detail::padded_width(c);
  const int threads = resolve_threads(o.n_threads);
  const Sweep sweep = select_sweep();

  // Y(0) in buffer 0: init (or zero), padding lanes zero, labeled rows one-hot (seeded rows their
  // seed values) in clamp mode and when no init is given. In clamp mode buffer 1 holds the clamped
  // rows too, and sweeps never write them; its other rows are written by the first sweep before
  // anything reads them. The alpha form reads the seeded rows' y0 from `seeds` (operator order).
  // The reach column likewise in its own pair of buffers: 1 on labeled and seeded rows.
  bool any_seeded = false;
  for (int64_t i = 0; i < n && !any_seeded; ++i) any_seeded = caller_labels[i] == detail::kSeededRow;
  if (any_seeded && !seed_values) fail("rows labeled kSeededRow (-2) need seed values");
  workspace.reserve(n * width);
  if (o.reach) workspace.reserve_reach(n);
  float* buffers[2] = {workspace.buffer(0), workspace.buffer(1)};
  float* reach[2] = {o.reach ? workspace.reach(0) : nullptr, o.reach ? workspace.reach(1) : nullptr};
  std::vector<int32_t> permuted_labels(order ? static_cast<size_t>(n) : 0);
  std::vector<float> seeds(any_seeded && !clamp ? static_cast<size_t>(n * width) : 0);
  const int32_t* labels = order ? permuted_labels.data() : caller_labels;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t src_row = order ? order[i] : i;
    if (order) permuted_labels[i] = caller_labels[src_row];
    float* y = buffers[0] + i * width;
    std::fill(y, y + width, 0.0f);
    if (init) std::copy(init + src_row * c, init + (src_row + 1) * c, y);
    const bool seeded = labels[i] == detail::kSeededRow;
    if (seeded && !clamp)
      std::copy(seed_values + src_row * c, seed_values + (src_row + 1) * c, seeds.data() + i * width);
    if ((labels[i] >= 0 || seeded) && (clamp || !init)) {
      std::fill(y, y + c, 0.0f);
      if (seeded) std::copy(seed_values + src_row * c, seed_values + (src_row + 1) * c, y);
      else y[labels[i]] = 1.0f;
      if (clamp) std::copy(y, y + width, buffers[1] + i * width);
    }
    if (o.reach) {
      const bool known = labels[i] != -1;
      reach[0][i] = known && (clamp || !reach_init) ? 1.0f : (reach_init ? reach_init[src_row] : 0.0f);
      if (clamp && known) reach[1][i] = 1.0f;
    }
  }

  detail::SweepArgs args{g.indptr, g.indices, values, labels, width, clamp, float(o.alpha),
                         float(1.0 - o.alpha), o.tol > 0.0};
  args.seeds = seeds.empty() ? nullptr : seeds.data();
  const std::vector<int64_t> starts = balanced_row_starts(g, threads);
  // Ctrl-C / progress checks from the calling thread every ~4M multiply-adds.
  const int64_t work = std::max<int64_t>(1, (g.indptr[n] + n) * width);
  const int64_t check_every = std::max<int64_t>(1, (int64_t(1) << 22) / work);

  // Per-iteration slots, double-buffered by parity: a thread may write slot t+1 only after the
  // barrier of t+1, by which time everyone has read slot t.
  std::vector<float> change(2 * threads, 0.0f);
  int stop[2] = {0, 0};
  std::exception_ptr error;
  int64_t iterations = 0;
  bool converged = false;
  int final_buffer = 0;

  // Chebyshev semi-iteration (Golub & Varga 1961) for Y = alpha S Y + (1 - alpha) Y0 when S's
  // eigenvalues are real in [-1, 1] (a symmetric W): the error falls per sweep by about
  // (1 - sqrt(1 - alpha^2)) / alpha (0.63 at alpha 0.9) instead of alpha.
  const bool chebyshev = o.chebyshev && !clamp;
  const double rho2 = o.alpha * o.alpha;

#pragma omp parallel num_threads(threads)
  {
    detail::DenormalsAreZero daz;
    const int tid = omp_get_thread_num(), team = omp_get_num_threads();
    // A smaller team than asked (OMP_THREAD_LIMIT, nesting) takes over the missing ranges.
    int b = 0;
    double omega = 1.0;  // every thread runs the same recurrence: omega_1 = 1, then 1 / (1 - rho^2 omega / 4)
    for (int64_t t = 0; t < o.n_iter; ++t) {
      if (chebyshev && t > 0) omega = t == 1 ? 1.0 / (1.0 - rho2 / 2.0) : 1.0 / (1.0 - rho2 * omega / 4.0);
      detail::SweepArgs step = args;
      step.omega = float(omega);
      step.reach_src = reach[b];
      step.reach_dst = reach[1 - b];
      const float* src = buffers[b];
      float* dst = buffers[1 - b];
      float local = 0.0f;
      for (int part = tid; part < threads; part += team)
        local = std::max(local, sweep.fn(step, src, dst, starts[part], starts[part + 1]));
      const int slot = int(t & 1);
      change[slot * threads + tid] = local;
#pragma omp master
      {
        int want_stop = 0;
        if ((t + 1) % check_every == 0 || t + 1 == o.n_iter) {
          try {
            hooks.checkpoint(double(t + 1) / double(o.n_iter));
          } catch (...) {
            error = std::current_exception();
            want_stop = 1;
          }
        }
        stop[slot] = want_stop;
      }
#pragma omp barrier
      b = 1 - b;
      float largest = 0.0f;
      for (int k = 0; k < team; ++k) largest = std::max(largest, change[slot * threads + k]);
      const bool done = args.track_change && largest <= float(o.tol);
      if (stop[slot] || done || t + 1 == o.n_iter) {
#pragma omp master
        {
          iterations = t + 1;
          converged = done;
          final_buffer = b;
        }
        break;
      }
    }
  }
  if (error) std::rethrow_exception(error);

  // Scores back in the caller's order, with the argmax and the unreached flag in the same pass
  // (none without `out`: the caller reads the final buffer itself).
  const float* y = buffers[final_buffer];
  const float* y_reach = reach[final_buffer];
  int nonfinite = 0;
  if (out.soft) {
#pragma omp parallel for num_threads(threads) schedule(static) reduction(| : nonfinite)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t dst = order ? order[i] : i;
      nonfinite |= !write_result_row(y + i * width, c, dst, out);
      if (out.reach && y_reach) {
        out.reach[dst] = y_reach[i];
        nonfinite |= !std::isfinite(y_reach[i]);
      }
    }
  }
  return PropagateStats{iterations, converged, nonfinite == 0, sweep.name, final_buffer};
}

}  // namespace labelgraph
