// exmy/distributions/uniform.hpp — the uniform law on [lo, hi] (reference-spec §2, Uniform).
#pragma once

#include "exmy/distributions/interval_terms.hpp"

namespace exmy {

/// Uniform on [lo, hi], lo < hi finite.
struct uniform_law {
  double lo = -1;
  double hi = 1;
};

/// Throws exmy::error unless lo < hi are finite.
void validate(const uniform_law& d);
double log_pdf(const uniform_law& d, double x);
double pdf(const uniform_law& d, double x);
double cdf(const uniform_law& d, double x);
double ccdf(const uniform_law& d, double x);
/// The five interval functionals over [a, b] ∩ [lo, hi], exact polynomials written without
/// cancellation (differences of cubes factored when both ends lie on one side of u).
interval_terms integrate(const uniform_law& d, double a, double b, double u);
double mean(const uniform_law& d);
double second_moment(const uniform_law& d);
inline bool finite_second_moment(const uniform_law&) { return true; }

}  // namespace exmy
