// exmy/distributions/generic.cpp — adaptive quadrature of an arbitrary pdf (Boost.Math).
#include "exmy/distributions/generic.hpp"

#include <algorithm>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <cfloat>
#include <cmath>

#include "exmy/distributions/number_text.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

constexpr double tolerance = 1e-13;

// Adaptive Gauss–Kronrod by bisection until the Kronrod–Gauss difference is below the tolerance
// relative to the piece's ∫|f|, the integrand is negligible, or a bisection no longer halves the
// error (a rounding-noise floor). Each piece is integrated as a function on [−1, 1]: Boost 1.74's
// own adaptive driver compares an unscaled error with a scaled tolerance and subdivides narrow
// intervals down to its maximum depth. f(x, y) receives y = x − u formed from the nearer end of
// the piece (a − u or b − u), so narrow cells next to u carry no rounding noise.
template <class F>
double gk_adaptive(const F& f, double a, double b, double u, int depth = 0,
                   double parent_err = INFINITY) {
  const double h = 0.5 * b - 0.5 * a, m = 0.5 * a + 0.5 * b, au = a - u, bu = b - u;
  double err = 0, l1 = 0;
  const auto g = [&](double t) {
    return f(m + h * t, t <= 0 ? au + h * (1 + t) : bu - h * (1 - t));
  };
  const double r = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(g, -1.0, 1.0, 0,
                                                                                 0.0, &err, &l1);
  const double abs_err = err * h;
  // Pieces whose integrand values or ∫|f| lie near the subnormal range (few significant bits)
  // are not refined either.
  if (depth >= 30 || err <= tolerance * l1 || (depth > 6 && abs_err > 0.5 * parent_err) ||
      l1 < 1e-280 || l1 * h < 1e-290 || !(m > a && m < b))
    return r * h;
  return gk_adaptive(f, a, m, u, depth + 1, abs_err) + gk_adaptive(f, m, b, u, depth + 1, abs_err);
}

// The integrand q(x, x − u)·pdf(x), taken as 0 where the pdf is below the normal range: huge x
// never gives inf·0, and subnormal pdf values cannot stall the refinement. The oracle therefore
// ignores mass where the density is below 2.2e-308.
template <class Q>
auto weighted(const generic_law& g, const Q& q) {
  return [&g, q](double x, double y) {
    const double p = g.pdf(x);
    return p < DBL_MIN ? 0.0 : q(x, y, p);
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
  // Infinite ends become ±DBL_MAX: the geometric ladder below reaches 1e300, so the last piece
  // only holds mass where a density is still above DBL_MIN beyond 1e300 (none of any use here).
  a = std::fmax(std::fmax(a, g.lo), -DBL_MAX);
  b = std::fmin(std::fmin(b, g.hi), DBL_MAX);
  interval_terms r;
  if (!(a < b)) return r;
  // Cut at the breaks, at 0 and u (the integrands x·p and x(u − x)·p change sign there, and a
  // relative tolerance needs pieces of one sign), and along the geometric ladder.
  std::vector<double> cuts{a};
  for (double c : g.breaks)
    if (c > a && c < b) cuts.push_back(c);
  for (double c : {0.0, u})
    if (c > a && c < b) cuts.push_back(c);
  const double centre = g.breaks.empty() ? 0.0 : g.breaks.front();
  for (double step = g.scale / 64; step < 1e300; step *= 4) {
    if (centre - step > a && centre - step < b) cuts.push_back(centre - step);
    if (centre + step > a && centre + step < b) cuts.push_back(centre + step);
  }
  std::sort(cuts.begin() + 1, cuts.end());
  cuts.push_back(b);
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const double lo = cuts[i], hi = cuts[i + 1];
    r.p0 += gk_adaptive(weighted(g, [](double, double, double p) { return p; }), lo, hi, u);
    r.p1 += gk_adaptive(weighted(g, [](double x, double, double p) { return x * p; }), lo, hi, u);
    r.p2 +=
        gk_adaptive(weighted(g, [](double x, double, double p) { return x * (x * p); }), lo, hi, u);
    r.sq_err +=
        gk_adaptive(weighted(g, [](double, double y, double p) { return y * (y * p); }), lo, hi, u);
    r.signed_err += gk_adaptive(
        weighted(g, [](double x, double y, double p) { return -x * (y * p); }), lo, hi, u);
  }
  return r;
}

double mean(const generic_law& g) { return integrate(g, g.lo, g.hi, 0).p1; }
double second_moment(const generic_law& g) {
  return g.finite_variance ? integrate(g, g.lo, g.hi, 0).p2 : INFINITY;
}

}  // namespace exmy
