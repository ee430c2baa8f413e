// AVX2 int16 microkernel (6 x 16): vpmaddwd + vpaddd, 12 accumulators, hand-allocated registers.
//
// Inline assembly because GCC spills this 16-register kernel (12 accumulators, 2 B vectors, the
// broadcast and the product) to the stack; the measurements are in benchmarks/knn_RESULTS.md.
#include <immintrin.h>

#include <cstdint>

#include "knn_internal.hpp"

namespace labelgraph::detail {

#define LG_ROW(r, acc0, acc1)                                \
  "vpbroadcastd " #r "*4(%[a]), %%ymm14\n\t"                 \
  "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"                   \
  "vpaddd %%ymm15, %%" acc0 ", %%" acc0 "\n\t"               \
  "vpmaddwd %%ymm13, %%ymm14, %%ymm15\n\t"                   \
  "vpaddd %%ymm15, %%" acc1 ", %%" acc1 "\n\t"

bool microkernel_avx2(const int32_t* a, const int32_t* b, int64_t k2, const int32_t* gt_row, const int32_t* gt_col,
                      int32_t* c, uint32_t* pass) {
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vpxor %%ymm1, %%ymm1, %%ymm1\n\t"
      "vpxor %%ymm2, %%ymm2, %%ymm2\n\t"
      "vpxor %%ymm3, %%ymm3, %%ymm3\n\t"
      "vpxor %%ymm4, %%ymm4, %%ymm4\n\t"
      "vpxor %%ymm5, %%ymm5, %%ymm5\n\t"
      "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
      "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
      "vpxor %%ymm8, %%ymm8, %%ymm8\n\t"
      "vpxor %%ymm9, %%ymm9, %%ymm9\n\t"
      "vpxor %%ymm10, %%ymm10, %%ymm10\n\t"
      "vpxor %%ymm11, %%ymm11, %%ymm11\n\t"
      "1:\n\t"
      "vmovdqu (%[b]), %%ymm12\n\t"
      "vmovdqu 32(%[b]), %%ymm13\n\t"
      LG_ROW(0, "ymm0", "ymm1")
      LG_ROW(1, "ymm2", "ymm3")
      LG_ROW(2, "ymm4", "ymm5")
      LG_ROW(3, "ymm6", "ymm7")
      LG_ROW(4, "ymm8", "ymm9")
      LG_ROW(5, "ymm10", "ymm11")
      "add $24, %[a]\n\t"
      "add $64, %[b]\n\t"
      "dec %[k]\n\t"
      "jnz 1b\n\t"
      "vmovdqu %%ymm0, 0(%[c])\n\t"
      "vmovdqu %%ymm1, 32(%[c])\n\t"
      "vmovdqu %%ymm2, 64(%[c])\n\t"
      "vmovdqu %%ymm3, 96(%[c])\n\t"
      "vmovdqu %%ymm4, 128(%[c])\n\t"
      "vmovdqu %%ymm5, 160(%[c])\n\t"
      "vmovdqu %%ymm6, 192(%[c])\n\t"
      "vmovdqu %%ymm7, 224(%[c])\n\t"
      "vmovdqu %%ymm8, 256(%[c])\n\t"
      "vmovdqu %%ymm9, 288(%[c])\n\t"
      "vmovdqu %%ymm10, 320(%[c])\n\t"
      "vmovdqu %%ymm11, 352(%[c])\n\t"
      : [a] "+r"(a), [b] "+r"(b), [k] "+r"(k2)
      : [c] "r"(c)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");

  const __m256i col0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gt_col));
  const __m256i col1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gt_col + 8));
  uint32_t any = 0;
  for (int r = 0; r < 6; ++r) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 16 * r));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 16 * r + 8));
    const __m256i row = _mm256_set1_epi32(gt_row[r]);
    const __m256i m0 = _mm256_or_si256(_mm256_cmpgt_epi32(v0, row), _mm256_cmpgt_epi32(v0, col0));
    const __m256i m1 = _mm256_or_si256(_mm256_cmpgt_epi32(v1, row), _mm256_cmpgt_epi32(v1, col1));
    const uint32_t bits = uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(m0))) |
                          (uint32_t(_mm256_movemask_ps(_mm256_castsi256_ps(m1))) << 8);
    pass[r] = bits;
    any |= bits;
  }
  return any != 0;
}

#undef LG_ROW

}  // namespace labelgraph::detail
