// exmy/quantize/round_fast.hpp — an accelerated evaluation of round.hpp's rule for float32 data.
//
// round.hpp decides in double with fma corrections, which costs ~100 AVX2 instructions per vector
// (no 64-bit integer shifts or conversions in AVX2). This evaluation works in float32 lanes and
// gives bit-identical results, or flags the element as "hard"; the caller then uses
// quantize_value (round.hpp) for that element. Why it is exact when not flagged:
//  - u = |x|·(1/s) in float has relative error ≤ 2^−23 (two roundings), so the position t = u/step
//    is off by at most 2^−23·t; every rounding decision compares t (+ an offset c per mode) with an
//    integer, so a distance to the nearest integer above tol = 2^−21·(t_max + 2) decides correctly.
//  - a binade chosen one too high or low near a power of two gives the same RNE/RNA result, and a
//    distance below tol for RTZ/SR (flagged);
//  - the output q·s (q the unit-frame value, ≤ 17 significant bits) is q·s_hi + q·s_lo with s_hi
//    holding 24 − bits(q) bits of s (so q·s_hi is exact) and s_lo = float(s − s_hi): r = RN(p1 + p2)
//    is within 2^−(46−qbits)·|r| of the exact product (float(s − s_hi) and RN(q·s_lo) each err by
//    2^−24·|s_lo|/s < 2^−(47−qbits) relative; qbits = bits of q, up to 17 for int16), provided s is
//    far inside the float range and r ≥ 2^−100 (so that s_lo and q·s_lo are normal or negligible);
//    Fast2Sum gives the rounding error e of the addition, and r is the correctly rounded product
//    unless |e| is within 4× that bound of half an ulp of r, or of half the ulp below r when r is a
//    power of two (flagged), or r < 2^−100 (flagged);
//  - NaN/inf inputs and overflow of non-saturating formats are flagged.
// Tests compare this path with the scalar rule on every code, midpoint and random input.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "exmy/quantize/round.hpp"

namespace exmy {

/// Precomputed constants of the float32 evaluation (host only). eligible = 0: use round.hpp.
struct fast_params {
  int eligible = 0;
  float inv_s = 1.0f;      ///< float(1/s)
  float s_hi = 1.0f;       ///< s rounded to 24 − bits(q) significant bits (q·s_hi is exact)
  float s_lo = 0.0f;       ///< float(s − s_hi)
  int emin = 0, emax = 0, man_bits = 0;
  float max_pos = 0, max_neg = 0;   ///< unit-frame maxima (exact floats)
  float flush_below = 0;   ///< unit-frame flush threshold (0: no flushing)
  float tol = 0;           ///< decision tolerance on t (see header)
  float mid_tol = 0;       ///< relative tolerance of the product's rounding test (see header)
  std::uint32_t zero_sign_mask = 0;  ///< 0x80000000 when −0 is representable
  std::uint32_t nonsat = 0;          ///< 1 when overflow is not saturating
  /// Output table (quantize_fast_table): table[n] = RN(n·s) for unit-frame significands
  /// n = 0 … table_max; null when the formats's table would be too large or its outputs could
  /// leave the normal float range (then quantize_fast forms the product instead).
  const float* table = nullptr;
  int table_max = 0;
  float out_max_pos = 0, out_max_neg = 0;  ///< RN(largest magnitude · s) on each side
  /// 1 when fmaf(q, s_lo, q·s_hi) == RN(q·s) for every unit-frame value q of the table (checked
  /// for every significand when the table is built): the output is then two float operations
  /// instead of a table read (block_fast_fma_avx2). s_hi + s_lo is s to ~48 bits, so this fails
  /// only where some n·s lies within ~2^−(48−qbits) of a float rounding boundary (≈ 2^−(25−qbits)
  /// per significand); the table path covers those scales.
  int fma_ok = 0;
};

namespace detail {
/// RN_float(n·alpha·2^e) exactly as quantize_value<float> forms it: n·alpha = hi + lo, rounded to
/// odd in double (sticky bit from lo), scaled by 2^e, then rounded once to float.
inline float product_to_float(double n, double alpha, int e) {
  const double hi = n * alpha;
  const double lo = __builtin_fma(n, alpha, -hi);
  std::uint64_t hb = bits_of(hi);
  if (lo != 0.0 && (hb & 1u) == 0) hb += lo > 0.0 ? 1 : ~std::uint64_t{0};
  return static_cast<float>(from_bits(hb) * pow2(e));
}
}  // namespace detail

/// Builds fast_params for data-frame scale of p (hardware mode: pass native_of(p)). With `table`,
/// also the output table of quantize_fast_table when the format allows it (≤ 4096 significands,
/// every non-zero output a normal float); `table` must outlive the returned value.
inline fast_params make_fast_params(const quant_params& p, std::vector<float>* table = nullptr) {
  fast_params f;
  // The unit frame (steps down to 2^(emin−M), values up to 2^(emax+1)) must be well inside the
  // float normal range, and every significand exact in float.
  const int lo = p.emin - p.man_bits, hi = p.emax + 2;
  const double tmax = p.is_float ? double(2 << p.man_bits) : (p.max_pos_n > p.max_neg_n ? p.max_pos_n : p.max_neg_n);
  if (lo < -120 || hi > 120 || tmax > double(1 << 20)) return f;
  if (!(p.scale >= 0x1p-90 && p.scale <= 0x1p90)) return f;  // s_hi, s_lo normal floats
  f.eligible = 1;
  // Split s = s_hi + s_lo: s_hi keeps 24 − qbits bits (qbits: significant bits of any q).
  int qbits = 0;
  while (double(std::uint64_t{1} << qbits) <= tmax) ++qbits;  // q < 2^qbits as an integer·2^e
  {
    int e2 = 0;
    const double m = std::frexp(p.scale, &e2);  // scale = m·2^e2, m in [0.5, 1)
    const double keep = std::ldexp(1.0, 24 - qbits);
    const double hi = std::floor(m * keep) / keep;
    f.s_hi = static_cast<float>(std::ldexp(hi, e2));
    f.s_lo = static_cast<float>(p.scale - std::ldexp(hi, e2));
    if (!std::isfinite(f.s_hi) || f.s_hi == 0.0f) return fast_params{};  // scale outside float
  }
  f.inv_s = static_cast<float>(1.0 / p.scale);
  f.emin = p.emin;
  f.emax = p.emax;
  f.man_bits = p.man_bits;
  const double mq = detail::pow2(p.max_q);
  f.max_pos = static_cast<float>(p.max_pos_n * mq);
  f.max_neg = static_cast<float>(p.max_neg_n * mq);
  f.flush_below = p.flush_subnormals ? static_cast<float>(p.min_normal) : 0.0f;
  f.tol = static_cast<float>((tmax + 2.0) * detail::pow2(-21));
  f.mid_tol = static_cast<float>(detail::pow2(qbits - 44));
  f.zero_sign_mask = p.neg_zero ? 0x80000000u : 0u;
  f.nonsat = p.on_overflow == overflow_result::saturate ? 0u : 1u;
  // The table path: r = table[n]·2^qe equals RN(n·s·2^qe) because scaling by a power of two
  // commutes with rounding while both are normal floats: the smallest non-zero output (one step
  // of the lowest binade) must be ≥ 2^−125 and the largest < 2^127.
  const double big_n = p.max_pos_n > p.max_neg_n ? p.max_pos_n : p.max_neg_n;
  const double min_step = p.scale * detail::pow2(p.is_float ? p.emin - p.man_bits : 0);
  if (table != nullptr && tmax <= 4096.0 && min_step >= 0x1p-125 &&
      big_n * mq * p.scale < 0x1p127) {
    const int nmax = static_cast<int>(tmax);
    table->resize(static_cast<std::size_t>(nmax) + 1);
    for (int n = 0; n <= nmax; ++n)
      (*table)[static_cast<std::size_t>(n)] = detail::product_to_float(n, p.alpha, p.scale_exp);
    f.table = table->data();
    f.table_max = nmax;
    f.out_max_pos = detail::product_to_float(p.max_pos_n, p.alpha, p.scale_exp + p.max_q);
    f.out_max_neg = detail::product_to_float(p.max_neg_n, p.alpha, p.scale_exp + p.max_q);
    // The FMA product: q·s_hi is exact (q < 2^qbits, s_hi has 24 − qbits bits) and the fma rounds
    // q·s_hi + q·s_lo once; scaling by 2^qe commutes with it in the normal range (as for the
    // table), so checking every significand at qe = 0 and the two maxima covers every output.
    auto fma_product = [&](float q) { return std::fmaf(q, f.s_lo, q * f.s_hi); };
    bool ok = f.flush_below == 0.0f;
    for (int n = 0; ok && n <= nmax; ++n)
      ok = fma_product(static_cast<float>(n)) == (*table)[static_cast<std::size_t>(n)];
    ok = ok && fma_product(f.max_pos) == f.out_max_pos && fma_product(f.max_neg) == f.out_max_neg;
    f.fma_ok = ok ? 1 : 0;
  }
  return f;
}

namespace detail {
EXMY_FORCEINLINE float from_bits_f(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
EXMY_FORCEINLINE float pow2f(int e) { return from_bits_f(static_cast<std::uint32_t>(e + 127) << 23); }
}  // namespace detail

/// Rounding offset c of quantize_fast for mode R and stochastic-rounding word u (24 bits used:
/// the difference to the exact 32-bit comparison is far below tol, so it is flagged, never wrong).
template <rounding R>
EXMY_FORCEINLINE float sr_offset(std::uint32_t u) {
  if constexpr (R == rounding::stochastic)
    return 1.0f - static_cast<float>(static_cast<std::int32_t>(u >> 8)) * 5.9604644775390625e-8f;
  else if constexpr (R == rounding::rtz)
    return 0.0f;
  else
    return 0.5f;
}

/// The decision step shared by quantize_fast and quantize_fast_table: |x|, its sign, the unit-frame
/// binade exponent qe of u = |x|/s and the rounding position z = u·2^−qe + c.
struct fast_position {
  std::uint32_t sign, axb;
  float ax, z;
  int qe;
};
EXMY_FORCEINLINE fast_position fast_locate(float x, const fast_params& f, float c) {
  using detail::bits_of;
  fast_position r;
  const std::uint32_t xb = bits_of(x);
  r.sign = xb & 0x80000000u;
  r.axb = xb & 0x7fffffffu;
  r.ax = detail::from_bits_f(r.axb);
  const float u = r.ax * f.inv_s;
  int eb = static_cast<int>(bits_of(u) >> 23) - 127;
  eb = eb < f.emin ? f.emin : eb;
  eb = eb > f.emax ? f.emax : eb;
  r.qe = eb - f.man_bits;
  r.z = u * detail::pow2f(-r.qe) + c;
  return r;
}

/// The float32 evaluation. `c` is the rounding offset: 0.5 for rne/rna, 0 for rtz, 1 − u·2^−32
/// for stochastic (sr_offset). Sets hard = 1 when the result must come from quantize_value instead.
EXMY_FORCEINLINE float quantize_fast(float x, const fast_params& f, float c, int& hard) {
  using detail::bits_of;
  const fast_position pos = fast_locate(x, f, c);
  const std::uint32_t sign = pos.sign, axb = pos.axb;
  const float ax = pos.ax, z = pos.z;
  const int qe = pos.qe;
  const float n = ax == 0.0f ? 0.0f : __builtin_floorf(z);  // exact zeros stay zero in every mode
  const float d = z - n;
  const float dist = d < 0.5f ? d : 1.0f - d;
  float q = n * detail::pow2f(qe);
  const float mx = sign ? f.max_neg : f.max_pos;
  const int over = !(q <= mx);
  q = over ? mx : q;
  q = q < f.flush_below ? 0.0f : q;
  // r = RN(q·s_hi + q·s_lo); e = the addition's exact rounding error (Fast2Sum, |p1| ≥ |p2|).
  const float p1 = q * f.s_hi;
  const float p2 = q * f.s_lo;
  const float r = p1 + p2;
  const float e = p2 - (r - p1);
  const float half_ulp = detail::from_bits_f((bits_of(r) & 0x7f800000u) - (24u << 23));  // 2^(e_r−24)
  const float ae = e < 0.0f ? -e : e;
  const float gap = ae - half_ulp;
  const float gap_below = ae - 0.5f * half_ulp;  // r a power of two: the ulp below r is half
  const float lim = r * f.mid_tol;
  const int mid = ((gap < 0.0f ? -gap : gap) <= lim) | ((gap_below < 0.0f ? -gap_below : gap_below) <= lim);
  const int tiny = (r < 0x1p-100f) & (r != 0.0f);
  hard = ((dist < f.tol) & !over & (ax != 0.0f)) | (over & static_cast<int>(f.nonsat)) | mid | tiny |
         (axb >= 0x7f800000u);
  const std::uint32_t keep = q != 0.0f ? 0x80000000u : f.zero_sign_mask;
  return detail::from_bits_f(bits_of(r) | (sign & keep));
}

/// The table evaluation: the same decision as quantize_fast, the output read from f.table
/// (exact by construction, so none of the product tests are needed). Templated on the mode so that
/// the zero guard (only stochastic rounding can round an exact zero up) costs nothing elsewhere.
template <rounding R>
EXMY_FORCEINLINE float quantize_fast_table(float x, const fast_params& f,
                                           const float* __restrict table, float c, int& hard) {
  using detail::bits_of;
  const fast_position pos = fast_locate(x, f, c);
  const std::uint32_t sign = pos.sign, axb = pos.axb;
  const float ax = pos.ax, z = pos.z;
  const int qe = pos.qe;
  float n = __builtin_floorf(z);
  if constexpr (R == rounding::stochastic) n = ax == 0.0f ? 0.0f : n;
  const float d = z - n;
  const float dist = d < 0.5f ? d : 1.0f - d;
  const float p2 = detail::pow2f(qe);
  const float q = n * p2;
  const float mx = sign ? f.max_neg : f.max_pos;
  const int over = !(q <= mx);  // also for NaN (flagged below)
  int idx = static_cast<int>(n < 0x1p30f ? n : 0x1p30f);
  idx = idx > f.table_max ? f.table_max : idx;
  float r = table[idx] * p2;
  r = over ? (sign ? f.out_max_neg : f.out_max_pos) : r;
  r = q < f.flush_below ? 0.0f : r;
  const int near_cut = R == rounding::rtz || R == rounding::stochastic ? (ax != 0.0f) : 1;
  hard = ((dist < f.tol) & !over & near_cut) | (over & static_cast<int>(f.nonsat)) |
         (axb >= 0x7f800000u);
  const std::uint32_t keep = r != 0.0f ? 0x80000000u : f.zero_sign_mask;
  return detail::from_bits_f(bits_of(r) | (sign & keep));
}

/// Constants of the float64 evaluation (quantize_fast_d) for round-to-nearest. eligible = 0: use
/// round.hpp. The same argument as the float32 header above, with 53-bit lanes: u = |x|·RN(1/s)
/// errs by ≤ 2^−52 relative, so a distance to the decision boundary above
/// tol = 2^−50·(t_max + 2) decides exactly; the output q·s is one correctly rounded multiply
/// (s = alpha·2^k is a double), i.e. round.hpp's RN(n·alpha)·2^(q+k), as long as every non-zero
/// output is a normal double (checked here).
struct fast_params_d {
  int eligible = 0;
  double inv_s = 1.0, s = 1.0;
  std::int64_t emin = 0, emax = 0, man_bits = 0;
  double max_pos = 0, max_neg = 0;  ///< unit-frame maxima
  double flush_below = 0;           ///< unit-frame flush threshold (0: no flushing)
  double lim = 0.5;                 ///< |z − nf| above lim: within tol of a boundary (hard)
  std::uint64_t zero_sign_mask = 0; ///< sign bit kept on zero results when −0 is representable
  std::uint64_t nonsat = 0;         ///< all ones when overflow is not saturating
};

inline fast_params_d make_fast_params_d(const quant_params& p) {
  fast_params_d f;
  const double tmax = p.is_float ? double(2 << p.man_bits) : (p.max_pos_n > p.max_neg_n ? p.max_pos_n : p.max_neg_n);
  const double big_n = p.max_pos_n > p.max_neg_n ? p.max_pos_n : p.max_neg_n;
  const double min_step = p.scale * detail::pow2(p.is_float ? p.emin - p.man_bits : 0);
  if (p.emin - p.man_bits < -900 || p.emax + 2 > 900 || tmax > double(1 << 20)) return f;
  if (!(p.scale >= 0x1p-900 && p.scale <= 0x1p900)) return f;
  if (!(min_step >= 0x1p-1000 && big_n * detail::pow2(p.max_q) * p.scale < 0x1p1000)) return f;
  f.eligible = 1;
  f.inv_s = 1.0 / p.scale;
  f.s = p.scale;
  f.emin = p.emin;
  f.emax = p.emax;
  f.man_bits = p.man_bits;
  f.max_pos = p.max_pos_n * detail::pow2(p.max_q);
  f.max_neg = p.max_neg_n * detail::pow2(p.max_q);
  f.flush_below = p.flush_subnormals ? p.min_normal : 0.0;
  f.lim = 0.5 - (tmax + 2.0) * 0x1p-50;  // exact in double (tmax ≤ 2^20)
  f.zero_sign_mask = p.neg_zero ? 0x8000000000000000ull : 0u;
  f.nonsat = p.on_overflow == overflow_result::saturate ? 0u : ~std::uint64_t{0};
  return f;
}

/// The float64 evaluation for rne and rna (ties are always flagged): written with 64-bit masks
/// so that GCC vectorizes a loop around it. hard = 1: take quantize_value instead.
EXMY_FORCEINLINE double quantize_fast_d(double x, const fast_params_d& f, std::int64_t& hard) {
  using detail::bits_of;
  using detail::from_bits;
  const std::uint64_t xb = bits_of(x);
  const std::uint64_t sign = xb & 0x8000000000000000ull;
  const std::uint64_t axb = xb & 0x7fffffffffffffffull;
  const double u = from_bits(axb) * f.inv_s;
  std::int64_t eb = static_cast<std::int64_t>(bits_of(u) >> 52) - 1023;
  eb = eb < f.emin ? f.emin : eb;
  eb = eb > f.emax ? f.emax : eb;
  const std::int64_t qe = eb - f.man_bits;
  const double z = u * from_bits(static_cast<std::uint64_t>(1023 - qe) << 52);
  const double nf = __builtin_nearbyint(z);
  const double d = z - nf;
  const double ad = d < 0.0 ? -d : d;
  const double q = nf * from_bits(static_cast<std::uint64_t>(1023 + qe) << 52);
  const double mx = sign ? f.max_neg : f.max_pos;
  const bool over = !(q <= mx);  // also for NaN
  double qc = over ? mx : q;
  qc = qc < f.flush_below ? 0.0 : qc;
  const double r = qc * f.s;
  const std::uint64_t keep = r != 0.0 ? 0x8000000000000000ull : f.zero_sign_mask;
  hard = static_cast<std::int64_t>((ad > f.lim) & !over) | static_cast<std::int64_t>(over & (f.nonsat != 0)) |
         static_cast<std::int64_t>(axb >= 0x7ff0000000000000ull);
  return from_bits(bits_of(r) | (sign & keep));
}

}  // namespace exmy
