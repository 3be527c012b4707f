// exmy/sqnr/analytic.hpp — closed-form error moments of a quantizer under a distribution
// (reference-spec §3–§4): MSE = E[(Q(X)−X)²], E[X(Q(X)−X)], E[Q(X)−X], their split into clipping,
// normal-range rounding and subnormal-range rounding, SQNR in both conventions, and the dot-product
// MSE of independent X, Y (reference-spec §4.3, without bugs Q5/Q6).
//
// The engine sees a distribution through law_view: the support of its continuous part, its point
// masses, and the interval functionals of interval_terms (distributions/interval_terms.hpp). The
// quantizer is seen through its cells (cells.hpp), so every rounding mode and overflow policy that
// the scalar rule implements is integrated exactly.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "exmy/distributions/interval_terms.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/cells.hpp"

namespace exmy {

struct point_mass {
  double x;  ///< location
  double p;  ///< probability
};

/// What the engine needs of a law (build it with view_of(distribution)).
struct law_view {
  std::string name;  ///< canonical distribution spec, for reports
  double lo = -std::numeric_limits<double>::infinity();  ///< support of the continuous part
  double hi = std::numeric_limits<double>::infinity();
  std::vector<point_mass> masses;  ///< point masses (clipped distributions)
  /// Integrals of the continuous part over [a, b] ⊂ [lo, hi] for the point u.
  std::function<interval_terms(double a, double b, double u)> terms;
  double second_moment = 0;  ///< E[X²] of the whole law
  double mean = 0;           ///< E[X]
  double abs_scale = 1;      ///< a typical |x| (e.g. sqrt(E[X²]) or the support bound): search start
};

/// Error moments of one (law, quantizer, rounding) triple.
struct error_moments {
  double mse = 0;            ///< E[(Q−X)²]
  double x_err = 0;          ///< E[X(Q−X)]
  double mean_err = 0;       ///< E[Q−X]
  double second_moment = 0;  ///< E[X²]
  double clip_mse = 0;       ///< part of mse from x beyond the grid's end points
  double round_mse = 0;      ///< part from rounding in the normal range
  double subnormal_mse = 0;  ///< part from the subnormal range, flush to zero included
  /// Standard SQNR 10·log10(E[X²]/MSE) in dB.
  double sqnr_db() const;
  /// What the paper prints: −10·log10(MSE) (reference-spec Q1).
  double paper_db() const;
};

/// The closed-form moments: Σ over cells of the interval functionals plus the point masses.
error_moments analytic_moments(const law_view& law, const quant_params& p,
                               rounding r = rounding::rne);
/// The same from precomputed cells (the range search reuses the cut pattern across scales).
error_moments analytic_moments(const law_view& law, const std::vector<cell>& cells,
                               const quant_params& p, rounding r);

/// Dot-product error of independent X, Y: E[(XY − Q(X)Q(Y))²] (reference-spec §4.3) from the
/// second moments, the MSEs and the cross terms c = E[X(Q−X)] of both factors.
double dot_product_mse(double ex2, double mse_x, double cross_x, double ey2, double mse_y,
                       double cross_y);
/// Standard dot-product SQNR 10·log10(E[X²]E[Y²]/dot_mse) in dB.
double dot_sqnr_db(double ex2, double ey2, double dot_mse);

}  // namespace exmy
