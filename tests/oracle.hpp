// tests/oracle.hpp — an independent reference quantizer (design.md §6 "oracle") for the exhaustive
// tests of the scalar rule (quantize/round.hpp).
//
// It shares no grid code with the library: every code of a format is decoded from its bit fields
// (sign, exponent field, mantissa field) per encoding — reference-spec §6.1 for the paper's grid
// (every code finite, bias 2^(E−1)), IEEE (top exponent inf/NaN), OCP E4M3 "fn" (only S.1…1.1…1 is
// NaN), fnuz (0x80 is NaN, no −0, bias 2^(E−1)), OCP FP6/FP4 (finite, bias 2^(E−1) − 1) — and
// integers per reference-spec §7 / format_spec.hpp's int_range. Values are scaled by the params'
// scale s = alpha·2^scale_exp in __float128, which holds every product exactly (53-bit alpha times
// a significand of at most 17 bits) and every midpoint of two neighbours (at most 72 bits). The
// nearest point is then found with exact comparisons; only the final conversion to float/double
// rounds (GCC's __float128 conversions round correctly).
//
// Semantics (the brief of the quantizer-core issue, IEEE 754-2019 §7.4 for overflow):
//  * ties: rne picks the neighbour whose significand is even when both are written in the lower
//    neighbour's binade (= even code for M ≥ 1; for M = 0 it is the paper's rne(x/S) of
//    reference-spec §6.2), integers the even integer; rna picks the larger magnitude; rtz never
//    rounds up in magnitude;
//  * rounding happens on the grid continued one step beyond ±max ("next"); a result beyond max
//    saturates to ±max, or in .nosat formats becomes ±inf (ieee) / NaN (fn, fnuz) — except that
//    rtz never overflows a finite input (IEEE 754 §7.4: roundTowardZero carries overflow to the
//    largest finite number); an infinite input behaves as an overflow in every mode;
//  * NaN → NaN; a negative input of an unsigned format → +0; zero keeps the input's sign only when
//    −0 exists (signed floats except fnuz);
//  * .ftz: round on the full grid (subnormal step) first, then a non-zero subnormal result becomes
//    a signed zero.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"

namespace exmy_test {

using f128 = __float128;

/// x·2^e, exact (multiplications by powers of two that a double holds exactly).
inline f128 ldexp_q(f128 x, int e) {
  while (e > 1000) {
    x *= static_cast<f128>(std::ldexp(1.0, 1000));
    e -= 1000;
  }
  while (e < -1000) {
    x *= static_cast<f128>(std::ldexp(1.0, -1000));
    e += 1000;
  }
  return x * static_cast<f128>(std::ldexp(1.0, e));
}

enum class code_kind { finite, nan, inf, unused };

/// One decoded code: (−1)^neg · n · 2^q in the format's native (unit) frame.
struct code_value {
  code_kind kind = code_kind::finite;
  bool neg = false;
  std::int64_t n = 0;
  int q = 0;
};

/// The format's name without modifiers (".nosat", ".ftz").
inline std::string base_name(const exmy::format_spec& f) {
  return f.name.substr(0, f.name.find('.'));
}

/// Exponent bias from the format family, not from format_spec::native_bias: the paper's grid
/// 2^(E−1) (reference-spec §6.1), fnuz 2^(E−1) (ml_dtypes float8_*fnuz), IEEE, OCP E4M3 and the
/// OCP MX FP6/FP4 types (finite encoding, name ending in "fn") 2^(E−1) − 1.
inline int family_bias(const exmy::format_spec& f) {
  const int half = 1 << (f.exp_bits - 1);
  switch (f.enc) {
    case exmy::encoding::finite: {
      const std::string b = base_name(f);
      const bool ocp = b.size() > 2 && b.compare(b.size() - 2, 2, "fn") == 0;
      return ocp ? half - 1 : half;
    }
    case exmy::encoding::fnuz: return half;
    default: return half - 1;
  }
}

/// Decodes the low f.bits bits of `code`. Integers: two's complement for intN/intNn/intNa (the code
/// −2^(n−1) is unused in intNn), plain binary for uintN/uintNa; affine values are code − zero_point.
inline code_value decode(const exmy::format_spec& f, std::uint32_t code,
                         std::int64_t zero_point = 0) {
  using exmy::encoding;
  using exmy::int_range;
  code_value c;
  if (!f.is_float()) {
    const std::int64_t half = std::int64_t{1} << (f.bits - 1);
    const std::int64_t all = std::int64_t{1} << f.bits;
    const bool twos = f.irange == int_range::paper || f.irange == int_range::narrow ||
                      f.irange == int_range::affine;
    std::int64_t i = code;
    if (twos && i >= half) i -= all;
    if (f.irange == int_range::narrow && i == -half) {
      c.kind = code_kind::unused;
      return c;
    }
    i -= zero_point;
    c.neg = i < 0;
    c.n = c.neg ? -i : i;
    return c;
  }
  const int E = f.exp_bits, M = f.man_bits;
  const std::uint32_t mant = code & ((1u << M) - 1u);
  const std::uint32_t field = (code >> M) & ((1u << E) - 1u);
  const std::uint32_t top = (1u << E) - 1u;
  const bool sign = f.is_signed && ((code >> (E + M)) & 1u) != 0;
  c.neg = sign;
  switch (f.enc) {
    case encoding::ieee:
      if (field == top) {
        c.kind = mant == 0 ? code_kind::inf : code_kind::nan;
        return c;
      }
      break;
    case encoding::fn:
      if (field == top && mant == (1u << M) - 1u) {
        c.kind = code_kind::nan;
        return c;
      }
      break;
    case encoding::fnuz:
      if (sign && field == 0 && mant == 0) {
        c.kind = code_kind::nan;
        return c;
      }
      break;
    case encoding::finite: break;
  }
  const int bias = family_bias(f);
  if (field == 0) {  // subnormal binade: 0.mant · 2^(1−bias)
    c.n = mant;
    c.q = 1 - bias - M;
  } else {  // 1.mant · 2^(field−bias)
    c.n = (std::int64_t{1} << M) + mant;
    c.q = static_cast<int>(field) - bias - M;
  }
  return c;
}

/// The oracle of one (format, params) pair. Each sign has its own sorted list of magnitudes
/// V[0] = 0 < V[1] < … < V[K] = max, plus V[K+1] = the next grid step beyond max.
class grid_oracle {
 public:
  struct point {
    f128 v;          ///< scaled magnitude s·n·2^q (exact)
    std::int64_t n;  ///< unit-frame significand
    int q;           ///< unit-frame binade exponent
    bool flushed;    ///< a non-zero subnormal of a .ftz format (never a result)
  };
  /// Outcome of one quantization in exact arithmetic.
  struct result {
    enum kind_t { number, nan, inf } kind = number;
    bool neg = false;
    f128 mag = 0;
  };
  /// Where an input lies: side (0 = +, 1 = −), V[j] ≤ |x| < V[j+1] (j = K+1: at or beyond next).
  struct where {
    bool is_nan = false, is_inf = false, neg = false, exact = false;
    int side = 0, j = 0;
    int mid_cmp = 0;  ///< sign of |x| − (V[j] + V[j+1])/2 when not exact and j ≤ K
  };

  grid_oracle(const exmy::format_spec& f, const exmy::quant_params& p) : f_(f) {
    const std::int64_t zp = static_cast<std::int64_t>(p.zero_point);
    const f128 alpha = static_cast<f128>(p.alpha);
    std::vector<std::pair<std::int64_t, int>> raw[2];
    raw[0].push_back({0, 0});
    raw[1].push_back({0, 0});
    const std::uint32_t codes = 1u << f.bits;
    for (std::uint32_t c = 0; c < codes; ++c) {
      const code_value d = decode(f, c, zp);
      if (d.kind == code_kind::finite) {
        ++finite_codes_;
        if (d.n != 0) raw[d.neg ? 1 : 0].push_back({d.n, d.q});
      } else if (d.kind == code_kind::nan) {
        ++nan_codes_;
      } else if (d.kind == code_kind::inf) {
        ++inf_codes_;
      }
    }
    const int M = f.is_float() ? f.man_bits : 0;
    for (int s = 0; s < 2; ++s) {
      auto& r = raw[s];
      // Zero's binade: the lowest one (subnormal binade q = emin − M for floats, 0 for integers).
      if (f.is_float()) r[0].second = 1 - family_bias(f) - M;
      auto unit = [](const std::pair<std::int64_t, int>& a) {
        return ldexp_q(static_cast<f128>(a.first), a.second);
      };
      std::sort(r.begin(), r.end(), [&](const auto& a, const auto& b) { return unit(a) < unit(b); });
      for (std::size_t i = 0; i < r.size(); ++i) {
        const bool sub = f.is_float() && r[i].first != 0 && r[i].first < (std::int64_t{1} << M);
        side_[s].push_back({ldexp_q(alpha * static_cast<f128>(r[i].first), r[i].second + p.scale_exp),
                            r[i].first, r[i].second, sub && !f.subnormals});
      }
      for (std::size_t i = 1; i < side_[s].size(); ++i)
        if (!(side_[s][i - 1].v < side_[s][i].v)) duplicate_ = true;
      const point& top = side_[s].back();
      if (side_[s].size() > 1)  // the grid continued one step: (n_max + 1)·2^q_max
        side_[s].push_back({ldexp_q(alpha * static_cast<f128>(top.n + 1), top.q + p.scale_exp),
                            top.n + 1, top.q, false});
      for (std::size_t i = 0; i + 1 < side_[s].size(); ++i) {
        const point& a = side_[s][i];
        const point& b = side_[s][i + 1];
        mid_[s].push_back((a.v + b.v) * static_cast<f128>(0.5));
        // Tie rule: b's significand written in a's binade is even (b.q > a.q means it is).
        up_on_tie_[s].push_back(b.q > a.q || (b.n % 2) == 0);
      }
      for (const point& pt : side_[s]) approx_[s].push_back(static_cast<double>(pt.v));
    }
  }

  /// Locates x (a float or double, converted exactly).
  template <class T>
  where locate(T x) const {
    where w;
    if (std::isnan(x)) {
      w.is_nan = true;
      return w;
    }
    w.neg = std::signbit(x);
    w.side = w.neg ? 1 : 0;
    if (std::isinf(x)) {
      w.is_inf = true;
      return w;
    }
    const f128 a = static_cast<f128>(std::fabs(x));
    const auto& V = side_[w.side];
    const int last = static_cast<int>(V.size()) - 1;
    // Start from a double search, then settle exactly.
    const auto& A = approx_[w.side];
    int j = static_cast<int>(std::upper_bound(A.begin(), A.end(), static_cast<double>(std::fabs(x))) -
                             A.begin()) - 1;
    j = std::max(0, std::min(j, last));
    while (j > 0 && V[j].v > a) --j;
    while (j < last && V[j + 1].v <= a) ++j;
    w.j = j;
    w.exact = V[j].v == a;
    if (!w.exact && j < last) {
      const f128 m = mid_[w.side][j];
      w.mid_cmp = a < m ? -1 : (a > m ? 1 : 0);
    }
    return w;
  }

  /// Index chosen by a deterministic mode (K + 1 or beyond means overflow).
  int choose(const where& w, exmy::rounding r) const {
    const int last = static_cast<int>(side_[w.side].size()) - 1;
    if (w.exact || w.j == last) return w.j;
    if (r == exmy::rounding::rtz) return w.j;
    if (w.mid_cmp < 0) return w.j;
    if (w.mid_cmp > 0) return w.j + 1;
    if (r == exmy::rounding::rna) return w.j + 1;
    return up_on_tie_[w.side][w.j] ? w.j + 1 : w.j;
  }

  /// The result for grid index c on one side. finite_rtz: the input was finite and the mode rtz
  /// (overflow then saturates per IEEE 754 §7.4).
  result finish(int side, bool neg, int c, bool finite_rtz) const {
    const auto& V = side_[side];
    const int K = static_cast<int>(V.size()) - 2;  // V[K] = max, V[K+1] = next
    result res;
    if (V.size() == 1) {  // only zero on this side (unsigned formats, negative input)
      res.neg = neg && has_negative_zero();
      return res;
    }
    if (c > K) {
      const bool sat = f_.overflow == exmy::overflow_mode::saturate || finite_rtz;
      if (!sat) {
        res.kind = f_.enc == exmy::encoding::ieee ? result::inf : result::nan;
        res.neg = neg;
        return res;
      }
      c = K;
    }
    res.mag = V[c].flushed ? static_cast<f128>(0) : V[c].v;
    res.neg = neg && (res.mag != 0 || has_negative_zero());
    return res;
  }

  /// The deterministic result of quantizing x under mode r.
  result decide(const where& w, exmy::rounding r) const {
    result res;
    if (w.is_nan) {
      res.kind = result::nan;
      return res;
    }
    if (w.is_inf) return finish(w.side, w.neg, 1 << 30, false);
    return finish(w.side, w.neg, choose(w, r), r == exmy::rounding::rtz);
  }

  /// The two results stochastic rounding may give (equal when x is on the grid).
  std::pair<result, result> neighbours(const where& w) const {
    if (w.is_nan || w.is_inf) {
      const result r = decide(w, exmy::rounding::rne);
      return {r, r};
    }
    const int last = static_cast<int>(side_[w.side].size()) - 1;
    const int hi = (w.exact || w.j == last) ? w.j : w.j + 1;
    return {finish(w.side, w.neg, w.j, false), finish(w.side, w.neg, hi, false)};
  }

  /// Converts a result to float or double (one correct rounding from __float128).
  template <class T>
  static T to(const result& r) {
    if (r.kind == result::nan) return std::numeric_limits<T>::quiet_NaN();
    if (r.kind == result::inf)
      return r.neg ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    const T v = static_cast<T>(r.mag);
    return r.neg ? -v : v;
  }

  /// Expected quantize_value<r>(x, p) for rne, rna, rtz.
  template <class T>
  T expect(T x, exmy::rounding r) const {
    return to<T>(decide(locate(x), r));
  }

  /// Magnitudes of one side (0: positive, 1: negative), with next-beyond-max last.
  const std::vector<point>& side(int s) const { return side_[s]; }
  /// Exact midpoints (V[j] + V[j+1])/2 of one side.
  const std::vector<f128>& midpoints(int s) const { return mid_[s]; }
  /// The rne tie between V[j] and V[j+1] of side s goes to V[j+1].
  bool tie_goes_up(int s, int j) const { return up_on_tie_[s][j]; }
  /// Every finite value a quantization can return, sorted, ±0 counted once.
  std::vector<f128> values() const {
    std::vector<f128> out;
    for (int s = 0; s < 2; ++s) {
      const std::size_t count = side_[s].size() > 1 ? side_[s].size() - 1 : 1;  // without next
      for (std::size_t i = (s == 1 ? 1 : 0); i < count; ++i)  // zero once, from the + side
        if (!side_[s][i].flushed) out.push_back(s == 1 ? -side_[s][i].v : side_[s][i].v);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::int64_t finite_codes() const { return finite_codes_; }
  std::int64_t nan_codes() const { return nan_codes_; }
  std::int64_t inf_codes() const { return inf_codes_; }
  /// True when two codes of one sign decoded to the same non-zero value (a decoding error).
  bool has_duplicates() const { return duplicate_; }
  bool has_negative_zero() const {
    return f_.is_float() && f_.is_signed && f_.enc != exmy::encoding::fnuz;
  }

 private:
  exmy::format_spec f_;
  std::vector<point> side_[2];
  std::vector<f128> mid_[2];
  std::vector<bool> up_on_tie_[2];
  std::vector<double> approx_[2];
  std::int64_t finite_codes_ = 0, nan_codes_ = 0, inf_codes_ = 0;
  bool duplicate_ = false;
};

/// Bit-for-bit equality; any two NaNs are equal.
template <class T>
bool same_bits(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace exmy_test
