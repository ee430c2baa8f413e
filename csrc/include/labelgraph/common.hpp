// Shared pieces of the C++ core: run hooks (cancellation, progress), thread count, error helpers.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>

namespace labelgraph {

// Thrown by a kernel when RunHooks::should_stop asked it to stop; the bindings turn it back into
// the pending Python exception (KeyboardInterrupt for Ctrl-C).
class Cancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "labelgraph: call cancelled"; }
};

// Callbacks a long-running kernel calls from the calling thread, between tiles, never from an
// OpenMP worker. Both may be empty.
struct RunHooks {
  std::function<bool()> should_stop;     // true when the caller wants the kernel to stop
  std::function<void(double)> progress;  // fraction of the work done, in [0, 1]

  // Reports progress and throws Cancelled if the caller asked to stop.
  void checkpoint(double fraction) const {
    if (should_stop && should_stop()) throw Cancelled();
    if (progress) progress(fraction);
  }

  // Hooks for one stage of a call that covers [lo, hi] of the whole: the stage reports its own
  // fraction in [0, 1] and the caller sees one monotone progress for all stages.
  RunHooks stage(double lo, double hi) const {
    RunHooks out;
    out.should_stop = should_stop;
    if (progress) out.progress = [p = progress, lo, hi](double f) { p(lo + (hi - lo) * f); };
    return out;
  }
};

// Number of OpenMP threads a kernel uses: `requested` if positive, else the OpenMP default.
int resolve_threads(int requested);

// An exception escaping an OpenMP region terminates the process, so a region whose body may
// throw (an allocation: std::bad_alloc) runs it through run(), which keeps one exception;
// rethrow() raises it after the region, on the calling thread.
class ParallelErrors {
 public:
  template <class Fn>
  void run(Fn&& body) noexcept {
    try {
      body();
    } catch (...) {
      keep(std::current_exception());
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr error) noexcept {
#pragma omp critical(labelgraph_parallel_errors)
    {
      if (!error_) error_ = error;
    }
  }
  std::exception_ptr error_;
};

[[noreturn]] inline void fail(const std::string& message) { throw std::invalid_argument(message); }

}  // namespace labelgraph
