// Peak multiply-add rate of the int16 / int8 dot-product instructions on one core (12 independent
// accumulators, inline assembly), for the "% of peak" figures of benchmarks/knn_RESULTS.md.
// Build and run (x86-64 with AVX-512 VNNI and AVX-VNNI; best of 15 runs, in this thread's CPU time):
//   g++ -O2 -o /tmp/knn_mac_peak benchmarks/knn_mac_peak.cpp && /tmp/knn_mac_peak
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdint>
#include <algorithm>
#define R12(I, V) I " %%" V "14, %%" V "15, %%" V "0\n\t" I " %%" V "14, %%" V "15, %%" V "1\n\t" I " %%" V "14, %%" V "15, %%" V "2\n\t" \
  I " %%" V "14, %%" V "15, %%" V "3\n\t" I " %%" V "14, %%" V "15, %%" V "4\n\t" I " %%" V "14, %%" V "15, %%" V "5\n\t" \
  I " %%" V "14, %%" V "15, %%" V "6\n\t" I " %%" V "14, %%" V "15, %%" V "7\n\t" I " %%" V "14, %%" V "15, %%" V "8\n\t" \
  I " %%" V "14, %%" V "15, %%" V "9\n\t" I " %%" V "14, %%" V "15, %%" V "10\n\t" I " %%" V "14, %%" V "15, %%" V "11\n\t"
#define LOOP(BODY) __asm__ volatile("1:\n\t" BODY "dec %[n]\n\tjnz 1b\n\t" : [n] "+r"(n) :: "cc", "xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9","xmm10","xmm11","xmm12","xmm13","xmm14","xmm15")
void zmm_dpwssd(int64_t n) { LOOP(R12("vpdpwssd", "zmm")); }
void zmm_dpbusd(int64_t n) { LOOP(R12("vpdpbusd", "zmm")); }
void ymm_avxvnni(int64_t n) { LOOP(R12("%{vex%} vpdpbusd", "ymm")); }
void zmm_maddwd(int64_t n) { LOOP(R12("vpmaddwd", "zmm") R12("vpaddd", "zmm")); }  // 12 madd + 12 add
void ymm_maddwd(int64_t n) { LOOP(R12("vpmaddwd", "ymm") R12("vpaddd", "ymm")); }
void ymm_maddubs(int64_t n) { LOOP(R12("vpmaddubsw", "ymm") R12("vpmaddwd", "ymm") R12("vpaddd", "ymm")); }
template <class F> double best_rate(F f, double macs_per_iter) {
  double best = 0;
  for (int rep = 0; rep < 15; ++rep) {
    const int64_t iters = 2000000;
    timespec a, b;  // this thread's CPU time: time spent descheduled (a loaded machine) does not count
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    f(iters);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    double s = double(b.tv_sec - a.tv_sec) + 1e-9 * double(b.tv_nsec - a.tv_nsec);
    best = std::max(best, iters * macs_per_iter / s);
  }
  return best;
}
void chain(int64_t n) { int64_t x = 0; __asm__ volatile("1:\n\t" "imul %[x], %[x]\n\timul %[x], %[x]\n\timul %[x], %[x]\n\timul %[x], %[x]\n\t" "dec %[n]\n\tjnz 1b\n\t" : [n] "+r"(n), [x] "+r"(x) :: "cc"); }
int main() {
  std::printf("GHz (dependent imul chain, 3 cycles each) %.2f\n", best_rate(chain, 4) * 3 / 1e9);
  std::printf("zmm vpdpwssd (VNNI) int16 GMAC/s/core %.1f\n", best_rate(zmm_dpwssd, 12 * 32) / 1e9);
  std::printf("zmm vpmaddwd+vpaddd int16 GMAC/s/core %.1f\n", best_rate(zmm_maddwd, 12 * 32) / 1e9);
  std::printf("zmm vpdpbusd (VNNI) int8 GMAC/s/core %.1f\n", best_rate(zmm_dpbusd, 12 * 64) / 1e9);
  std::printf("ymm vpmaddwd+vpaddd int16 GMAC/s/core %.1f\n", best_rate(ymm_maddwd, 12 * 16) / 1e9);
  std::printf("ymm vpmaddubsw+vpmaddwd+vpaddd int8 GMAC/s/core %.1f\n", best_rate(ymm_maddubs, 12 * 32) / 1e9);
  std::printf("ymm {vex} vpdpbusd (AVX-VNNI) int8 GMAC/s/core %.1f\n", best_rate(ymm_avxvnni, 12 * 32) / 1e9);
}
