// exmy/random/elementary.hpp — exmy's own elementary functions for the samplers (issue 4 of exmy,
// "Exact samplers"): log, exp, expm1, pow, sqrt and sincospi in double precision, EXMY_HOST_DEVICE.
//
// Why not libm: glibc and CUDA's libdevice differ in the last bits, and a Monte-Carlo sample must be
// the same double on the CPU and on the GPU. These functions use only IEEE-754 basic operations
// (+ − × ÷, sqrt, fma), each correctly rounded on both, in a fixed order, so host and device agree
// bit for bit (build with -ffp-contract=off / nvcc --fmad=false). They are branch-free (special
// cases are selects), so GCC vectorizes them inside the Monte-Carlo loops. No -ffast-math.
//
// Accuracy (max error in ulps of the result; "measured" is tests/test_elementary.cpp against long
// double on 10^6 random arguments per range; the fdlibm analyses bound log and exp below 1 ulp):
//   log      < 1 ulp  (fdlibm e_log.c reduction and polynomial, Sun Microsystems 1993), measured 0.75
//   exp      < 1 ulp  (fdlibm e_exp.c: reduction k·ln2 split hi + lo, rational correction), 0.86
//   expm1    ≤ 2 ulp  (own: e^r − 1 by a degree-14 Taylor polynomial on |r| ≤ ln2/2, then
//                      2^k·p + (2^k − 1); exact reduction when |x| ≤ ln2/2), measured 1.91
//                      (0.80 for |x| ≤ 0.34)
//   pow      ≤ 1 ulp + |y·ln x|·2^−52 relative (exp(y·log x), product kept to double-double;
//                      the log's rounding is amplified by |y·ln x|); domain x ≥ 0
//   sqrt     correctly rounded (the IEEE operation)
//   sincospi < 1 ulp  (sin(πx), cos(πx): exact reduction to |r| ≤ 1/4, Taylor polynomials with
//                      π and −π²/2 carried in double-double), measured 0.73
// Domains are stated per function; outside them the result is NaN or the documented limit.
#pragma once

#include <cstdint>
#include <cstring>

#include "exmy/config.hpp"

namespace exmy {
namespace elem {
namespace detail {

EXMY_FORCEINLINE EXMY_HOST_DEVICE std::uint64_t to_bits(double x) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(x));
#else
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
#endif
}
EXMY_FORCEINLINE EXMY_HOST_DEVICE double to_double(std::uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(b));
#else
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
#endif
}
EXMY_FORCEINLINE EXMY_HOST_DEVICE double fma(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __fma_rn(a, b, c);
#else
  return __builtin_fma(a, b, c);
#endif
}
/// 2^e for e in [−1022, 1023], from bits.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double pow2i(std::int64_t e) {
  return to_double(static_cast<std::uint64_t>(e + 1023) << 52);
}
/// round-to-nearest-even of x as a double, for |x| < 2^51 (the 1.5·2^52 shifter; no libm, and it
/// vectorizes where nearbyint may not).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double round_shift(double x) {
  constexpr double shifter = 0x1.8p52;
  return (x + shifter) - shifter;
}
/// The integer nearest to x (|x| < 2^51) from the shifter's low bits: no int64↔double conversion,
/// which AVX2 lacks.
EXMY_FORCEINLINE EXMY_HOST_DEVICE std::int64_t round_to_int(double x) {
  constexpr double shifter = 0x1.8p52;
  const std::uint64_t b = to_bits(x + shifter);
  // The shifter's bits are 0x4338000000000000: subtracting them leaves the signed integer.
  return static_cast<std::int64_t>(b - 0x4338000000000000ull);
}
/// k (|k| < 2^51) as a double, exactly, through the same shifter.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double int_to_double(std::int64_t k) {
  return to_double(0x4338000000000000ull + static_cast<std::uint64_t>(k)) - 0x1.8p52;
}
/// Scales y (normal, |y| in [0.5, 2]) by 2^k for any k in [−1100, 1100], rounding once: two
/// power-of-two factors, each a normal double, the first product exact.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double scale2(double y, std::int64_t k) {
  const std::int64_t k1 = k >> 1;  // floor(k/2): both factors in [−550, 550]
  return (y * pow2i(k1)) * pow2i(k - k1);
}

constexpr double k_ln2_hi = 0x1.62e42feep-1;       // ln 2 with 21 trailing zero bits (fdlibm)
constexpr double k_ln2_lo = 0x1.a39ef35793c76p-33;  // ln 2 − k_ln2_hi
constexpr double k_inv_ln2 = 0x1.71547652b82fep+0;
constexpr double k_inf = __builtin_huge_val();
constexpr double k_nan = __builtin_nan("");

}  // namespace detail

/// Square root, correctly rounded (the IEEE operation on host and device). sqrt(−x) is NaN.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double sqrt(double x) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(x);
#else
  return __builtin_sqrt(x);
#endif
}

/// Natural logarithm, < 1 ulp. log(0) = −inf, log(x < 0) = NaN, log(inf) = inf.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double log(double x) {
  using namespace detail;
  // fdlibm e_log.c: x = 2^k·(1 + f) with 1 + f in [√2/2, √2); log(1 + f) = f − f²/2 + s(f²/2 + R),
  // s = f/(2 + f), R a minimax polynomial in s² (|error| < 2^−58.45).
  constexpr double Lg1 = 0x1.5555555555593p-1, Lg2 = 0x1.999999997fa04p-2,
                   Lg3 = 0x1.2492494229359p-2, Lg4 = 0x1.c71c51d8e78afp-3,
                   Lg5 = 0x1.7466496cb03dep-3, Lg6 = 0x1.39a09d078c69fp-3,
                   Lg7 = 0x1.2f112df3e5244p-3;
  // 1. Subnormals: scale by 2^54 first (selects, no branch).
  const bool sub = x < 0x1p-1022;
  const double xs = sub ? x * 0x1p54 : x;
  std::uint64_t b = to_bits(xs);
  // 2. Reduction on the high word (musl's formulation of fdlibm): adding 1 − 0x3fe6a09e moves the
  // binade boundary to √2/2, so k and the mantissa come out of one integer add.
  std::uint64_t hx = (b >> 32) + (0x3ff00000u - 0x3fe6a09eu);
  const std::int64_t k = static_cast<std::int64_t>(hx >> 20) - 0x3ff - (sub ? 54 : 0);
  hx = (hx & 0x000fffffu) + 0x3fe6a09eu;
  const double m = to_double((hx << 32) | (b & 0xffffffffu));
  const double f = m - 1.0;  // exact (Sterbenz)
  const double hfsq = 0.5 * f * f;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double R = t2 + t1;
  const double dk = int_to_double(k);
  const double r = s * (hfsq + R) + dk * k_ln2_lo - hfsq + f + dk * k_ln2_hi;
  // 3. Special values.
  double res = x == 0.0 ? -k_inf : r;
  res = x == k_inf ? k_inf : res;
  res = (x < 0.0 || x != x) ? k_nan : res;
  return res;
}

/// e^x, < 1 ulp. Overflows to inf above 709.78, underflows (gradually) to 0 below −745.13.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double exp(double x) {
  using namespace detail;
  // fdlibm e_exp.c: x = k·ln2 + r, |r| ≤ ln2/2, r = hi − lo held in two parts;
  // e^r = 1 + r + r·c/(2 − c), c = r − r²·P(r²) a minimax fit (|error| < 2^−59).
  constexpr double P1 = 0x1.555555555553ep-3, P2 = -0x1.6c16c16bebd93p-9,
                   P3 = 0x1.1566aaf25de2cp-14, P4 = -0x1.bbd41c5d26bf1p-20,
                   P5 = 0x1.6376972bea4d0p-25;
  const double xc = x > 710.0 ? 710.0 : (x < -746.0 ? -746.0 : x);  // keeps k in range; NaN stays
  const double kd = round_shift(xc * k_inv_ln2);
  const std::int64_t k = round_to_int(xc * k_inv_ln2);
  const double hi = xc - kd * k_ln2_hi;  // exact: kd·ln2_hi has ≤ 32 + 11 significant bits
  const double lo = kd * k_ln2_lo;
  const double r = hi - lo;
  const double rr = r * r;
  const double c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  double res = scale2(y, k);
  res = x > 709.782712893384 ? k_inf : res;  // ln(DBL_MAX) = 709.78271289338399…
  res = x < -745.1332191019412 ? 0.0 : res;  // below ln(2^−1075): rounds to 0
  res = x != x ? x : res;
  return res;
}

/// e^x − 1, ≤ 2 ulp, accurate for tiny x (exact argument reduction when |x| ≤ ln2/2).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double expm1(double x) {
  using namespace detail;
  const double xc = x > 710.0 ? 710.0 : (x < -746.0 ? -746.0 : x);
  const double kd = round_shift(xc * k_inv_ln2);
  const std::int64_t k = round_to_int(xc * k_inv_ln2);
  const double r = (xc - kd * k_ln2_hi) - kd * k_ln2_lo;  // = x exactly when k = 0
  // p = e^r − 1 = r + r²·(1/2 + r/6 + …): Taylor to r^14 (truncation < 2^−60 relative on
  // |r| ≤ 0.347), evaluated by Horner; the leading r is exact.
  constexpr double E2 = 0.5, E3 = 0x1.5555555555555p-3, E4 = 0x1.5555555555555p-5,
                   E5 = 0x1.1111111111111p-7, E6 = 0x1.6c16c16c16c17p-10,
                   E7 = 0x1.a01a01a01a01ap-13, E8 = 0x1.a01a01a01a01ap-16,
                   E9 = 0x1.71de3a556c734p-19, E10 = 0x1.27e4fb7789f5cp-22,
                   E11 = 0x1.ae64567f544e4p-26, E12 = 0x1.1eed8eff8d898p-29,
                   E13 = 0x1.6124613a86d09p-33, E14 = 0x1.93974a8c07c9dp-37;
  const double q =
      E2 + r * (E3 + r * (E4 + r * (E5 + r * (E6 + r * (E7 + r * (E8 + r * (E9 + r * (E10 +
      r * (E11 + r * (E12 + r * (E13 + r * E14)))))))))));
  const double p = r + (r * r) * q;
  // 2^k·(1 + p) − 1 = 2^k·p + (2^k − 1): 2^k − 1 is exact for 0 ≤ k ≤ 53 and harmless beyond.
  // Above k = 60 the −1 is far below the last place: 2^k·(1 + p), scaled in two steps (k may be
  // 1024 while the result is still finite). Below k = −60 the result is −1 to double precision.
  const std::int64_t kk = k < -1000 ? -1000 : (k > 60 ? 60 : k);
  const double two_k = pow2i(kk);
  double res = k == 0 ? p : two_k * p + (two_k - 1.0);
  res = k > 60 ? scale2(1.0 + p, k) : res;
  res = x > 709.782712893384 ? k_inf : res;
  res = x != x ? x : res;
  return res;
}

/// x^y for x > 0 (pow(0, y) = 0 for y > 0, inf for y < 0; NaN for x < 0). Relative error
/// ≤ 1 ulp + |y·ln x|·2^−52: the log's rounding is amplified by |y·ln x|; the product y·log x is
/// kept to double-double so that no further error enters.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double pow(double x, double y) {
  const double l = elem::log(x);
  const double h = y * l;
  // y·l − h exactly (0 when h is infinite: log(0) = −inf).
  const double e = (h - h) == 0.0 ? detail::fma(y, l, -h) : 0.0;
  const double eh = elem::exp(h);
  const double corr = eh * e;                         // e^(h + e) ≈ e^h·(1 + e), |e| ≤ 2^−53·|h|
  double res = (corr - corr) == 0.0 ? eh + corr : eh;  // no inf − inf when e^h overflows
  res = y == 0.0 ? 1.0 : res;
  res = x == 1.0 ? 1.0 : res;
  return res;
}

/// sin(πx) and cos(πx), each < 1 ulp, for |x| < 2^50 (every double there; larger |x| are
/// integers, where sin is 0: not needed by exmy). sincospi(±0) = (±0, 1).
EXMY_FORCEINLINE EXMY_HOST_DEVICE void sincospi(double x, double& s_out, double& c_out) {
  using namespace detail;
  // 1. Exact reduction: n = round(2x), r = x − n/2 in [−1/4, 1/4] (exact: r is a multiple of the
  // ulp of x and no larger than x). Quadrant q = n mod 4.
  const std::int64_t n = round_to_int(2.0 * x);
  const double r = x - 0.5 * int_to_double(n);
  const std::uint64_t q = static_cast<std::uint64_t>(n) & 3u;
  // 2. Taylor polynomials of sin(πr), cos(πr) in z = r² (|πr| ≤ π/4: the first omitted terms are
  // below 2^−60 relative). sin's leading coefficient π is carried as hi + lo and applied by fma;
  // cos uses r² as an exact double-double.
  constexpr double S0 = 0x1.921fb54442d18p+1, S0_lo = 0x1.1a62633145c07p-53,
                   S1 = -0x1.4abbce625be53p+2, S2 = 0x1.466bc6775aae2p+1,
                   S3 = -0x1.32d2cce62bd86p-1, S4 = 0x1.50783487ee782p-4,
                   S5 = -0x1.e3074fde8871fp-8, S6 = 0x1.e8f434d018d63p-12,
                   S7 = -0x1.6fadb9f155744p-16, S8 = 0x1.aaec32af93359p-21;
  constexpr double C1 = -0x1.3bd3cc9be45dep+2, C1_lo = -0x1.692b71366cc04p-52, C2 = 0x1.03c1f081b5ac4p+2,
                   C3 = -0x1.55d3c7e3cbffap+0, C4 = 0x1.e1f506891babbp-3,
                   C5 = -0x1.a6d1f2a204a8cp-6, C6 = 0x1.f9d38a3763cc3p-10,
                   C7 = -0x1.b6e24f44b128fp-14, C8 = 0x1.20c62c2f2d7f5p-18;
  const double z = r * r;
  const double z_lo = fma(r, r, -z);
  const double sp = S1 + z * (S2 + z * (S3 + z * (S4 + z * (S5 + z * (S6 + z * (S7 + z * S8))))));
  const double s = fma(r, S0, r * (S0_lo + z * sp));
  // cos = 1 + z·C1 + z²·cp: z·C1 (up to 0.31) is formed as an exact double-double with C1 as
  // hi + lo, added to 1 by Fast2Sum; only the small z²·cp term and the last addition round.
  const double cp = C2 + z * (C3 + z * (C4 + z * (C5 + z * (C6 + z * (C7 + z * C8)))));
  const double h = z * C1;
  const double h_lo = fma(z, C1, -h) + (z * C1_lo + z_lo * C1);
  const double one_h = 1.0 + h;
  const double one_h_err = (1.0 - one_h) + h;  // exact: |h| < 1
  const double c = one_h + (one_h_err + (h_lo + (z * z) * cp));
  // 3. Quadrant: (sin, cos) of πr + qπ/2 = (s, c), (c, −s), (−s, −c), (−c, s).
  const bool swap = (q & 1u) != 0;
  const double s1 = swap ? c : s, c1 = swap ? s : c;
  const bool neg_s = q >= 2u, neg_c = q == 1u || q == 2u;
  // Negation through the sign bit keeps sin(πn) = ±0 with the right sign pattern and vectorizes.
  s_out = to_double(to_bits(s1) ^ (neg_s ? 0x8000000000000000ull : 0u));
  c_out = to_double(to_bits(c1) ^ (neg_c ? 0x8000000000000000ull : 0u));
}

}  // namespace elem
}  // namespace exmy
