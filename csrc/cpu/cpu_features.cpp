// CPUID/XGETBV detection of AVX2+FMA and AVX-512 (BW, VL, DQ, VNNI) with OS support checked.
#include "labelgraph/cpu_features.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>

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

// The LABELGRAPH_SIMD cap, read once. An unknown value is not ignored: the level stays unset
// and every kernel call raises the error (build_info() reports it) until set_simd_level() sets one.
struct ActiveLevel {
  std::atomic<int> level{0};
  std::atomic<bool> env_invalid{false};
  std::string env_value;  // "" when unset
  std::string env_error;

  ActiveLevel() {
    const SimdLevel detected = detected_simd_level();
    const char* env = std::getenv("LABELGRAPH_SIMD");
    env_value = env ? env : "";
    SimdLevel wanted = detected;
    if (!env_value.empty()) {
      try {
        wanted = std::min(parse_simd_level(env_value), detected);  // capped: never above the CPU
      } catch (const std::invalid_argument&) {
        env_invalid = true;
        env_error = "LABELGRAPH_SIMD='" + env_value +
                    "' is not a SIMD level; set it to one of scalar, avx2, avx512, avx512_vnni (any case), "
                    "or unset it";
      }
    }
    level = static_cast<int>(wanted);
  }
};

ActiveLevel& active_level_storage() {
  static ActiveLevel level;
  return level;
}

}  // namespace

SimdLevel detected_simd_level() {
  static const SimdLevel level = detect();
  return level;
}

SimdLevel active_simd_level() {
  const ActiveLevel& a = active_level_storage();
  if (a.env_invalid.load()) fail(a.env_error);
  return static_cast<SimdLevel>(a.level.load());
}

std::string simd_env_value() { return active_level_storage().env_value; }

std::string simd_env_error() {
  const ActiveLevel& a = active_level_storage();
  return a.env_invalid.load() ? a.env_error : std::string();
}

void set_simd_level(SimdLevel level) {
  if (level > detected_simd_level()) {
    fail(std::string("simd level '") + simd_level_name(level) + "' is not supported by this CPU (it has '" +
         simd_level_name(detected_simd_level()) + "')");
  }
  ActiveLevel& a = active_level_storage();
  a.level.store(static_cast<int>(level));
  a.env_invalid.store(false);  // an explicit level replaces an unusable LABELGRAPH_SIMD
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
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  for (const SimdLevel level : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512, SimdLevel::avx512_vnni})
    if (lower == simd_level_name(level)) return level;
  fail("unknown simd level '" + name + "'; use one of scalar, avx2, avx512, avx512_vnni (any case)");
}

int resolve_threads(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

}  // namespace labelgraph
