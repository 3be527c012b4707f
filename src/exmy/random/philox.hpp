// exmy/random/philox.hpp — Philox4x32-10 (Salmon et al., SC'11), the counter-based generator of
// exmy. One call maps (counter, key) to four independent 32-bit words, so sample i is a pure function
// of (seed, i) on every thread, SIMD lane and GPU. Written as plain integer code (EXMY_HOST_DEVICE)
// so that GCC vectorizes it; tests compare it with Random123's philox4x32 (the reference).
#pragma once

#include <cstdint>

#include "exmy/config.hpp"

namespace exmy {

struct philox_out {
  std::uint32_t v[4];
};

/// Philox4x32 with 10 rounds: counter (c0…c3), key (k0, k1).
EXMY_FORCEINLINE EXMY_HOST_DEVICE philox_out philox4x32_10(std::uint32_t c0, std::uint32_t c1,
                                                           std::uint32_t c2, std::uint32_t c3,
                                                           std::uint32_t k0, std::uint32_t k1) {
  // Multipliers and Weyl key increments from the Philox paper (Random123 philox.h defaults).
  constexpr std::uint64_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = m0 * c0;
    const std::uint64_t p1 = m1 * c2;
    const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<std::uint32_t>(p1);
    c3 = static_cast<std::uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += w0;
    k1 += w1;
  }
  return philox_out{{c0, c1, c2, c3}};
}

/// The 32-bit uniform that stochastic rounding uses for global element index i: word 0 of
/// Philox4x32-10 with key = seed and counter = (i, "SR"). Shared by the CPU and CUDA drivers.
EXMY_FORCEINLINE EXMY_HOST_DEVICE std::uint32_t sr_word(std::uint64_t seed, std::uint64_t i) {
  return philox4x32_10(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32),
                       0x53520000u, 0u, static_cast<std::uint32_t>(seed),
                       static_cast<std::uint32_t>(seed >> 32))
      .v[0];
}

}  // namespace exmy
