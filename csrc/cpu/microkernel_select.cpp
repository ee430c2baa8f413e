// Picks the int16 microkernel for the active SIMD level, after a self-test against the scalar one.
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

// Runs `kernel` and the scalar kernel (in 4 x 8 pieces) on the same random panels; true if every
// product and the threshold flag agree. Guards the kernels no development machine can run.
bool agrees_with_scalar(const MicroKernel& kernel) {
  constexpr int64_t kStride = 48, kSteps = 19;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> value(-3000, 3000);
  std::vector<int32_t> a(kStride * kSteps), b(kStride * kSteps);
  for (auto* buf : {&a, &b})
    for (auto& w : *buf) w = int32_t(uint32_t(uint16_t(int16_t(value(rng)))) | (uint32_t(uint16_t(int16_t(value(rng)))) << 16));

  std::vector<int32_t> want(kMaxMR * kMaxNR), got(kMaxMR * kMaxNR), piece(4 * 8);
  std::vector<int32_t> open_row(kMaxMR, INT32_MAX), open_col(kMaxNR, INT32_MAX);
  for (int r0 = 0; r0 < kernel.mr; r0 += 4)
    for (int c0 = 0; c0 < kernel.nr; c0 += 8) {
      microkernel_scalar(a.data() + r0, b.data() + c0, kSteps, kStride, open_row.data(), open_col.data(), piece.data());
      for (int r = 0; r < 4 && r0 + r < kernel.mr; ++r)
        for (int c = 0; c < 8 && c0 + c < kernel.nr; ++c) want[(r0 + r) * kernel.nr + c0 + c] = piece[r * 8 + c];
    }
  if (kernel.fn(a.data(), b.data(), kSteps, kStride, open_row.data(), open_col.data(), got.data())) return false;
  for (int i = 0; i < kernel.mr * kernel.nr; ++i)
    if (got[i] != want[i]) return false;
  // The flag: nothing is strictly above a threshold equal to the maximum, something is above max - 1.
  auto flag = [&](const std::vector<int32_t>& gt_row, const std::vector<int32_t>& gt_col) {
    return kernel.fn(a.data(), b.data(), kSteps, kStride, gt_row.data(), gt_col.data(), got.data());
  };
  int32_t col_max = INT32_MIN, row_max = INT32_MIN;
  for (int r = 0; r < kernel.mr; ++r) col_max = std::max(col_max, want[r * kernel.nr + kernel.nr - 1]);
  for (int c = 0; c < kernel.nr; ++c) row_max = std::max(row_max, want[(kernel.mr - 1) * kernel.nr + c]);
  std::vector<int32_t> gt_row(kMaxMR, INT32_MAX), gt_col(kMaxNR, INT32_MAX);
  gt_col[kernel.nr - 1] = col_max;
  if (flag(gt_row, gt_col)) return false;
  gt_col[kernel.nr - 1] = col_max - 1;
  if (!flag(gt_row, gt_col)) return false;
  gt_col[kernel.nr - 1] = INT32_MAX;
  gt_row[kernel.mr - 1] = row_max;
  if (flag(gt_row, gt_col)) return false;
  gt_row[kernel.mr - 1] = row_max - 1;
  return flag(gt_row, gt_col);
}

const MicroKernel* checked(const MicroKernel& kernel) {
  return agrees_with_scalar(kernel) ? &kernel : nullptr;
}

}  // namespace

const MicroKernel& select_microkernel() {
#if defined(LABELGRAPH_X86)
  static std::once_flag once;
  static const MicroKernel *avx2 = nullptr, *avx512 = nullptr, *vnni = nullptr;
  std::call_once(once, [] {
    const SimdLevel cpu = detected_simd_level();
    if (cpu >= SimdLevel::avx2) avx2 = checked(kAvx2Kernel);
    if (cpu >= SimdLevel::avx512) avx512 = checked(kAvx512Kernel);
    if (cpu >= SimdLevel::avx512_vnni) vnni = checked(kAvx512VnniKernel);
  });
  const SimdLevel level = active_simd_level();
  if (level >= SimdLevel::avx512_vnni && vnni) return *vnni;
  if (level >= SimdLevel::avx512 && avx512) return *avx512;
  if (level >= SimdLevel::avx2 && avx2) return *avx2;
#endif
  return kScalarKernel;
}

}  // namespace labelgraph::detail

namespace labelgraph {
std::string knn_kernel_name() { return detail::select_microkernel().name; }
}  // namespace labelgraph
