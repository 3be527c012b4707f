// exmy/distributions/generic.cpp — adaptive quadrature of an arbitrary pdf (Boost.Math).
#include "exmy/distributions/generic.hpp"

#include <algorithm>
#include <boost/math/quadrature/exp_sinh.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cmath>

#include "exmy/distributions/number_text.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

constexpr double tolerance = 1e-14;

// ∫_a^b f for a < b: Gauss–Kronrod on finite pieces, exp-sinh on half-infinite ones, split at 0
// over the whole line.
template <class F>
double quad(const F& f, double a, double b) {
  if (std::isfinite(a) && std::isfinite(b))
    return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(f, a, b, 30, tolerance);
  if (!std::isfinite(a) && !std::isfinite(b)) return quad(f, a, 0.0) + quad(f, 0.0, b);
  // Non-const: Boost 1.74 declares integrate(f, a, b, …) const but defines it non-const.
  static thread_local boost::math::quadrature::exp_sinh<double> es(12);
  return es.integrate(f, a, b, tolerance);
}

// The integrand q(x)·pdf(x) as 0 where the pdf vanishes, so huge x never gives inf·0.
template <class Q>
auto weighted(const generic_law& g, const Q& q) {
  return [&g, q](double x) {
    const double p = g.pdf(x);
    return p == 0 ? 0.0 : q(x, p);
  };
}

}  // namespace

void validate(const generic_law& g) {
  if (!g.pdf) throw error("generic distribution '" + g.name + "' has no pdf");
  if (!(g.lo < g.hi))
    throw error("generic distribution '" + g.name + "': need lo < hi (got lo=" +
                detail::number_text(g.lo) + ", hi=" + detail::number_text(g.hi) + ")");
}

double log_pdf(const generic_law& g, double x) { return std::log(pdf(g, x)); }
double pdf(const generic_law& g, double x) { return x < g.lo || x > g.hi ? 0.0 : g.pdf(x); }
double cdf(const generic_law& g, double x) {
  if (x <= g.lo) return 0;
  if (x >= g.hi) return 1;
  return g.cdf ? g.cdf(x) : integrate(g, g.lo, x, 0).p0;
}
double ccdf(const generic_law& g, double x) {
  if (x <= g.lo) return 1;
  if (x >= g.hi) return 0;
  return g.ccdf ? g.ccdf(x) : integrate(g, x, g.hi, 0).p0;
}

interval_terms integrate(const generic_law& g, double a, double b, double u) {
  a = std::fmax(a, g.lo);
  b = std::fmin(b, g.hi);
  interval_terms r;
  if (!(a < b)) return r;
  std::vector<double> cuts{a};
  for (double c : g.breaks)
    if (c > a && c < b) cuts.push_back(c);
  std::sort(cuts.begin() + 1, cuts.end());
  cuts.push_back(b);
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const double lo = cuts[i], hi = cuts[i + 1];
    r.p0 += quad(weighted(g, [](double, double p) { return p; }), lo, hi);
    r.p1 += quad(weighted(g, [](double x, double p) { return x * p; }), lo, hi);
    r.p2 += quad(weighted(g, [](double x, double p) { return x * (x * p); }), lo, hi);
    r.sq_err += quad(weighted(g, [u](double x, double p) { return (x - u) * ((x - u) * p); }), lo, hi);
    r.signed_err += quad(weighted(g, [u](double x, double p) { return x * ((u - x) * p); }), lo, hi);
  }
  return r;
}

double mean(const generic_law& g) { return integrate(g, g.lo, g.hi, 0).p1; }
double second_moment(const generic_law& g) {
  return g.finite_variance ? integrate(g, g.lo, g.hi, 0).p2 : INFINITY;
}

}  // namespace exmy
