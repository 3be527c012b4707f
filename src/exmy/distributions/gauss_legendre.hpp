// exmy/distributions/gauss_legendre.hpp — cancellation-free interval integrals by Gauss–Legendre.
//
// Narrow cells (width ≪ |u|, the 12- and 16-bit grids) defeat the closed forms: expanding
// ∫(x−u)²p = ∫x²p − 2u∫xp + u²∫p loses (u/width)² · eps, about 1e-6 relative for int16. Here the
// integrand is evaluated node by node with y = x − u formed from the nearer cell end, so no such
// cancellation occurs. An n-point rule on [c−h, c+h] has error ~ρ^(−2n), ρ the Bernstein ellipse
// that still avoids the pdf's singularities and growth; each family measures q = half-width ×
// local rate of change of its density (and the distance to its complex poles), and nodes_for()
// picks 4 … 20 nodes, thresholds tuned against long-double references so that every panel stays
// near 1e-14 relative (tests/test_distributions.cpp checks cells of 12- and 16-bit grids at
// 1e-12). Typical 8-bit cells need 4–6 nodes.
#pragma once

#include <boost/math/quadrature/gauss.hpp>
#include <cmath>
#include <type_traits>
#include <utility>

#include "exmy/distributions/interval_terms.hpp"

namespace exmy::detail {

/// A log-density functor may also offer `direct(x)`: the density itself where that is cheaper
/// than exp(log p) and safely inside [1e-260, 1e130], or a negative value to use the log form.
template <class F, class = void>
struct has_direct : std::false_type {};
template <class F>
struct has_direct<F, std::void_t<decltype(std::declval<const F&>().direct(0.0))>> : std::true_type {
};

/// Adds one node: `direct` collects unscaled weighted terms, `logged` terms already multiplied by
/// the half-width, computed in log space when the pdf underflows or x, y are huge (cells up to
/// 1e300).
template <class LogPdf>
inline void gl_node(interval_terms& direct, interval_terms& logged, double wt, double half,
                    double x, double y, const LogPdf& log_pdf) {
  const double ax = std::fabs(x), ay = std::fabs(y);
  double p0 = -1;
  if constexpr (has_direct<LogPdf>::value) p0 = log_pdf.direct(x);
  if (p0 >= 0 && ax < 1e100 && ay < 1e100) {
    const double p = wt * p0;
    const double xp = x * p, yp = y * p;
    direct.p0 += p;
    direct.p1 += xp;
    direct.p2 += x * xp;
    direct.sq_err += y * yp;
    direct.signed_err -= x * yp;
    return;
  }
  const double lp = log_pdf(x);
  if (!(lp > -INFINITY)) return;  // outside the support (or NaN from a degenerate argument)
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

// Positive abscissas and weights of the 4-, 6- and 8-point rules (roots of the Legendre
// polynomials by mpmath findroot at 30 digits, weights 2/((1 − t²)P_n'(t)²), printed to 21
// digits); the 10- and 20-point rules come from Boost.Math.
constexpr double gl4_t[] = {0.861136311594052575224, 0.339981043584856264803};
constexpr double gl4_w[] = {0.347854845137453857373, 0.652145154862546142627};
constexpr double gl6_t[] = {0.932469514203152027812, 0.661209386466264513661,
                            0.238619186083196908631};
constexpr double gl6_w[] = {0.17132449237917034504, 0.36076157304813860757, 0.46791393457269104739};
constexpr double gl8_t[] = {0.960289856497536231684, 0.796666477413626739592,
                            0.525532409916328985818, 0.183434642495649804939};
constexpr double gl8_w[] = {0.101228536290376259153, 0.222381034453374470544,
                            0.313706645877887287338, 0.362683783378361982965};

/// Node count for a panel from q = h·G (half-width times the density's rate of change, see each
/// family) and S = ρ + 1/ρ of the Bernstein ellipse through the nearest singularity (∞ if none):
/// the largest q at which each rule stays below ~5e-15 relative on (x − u)²p for the normal and
/// Student-t (nu 0.5 … 1e6) in long-double sweeps (tests/test_distributions.cpp checks the
/// result); 0 means split or use a closed form.
inline int nodes_for(double q, double S = INFINITY) {
  if (q <= 0.01 && S >= 8) return 4;
  if (q <= 0.1 && S >= 8) return 6;
  if (q <= 0.3 && S >= 8) return 8;
  if (q <= 1 && S >= 6 + 1.0 / 6) return 10;
  if (q <= 2.5 && S >= 3 + 1.0 / 3) return 20;
  return 0;
}

/// n-point Gauss–Legendre (n ∈ {4, 6, 8, 10, 20}) on one panel [a, b] (finite, a < b) of the five
/// interval functionals. Each node is placed from its nearer end (x = a + h(1−t) or b − h(1−t))
/// and y = x − u from a − u or b − u, so nodes next to u carry no rounding larger than their own
/// size.
template <class LogPdf>
interval_terms gl_panel(const LogPdf& log_pdf, int n, double a, double b, double u) {
  const double *t = nullptr, *w = nullptr;
  switch (n) {
    case 4:
      t = gl4_t, w = gl4_w;
      break;
    case 6:
      t = gl6_t, w = gl6_w;
      break;
    case 8:
      t = gl8_t, w = gl8_w;
      break;
    case 10:
      t = boost::math::quadrature::gauss<double, 10>::abscissa().data();
      w = boost::math::quadrature::gauss<double, 10>::weights().data();
      break;
    default:
      n = 20;
      t = boost::math::quadrature::gauss<double, 20>::abscissa().data();
      w = boost::math::quadrature::gauss<double, 20>::weights().data();
  }
  const double half = 0.5 * b - 0.5 * a;
  const double au = a - u, bu = b - u;
  interval_terms direct, logged;
  for (int i = 0; i < n / 2; ++i) {
    const double off = half * (1 - t[i]);
    gl_node(direct, logged, w[i], half, a + off, au + off, log_pdf);
    gl_node(direct, logged, w[i], half, b - off, bu - off, log_pdf);
  }
  direct *= half;
  direct += logged;
  return direct;
}

/// One panel with the node count chosen by `panel(a, b)` (nodes_for), or false when it is too
/// wide.
template <class LogPdf, class Panel>
bool gl_try(const LogPdf& log_pdf, const Panel& panel, double a, double b, double u,
            interval_terms& out) {
  const int n = panel(a, b);
  if (n == 0) return false;
  out = gl_panel(log_pdf, n, a, b, u);
  return true;
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
    if (depth > 400) piece = gl_panel(log_pdf, 20, a, b, u);
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

/// Gauss–Legendre panels marched from `from` towards `to` (either direction; `to` may be
/// infinite) for a density that decays away from `from`: each panel is as wide as `panel`
/// accepts (the width doubles after an accepted panel, halves after a rejected one), and the march
/// stops once a panel adds less than 1e-18 of the accumulated ∫p, ∫x²p and ∫(x − u)²p. Used where
/// the closed forms would cancel: far tails of a rapidly decaying density relative to u.
template <class LogPdf, class Panel>
void gl_march(const LogPdf& log_pdf, const Panel& panel, double from, double to, double u, double h,
              interval_terms& acc) {
  const double dir = to > from ? 1.0 : -1.0;
  double x = from;
  for (int guard = 0; guard < 100000 && x != to; ++guard) {
    double next = x + dir * 2 * h;
    if (dir * (next - to) > 0 || !std::isfinite(next)) next = to;
    if (!std::isfinite(next)) break;
    const double lo = std::fmin(x, next), hi = std::fmax(x, next);
    interval_terms piece;
    if (!gl_try(log_pdf, panel, lo, hi, u, piece)) {
      h *= 0.5;
      continue;
    }
    acc += piece;
    x = next;
    h *= 2;
    if (std::fabs(piece.p0) <= 1e-18 * std::fabs(acc.p0) &&
        std::fabs(piece.p2) <= 1e-18 * std::fabs(acc.p2) &&
        std::fabs(piece.sq_err) <= 1e-18 * std::fabs(acc.sq_err))
      break;
  }
}

}  // namespace exmy::detail
