// exmy/distributions/laplace.hpp — the Laplace law, density exp(−|x − mu|/b)/(2b).
#pragma once

#include "exmy/distributions/interval_terms.hpp"

namespace exmy {

/// Laplace(mu, b): location mu, scale b > 0 (variance 2b²).
struct laplace_law {
  double mu = 0;
  double b = 1;
};

/// Throws exmy::error unless mu is finite and b finite and > 0.
void validate(const laplace_law& l);
double log_pdf(const laplace_law& l, double x);
double pdf(const laplace_law& l, double x);
double cdf(const laplace_law& l, double x);
/// 1 − F computed directly (exp(−z)/2 in the upper tail).
double ccdf(const laplace_law& l, double x);
/// The five interval functionals over [a, b] (a ≤ b, infinite ends allowed); the kink at mu is
/// always a piece boundary.
interval_terms integrate(const laplace_law& l, double a, double b, double u);
double mean(const laplace_law& l);
double second_moment(const laplace_law& l);
inline bool finite_second_moment(const laplace_law&) { return true; }

}  // namespace exmy
