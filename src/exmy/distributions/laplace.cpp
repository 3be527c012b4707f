// exmy/distributions/laplace.cpp — closed forms of the Laplace law, one exponential per side of
// the kink, with Gauss–Legendre on narrow cells.
#include "exmy/distributions/laplace.hpp"

#include <cmath>

#include "exmy/distributions/gauss_legendre.hpp"
#include "exmy/distributions/number_text.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

// E(z) = e^(−z)/2 and poly(z)·E(z), 0 at +inf (never inf·0).
double half_exp(double z) { return std::isfinite(z) ? 0.5 * std::exp(-z) : 0.0; }
double times_half_exp(double poly, double z) {
  const double e = half_exp(z);
  return e == 0 ? 0.0 : poly * e;
}

// Standardized integrals over [za, zb] ⊂ [0, +inf] of the density e^(−z)/2:
// ∫p = E(za)(1 − e^(−(zb−za))), ∫zp = [−(z+1)E]_za^zb, ∫z²p = [−(z²+2z+2)E]_za^zb.
void right_side(double za, double zb, double& P, double& Z1, double& Z2) {
  P = std::isfinite(zb) ? half_exp(za) * -std::expm1(-(zb - za)) : half_exp(za);
  Z1 = times_half_exp(za + 1, za) - times_half_exp(zb + 1, zb);
  Z2 = times_half_exp(za * za + 2 * za + 2, za) - times_half_exp(zb * zb + 2 * zb + 2, zb);
}

// e^(−z) is entire and varies on the scale 1: q = h.
int panel_nodes(double za, double zb) { return detail::nodes_for(0.5 * zb - 0.5 * za); }

// One side of the kink: [a, b] entirely ≥ mu or ≤ mu.
interval_terms one_side(const laplace_law& l, double a, double b, double u) {
  const double za = (a - l.mu) / l.b, zb = (b - l.mu) / l.b;
  interval_terms r;
  const double inv_b = 1 / l.b, c0 = -std::log(2 * l.b);
  const auto lp = [&](double x) { return -std::fabs(x - l.mu) * inv_b + c0; };
  const auto panel = [&](double pa, double pb) {
    return panel_nodes((pa - l.mu) / l.b, (pb - l.mu) / l.b);
  };
  if (std::isfinite(za) && std::isfinite(zb) && detail::gl_try(lp, panel, a, b, u, r)) return r;
  double P, Z1, Z2;
  if (zb <= 0) {  // mirror z → −z: P and Z2 unchanged, Z1 changes sign
    right_side(-zb, -za, P, Z1, Z2);
    Z1 = -Z1;
  } else {
    right_side(za, zb, P, Z1, Z2);
  }
  return detail::from_standard(P, Z1, Z2, l.mu, l.b, u);
}

}  // namespace

void validate(const laplace_law& l) {
  if (!std::isfinite(l.mu))
    throw error("laplace: mu must be finite (got " + detail::number_text(l.mu) + ")");
  if (!(l.b > 0) || !std::isfinite(l.b))
    throw error("laplace: b must be finite and > 0 (got " + detail::number_text(l.b) + ")");
}

double log_pdf(const laplace_law& l, double x) {
  return -std::fabs(x - l.mu) / l.b - std::log(2 * l.b);
}
double pdf(const laplace_law& l, double x) { return half_exp(std::fabs(x - l.mu) / l.b) / l.b; }
double cdf(const laplace_law& l, double x) {
  const double z = (x - l.mu) / l.b;
  return z < 0 ? half_exp(-z) : 1 - half_exp(z);
}
double ccdf(const laplace_law& l, double x) {
  const double z = (x - l.mu) / l.b;
  return z > 0 ? half_exp(z) : 1 - half_exp(-z);
}

interval_terms integrate(const laplace_law& l, double a, double b, double u) {
  if (!(a < b)) return {};
  if (b <= l.mu || a >= l.mu) return one_side(l, a, b, u);
  interval_terms r = one_side(l, a, l.mu, u);
  r += one_side(l, l.mu, b, u);
  return r;
}

double mean(const laplace_law& l) { return l.mu; }
double second_moment(const laplace_law& l) { return l.mu * l.mu + 2 * l.b * l.b; }

}  // namespace exmy
