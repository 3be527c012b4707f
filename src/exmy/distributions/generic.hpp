// exmy/distributions/generic.hpp — a law given by any pdf (and optionally its cdf/ccdf),
// integrated by Boost.Math adaptive quadrature. Slow and independent of every closed form: it is
// the oracle the tests compare the closed forms against, and a way to try a new density.
#pragma once

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "exmy/distributions/interval_terms.hpp"

namespace exmy {

/// A density on [lo, hi] (infinite ends allowed). `breaks` lists points where the pdf is not
/// smooth (every integral is split there); wide intervals are also split at centre ± scale·4^k
/// (centre = the first break, or 0) so that each adaptive piece sees the pdf on a bounded range
/// of scales. cdf/ccdf, when given, answer cdf()/ccdf(); otherwise they are integrals of the pdf.
struct generic_law {
  std::function<double(double)> pdf;
  std::function<double(double)> cdf;   ///< optional
  std::function<double(double)> ccdf;  ///< optional
  double lo = -INFINITY;
  double hi = INFINITY;
  std::vector<double> breaks;
  double scale = 1;              ///< length scale of the density
  std::string name = "generic";  ///< shown by to_string(): "generic:<name>"
  bool finite_variance = true;   ///< false: must be clipped or truncated to a finite range
};

/// Throws exmy::error without a pdf or with lo ≥ hi.
void validate(const generic_law& g);
double log_pdf(const generic_law& g, double x);
double pdf(const generic_law& g, double x);
double cdf(const generic_law& g, double x);
double ccdf(const generic_law& g, double x);
/// The five interval functionals by adaptive Gauss–Kronrod quadrature (61 points, bisection to
/// 1e-13 relative per piece; infinite ends are cut at ±DBL_MAX, and mass where the pdf is below
/// DBL_MIN is ignored).
interval_terms integrate(const generic_law& g, double a, double b, double u);
double mean(const generic_law& g);
double second_moment(const generic_law& g);
inline bool finite_second_moment(const generic_law& g) { return g.finite_variance; }

}  // namespace exmy
