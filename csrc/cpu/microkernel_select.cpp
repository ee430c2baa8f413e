// Picks the int16 microkernel for the active SIMD level, after a self-test against a plain loop.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

#include "knn_internal.hpp"
#include "labelgraph/cpu_features.hpp"
#include "labelgraph/knn.hpp"

namespace labelgraph::detail {
namespace {

int32_t low16(int32_t w) { return static_cast<int16_t>(static_cast<uint16_t>(uint32_t(w) & 0xffffu)); }
int32_t high16(int32_t w) { return static_cast<int16_t>(static_cast<uint16_t>(uint32_t(w) >> 16)); }

// Runs `kernel` on random panels and checks every product against a plain loop, then checks
// the threshold flag. Guards the kernels a test machine may not run.
bool agrees_with_loop(const MicroKernel& kernel) {
  constexpr int64_t kSteps = 19;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> value(-3000, 3000);
  std::vector<int32_t> a(kernel.mr * kSteps), b(kernel.nr * kSteps);
  for (auto* buf : {&a, &b})
    for (auto& w : *buf) w = int32_t(uint32_t(uint16_t(int16_t(value(rng)))) | (uint32_t(uint16_t(int16_t(value(rng)))) << 16));

  std::vector<int32_t> want(kMaxMR * kMaxNR, 0), got(kMaxMR * kMaxNR);
  std::vector<uint32_t> pass(kMaxMR);
  for (int r = 0; r < kernel.mr; ++r)
    for (int c = 0; c < kernel.nr; ++c)
      for (int64_t t = 0; t < kSteps; ++t) {
        const int32_t x = a[t * kernel.mr + r], y = b[t * kernel.nr + c];
        want[r * kernel.nr + c] += low16(x) * low16(y) + high16(x) * high16(y);
      }
  std::vector<int32_t> open_row(kMaxMR, INT32_MAX), open_col(kMaxNR, INT32_MAX);
  if (kernel.fn(a.data(), b.data(), kSteps, open_row.data(), open_col.data(), got.data(), pass.data())) return false;
  for (int i = 0; i < kernel.mr * kernel.nr; ++i)
    if (got[i] != want[i]) return false;
  // Pass bits must equal (C > gt_row or C > gt_col) everywhere, and the result whether any is set.
  auto flags_right = [&](const std::vector<int32_t>& gt_row, const std::vector<int32_t>& gt_col, bool want_any) {
    const bool any = kernel.fn(a.data(), b.data(), kSteps, gt_row.data(), gt_col.data(), got.data(), pass.data());
    for (int r = 0; r < kernel.mr; ++r)
      for (int c = 0; c < kernel.nr; ++c) {
        const int32_t v = want[r * kernel.nr + c];
        if (bool((pass[r] >> c) & 1u) != (v > gt_row[r] || v > gt_col[c])) return false;
      }
    return any == want_any;
  };
  int32_t col_max = INT32_MIN, row_max = INT32_MIN;
  for (int r = 0; r < kernel.mr; ++r) col_max = std::max(col_max, want[r * kernel.nr + kernel.nr - 1]);
  for (int c = 0; c < kernel.nr; ++c) row_max = std::max(row_max, want[(kernel.mr - 1) * kernel.nr + c]);
  std::vector<int32_t> gt_row(kMaxMR, INT32_MAX), gt_col(kMaxNR, INT32_MAX);
  gt_col[kernel.nr - 1] = col_max;  // nothing strictly above the maximum
  if (!flags_right(gt_row, gt_col, false)) return false;
  gt_col[kernel.nr - 1] = col_max - 1;  // the maximum itself passes
  if (!flags_right(gt_row, gt_col, true)) return false;
  gt_col[kernel.nr - 1] = INT32_MAX;
  gt_row[kernel.mr - 1] = row_max;
  if (!flags_right(gt_row, gt_col, false)) return false;
  gt_row[kernel.mr - 1] = row_max - 1;
  if (!flags_right(gt_row, gt_col, true)) return false;
  std::fill(gt_row.begin(), gt_row.end(), 0);  // about half of everything passes
  std::fill(gt_col.begin(), gt_col.end(), 0);
  return flags_right(gt_row, gt_col, true);
}

const MicroKernel* checked(const MicroKernel& kernel) {
  return agrees_with_loop(kernel) ? &kernel : nullptr;
}

}  // namespace

const MicroKernel& select_microkernel() { return select_microkernel_for(active_simd_level()); }

const MicroKernel& select_microkernel_for(SimdLevel level) {
#if defined(LABELGRAPH_X86)
  static std::once_flag once;
  static const MicroKernel *avx2 = nullptr, *avx512 = nullptr, *vnni = nullptr;
  std::call_once(once, [] {
    const SimdLevel cpu = detected_simd_level();
    if (cpu >= SimdLevel::avx2) avx2 = checked(kAvx2Kernel);
    if (cpu >= SimdLevel::avx512) avx512 = checked(kAvx512Kernel);
    if (cpu >= SimdLevel::avx512_vnni) vnni = checked(kAvx512VnniKernel);
  });
  if (level >= SimdLevel::avx512_vnni && vnni) return *vnni;
  if (level >= SimdLevel::avx512 && avx512) return *avx512;
  if (level >= SimdLevel::avx2 && avx2) return *avx2;
#else
  (void)level;
#endif
  return kScalarKernel;
}

}  // namespace labelgraph::detail

namespace labelgraph {
std::string knn_kernel_name() { return detail::select_microkernel().name; }
std::string knn_kernel_name_for(SimdLevel level) { return detail::select_microkernel_for(level).name; }
}  // namespace labelgraph
