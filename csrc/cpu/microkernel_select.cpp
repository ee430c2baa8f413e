// Picks the microkernels for the active SIMD level (int16, and the int8 filter where the level has
// one), each after a self-test against the scalar oracle.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "knn_internal.hpp"
#include "labelgraph/common.hpp"
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

// The int8 kernel against the scalar int8 kernel (run tile by tile of its 4 x 8 shape) on random
// quads over the whole uint8 x int8 range (offset sums that wrap included), with thresholds that
// pass about half; and its dot16 against the scalar one on lengths around its vector width.
bool agrees_with_scalar(const MicroKernel8& kernel) {
  constexpr int64_t kSteps = 23;
  std::mt19937 rng(54321);
  std::uniform_int_distribution<uint32_t> word;
  std::vector<int32_t> a(kernel.mr * kSteps), b(kernel.nr * kSteps), corr(kMaxNR);
  for (auto* buf : {&a, &b, &corr})
    for (auto& w : *buf) w = int32_t(word(rng));
  std::vector<int32_t> gt_row(kMaxMR), gt_col(kMaxNR);
  for (auto& g : gt_row) g = int32_t(word(rng) % 200001) - 100000;
  for (auto& g : gt_col) g = int32_t(word(rng) % 200001) - 100000;
  std::vector<int32_t> got(kMaxMR * kMaxNR);
  std::vector<uint32_t> pass(kMaxMR);
  kernel.fn(a.data(), b.data(), kSteps, corr.data(), gt_row.data(), gt_col.data(), got.data(), pass.data());
  constexpr int MR = kScalarKernel8.mr, NR = kScalarKernel8.nr;
  std::vector<int32_t> sa(MR * kSteps), sb(NR * kSteps), want(MR * NR);
  std::vector<uint32_t> spass(MR);
  for (int r0 = 0; r0 < kernel.mr; r0 += MR)
    for (int c0 = 0; c0 < kernel.nr; c0 += NR) {
      for (int64_t t = 0; t < kSteps; ++t) {
        for (int r = 0; r < MR; ++r) sa[t * MR + r] = a[t * kernel.mr + r0 + r];
        for (int c = 0; c < NR; ++c) sb[t * NR + c] = b[t * kernel.nr + c0 + c];
      }
      kScalarKernel8.fn(sa.data(), sb.data(), kSteps, corr.data() + c0, gt_row.data() + r0, gt_col.data() + c0,
                        want.data(), spass.data());
      for (int r = 0; r < MR; ++r)
        for (int c = 0; c < NR; ++c) {
          if (got[(r0 + r) * kernel.nr + c0 + c] != want[r * NR + c]) return false;
          if (((pass[r0 + r] >> (c0 + c)) & 1u) != ((spass[r] >> c) & 1u)) return false;
        }
    }
  std::uniform_int_distribution<int> value(-3000, 3000);  // 67 words of pairs stay within int32
  std::vector<int32_t> x(67), y(67);
  for (auto* buf : {&x, &y})
    for (auto& w : *buf) w = int32_t(uint32_t(uint16_t(int16_t(value(rng)))) | (uint32_t(uint16_t(int16_t(value(rng)))) << 16));
  for (int64_t d2 : {1, 15, 16, 17, 33, 67})
    if (kernel.dot16(x.data(), y.data(), d2) != dot16_scalar(x.data(), y.data(), d2)) return false;
  return true;
}

}  // namespace

KnnKernels select_kernels(const KnnOptions& options, int64_t rows, int64_t d) {
  const SimdLevel level = active_simd_level();
  KnnKernels out = select_kernels_for(level, d);
  if (options.int8_filter == 1) {
    if (out.k8 == nullptr)
      fail(std::string("int8_filter=True needs an int8 kernel: the avx512_vnni or scalar SIMD level (active: ") +
           simd_level_name(level) + ") and at most 65536 columns; pass int8_filter=None");
    return out;
  }
  const bool pays = options.int8_filter == -1 && level >= SimdLevel::avx512_vnni && rows >= kInt8FilterMinRows &&
                    d >= kInt8FilterMinColumns;
  if (!pays) out.k8 = nullptr;
  return out;
}

KnnKernels select_kernels_for(SimdLevel level, int64_t d) {
  KnnKernels out{&select_microkernel_for(level), nullptr};
  if (d > kMaxInt8Columns) return out;
  if (out.k16 == &kScalarKernel) {  // the oracle itself: the int8 path on any CPU, for tests
    out.k8 = &kScalarKernel8;
    return out;
  }
#if defined(LABELGRAPH_X86)
  static std::once_flag once;
  static const MicroKernel8* vnni8 = nullptr;
  std::call_once(once, [] {
    if (detected_simd_level() >= SimdLevel::avx512_vnni && agrees_with_scalar(kAvx512VnniKernel8))
      vnni8 = &kAvx512VnniKernel8;
  });
  // The int8 kernel shares the int16 one's panel shape, so the level's int16 kernel must be the VNNI one.
  if (level >= SimdLevel::avx512_vnni && vnni8 && out.k16 == &kAvx512VnniKernel) out.k8 = vnni8;
#endif
  return out;
}

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
std::string knn_int8_filter_name() {
  const SimdLevel level = active_simd_level();
  const detail::KnnKernels k = detail::select_kernels_for(level, 1);
  return k.k8 && level >= SimdLevel::avx512_vnni ? k.k8->name : "";
}
}  // namespace labelgraph
