// exmy/distributions/uniform.cpp — the uniform law's interval integrals (reference-spec §2:
// ∫(x−u)²p = p[(x−u)³/3]), evaluated without cancellation.
#include "exmy/distributions/uniform.hpp"

#include <cmath>

#include "exmy/distributions/number_text.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {
namespace {

// B³ − A³ for B − A = w ≥ 0: factored as w(A² + AB + B²) when A and B have the same sign (all
// terms positive), direct otherwise (B³ and −A³ are then both positive).
double cube_diff(double A, double B, double w) {
  if ((A >= 0) == (B >= 0)) return w * (A * A + A * B + B * B);
  return B * B * B - A * A * A;
}

}  // namespace

void validate(const uniform_law& d) {
  if (!std::isfinite(d.lo) || !std::isfinite(d.hi) || !(d.lo < d.hi))
    throw error("uniform: need finite lo < hi (got lo=" + detail::number_text(d.lo) +
                ", hi=" + detail::number_text(d.hi) + ")");
}

double log_pdf(const uniform_law& d, double x) {
  return x >= d.lo && x <= d.hi ? -std::log(d.hi - d.lo) : -INFINITY;
}
double pdf(const uniform_law& d, double x) {
  return x >= d.lo && x <= d.hi ? 1 / (d.hi - d.lo) : 0.0;
}
double cdf(const uniform_law& d, double x) {
  return x <= d.lo ? 0.0 : x >= d.hi ? 1.0 : (x - d.lo) / (d.hi - d.lo);
}
double ccdf(const uniform_law& d, double x) {
  return x <= d.lo ? 1.0 : x >= d.hi ? 0.0 : (d.hi - x) / (d.hi - d.lo);
}

interval_terms integrate(const uniform_law& d, double a, double b, double u) {
  a = std::fmax(a, d.lo);
  b = std::fmin(b, d.hi);
  if (!(a < b)) return {};
  const double dens = 1 / (d.hi - d.lo);
  const double w = b - a, A = a - u, B = b - u;
  interval_terms r;
  r.p0 = dens * w;
  r.p1 = dens * w * (0.5 * a + 0.5 * b);
  r.p2 = dens * cube_diff(a, b, w) / 3;
  r.sq_err = dens * cube_diff(A, B, w) / 3;
  // ∫x(u − x): near u as −∫(x − u)² − u∫(x − u) (∫(x − u) = w(A + B)/2), which keeps narrow
  // cells exact; for u farther from the cell than 0 as u∫x − ∫x², which keeps far u exact.
  if (std::fmax(std::fabs(A), std::fabs(B)) <= std::fmax(std::fabs(a), std::fabs(b)))
    r.signed_err = -r.sq_err - u * (dens * w * (0.5 * A + 0.5 * B));
  else
    r.signed_err = u * r.p1 - r.p2;
  return r;
}

double mean(const uniform_law& d) { return 0.5 * d.lo + 0.5 * d.hi; }
double second_moment(const uniform_law& d) { return (d.lo * d.lo + d.lo * d.hi + d.hi * d.hi) / 3; }

}  // namespace exmy
