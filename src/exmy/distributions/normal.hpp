// exmy/distributions/normal.hpp — the normal law N(mu, sigma²) (reference-spec §2, Gaussian).
#pragma once

#include "exmy/distributions/interval_terms.hpp"

namespace exmy {

/// N(mu, sigma²). Build through normal() (distribution.hpp) or validate() it.
struct normal_law {
  double mu = 0;
  double sigma = 1;
};

/// Throws exmy::error unless mu is finite and sigma finite and > 0.
void validate(const normal_law& n);
double log_pdf(const normal_law& n, double x);
double pdf(const normal_law& n, double x);
/// Φ((x − mu)/sigma) by erfc, accurate down to the smallest doubles in the lower tail.
double cdf(const normal_law& n, double x);
/// 1 − Φ, computed directly (erfc) so the upper tail keeps full relative accuracy.
double ccdf(const normal_law& n, double x);
/// The five interval functionals over [a, b] (a ≤ b, infinite ends allowed): Gauss–Legendre on
/// narrow cells, the closed forms of reference-spec §2 near the centre, and beyond |z| = 5 tail
/// moments from Laplace's continued fraction (no cancellation between the closed-form terms).
interval_terms integrate(const normal_law& n, double a, double b, double u);
double mean(const normal_law& n);
double second_moment(const normal_law& n);
inline bool finite_second_moment(const normal_law&) { return true; }

}  // namespace exmy
