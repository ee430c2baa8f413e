// Incremental alpha-form update after new labels by residual pushes (Gauss-Southwell, FIFO order).
//
// The alpha form's fixed point solves y = alpha S y + b, linear in the labels' targets b. A batch
// of labels changes b on a few rows; the residual r = alpha S y + b - y is then nonzero there
// only. Pushing a row (y_u += r_u, and r_v += alpha S_vu r_u for every row v that reads u) keeps
// that invariant exactly, so rows are pushed only while their own residual exceeds tol x their
// largest score: a row next to a small change is not recomputed, it accumulates the change until
// it matters. Residuals below the threshold are kept for later batches, never dropped.
//
// Parallel and deterministic: rows are cut into kBlocks fixed ranges. Within a round each block
// drains its own queue alone (any thread may run it); pushes into another block's rows are sent
// as messages and applied after the round, in block order. Nothing depends on thread timing or
// count, so every run gives the same answer.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#if defined(LABELGRAPH_X86)
#include <emmintrin.h>
#endif

#include "labelgraph/propagate.hpp"
#include "spmm_internal.hpp"

namespace labelgraph {
namespace {

// Fixed, so the answer does not depend on the thread count. More blocks spread the work over more
// threads but send more pushes across; the choice is measured in benchmarks/propagation_RESULTS.md
// ("Push blocks").
constexpr int kBlocks = 4;

// Pushes per block and round: a round ends at most every block_rows / 16 pushes (and 4096), so a
// change that spreads over the whole graph is seen after a few rounds and handed over to full
// sweeps, rather than after one round that pushes every row many times.
constexpr int64_t kRoundsPerBlockRows = 16, kMinRoundPushes = 4096;

// dst += w * src over `width` floats (a multiple of 4); returns max |dst| over all but the last
// `skip_last` floats. SSE2 is the x86-64 baseline, so this file needs no per-ISA build.
inline float add_scaled(float* dst, const float* src, float w, int64_t width, int skip_last = 0) {
#if defined(LABELGRAPH_X86)
  const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)), wv = _mm_set1_ps(w);
  // The last vector's lanes past width - skip_last are left out of the maximum.
  auto kept = [&](int lane) { return lane < 4 - skip_last ? 0x7fffffff : 0; };
  const __m128 last_mask = _mm_castsi128_ps(_mm_setr_epi32(kept(0), kept(1), kept(2), kept(3)));
  __m128 m = _mm_setzero_ps();
  for (int64_t c = 0; c < width; c += 4) {
    const __m128 v = _mm_add_ps(_mm_loadu_ps(dst + c), _mm_mul_ps(wv, _mm_loadu_ps(src + c)));
    _mm_storeu_ps(dst + c, v);
    m = _mm_max_ps(m, _mm_and_ps(c + 4 < width ? abs_mask : last_mask, v));
  }
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
#else
  float m = 0.0f;
  for (int64_t c = 0; c < width; ++c) {
    dst[c] += w * src[c];
    if (c < width - skip_last) m = std::max(m, std::fabs(dst[c]));
  }
  return m;
#endif
}

inline void prefetch(const void* p) {
#if defined(LABELGRAPH_X86)
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
#else
  (void)p;
#endif
}

// One block of rows (block_rows_ consecutive rows): its queue of rows to push, and what it sends
// to the other blocks.
struct Block {
  std::vector<int64_t> queue;
  std::vector<int64_t> touched;  // rows it pushed, each once
  std::array<std::vector<int64_t>, kBlocks> sent_rows;
  std::array<std::vector<float>, kBlocks> sent_values;  // a residual row's floats per sent row
  std::vector<float> pushed;  // the residual row being pushed (its scale lane zeroed)
  int64_t pushes = 0;
};

class PushRun {
 public:
  PushRun(const CsrView& dependants, const float* weights, int64_t width, float alpha, float tol, float* y,
          PushState& state)
      : g_(dependants), weights_(weights), width_(width), stride_(state.stride), alpha_(alpha), tol_(tol), y_(y),
        s_(state) {
    block_rows_ = std::max<int64_t>((g_.n + kBlocks - 1) / kBlocks, 1);
    round_pushes_ = std::max<int64_t>(block_rows_ / kRoundsPerBlockRows, kMinRoundPushes);
    for (Block& b : blocks_) b.pushed.resize(static_cast<size_t>(stride_));
  }

  int owner(int64_t row) const { return int(row / block_rows_); }

  // Adds w * src to the residual of `row`, in `block`, and queues the row if it passes the threshold.
  void add_residual(Block& block, int64_t row, const float* src, float w) {
    float* r = s_.residual.data() + row * stride_;
    const float largest = add_scaled(r, src, w, stride_, 1);
    if (!(s_.flags[row] & kQueued) && largest > tol_ * r[stride_ - 1]) {
      s_.flags[row] |= kQueued;
      block.queue.push_back(row);
    }
  }

  void add_target(int64_t row, int label, float amount) {
    std::vector<float> change(static_cast<size_t>(stride_), 0.0f);
    change[label] = amount;
    add_residual(blocks_[owner(row)], row, change.data(), 1.0f);
  }

  // Pushes the block's queue (the rows it queues for itself included) until it is empty or the
  // round's quota is spent.
  void drain(Block& block) {
    detail::DenormalsAreZero daz;
    float* residual = s_.residual.data();
    std::vector<int64_t>& queue = block.queue;
    size_t head = 0;
    for (; head < queue.size() && int64_t(head) < round_pushes_; ++head) {
      // The rows ahead are known: fetch their nonzeros, then the residual rows they will add to.
      if (head + 8 < queue.size()) prefetch(g_.indptr + queue[head + 8]);
      if (head + 4 < queue.size()) {
        const int64_t p0 = g_.indptr[queue[head + 4]];
        prefetch(g_.indices + p0);
        prefetch(weights_ + p0);
      }
      if (head + 2 < queue.size()) {
        const int64_t next = queue[head + 2];
        prefetch(y_ + next * width_);
        prefetch(residual + next * stride_);
        for (int64_t p = g_.indptr[next]; p < g_.indptr[next + 1]; ++p) {
          const int64_t v = g_.indices[p];
          prefetch(residual + v * stride_);
          prefetch(s_.flags.data() + v);
        }
      }
      const int64_t u = queue[head];
      s_.flags[u] &= uint8_t(~kQueued);
      if (!(s_.flags[u] & kTouched)) {
        s_.flags[u] |= kTouched;
        block.touched.push_back(u);
      }
      // Taken out first: a self-loop (u among its own dependants) adds to r_u while it is pushed.
      float* r = block.pushed.data();
      float* own = residual + u * stride_;
      std::copy(own, own + stride_ - 1, r);  // the scale lane stays 0 in r: adding r keeps scales
      std::fill(own, own + stride_ - 1, 0.0f);
      own[stride_ - 1] = add_scaled(y_ + u * width_, r, 1.0f, width_);
      for (int64_t p = g_.indptr[u]; p < g_.indptr[u + 1]; ++p) {
        const int64_t v = g_.indices[p];
        const float w = alpha_ * weights_[p];
        const int to = owner(v);
        if (&blocks_[to] == &block) {
          add_residual(block, v, r, w);
        } else {
          block.sent_rows[to].push_back(v);
          std::vector<float>& values = block.sent_values[to];
          values.resize(values.size() + stride_);
          float* m = values.data() + values.size() - stride_;
          for (int64_t c = 0; c < stride_; ++c) m[c] = w * r[c];
        }
      }
      ++block.pushes;
    }
    queue.erase(queue.begin(), queue.begin() + std::ptrdiff_t(head));
  }

  // Applies what the other blocks sent this block, in block order (a fixed summation order).
  void deliver(Block& block) {
    detail::DenormalsAreZero daz;
    const int me = int(&block - blocks_.data());
    for (auto& from : blocks_) {
      std::vector<int64_t>& rows = from.sent_rows[me];
      const float* values = from.sent_values[me].data();
      for (size_t k = 0; k < rows.size(); ++k) add_residual(block, rows[k], values + k * stride_, 1.0f);
      rows.clear();
      from.sent_values[me].clear();
    }
  }

  PushUpdateStats run(const PushLimits& limits, int threads, std::vector<int64_t>& touched) {
    PushUpdateStats stats;
    auto pending = [&] {
      for (const Block& b : blocks_)
        if (!b.queue.empty()) return true;
      return false;
    };
    int64_t changed = 0;
    auto spread = [&] { return changed > limits.changed_rows && stats.pushes >= limits.pushes_before_spread; };
    while (pending() && stats.rounds < limits.rounds && !spread() && stats.pushes < limits.pushes) {
      ++stats.rounds;
      // Queues and messages grow inside the regions: an allocation failure is rethrown after them
      // (y and the residuals are then inconsistent: the caller drops its state).
      ParallelErrors errors;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (int b = 0; b < kBlocks; ++b) errors.run([&] { drain(blocks_[b]); });
      errors.rethrow();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (int b = 0; b < kBlocks; ++b) errors.run([&] { deliver(blocks_[b]); });
      errors.rethrow();

      stats.pushes = changed = 0;
      for (const Block& b : blocks_) {
        stats.pushes += b.pushes;
        changed += int64_t(b.touched.size());
      }
    }
    stats.finished = !pending();
    // Rows still queued keep their residual for the next batch (or the sweeps that follow, which
    // start from them).
    for (Block& b : blocks_) {
      for (int64_t row : b.queue) s_.flags[row] &= uint8_t(~kQueued);
      stats.pending.insert(stats.pending.end(), b.queue.begin(), b.queue.end());
    }
    std::sort(stats.pending.begin(), stats.pending.end());
    // Blocks are ascending ranges: sorted per block, concatenated in order, the rows ascend.
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int b = 0; b < kBlocks; ++b) std::sort(blocks_[b].touched.begin(), blocks_[b].touched.end());
    touched.clear();
    for (const Block& b : blocks_) {
      for (int64_t row : b.touched) s_.flags[row] &= uint8_t(~kTouched);
      touched.insert(touched.end(), b.touched.begin(), b.touched.end());
    }
    return stats;
  }

 private:
  static constexpr uint8_t kQueued = 1, kTouched = 2;
  const CsrView& g_;
  const float* weights_;
  int64_t width_, stride_, block_rows_ = 1, round_pushes_ = 1;
  float alpha_, tol_;
  float* y_;
  PushState& s_;
  std::array<Block, kBlocks> blocks_;
};

}  // namespace

void PushState::start(const float* y, int64_t n, int64_t n_classes, int64_t width, int n_threads) {
  stride = detail::padded_width(n_classes + 1);
  residual.assign(static_cast<size_t>(n * stride), 0.0f);
  flags.assign(static_cast<size_t>(n), 0);
#pragma omp parallel for num_threads(resolve_threads(n_threads)) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    float m = 0.0f;
    for (int64_t c = 0; c < width; ++c) m = std::max(m, std::fabs(y[i * width + c]));
    residual[size_t(i * stride + stride - 1)] = m;
  }
  ready = true;
}

void PushState::restart_rows(const float* y, const std::vector<int64_t>& rows, int64_t width) {
  for (int64_t i : rows) {
    float* r = residual.data() + i * stride;
    std::fill(r, r + stride - 1, 0.0f);
    float m = 0.0f;
    for (int64_t c = 0; c < width; ++c) m = std::max(m, std::fabs(y[i * width + c]));
    r[stride - 1] = m;
  }
}

PushUpdateStats propagate_push_cpu(const CsrView& dependants, const float* dependant_weights,
                                   const std::vector<int64_t>& seeds, const std::vector<int32_t>& seed_labels,
                                   const std::vector<int32_t>& previous_labels, int64_t n_classes, int64_t width,
                                   double alpha, double tol, const PushLimits& limits, float* y, PushState& state,
                                   std::vector<int64_t>& touched, int n_threads) {
  if (!state.ready) state.start(y, dependants.n, n_classes, width, n_threads);
  PushRun run(dependants, dependant_weights, width, float(alpha), float(tol), y, state);
  // A label moves its row's target from (1 - alpha) e_previous (or 0: no label before) to
  // (1 - alpha) e_new (or 0: the label was removed); the pushes spread the negative part as well.
  const float target = float(1.0 - alpha);
  for (size_t q = 0; q < seeds.size(); ++q) {
    if (previous_labels[q] >= 0) run.add_target(seeds[q], previous_labels[q], -target);
    if (seed_labels[q] >= 0) run.add_target(seeds[q], seed_labels[q], target);
  }
  return run.run(limits, resolve_threads(n_threads), touched);
}

}  // namespace labelgraph
