// exmy/distributions/interval_terms.hpp — the five interval functionals every distribution
// provides.
//
// For an interval [a, b] and a reconstruction point u, the analytic SQNR engine needs the integrals
// of the continuous part of a law (reference-spec §2–§3): ∫p, ∫x p, ∫x² p, the squared rounding
// error ∫(x−u)² p and the signed cross term ∫x(u−x) p. They are returned together because every
// evaluation route (closed form, Gauss–Legendre, prefix sums) produces them from the same
// intermediate values.
#pragma once

namespace exmy {

/// Integrals over one interval [a, b] of the continuous part of a law, for a point u.
struct interval_terms {
  double p0 = 0;          ///< ∫ p
  double p1 = 0;          ///< ∫ x p
  double p2 = 0;          ///< ∫ x² p
  double sq_err = 0;      ///< ∫ (x − u)² p
  double signed_err = 0;  ///< ∫ x (u − x) p

  interval_terms& operator+=(const interval_terms& o) {
    p0 += o.p0;
    p1 += o.p1;
    p2 += o.p2;
    sq_err += o.sq_err;
    signed_err += o.signed_err;
    return *this;
  }
  interval_terms& operator*=(double s) {
    p0 *= s;
    p1 *= s;
    p2 *= s;
    sq_err *= s;
    signed_err *= s;
    return *this;
  }
};

namespace detail {

/// Terms of a location-scale law X = mu + s·Z from the standardized integrals P = ∫φ, Z1 = ∫zφ,
/// Z2 = ∫z²φ over the matching z-interval. The cell terms are formed around w = (u − mu)/s, so
/// the location never enters a cancellation: ∫(x−u)²p = s²(Z2 − 2wZ1 + w²P) and
/// ∫x(u−x)p = s·mu·(wP − Z1) + s²(wZ1 − Z2). Products are ordered so that a huge w only overflows
/// when the true result does.
inline interval_terms from_standard(double P, double Z1, double Z2, double mu, double s, double u) {
  interval_terms r;
  r.p0 = P;
  if (P == 0 && Z1 == 0 && Z2 == 0) return r;
  const double w = (u - mu) / s;
  r.p1 = mu * P + s * Z1;
  r.p2 = mu * (mu * P) + s * (2 * mu * Z1 + s * Z2);
  r.sq_err = s * (s * (Z2 - w * (2 * Z1 - w * P)));
  r.signed_err = s * (mu * (w * P - Z1)) + s * (s * (w * Z1 - Z2));
  return r;
}

}  // namespace detail
}  // namespace exmy
