// Where a multi-label sweep's reach column can live, timed against the single-label sweep (issue 21).
//
// A multi-label sweep carries the c class columns and the reach (the known mass reaching a row):
// c + 1 numbers a gathered row where single labels carry c. This program times, in one process
// and alternately, plain clamped sweeps over a synthetic CSR (10 nonzeros a row, 10% of rows
// clamped, neighbours uniform over all rows or within a window of rows) for:
//   width 4:  single (a 16-byte row), side (the reach in its own [n] array: the engine's layout),
//             packed_ss (three 5-float rows a 64-byte line, the reach read from the row's own line
//             by a second load), packed_mask (the same rows, classes and reach in one masked 8-lane
//             load and one FMA: no load or FMA more than single), packed_loadu (one unaligned 8-lane
//             load; some rows straddle two lines);
//   width 16: single (one 64-byte line), side, packed20 (the reach at float 16 of an 80-byte row).
// It prints ns a nonzero (min over the rounds) and each layout over single. Every layout's output
// after one sweep is checked against the side layout's (same sums, so equal to rounding).
//
//   g++ -O3 -march=haswell -o /tmp/reach_layouts benchmarks/multilabel/reach_layouts.cpp
//   taskset -c 0 /tmp/reach_layouts 20000 9 0      # rows, rounds, window (0: uniform neighbours)
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kNonzeros = 10;

double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Graph {
  int64_t n;
  std::vector<int32_t> index;  // n * kNonzeros neighbours
  std::vector<float> weight;
  std::vector<uint8_t> clamped;
};

Graph make_graph(int64_t n, int64_t window) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> w(0.01f, 0.2f);
  Graph g{n, std::vector<int32_t>(n * kNonzeros), std::vector<float>(n * kNonzeros), std::vector<uint8_t>(n)};
  for (int64_t i = 0; i < n; i++) {
    g.clamped[i] = rng() % 10 == 0;
    for (int q = 0; q < kNonzeros; q++) {
      int64_t j = window ? ((i + static_cast<int64_t>(rng() % window) - window / 2) % n + n) % n : rng() % n;
      g.index[i * kNonzeros + q] = static_cast<int32_t>(j);
      g.weight[i * kNonzeros + q] = w(rng);
    }
  }
  return g;
}

float* floats(int64_t count) {
  auto* p = static_cast<float*>(std::aligned_alloc(64, ((count * 4 + 63) / 64 + 1) * 64));
  std::fill(p, p + count + 16, 0.0f);
  return p;
}

// ---- width 4 --------------------------------------------------------------------------------
int64_t packed_offset(int64_t j) { return 16 * (j / 3) + 5 * (j % 3); }  // three 5-float rows a line

void single4(const Graph& g, const float* src, float* dst) {
  for (int64_t i = 0; i < g.n; i++) {
    if (g.clamped[i]) continue;
    const int32_t* ix = &g.index[i * kNonzeros];
    const float* w = &g.weight[i * kNonzeros];
    __m128 a = _mm_setzero_ps(), b = _mm_setzero_ps();
    for (int q = 0; q < kNonzeros; q += 2) {
      a = _mm_fmadd_ps(_mm_broadcast_ss(w + q), _mm_load_ps(src + 4 * int64_t{ix[q]}), a);
      b = _mm_fmadd_ps(_mm_broadcast_ss(w + q + 1), _mm_load_ps(src + 4 * int64_t{ix[q + 1]}), b);
    }
    _mm_store_ps(dst + 4 * i, _mm_add_ps(a, b));
  }
}

void side4(const Graph& g, const float* src, float* dst, const float* reach_src, float* reach_dst) {
  for (int64_t i = 0; i < g.n; i++) {
    if (g.clamped[i]) continue;
    const int32_t* ix = &g.index[i * kNonzeros];
    const float* w = &g.weight[i * kNonzeros];
    __m128 a = _mm_setzero_ps(), b = _mm_setzero_ps();
    float ra = 0.0f, rb = 0.0f;
    for (int q = 0; q < kNonzeros; q += 2) {
      const int64_t j0 = ix[q], j1 = ix[q + 1];
      a = _mm_fmadd_ps(_mm_broadcast_ss(w + q), _mm_load_ps(src + 4 * j0), a);
      ra = std::fma(w[q], reach_src[j0], ra);
      b = _mm_fmadd_ps(_mm_broadcast_ss(w + q + 1), _mm_load_ps(src + 4 * j1), b);
      rb = std::fma(w[q + 1], reach_src[j1], rb);
    }
    _mm_store_ps(dst + 4 * i, _mm_add_ps(a, b));
    reach_dst[i] = ra + rb;
  }
}

// offsets: the packed row of each nonzero's neighbour, precomputed as an engine would once per operator.
void packed4_ss(const Graph& g, const std::vector<int32_t>& offsets, const float* src, float* dst) {
  for (int64_t i = 0; i < g.n; i++) {
    if (g.clamped[i]) continue;
    const int32_t* ix = &offsets[i * kNonzeros];
    const float* w = &g.weight[i * kNonzeros];
    __m128 a = _mm_setzero_ps(), b = _mm_setzero_ps();
    float ra = 0.0f, rb = 0.0f;
    for (int q = 0; q < kNonzeros; q += 2) {
      const float *p0 = src + ix[q], *p1 = src + ix[q + 1];
      a = _mm_fmadd_ps(_mm_broadcast_ss(w + q), _mm_loadu_ps(p0), a);
      ra = std::fma(w[q], p0[4], ra);
      b = _mm_fmadd_ps(_mm_broadcast_ss(w + q + 1), _mm_loadu_ps(p1), b);
      rb = std::fma(w[q + 1], p1[4], rb);
    }
    const int64_t o = packed_offset(i);
    _mm_storeu_ps(dst + o, _mm_add_ps(a, b));
    dst[o + 4] = ra + rb;
  }
}

template <bool Masked>
void packed4_one_load(const Graph& g, const std::vector<int32_t>& offsets, const float* src, float* dst) {
  const __m256i five = _mm256_setr_epi32(-1, -1, -1, -1, -1, 0, 0, 0);
  auto load = [&](const float* p) { return Masked ? _mm256_maskload_ps(p, five) : _mm256_loadu_ps(p); };
  for (int64_t i = 0; i < g.n; i++) {
    if (g.clamped[i]) continue;
    const int32_t* ix = &offsets[i * kNonzeros];
    const float* w = &g.weight[i * kNonzeros];
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (int q = 0; q < kNonzeros; q += 2) {
      a = _mm256_fmadd_ps(_mm256_broadcast_ss(w + q), load(src + ix[q]), a);
      b = _mm256_fmadd_ps(_mm256_broadcast_ss(w + q + 1), load(src + ix[q + 1]), b);
    }
    _mm256_maskstore_ps(dst + packed_offset(i), five, _mm256_add_ps(a, b));
  }
}

// ---- width 16 -------------------------------------------------------------------------------
template <int Stride, bool SideReach>
void rows16(const Graph& g, const float* src, float* dst, const float* reach_src, float* reach_dst) {
  constexpr bool kReach = SideReach || Stride > 16;
  for (int64_t i = 0; i < g.n; i++) {
    if (g.clamped[i]) continue;
    const int32_t* ix = &g.index[i * kNonzeros];
    const float* w = &g.weight[i * kNonzeros];
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
    float ra = 0.0f, rb = 0.0f;
    for (int q = 0; q < kNonzeros; q += 2) {
      const int64_t j0 = ix[q], j1 = ix[q + 1];
      const float *p = src + Stride * j0, *r = src + Stride * j1;
      const __m256 w0 = _mm256_broadcast_ss(w + q), w1 = _mm256_broadcast_ss(w + q + 1);
      a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(p), a0);
      a1 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(p + 8), a1);
      if constexpr (kReach) ra = std::fma(w[q], SideReach ? reach_src[j0] : p[16], ra);
      b0 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(r), b0);
      b1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(r + 8), b1);
      if constexpr (kReach) rb = std::fma(w[q + 1], SideReach ? reach_src[j1] : r[16], rb);
    }
    _mm256_storeu_ps(dst + Stride * i, _mm256_add_ps(a0, b0));
    _mm256_storeu_ps(dst + Stride * i + 8, _mm256_add_ps(a1, b1));
    if constexpr (SideReach) reach_dst[i] = ra + rb;
    if constexpr (Stride > 16) dst[Stride * i + 16] = ra + rb;
  }
}

bool close(float got, float want) { return std::fabs(got - want) <= 1e-5f * (1.0f + std::fabs(want)); }

// Times `sweep(s)` for each layout: 10 sweeps a round (s = 0..9 alternates the buffers), min over rounds.
template <class Sweep>
std::vector<double> time_layouts(int layouts, int rounds, int64_t nonzeros, Sweep sweep) {
  std::vector<double> best(layouts, 1e30);
  for (int r = 0; r < rounds; r++)
    for (int v = 0; v < layouts; v++) {
      const double start = seconds();
      for (int s = 0; s < 10; s++) sweep(v, s & 1);
      best[v] = std::min(best[v], (seconds() - start) / (10.0 * nonzeros) * 1e9);
    }
  return best;
}

void report(const char* title, const char* const* names, const std::vector<double>& ns) {
  std::printf("%s:", title);
  for (size_t v = 0; v < ns.size(); v++) std::printf("  %s %.3f ns (%.2fx)", names[v], ns[v], ns[v] / ns[0]);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s rows rounds [window]\n", argv[0]);
    return 2;
  }
  const int64_t n = std::atoll(argv[1]), window = argc > 3 ? std::atoll(argv[3]) : 0;
  const int rounds = std::atoi(argv[2]);
  const Graph g = make_graph(n, window);
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> classes(n * 16), reach(n);
  for (float& v : classes) v = unit(rng);
  for (float& v : reach) v = unit(rng);

  // Width 4: [2] buffers of each layout, the same values.
  float *y4[2] = {floats(n * 4), floats(n * 4)}, *r[2] = {floats(n), floats(n)};
  float* p5[2] = {floats(16 * (n / 3 + 1)), floats(16 * (n / 3 + 1))};
  std::vector<int32_t> offsets(g.index.size());
  for (size_t q = 0; q < offsets.size(); q++) offsets[q] = static_cast<int32_t>(packed_offset(g.index[q]));
  for (int b = 0; b < 2; b++)
    for (int64_t j = 0; j < n; j++) {
      for (int c = 0; c < 4; c++) y4[b][4 * j + c] = p5[b][packed_offset(j) + c] = classes[16 * j + c];
      r[b][j] = p5[b][packed_offset(j) + 4] = reach[j];
    }
  side4(g, y4[0], y4[1], r[0], r[1]);
  for (auto one_load : {0, 1, 2}) {
    if (one_load == 0) packed4_ss(g, offsets, p5[0], p5[1]);
    if (one_load == 1) packed4_one_load<true>(g, offsets, p5[0], p5[1]);
    if (one_load == 2) packed4_one_load<false>(g, offsets, p5[0], p5[1]);
    for (int64_t j = 0; j < n; j++)
      for (int c = 0; c < 5; c++)
        if (!close(p5[1][packed_offset(j) + c], c < 4 ? y4[1][4 * j + c] : r[1][j])) {
          std::fprintf(stderr, "width-4 packed layout %d differs at row %lld\n", one_load, static_cast<long long>(j));
          return 1;
        }
  }
  const int64_t nonzeros = n * kNonzeros;
  const char* names4[] = {"single", "side", "packed_ss", "packed_mask", "packed_loadu"};
  report(("width 4, n " + std::to_string(n) + ", window " + std::to_string(window)).c_str(), names4,
         time_layouts(5, rounds, nonzeros, [&](int v, int e) {
           if (v == 0) single4(g, y4[e], y4[1 - e]);
           if (v == 1) side4(g, y4[e], y4[1 - e], r[e], r[1 - e]);
           if (v == 2) packed4_ss(g, offsets, p5[e], p5[1 - e]);
           if (v == 3) packed4_one_load<true>(g, offsets, p5[e], p5[1 - e]);
           if (v == 4) packed4_one_load<false>(g, offsets, p5[e], p5[1 - e]);
         }));

  // Width 16.
  float *y16[2] = {floats(n * 16), floats(n * 16)}, *p20[2] = {floats(n * 20), floats(n * 20)};
  for (int b = 0; b < 2; b++)
    for (int64_t j = 0; j < n; j++) {
      for (int c = 0; c < 16; c++) y16[b][16 * j + c] = p20[b][20 * j + c] = classes[16 * j + c];
      r[b][j] = p20[b][20 * j + 16] = reach[j];
    }
  rows16<16, true>(g, y16[0], y16[1], r[0], r[1]);
  rows16<20, false>(g, p20[0], p20[1], nullptr, nullptr);
  for (int64_t j = 0; j < n; j++)
    for (int c = 0; c < 17; c++)
      if (!close(p20[1][20 * j + c], c < 16 ? y16[1][16 * j + c] : r[1][j])) {
        std::fprintf(stderr, "width-16 packed layout differs at row %lld\n", static_cast<long long>(j));
        return 1;
      }
  const char* names16[] = {"single", "side", "packed20"};
  report(("width 16, n " + std::to_string(n) + ", window " + std::to_string(window)).c_str(), names16,
         time_layouts(3, rounds, nonzeros, [&](int v, int e) {
           if (v == 0) rows16<16, false>(g, y16[e], y16[1 - e], nullptr, nullptr);
           if (v == 1) rows16<16, true>(g, y16[e], y16[1 - e], r[e], r[1 - e]);
           if (v == 2) rows16<20, false>(g, p20[e], p20[1 - e], nullptr, nullptr);
         }));
  return 0;
}
