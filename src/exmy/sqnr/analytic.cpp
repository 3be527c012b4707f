// exmy/sqnr/analytic.cpp — summing interval functionals over the quantizer's cells.
#include "exmy/sqnr/analytic.hpp"

#include <algorithm>
#include <cmath>

#include "exmy/quantize/round.hpp"

namespace exmy {

double error_moments::sqnr_db() const {
  if (!(mse > 0)) return mse == 0 ? std::numeric_limits<double>::infinity() : mse;
  return 10.0 * std::log10(second_moment / mse);
}
double error_moments::paper_db() const {
  if (!(mse > 0)) return mse == 0 ? std::numeric_limits<double>::infinity() : mse;
  return -10.0 * std::log10(mse);
}

namespace {

void add_part(error_moments& m, cell_region region, double sq) {
  switch (region) {
    case cell_region::clip: m.clip_mse += sq; break;
    case cell_region::normal: m.round_mse += sq; break;
    case cell_region::subnormal: m.subnormal_mse += sq; break;
  }
}

// The cell holding x (cells are sorted and cover the real line; a boundary goes to the cell above).
const cell& cell_of(const std::vector<cell>& cells, double x) {
  auto it = std::upper_bound(cells.begin(), cells.end(), x,
                             [](double v, const cell& c) { return v < c.hi; });
  if (it == cells.end()) --it;
  return *it;
}

}  // namespace

error_moments analytic_moments(const law_view& law, const quant_params& p, rounding r) {
  return analytic_moments(law, quantization_cells(p, r), p, r);
}

error_moments analytic_moments(const law_view& law, const std::vector<cell>& cells,
                               const quant_params& p, rounding r) {
  error_moments m;
  m.second_moment = law.second_moment;
  const double inf = std::numeric_limits<double>::infinity();
  bool infinite = false;
  // 1. The continuous part, cell by cell, restricted to its support.
  auto first = std::upper_bound(cells.begin(), cells.end(), law.lo,
                                [](double v, const cell& c) { return v < c.hi; });
  for (auto it = first; it != cells.end() && it->lo < law.hi; ++it) {
    const double a = std::max(it->lo, law.lo), b = std::min(it->hi, law.hi);
    if (!(b > a)) continue;
    if (r == rounding::stochastic && it->value != it->value2) {
      // E[(Q−x)²|x] = (x−g0)(g1−x); SR is unbiased: E[Q−x|x] = 0. Each half of the cell is
      // written around its own end g: (x−g0)(g1−x) = w·|x−g| − (x−g)², where w·|x−g| ≥ 2(x−g)²,
      // so nothing cancels even when the law sits at one end of a huge cell (the form
      // (w/2)² − (x−c)² loses all digits there). ∫(x−g)p = −(∫x(g−x)p + ∫(x−g)²p)/g, or ∫x p
      // at g = 0: no difference of large terms either (|x| ≤ 2|g| next to a grid point g ≠ 0).
      const double g0 = it->value, g1 = it->value2, w = g1 - g0, c = g0 + 0.5 * w;
      auto half = [&](double lo, double hi, double g) {
        if (!(hi > lo)) return 0.0;
        const interval_terms t = law.terms(lo, hi, g);
        const double dev = g == 0 ? t.p1 : -(t.signed_err + t.sq_err) / g;  // ∫(x−g)p
        return std::max(0.0, w * std::fabs(dev) - t.sq_err);
      };
      const double sq = half(a, std::min(b, c), g0) + half(std::max(a, c), b, g1);
      m.mse += sq;
      add_part(m, it->region, sq);
      continue;
    }
    const double u = it->value;
    if (!std::isfinite(u)) {
      // Non-saturating overflow: any probability here makes the MSE infinite. An unbounded
      // support has probability beyond every point even where it underflows (N(0,1) past 38).
      if (!std::isfinite(a) || !std::isfinite(b) || law.terms(a, b, a).p0 > 0) infinite = true;
      continue;
    }
    const interval_terms t = law.terms(a, b, u);
    m.mse += t.sq_err;
    m.x_err += t.signed_err;
    m.mean_err += u * t.p0 - t.p1;
    add_part(m, it->region, t.sq_err);
  }
  // 2. Point masses: quantized by the scalar rule itself (reference-spec §3 step 4).
  for (const point_mass& pm : law.masses) {
    if (pm.p <= 0) continue;
    const cell& c = cell_of(cells, pm.x);
    if (r == rounding::stochastic && c.value != c.value2) {
      const double sq = (pm.x - c.value) * (c.value2 - pm.x) * pm.p;
      m.mse += sq;
      add_part(m, c.region, sq);
      continue;
    }
    const double q = quantize_value(pm.x, p, r);
    if (!std::isfinite(q)) {
      infinite = true;
      continue;
    }
    const double e = q - pm.x;
    m.mse += e * e * pm.p;
    m.x_err += pm.x * e * pm.p;
    m.mean_err += e * pm.p;
    add_part(m, c.region, e * e * pm.p);
  }
  if (infinite) {
    m.mse = inf;
    m.x_err = std::numeric_limits<double>::quiet_NaN();
    m.clip_mse = inf;
  }
  return m;
}

double dot_product_mse(double ex2, double mse_x, double cross_x, double ey2, double mse_y,
                       double cross_y) {
  // XY − Q(X)Q(Y) = −(X r_y + Y r_x + r_x r_y); square and take expectations of independent
  // factors (reference-spec §4.3). An infinite factor MSE (non-saturating overflow, whose cross
  // term is NaN) makes the product's error infinite too.
  if (std::isinf(mse_x) || std::isinf(mse_y)) return std::numeric_limits<double>::infinity();
  return ex2 * mse_y + ey2 * mse_x + mse_x * mse_y + 2.0 * cross_x * cross_y +
         2.0 * mse_x * cross_y + 2.0 * mse_y * cross_x;
}

double dot_sqnr_db(double ex2, double ey2, double dot_mse) {
  if (!(dot_mse > 0)) return dot_mse == 0 ? std::numeric_limits<double>::infinity() : dot_mse;
  return 10.0 * std::log10(ex2 * ey2 / dot_mse);
}

}  // namespace exmy
