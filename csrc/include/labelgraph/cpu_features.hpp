// Runtime CPU feature detection and the process-wide SIMD level the kernels dispatch on.
#pragma once

#include <string>

namespace labelgraph {

// Ordered: a level implies every level below it.
enum class SimdLevel : int { scalar = 0, avx2 = 1, avx512 = 2, avx512_vnni = 3 };

// Highest level this CPU and operating system support (CPUID and XGETBV, so a hypervisor or OS
// that does not save the ZMM registers reports no AVX-512 even when the silicon has it).
SimdLevel detected_simd_level();

// Level the kernels use: the detected one, capped by the LABELGRAPH_SIMD environment variable
// (read once; level names in any case) or by set_simd_level(). Throws std::invalid_argument while
// LABELGRAPH_SIMD holds an unknown name (until set_simd_level() sets a level): every kernel call
// then raises an error naming the valid values; import and build_info() still work.
SimdLevel active_simd_level();

// LABELGRAPH_SIMD as read at the first use ("" when unset), and the error active_simd_level()
// raises because of it ("" when none).
std::string simd_env_value();
std::string simd_env_error();

// Caps the active level (tests use it to run every compiled path). Throws std::invalid_argument
// for a level above the detected one.
void set_simd_level(SimdLevel level);

const char* simd_level_name(SimdLevel level);
SimdLevel parse_simd_level(const std::string& name);  // any case; throws std::invalid_argument

}  // namespace labelgraph
