// tests/test_sweep32.cpp — every one of the 2^32 float32 bit patterns through the CPU driver
// (quantize_cpu.hpp, float32 fast evaluation and its fallback included) under RNE, for the paper's
// e4m3 and e5m2 grids at their native scale (reference-spec §6.1, bias 2^(E−1)) and the OCP e4m3fn
// and e5m2ieee encodings, compared with an O(1)-per-input oracle built from tests/oracle.hpp.
//
// The oracle: for each pair of neighbours V[j] < V[j+1] of the positive grid, the exact __float128
// midpoint gives the float32 decision threshold T[j] = the smallest bit pattern whose value rounds
// to V[j+1] (above the midpoint, or on it when the tie goes up). Positive patterns are walked in
// increasing order, so the expected index only moves forward; negative patterns mirror them (all
// four formats have −0), NaN patterns give NaN, and ±inf and everything beyond max saturate.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "oracle.hpp"

using namespace exmy;
using exmy_test::f128;
using exmy_test::grid_oracle;

namespace {

float from_bits(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
std::uint32_t to_bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// Expected driver output for every float32 pattern, in O(1) per pattern.
struct sweep_oracle {
  std::vector<std::uint32_t> threshold;  // T[j], increasing; index j+1 is reached at T[j]
  std::vector<std::uint32_t> result;     // float bits of V[j], j = 0 … K (K: max)

  explicit sweep_oracle(const grid_oracle& o) {
    const auto& V = o.side(0);
    const auto& mids = o.midpoints(0);
    const std::size_t K = V.size() - 2;  // V[K] = max, V[K+1] = next (beyond: saturates to max)
    for (std::size_t j = 0; j <= K; ++j) result.push_back(to_bits(static_cast<float>(V[j].v)));
    for (std::size_t j = 0; j < K; ++j) {
      const f128 m = mids[j];
      const bool up = o.tie_goes_up(0, static_cast<int>(j));
      auto rounds_up = [&](std::uint32_t b) {
        const f128 v = static_cast<f128>(from_bits(b));
        return v > m || (v == m && up);
      };
      std::uint32_t b = to_bits(static_cast<float>(m));
      while (b > 0 && rounds_up(b - 1)) --b;
      while (!rounds_up(b)) ++b;
      threshold.push_back(b);
    }
  }
  // Index of the result for a positive finite pattern (or +inf).
  std::size_t index_of(std::uint32_t mag) const {
    return static_cast<std::size_t>(std::upper_bound(threshold.begin(), threshold.end(), mag) -
                                    threshold.begin());
  }
};

}  // namespace

TEST_CASE("all 2^32 float32 patterns through the driver equal the oracle (rne)") {
  constexpr std::size_t chunk = std::size_t{1} << 24;
  std::vector<float> in(chunk), out(chunk);
  const auto t_all = std::chrono::steady_clock::now();
  for (const char* name : {"e4m3", "e5m2", "e4m3fn", "e5m2ieee"}) {
    const auto t0 = std::chrono::steady_clock::now();
    const format_spec f = parse_format(name);
    const quant_params p = make_native_params(f);
    const grid_oracle o(f, p);
    const sweep_oracle so(o);
    {  // The thresholds agree with the search oracle on every threshold ±1 and random patterns.
      std::vector<std::uint32_t> probe;
      for (std::uint32_t t : so.threshold) probe.insert(probe.end(), {t - 1, t, t + 1});
      std::uint64_t state = 12345;
      for (int i = 0; i < 200000; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        probe.push_back(static_cast<std::uint32_t>(state >> 33));  // positive patterns
      }
      long mism = 0;
      for (std::uint32_t b : probe) {
        if (b >= 0x7f800000u) continue;
        const std::uint32_t want = to_bits(o.expect(from_bits(b), rounding::rne));
        mism += want != so.result[so.index_of(b)];
      }
      CHECK(mism == 0);
    }
    quantize_options opt;
    opt.mode = rounding::rne;
    opt.threads = 2;
    long long bad = 0;
    std::uint32_t first_bad = 0;
    for (std::uint64_t base = 0; base < (std::uint64_t{1} << 32); base += chunk) {
      const std::uint32_t b0 = static_cast<std::uint32_t>(base);
#pragma omp parallel for num_threads(2) schedule(static)
      for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(chunk); ++i)
        in[i] = from_bits(b0 + static_cast<std::uint32_t>(i));
      quantize(in.data(), out.data(), chunk, p, opt);
      // Check in 2 × 8 blocks; each block finds its start index once and then walks forward.
      constexpr std::size_t blocks = 16, len = chunk / blocks;
      long long chunk_bad = 0;
      std::uint32_t chunk_first = 0xffffffffu;
#pragma omp parallel for num_threads(2) schedule(static) reduction(+ : chunk_bad) reduction(min : chunk_first)
      for (std::ptrdiff_t blk = 0; blk < static_cast<std::ptrdiff_t>(blocks); ++blk) {
        const std::uint32_t start = b0 + static_cast<std::uint32_t>(blk * len);
        const std::uint32_t sign = start & 0x80000000u;  // constant within a block
        std::size_t j = so.index_of(start & 0x7fffffffu);
        for (std::size_t i = 0; i < len; ++i) {
          const std::uint32_t bits = start + static_cast<std::uint32_t>(i);
          const std::uint32_t mag = bits & 0x7fffffffu;
          const std::uint32_t got = to_bits(out[blk * len + i]);
          bool ok;
          if (mag > 0x7f800000u) {
            ok = (got & 0x7fffffffu) > 0x7f800000u;  // NaN in, NaN out
          } else {
            while (j < so.threshold.size() && mag >= so.threshold[j]) ++j;
            ok = got == (so.result[j] | sign);
          }
          if (!ok) {
            ++chunk_bad;
            chunk_first = std::min(chunk_first, bits);
          }
        }
      }
      if (chunk_bad && !bad) first_bad = chunk_first;
      bad += chunk_bad;
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("sweep32 %-9s 2^32 patterns, %lld mismatches, %.1f s\n", name, bad, sec);
    const std::string fmt_name = name;
    CAPTURE(fmt_name);
    CAPTURE(first_bad);
    CHECK(bad == 0);
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
  std::printf("sweep32 total %.1f s\n", total);
}
