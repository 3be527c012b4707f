// exmy/distributions/gauss_legendre.hpp — cancellation-free interval integrals by Gauss–Legendre.
//
// Narrow cells (width ≪ |u|, the 12- and 16-bit grids) defeat the closed forms: expanding
// ∫(x−u)²p = ∫x²p − 2u∫xp + u²∫p loses (u/width)² · eps, about 1e-6 relative for int16. Here the
// integrand is evaluated node by node with y = x − u formed from the nearer cell end, so no such
// cancellation occurs. An n-point rule on [c−h, c+h] has error ~ρ^(−2n), ρ the Bernstein ellipse
// that still avoids the pdf's singularities and growth; each family decides (from its local
// log-derivative and singularities) whether a panel is narrow enough, tuned against long-double
// references (tests/test_distributions.cpp). Nodes and weights come from Boost.Math.
#pragma once

#include <boost/math/quadrature/gauss.hpp>
#include <cmath>

#include "exmy/distributions/interval_terms.hpp"

namespace exmy::detail {

/// Adds one node: `direct` collects unscaled weighted terms, `logged` terms already multiplied by
/// the half-width, computed in log space when the pdf underflows or x, y are huge (cells up to 1e300).
template <class LogPdf>
inline void gl_node(interval_terms& direct, interval_terms& logged, double wt, double half, double x,
                    double y, const LogPdf& log_pdf) {
  const double lp = log_pdf(x);
  if (!(lp > -INFINITY)) return;  // outside the support (or NaN from a degenerate argument)
  const double ax = std::fabs(x), ay = std::fabs(y);
  if (lp > -600 && lp < 300 && ax < 1e100 && ay < 1e100) {
    const double p = wt * std::exp(lp);
    const double xp = x * p, yp = y * p;
    direct.p0 += p;
    direct.p1 += xp;
    direct.p2 += x * xp;
    direct.sq_err += y * yp;
    direct.signed_err -= x * yp;
    return;
  }
  const double l = lp + std::log(wt * half);
  const double lx = std::log(ax), ly = std::log(ay);
  logged.p0 += std::exp(l);
  logged.p1 += std::copysign(std::exp(l + lx), x);
  logged.p2 += std::exp(l + 2 * lx);
  logged.sq_err += std::exp(l + 2 * ly);
  logged.signed_err += ((x < 0) != (y < 0) ? 1.0 : -1.0) * std::exp(l + lx + ly);
}

/// N-point Gauss–Legendre on one panel [a, b] (finite, a < b) of the five interval functionals.
/// Each node is placed from its nearer end (x = a + h(1−t) or b − h(1−t)) and y = x − u from
/// a − u or b − u, so nodes next to u carry no rounding larger than their own size.
template <int N, class LogPdf>
interval_terms gl_panel(const LogPdf& log_pdf, double a, double b, double u) {
  static_assert(N % 2 == 0, "even rules only: every abscissa comes as a ± pair");
  using rule = boost::math::quadrature::gauss<double, N>;
  const auto& t = rule::abscissa();
  const auto& w = rule::weights();
  const double half = 0.5 * b - 0.5 * a;
  const double au = a - u, bu = b - u;
  interval_terms direct, logged;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double off = half * (1 - t[i]);
    gl_node(direct, logged, w[i], half, a + off, au + off, log_pdf);
    gl_node(direct, logged, w[i], half, b - off, bu - off, log_pdf);
  }
  direct *= half;
  direct += logged;
  return direct;
}

/// One panel with the node count chosen by `panel(a, b)` (10 or 20), or 0 when it is too wide.
template <class LogPdf, class Panel>
bool gl_try(const LogPdf& log_pdf, const Panel& panel, double a, double b, double u,
            interval_terms& out) {
  switch (panel(a, b)) {
    case 10: out = gl_panel<10>(log_pdf, a, b, u); return true;
    case 20: out = gl_panel<20>(log_pdf, a, b, u); return true;
    default: return false;
  }
}

/// Composite Gauss–Legendre: splits [a, b] until every piece satisfies `panel`. Splits happen at
/// the location `loc`, geometrically (in z = (x − loc)/scale) across wide tail intervals, at
/// z = ±1 for intervals starting at the location, and at midpoints otherwise, so [1, 1e300] needs
/// only O(log) pieces.
template <class LogPdf, class Panel>
void gl_composite(const LogPdf& log_pdf, const Panel& panel, double loc, double scale, double a,
                  double b, double u, interval_terms& acc, int depth = 0) {
  interval_terms piece;
  if (gl_try(log_pdf, panel, a, b, u, piece) || depth > 400) {
    if (depth > 400) piece = gl_panel<20>(log_pdf, a, b, u);
    acc += piece;
    return;
  }
  const double za = (a - loc) / scale, zb = (b - loc) / scale;
  double zm;
  if (za < 0 && zb > 0) {
    zm = 0;
  } else if (za >= 0 && zb > 2 * za) {
    zm = za == 0 ? std::fmin(1.0, 0.5 * zb) : std::sqrt(za) * std::sqrt(zb);
  } else if (zb <= 0 && za < 2 * zb) {
    zm = zb == 0 ? std::fmax(-1.0, 0.5 * za) : -std::sqrt(-za) * std::sqrt(-zb);
  } else {
    zm = 0.5 * za + 0.5 * zb;
  }
  double m = loc + scale * zm;
  if (!(m > a && m < b)) m = 0.5 * a + 0.5 * b;
  gl_composite(log_pdf, panel, loc, scale, a, m, u, acc, depth + 1);
  gl_composite(log_pdf, panel, loc, scale, m, b, u, acc, depth + 1);
}

}  // namespace exmy::detail
