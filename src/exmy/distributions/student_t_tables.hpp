// exmy/distributions/student_t_tables.hpp — per-law interpolants of the Student-t cumulative
// functions (reference-spec §2, Student-t; issue 3 "speed where Boost is slow").
//
// The closed forms of a t_nu cell need incomplete beta fractions at q = |z|/√nu (student_t.cpp):
//   prob:   tail I_x(nu/2, 1/2) = 2·P(T > z),   inner I_y(1/2, nu/2) = 2·P(0 < T < z)
//   second: tail I_x(a2, 3/2),  inner I_y(3/2, a2),  a2 = (nu − 2)/2   (∫t²p = nu/(2(nu−2))·frac)
// with x = 1/(1 + q²), y = q²/(1 + q²). Boost's ibeta takes ~1 µs; these tables take ~0.1 µs and
// agree with it to ~1e-15 relative (tests/test_student_t_tables.cpp). Each fraction is stored in
// the form in which it is smooth and bounded, in the variable v = asinh(q) (linear near 0,
// logarithmic in the tails), as piecewise Chebyshev series (chebyshev_table.hpp):
//   inner prob      = √y·A(v)
//   tail prob       = B(v)·2c·g/(√nu·q),  g = (1 + q²)^((1−nu)/2)  (B: the Mills ratio
//                     normalised to → 1 as q → ∞; the power law and the normal tail alike)
//   tail second     = tail prob + 2c·g·√nu·q                     (exact: integration by parts,
//                     (nu−2)∫_z^∞ t²p = z(nu+z²)p(z) + nu·P(T>z); both terms positive)
//   inner second    = y^(3/2)·C(v)                               (C ~ v for nu → 2: ∫t²p ~ log z)
// Each is used on the side of the split (upper quartile of |T|, resp. the median of t²p) where it
// is the smaller part, the other part being its complement (at most one bit lost). g is formed in
// long double where its exponent is large, so the tail keeps its relative accuracy down to
// 1e-300. Beyond q = √1e17 the caller's power-law series is exact; where g would underflow
// (nu ≳ 36, tails below ~1e-304) the table defers to Boost.
#pragma once

#include "exmy/distributions/chebyshev_table.hpp"

namespace exmy::detail {

/// The fractions from Boost.Math (the tables' source, and the slow path): which = 0 for the
/// probability fractions, 2 for the second-moment ones (nu > 2); q ≥ 0 finite.
double boost_tail_fraction(double nu, int which, double q);
double boost_inner_fraction(double nu, int which, double q);

class student_t_tables {
 public:
  /// Builds the tables of t_nu (c = the density's constant Γ((nu+1)/2)/(√(nu π)Γ(nu/2))); a few
  /// hundred Boost calls, ~1 ms.
  student_t_tables(double nu, double c);

  /// Below q_max the tables (or Boost where they defer) answer; beyond, the power-law series.
  static constexpr double q_max = 3.1622776601683794e8;  // √1e17

  /// The fractions at 0 ≤ q < q_max (see the file comment).
  double prob_tail(double q) const;
  double prob_inner(double q) const;
  double second_tail(double q) const;   ///< nu > 2
  double second_inner(double q) const;  ///< nu > 2

  /// Number of Chebyshev pieces (diagnostics).
  std::size_t pieces() const {
    return inner_prob_.pieces() + tail_prob_.pieces() + inner_second_.pieces();
  }

 private:
  double g(double q, bool exact = false) const;  // (1 + q²)^((1−nu)/2); exact: long double
  double tail_scale(double q, bool exact = false) const;  // 2c·g/(√nu·q): tail prob = B·this
  double nu_, c_, root_nu_;
  double q_prob_ = 0;     // inner form below, tail form from here on
  double q_second_ = 0;   // second moment: inner table below, complement of the tail above
  double q_end_ = q_max;  // tails from Boost beyond (g would underflow)
  chebyshev_table inner_prob_, tail_prob_, inner_second_;
};

}  // namespace exmy::detail
