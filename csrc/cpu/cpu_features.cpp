// CPUID/XGETBV detection of AVX2+FMA and AVX-512 (BW, VL, DQ, VNNI) with OS support checked.
#include "labelgraph/cpu_features.hpp"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "labelgraph/common.hpp"

#if defined(LABELGRAPH_X86)
#include <cpuid.h>
#endif

namespace labelgraph {
namespace {

#if defined(LABELGRAPH_X86)
unsigned long long read_xcr0() {
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

SimdLevel detect() {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return SimdLevel::scalar;
  const bool osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1;
  if (!osxsave || !avx || !fma) return SimdLevel::scalar;
  const unsigned long long xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return SimdLevel::scalar;  // XMM and YMM state saved by the OS
  if (__get_cpuid_max(0, nullptr) < 7) return SimdLevel::scalar;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = (ebx >> 5) & 1;
  if (!avx2) return SimdLevel::scalar;
  const bool avx512f = (ebx >> 16) & 1, avx512dq = (ebx >> 17) & 1, avx512bw = (ebx >> 30) & 1,
             avx512vl = (ebx >> 31) & 1, vnni = (ecx >> 11) & 1;
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;  // opmask, ZMM_Hi256 and Hi16_ZMM saved
  if (!(avx512f && avx512dq && avx512bw && avx512vl && zmm_state)) return SimdLevel::avx2;
  return vnni ? SimdLevel::avx512_vnni : SimdLevel::avx512;
}
#else
SimdLevel detect() { return SimdLevel::scalar; }
#endif

SimdLevel level_from_env(SimdLevel detected) {
  const char* env = std::getenv("LABELGRAPH_SIMD");
  if (env == nullptr || *env == '\0') return detected;
  try {
    const SimdLevel wanted = parse_simd_level(env);
    return wanted < detected ? wanted : detected;
  } catch (const std::invalid_argument&) {
    return detected;  // an unknown value must not break import; build_info() shows the level used
  }
}

std::atomic<int>& active_level_storage() {
  static std::atomic<int> level{static_cast<int>(level_from_env(detected_simd_level()))};
  return level;
}

}  // namespace

SimdLevel detected_simd_level() {
  static const SimdLevel level = detect();
  return level;
}

SimdLevel active_simd_level() { return static_cast<SimdLevel>(active_level_storage().load()); }

void set_simd_level(SimdLevel level) {
  if (level > detected_simd_level()) {
    fail(std::string("simd level '") + simd_level_name(level) + "' is not supported by this CPU (it has '" +
         simd_level_name(detected_simd_level()) + "')");
  }
  active_level_storage().store(static_cast<int>(level));
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
    case SimdLevel::avx512_vnni: return "avx512_vnni";
  }
  return "unknown";
}

SimdLevel parse_simd_level(const std::string& name) {
  if (name == "scalar") return SimdLevel::scalar;
  if (name == "avx2") return SimdLevel::avx2;
  if (name == "avx512") return SimdLevel::avx512;
  if (name == "avx512_vnni") return SimdLevel::avx512_vnni;
  fail("unknown simd level '" + name + "'; use one of scalar, avx2, avx512, avx512_vnni");
}

int resolve_threads(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

}  // namespace labelgraph
