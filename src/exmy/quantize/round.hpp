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
  bool neg;         ///< result sign
  bool use_special; ///< result is `special` (NaN, ±inf)
  double special;
};

/// Steps 1–2 of the header: round |x| (any double, NaN/inf included) onto the unit grid.
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE rounded round_core(double x, const quant_params& p,
                                                     std::uint32_t u) {
  const std::uint64_t xb = bits_of(x);
  const bool neg = (xb >> 63) != 0;
  const std::uint64_t ab = xb & ~k_sign_mask;
  const double a = from_bits(ab);
  const bool is_nan = ab > 0x7ff0000000000000ull;
  // 1. Binade of u = a/s (zero and subnormal doubles give e = −1023 and land in the lowest binade).
  const int ex = static_cast<int>(ab >> 52) - 1023;
  const int below = (ab & k_mant_mask) < p.alpha_mant ? 1 : 0;
  int eb = ex - p.scale_exp - below;
  eb = eb < p.emin ? p.emin : eb;
  eb = eb > p.emax ? p.emax : eb;
  const int q = eb - p.man_bits;
  // 2. Exact position y = a·2^−(k+q); t ≈ y/alpha; f = floor(t), corrected exactly.
  const double y = a * pow2(-(p.scale_exp + q));
  const double t = y * p.inv_alpha;
  double f = floor_d(t);
  f = fma_d(-p.alpha, f, y) < 0.0 ? f - 1.0 : f;
  f = fma_d(-p.alpha, f + 1.0, y) >= 0.0 ? f + 1.0 : f;
  double n;
  if constexpr (R == rounding::rtz) {
    n = f;
  } else if constexpr (R == rounding::stochastic) {
    // Round up with probability frac(t) ≈ (t − f), exactly 0 when y sits on a grid point.
    const bool on_grid = fma_d(-p.alpha, f, y) == 0.0;
    const double frac = on_grid ? 0.0 : t - f;
    const bool up = frac * 4294967296.0 > static_cast<double>(u);
    n = up ? f + 1.0 : f;
  } else {
    const double r = fma_d(-p.alpha, f + 0.5, y);  // exact sign of y − alpha·(f + ½)
    bool up = r > 0.0;
    if constexpr (R == rounding::rne) {
      const bool odd = (f - 2.0 * floor_d(0.5 * f)) == 1.0;
      up = up || (r == 0.0 && odd);
    } else {  // rna: ties away from zero
      up = up || r == 0.0;
    }
    n = up ? f + 1.0 : f;
  }
  // 3. Saturation / overflow, then flush-to-zero of subnormal results.
  int qq = q;
  const double max_n = neg ? p.max_neg_n : p.max_pos_n;
  const double v = n * pow2(q);                       // unit-frame magnitude (exact or inf)
  const double vmax = max_n * pow2(p.max_q);
  const bool over = !(v <= vmax);                     // also true for NaN from inf inputs
  const bool inf_in = ab == 0x7ff0000000000000ull;
  const bool to_special =
      (over && !(neg && p.max_neg_n == 0.0) && p.on_overflow != overflow_result::saturate) ||
      is_nan;
  n = over ? max_n : n;
  qq = over ? p.max_q : qq;
  n = (p.flush_subnormals && n * pow2(qq) < p.min_normal) ? 0.0 : n;
  rounded res;
  res.hi = n * p.alpha;
  res.lo = fma_d(n, p.alpha, -res.hi);
  res.e = qq + p.scale_exp;
  // Zero keeps its sign only where −0 is representable; negative inputs of unsigned formats give +0.
  res.neg = neg && (n != 0.0 || p.neg_zero);
  res.use_special = to_special;
  const double inf = from_bits(0x7ff0000000000000ull);
  const double nan = from_bits(0x7ff8000000000000ull);
  res.special = is_nan ? nan
                       : (p.on_overflow == overflow_result::infinity ? (neg ? -inf : inf) : nan);
  (void)inf_in;
  return res;
}

}  // namespace detail

/// Quantizes one double (exact mode). u: 32-bit uniform for stochastic rounding, ignored otherwise.
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE double quantize_value(double x, const quant_params& p,
                                                        std::uint32_t u = 0) {
  const detail::rounded r = detail::round_core<R>(x, p, u);
  double v = r.hi * detail::pow2(r.e);  // RN(n·alpha) scaled by a power of two: nearest double
  v = r.neg ? -v : v;
  return r.use_special ? r.special : v;
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
  double xd;
  if (fexp == 0) {
    xd = static_cast<double>(static_cast<std::int32_t>(fman)) * 1.401298464324817e-45;  // 2^−149
  } else if (fexp == 0xffu) {
    xd = detail::from_bits((std::uint64_t{0x7ff} << 52) | (std::uint64_t{fman} << 29));
  } else {
    xd = detail::from_bits((std::uint64_t{fexp + 896u} << 52) | (std::uint64_t{fman} << 29));
  }
  xd = (xb >> 31) ? -xd : xd;
  const detail::rounded r = detail::round_core<R>(xd, p, u);
  // Round n·alpha to odd in double (sticky bit from lo), then one rounding to float.
  std::uint64_t hb = detail::bits_of(r.hi);
  const bool inexact = r.lo != 0.0;
  const bool even = (hb & 1u) == 0;
  const bool lo_pos = r.lo > 0.0;  // hi ≥ 0 here, so lo > 0 means the exact value is larger
  hb = (inexact && even) ? (lo_pos ? hb + 1 : hb - 1) : hb;
  double v = detail::from_bits(hb) * detail::pow2(r.e);
  v = r.neg ? -v : v;
  const float out = static_cast<float>(v);
  return r.use_special ? static_cast<float>(r.special) : out;
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
