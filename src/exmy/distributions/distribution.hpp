// exmy/distributions/distribution.hpp — the distribution value type of the analytic SQNR engine
// (reference-spec §2–§4): one of the laws below, optionally clipped or truncated to [lo, hi].
//
// Usage (the engine's view):
//
//   exmy::distribution d = exmy::parse_distribution("student_t:nu=8,clip=100");
//   // or: exmy::student_t(8, 1, exmy::clipped(100)), exmy::normal(0, 1, exmy::truncated(-4, 4))
//   d.lo(), d.hi()             // support of the continuous part (may be ±inf when unbounded)
//   d.mass_lo(), d.mass_hi()   // clip point masses P(Y ≤ lo) at lo and P(Y ≥ hi) at hi
//   exmy::interval_terms t = exmy::integrate(d, a, b, u);
//   t.sq_err      // ∫_a^b (x − u)² p   (continuous part only, [a, b] clamped to the support)
//   t.signed_err  // ∫_a^b x (u − x) p
//   t.p0, t.p1, t.p2  // ∫p, ∫x p, ∫x² p
//   exmy::second_moment(d), exmy::mean(d)   // of the whole law, point masses included
//   exmy::to_string(d) == "student_t:nu=8,clip=100"
//
// MSE of a grid = Σ over its nearest-point cells of integrate(d, a, b, g).sq_err plus
// (q(lo) − lo)²·mass_lo + (q(hi) − hi)²·mass_hi (reference-spec §3). Narrow cells are
// cancellation-free (Gauss–Legendre, gauss_legendre.hpp), tails keep full relative accuracy.
// Clipping (X = clip(Y, lo, hi), reference-spec §2): density of Y on (lo, hi) plus the two point
// masses. Truncation: density of Y on [lo, hi] divided by P(lo ≤ Y ≤ hi), no masses.
// A law without a finite second moment (Student-t nu ≤ 2, generic with finite_variance = false)
// must be bounded on both sides, or construction throws exmy::error. Empirical laws (finite
// samples) use half-open cells [a, b) and the support [min, next double above max), so a grid
// partition counts every sample point exactly once.
// Accuracy (tests/test_distributions.cpp): ≤ 1e-9 relative against adaptive quadrature over the
// whole parameter grid (tails included), ≤ 1e-12 on 12/16-bit cells, cdf/ccdf down to 1e-300.
#pragma once

#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "exmy/distributions/empirical.hpp"
#include "exmy/distributions/generic.hpp"
#include "exmy/distributions/interval_terms.hpp"
#include "exmy/distributions/laplace.hpp"
#include "exmy/distributions/normal.hpp"
#include "exmy/distributions/student_t.hpp"
#include "exmy/distributions/uniform.hpp"

namespace exmy {

enum class bound_kind : unsigned char { none, clip, trunc };

/// How a law is restricted to [lo, hi] (either end may be infinite).
struct bounds {
  bound_kind kind = bound_kind::none;
  double lo = -INFINITY;
  double hi = INFINITY;
};

/// Clip to [−c, c] / [lo, hi]: the mass outside becomes point masses at the ends.
bounds clipped(double c);
bounds clipped(double lo, double hi);
/// Truncate to [−c, c] / [lo, hi]: the density is renormalised.
bounds truncated(double c);
bounds truncated(double lo, double hi);

/// One immutable distribution: a law plus its bounds, with the masses and normalisation cached.
class distribution {
 public:
  using law_type =
      std::variant<uniform_law, normal_law, student_t_law, laplace_law, generic_law, empirical_law>;

  /// Validates the law and the bounds (lo < hi, intersecting the law's support, a finite second
  /// moment) and computes the clip masses or the truncation constant. Throws exmy::error.
  explicit distribution(law_type law, bounds b = {});

  const law_type& law() const { return law_; }
  const bounds& restriction() const { return bounds_; }
  /// Support of the continuous part: the law's support intersected with the bounds.
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  /// Point masses at lo() and hi() (non-zero only when clipped).
  double mass_lo() const { return mass_lo_; }
  double mass_hi() const { return mass_hi_; }
  /// Factor applied to the law's density on the support: 1/P(lo ≤ Y ≤ hi) if truncated, else 1.
  double density_factor() const { return factor_; }

 private:
  law_type law_;
  bounds bounds_;
  double lo_ = -INFINITY, hi_ = INFINITY;
  double mass_lo_ = 0, mass_hi_ = 0, factor_ = 1;
};

/// U[lo, hi].
distribution uniform(double lo, double hi, bounds b = {});
/// N(mu, sigma²).
distribution normal(double mu = 0, double sigma = 1, bounds b = {});
/// Student-t with nu > 0 degrees of freedom, location 0 (nu ≤ 2 needs finite bounds).
distribution student_t(double nu, double scale = 1, bounds b = {});
/// Laplace with scale b, location 0.
distribution laplace(double b = 1, bounds bd = {});
/// A law given by a pdf (the quadrature oracle).
distribution generic(generic_law g, bounds b = {});
/// The empirical law of a sample (exact finite sums).
distribution empirical(std::vector<double> sample, bounds b = {});

/// The five integrals over [a, b] ∩ [lo(), hi()] of the continuous part for the point u
/// (zero for an empty interval; a NaN argument throws exmy::error).
interval_terms integrate(const distribution& d, double a, double b, double u);
/// P(X ≤ x) of the whole law (point masses included).
double cdf(const distribution& d, double x);
/// P(X > x), computed without forming 1 − cdf in the upper tail.
double ccdf(const distribution& d, double x);
/// Density of the continuous part (0 outside (lo, hi)).
double pdf(const distribution& d, double x);
/// E[X] of the whole law.
double mean(const distribution& d);
/// E[X²] of the whole law, point masses included (reference-spec §2
/// eval_non_central_second_moment).
double second_moment(const distribution& d);

/// Canonical spec: "uniform:lo=-1,hi=1", "normal:mu=0,sigma=1,clip=10", "student_t:nu=8,clip=100",
/// "laplace:b=1,trunc=4", one-sided or asymmetric bounds as clip_lo=…,clip_hi=… (trunc_lo/hi).
/// parse_distribution(to_string(d)) gives d back (generic and empirical laws excepted).
std::string to_string(const distribution& d);
/// Parses a spec (see to_string; student_t also takes scale= and mu=, laplace mu=). Throws
/// exmy::error naming the offending token: unknown family or key, a bad number, lo ≥ hi,
/// sigma/b/scale ≤ 0, nu ≤ 0, nu ≤ 2 without clip or trunc, clip together with trunc.
distribution parse_distribution(const std::string& spec);

}  // namespace exmy
