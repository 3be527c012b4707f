// exmy/quantize/round.hpp — THE scalar rounding rule. Every path of exmy (CPU drivers, CUDA kernels,
// Monte-Carlo, PTQ) quantizes through these functions, so all of them agree bit for bit.
//
// Semantics (design.md §3, issue "quantizer core"): the result is the grid value s·n·2^q nearest to
// x in exact real arithmetic (ties and directed modes per `rounding`), saturated or overflowed per
// the format, returned as the float (or double) nearest to that exact value.
//
// How exactness is reached without wide arithmetic:
//  1. The binade of u = x/s comes from integer bit fields: e(u) = e(x) − k − [mant(x) < mant(alpha)].
//  2. y = |x|·2^−(k+q) is exact (a power-of-two scaling); the position t = y/alpha is only estimated
//     in double, floor(t) is then corrected with fma: sign(fma(−alpha, c, y)) is the exact sign of
//     y − alpha·c because fma rounds once. The midpoint decision uses the same test with c = f + ½.
//  3. The output n·alpha·2^(q+k) is formed as hi + lo (TwoProduct); a float result is rounded to
//     odd in double first, so the final conversion to float rounds once (no double rounding).
// Header-only, no allocation, no exceptions, no std containers; EXMY_HOST_DEVICE for nvcc.
#pragma once

#include <cstdint>
#include <cstring>

#include "exmy/config.hpp"
#include "exmy/quantize/params.hpp"

namespace exmy {
namespace detail {

EXMY_FORCEINLINE EXMY_HOST_DEVICE std::uint64_t bits_of(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}
EXMY_FORCEINLINE EXMY_HOST_DEVICE double from_bits(std::uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(b));
#else
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#endif
}
EXMY_FORCEINLINE EXMY_HOST_DEVICE std::uint32_t bits_of(float x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint32_t>(__float_as_uint(x));
#else
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}
/// 2^e for e in [−1022, 1023], built from bits (no libm, no rounding).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double pow2(int e) {
  return from_bits(static_cast<std::uint64_t>(e + 1023) << 52);
}
EXMY_FORCEINLINE EXMY_HOST_DEVICE double fma_d(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __fma_rn(a, b, c);
#else
  return __builtin_fma(a, b, c);
#endif
}
EXMY_FORCEINLINE EXMY_HOST_DEVICE double floor_d(double x) {
#if defined(__CUDA_ARCH__)
  return ::floor(x);
#else
  return __builtin_floor(x);
#endif
}
constexpr std::uint64_t k_mant_mask = (std::uint64_t{1} << 52) - 1;
constexpr std::uint64_t k_sign_mask = std::uint64_t{1} << 63;

/// The rounded magnitude: value = n·2^q in the unit frame, output = n·alpha·2^(q+k) = hi + lo
/// (times 2^(q+k)); `special` holds the result for NaN and overflow-to-inf/NaN cases.
struct rounded {
  double hi;        ///< RN(n·alpha)
  double lo;        ///< n·alpha − hi (exact)
  int e;            ///< q + k
  std::uint64_t sign;  ///< sign bit of the result (0 or 1<<63)
  std::uint64_t special_mask;  ///< all ones when the result is `special_bits` (NaN, ±inf)
  std::uint64_t special_bits;
};

/// Steps 1–2 of the header: round |x| (any double, NaN/inf included) onto the unit grid.
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE rounded round_core(double x, const quant_params& p,
                                                     std::uint32_t u) {
  // Every field is read unconditionally (conditional loads block GCC's if-conversion, and with it
  // vectorization); booleans are combined with & and | rather than short-circuit operators.
  const double alpha = p.alpha, inv_alpha = p.inv_alpha;
  const double max_pos_n = p.max_pos_n, max_neg_n = p.max_neg_n;
  const int emin = p.emin, emax = p.emax, man_bits = p.man_bits, k = p.scale_exp, max_q = p.max_q;
  const double flush_below = p.flush_subnormals ? p.min_normal : 0.0;  // 0: never flushes
  const std::uint64_t zero_sign_mask = p.neg_zero ? ~std::uint64_t{0} : 0;
  // Loop-invariant choices as bit masks: GCC vectorizes selects on masks, not on invariant bools.
  const std::uint64_t ones = ~std::uint64_t{0};
  const std::uint64_t nonsat_mask = p.on_overflow == overflow_result::saturate ? 0 : ones;
  const std::uint64_t k_inf = 0x7ff0000000000000ull, k_nan = 0x7ff8000000000000ull;
  const std::uint64_t ovf_bits = p.on_overflow == overflow_result::infinity ? k_inf : k_nan;
  const std::uint64_t ovf_sign_mask = p.on_overflow == overflow_result::infinity ? k_sign_mask : 0;
  const std::uint64_t unsigned_mask = p.max_neg_n == 0.0 ? ones : 0;

  const std::uint64_t xb = bits_of(x);
  const bool neg = (xb >> 63) != 0;
  const std::uint64_t ab = xb & ~k_sign_mask;
  const double a = from_bits(ab);
  const bool is_nan = ab > 0x7ff0000000000000ull;
  // 1. Binade of u = a/s (zero and subnormal doubles give e = −1023 and land in the lowest binade).
  const int ex = static_cast<int>(ab >> 52) - 1023;
  const int below = (ab & k_mant_mask) < p.alpha_mant ? 1 : 0;
  int eb = ex - k - below;
  eb = eb < emin ? emin : eb;
  eb = eb > emax ? emax : eb;
  const int q = eb - man_bits;
  // 2. Exact position y = a·2^−(k+q); t ≈ y/alpha; f = floor(t), corrected exactly.
  const double y = a * pow2(-(k + q));
  const double t = y * inv_alpha;
  double f = floor_d(t);
  f = fma_d(-alpha, f, y) < 0.0 ? f - 1.0 : f;
  f = fma_d(-alpha, f + 1.0, y) >= 0.0 ? f + 1.0 : f;
  double n;
  if constexpr (R == rounding::rtz) {
    n = f;
  } else if constexpr (R == rounding::stochastic) {
    // Round up with probability frac(t) ≈ (t − f), exactly 0 when y sits on a grid point.
    const bool on_grid = fma_d(-alpha, f, y) == 0.0;
    const double frac = on_grid ? 0.0 : t - f;
    const bool up = frac * 4294967296.0 > static_cast<double>(u);
    n = up ? f + 1.0 : f;
  } else {
    const double r = fma_d(-alpha, f + 0.5, y);  // exact sign of y − alpha·(f + ½)
    double tie;  // the neighbour a tie goes to
    if constexpr (R == rounding::rne)
      tie = (f - 2.0 * floor_d(0.5 * f)) == 1.0 ? f + 1.0 : f;  // the even one
    else
      tie = f + 1.0;  // rna: away from zero
    n = r > 0.0 ? f + 1.0 : (r == 0.0 ? tie : f);
  }
  // 3. Saturation / overflow, then flush-to-zero of subnormal results.
  const double max_n = neg ? max_neg_n : max_pos_n;
  const double v = n * pow2(q);                     // unit-frame magnitude (exact, or inf)
  const bool over = !(v <= max_n * pow2(max_q));     // also true for NaN from inf/NaN inputs
  n = over ? max_n : n;
  const int qq = over ? max_q : q;
  n = n * pow2(qq) < flush_below ? 0.0 : n;
  rounded res;
  res.hi = n * alpha;
  res.lo = fma_d(n, alpha, -res.hi);
  res.e = qq + k;
  // Zero keeps its sign only where −0 is representable.
  res.sign = (xb & k_sign_mask) & (n != 0.0 ? ones : zero_sign_mask);
  // Specials: NaN in → NaN; overflow of a non-saturating format → inf/NaN, except negative inputs
  // of an unsigned format, which always clamp to +0.
  const std::uint64_t neg_mask = static_cast<std::uint64_t>(static_cast<std::int64_t>(xb) >> 63);
  const std::uint64_t unsigned_neg = neg_mask & unsigned_mask;
  const std::uint64_t over_mask = over ? ones : 0;
  const std::uint64_t nan_mask = is_nan ? ones : 0;
  // rtz never overflows a finite input (IEEE 754-2019 §7.4: roundTowardZero carries overflow to
  // the largest finite number, as CUDA's __float2half_rz does); an infinite input still does.
  const std::uint64_t inf_mask = ab == 0x7ff0000000000000ull ? ones : 0;
  const std::uint64_t can_special = R == rounding::rtz ? inf_mask : ones;
  res.special_mask = (over_mask & ~unsigned_neg & nonsat_mask & can_special) | nan_mask;
  res.special_bits = is_nan ? k_nan : (ovf_bits | (xb & ovf_sign_mask));
  return res;
}

}  // namespace detail

/// Quantizes one double (exact mode). u: 32-bit uniform for stochastic rounding, ignored otherwise.
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE double quantize_value(double x, const quant_params& p,
                                                        std::uint32_t u = 0) {
  const detail::rounded r = detail::round_core<R>(x, p, u);
  double v = r.hi * detail::pow2(r.e);  // RN(n·alpha) scaled by a power of two: nearest double
  const std::uint64_t b = detail::bits_of(v) | r.sign;
  return detail::from_bits((b & ~r.special_mask) | (r.special_bits & r.special_mask));
}

/// Quantizes one float (exact mode): decided in double, the result rounded once to float.
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE float quantize_value(float x, const quant_params& p,
                                                       std::uint32_t u = 0) {
  // A float converts to double exactly; convert through bits so that a DAZ mode set by another
  // library cannot zero subnormal inputs (the CPU drivers also clear FTZ/DAZ for the whole call).
  const std::uint32_t xb = detail::bits_of(x);
  const std::uint32_t fexp = (xb >> 23) & 0xffu;
  const std::uint32_t fman = xb & 0x7fffffu;
  const double sub = static_cast<double>(static_cast<std::int32_t>(fman)) * 1.401298464324817e-45;  // ·2^−149
  const std::uint64_t dexp = fexp == 0xffu ? 0x7ffu : fexp + 896u;  // rebias 127 → 1023
  const double nrm = detail::from_bits((dexp << 52) | (std::uint64_t{fman} << 29));
  double xd = fexp == 0 ? sub : nrm;
  xd = (xb >> 31) ? -xd : xd;
  const detail::rounded r = detail::round_core<R>(xd, p, u);
  // Round n·alpha to odd in double (sticky bit from lo), then one rounding to float.
  // hi ≥ 0, so lo > 0 means the exact value is larger: step the last bit up, else down (as masks).
  std::uint64_t hb = detail::bits_of(r.hi);
  const std::uint64_t even_inexact = (r.lo != 0.0 ? ~std::uint64_t{0} : 0) & ((hb & 1u) - 1u);
  const std::uint64_t step = r.lo > 0.0 ? 1u : ~std::uint64_t{0};
  hb += step & even_inexact;
  double v = detail::from_bits(hb) * detail::pow2(r.e);
  const std::uint64_t b = detail::bits_of(v) | r.sign;
  return static_cast<float>(
      detail::from_bits((b & ~r.special_mask) | (r.special_bits & r.special_mask)));
}

/// Runtime-dispatched convenience form (one switch; the drivers dispatch outside their loops).
template <class T>
EXMY_FORCEINLINE EXMY_HOST_DEVICE T quantize_value(T x, const quant_params& p, rounding mode,
                                                   std::uint32_t u = 0) {
  switch (mode) {
    case rounding::rna: return quantize_value<rounding::rna>(x, p, u);
    case rounding::rtz: return quantize_value<rounding::rtz>(x, p, u);
    case rounding::stochastic: return quantize_value<rounding::stochastic>(x, p, u);
    case rounding::rne:
    default: return quantize_value<rounding::rne>(x, p, u);
  }
}

/// Hardware scale mode: multiply by the float32 scale, cast to the native grid, multiply back.
/// `native` is native_of(p).
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE float quantize_value_hw(float x, const quant_params& p,
                                                          const quant_params& native,
                                                          std::uint32_t u = 0) {
  const float y = x * p.hw_mul_f;
  return quantize_value<R>(y, native, u) * p.hw_div_f;
}
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE double quantize_value_hw(double x, const quant_params& p,
                                                           const quant_params& native,
                                                           std::uint32_t u = 0) {
  const double y = x * p.hw_mul_d;
  return quantize_value<R>(y, native, u) * p.hw_div_d;
}

}  // namespace exmy
