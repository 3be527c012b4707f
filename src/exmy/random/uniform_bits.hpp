// exmy/random/uniform_bits.hpp — uniform doubles with 53 random bits from two 32-bit Philox words
// (issue 4 of exmy: "Uniforms with 53 bits (two 32-bit words), so the normal tail is not cut at
// ~6.7σ"), and the Philox counter layout of the Monte-Carlo engine.
//
// Counter layout (every Monte-Carlo draw of exmy; documented here once):
//   key     = (seed & 0xffffffff, seed >> 32)
//   counter = (j & 0xffffffff, j >> 32, stream, attempt)
// j is the sample index i, or i/2 for the samplers that make two samples per call (sampler.hpp);
// stream separates independent variables drawn with one seed (0: X, 1: the Y of dot products;
// 0x53520000 + s: the stochastic-rounding word of stream s, so that stream 0 gives sr_word());
// attempt counts the retries of a rejection sampler (0 for the first try). Sample i is therefore a
// pure function of (seed, stream, i), whatever the thread count, chunking or device.
//
// Every conversion below is exact: the 53-bit integer k is formed in double from two exactly
// converted halves (uint32 → double through the 2^52 shifter, which vectorizes where AVX2 has no
// uint64 → double instruction), and the results are multiples of 2^−53 that doubles represent.
#pragma once

#include <cstdint>

#include "exmy/config.hpp"
#include "exmy/random/elementary.hpp"
#include "exmy/random/philox.hpp"

namespace exmy {

constexpr std::uint32_t stream_x = 0;           ///< the sample X
constexpr std::uint32_t stream_y = 1;           ///< the second factor Y of dot products
constexpr std::uint32_t stream_sr = 0x53520000u;  ///< + s: stochastic-rounding words of stream s

namespace detail {
/// A uint32 as a double, exactly (2^52 shifter).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double u32_to_double(std::uint32_t w) {
  return elem::detail::to_double(0x4330000000000000ull | w) - 0x1p52;
}
}  // namespace detail

/// k·2^−53 in [0, 1), k = the 53 bits w_hi:w_lo[31:11].
EXMY_FORCEINLINE EXMY_HOST_DEVICE double u01_co(std::uint32_t w_hi, std::uint32_t w_lo) {
  const double a = detail::u32_to_double(w_hi), b = detail::u32_to_double(w_lo >> 11);
  return a * 0x1p-32 + b * 0x1p-53;
}

/// (k + 1)·2^−53 in (0, 1]: never 0, so −log(u) is finite (at most 53·ln 2 ≈ 36.7).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double u01_oc(std::uint32_t w_hi, std::uint32_t w_lo) {
  const double a = detail::u32_to_double(w_hi), b = detail::u32_to_double(w_lo >> 11);
  return a * 0x1p-32 + (b + 1.0) * 0x1p-53;
}

/// (2k + 1 − 2^53)·2^−53 in (−1, 1): 2^53 values, symmetric about 0, never 0.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double u_sym(std::uint32_t w_hi, std::uint32_t w_lo) {
  const double a = detail::u32_to_double(w_hi), b = detail::u32_to_double(w_lo >> 11);
  return ((a * 0x1p22 - 0x1p53) + (2.0 * b + 1.0)) * 0x1p-53;
}

/// The four Philox words of (seed, stream, j, attempt) in the layout above.
EXMY_FORCEINLINE EXMY_HOST_DEVICE philox_out mc_words(std::uint64_t seed, std::uint32_t stream,
                                                      std::uint64_t j, std::uint32_t attempt) {
  return philox4x32_10(static_cast<std::uint32_t>(j), static_cast<std::uint32_t>(j >> 32), stream,
                       attempt, static_cast<std::uint32_t>(seed),
                       static_cast<std::uint32_t>(seed >> 32));
}

/// The 32-bit stochastic-rounding word of sample i of a stream (stream 0: equals sr_word()).
EXMY_FORCEINLINE EXMY_HOST_DEVICE std::uint32_t mc_sr_word(std::uint64_t seed, std::uint32_t stream,
                                                           std::uint64_t i) {
  return mc_words(seed, stream_sr + stream, i, 0).v[0];
}

}  // namespace exmy
