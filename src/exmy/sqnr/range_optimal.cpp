// exmy/sqnr/range_optimal.cpp — global minimisation of the analytic MSE over maxval.
#include "exmy/sqnr/range_optimal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <boost/math/tools/minima.hpp>

#include "exmy/quantize/params.hpp"

namespace exmy {

scaled_evaluator::scaled_evaluator(const law_view& law, const format_spec& f, rounding r)
    : law_(law), f_(f), r_(r) {
  if (f.is_affine())
    throw error("format '" + f.name + "': the optimal range search needs a symmetric format");
  const quant_params nat = make_native_params(f);
  native_max_ = nat.maxval;
  native_cells_ = quantization_cells(nat, r);
  for (std::size_t i = 1; i < native_cells_.size(); ++i) cuts_.push_back(native_cells_[i].lo);
}

error_moments scaled_evaluator::at(double maxval) const {
  const quant_params p = make_params(f_, maxval);
  // Cells scale exactly like the grid: a boundary b becomes RN(b·s), the value of grid(p).
  std::vector<cell> cells = native_cells_;
  for (cell& c : cells) {
    c.lo *= p.scale;
    c.hi *= p.scale;
    c.value *= p.scale;
    c.value2 *= p.scale;
  }
  return analytic_moments(law_, cells, p, r_);
}

optimal_range_result optimal_maxval(const law_view& law, const format_spec& f, rounding r) {
  const scaled_evaluator ev(law, f, r);
  optimal_range_result res;
  auto mse_at = [&](double m) {
    ++res.evaluations;
    return ev.at(m).mse;
  };
  // 1. Octave scan (P points per octave) from 2^−8 below the typical magnitude upward.
  constexpr int P = 16;
  const double start = law.abs_scale > 0 ? law.abs_scale : 1.0;
  const double lmin = std::max(std::log2(start) - 8.0, -990.0);
  struct sample {
    double m, mse;
  };
  std::vector<sample> scan;
  double best = std::numeric_limits<double>::infinity();
  int quiet_octaves = 0;
  for (int oct = 0; lmin + oct < 990.0; ++oct) {
    double oct_best = std::numeric_limits<double>::infinity();
    double oct_best_m = 0;
    for (int j = 0; j < P; ++j) {
      const double m = std::exp2(lmin + oct + double(j) / P);
      const double v = mse_at(m);
      scan.push_back({m, v});
      if (v < oct_best) {
        oct_best = v;
        oct_best_m = m;
      }
    }
    const bool improved = oct_best < best * (1 - 1e-12);
    best = std::min(best, oct_best);
    // Stop once two octaves brought nothing and clipping is negligible at the octave's best.
    const double clip = std::isfinite(oct_best) ? ev.at(oct_best_m).clip_mse : 1.0;
    const bool clip_gone = std::isfinite(oct_best) && clip <= 1e-12 * oct_best;
    quiet_octaves = (!improved && clip_gone) ? quiet_octaves + 1 : 0;
    if (quiet_octaves >= 2 && oct >= 10) break;
  }
  // 2. Refine around every scan point within 1e-3 of the best that is a local minimum of the scan.
  std::vector<std::pair<double, double>> brackets;
  for (std::size_t i = 0; i < scan.size(); ++i) {
    const bool local = (i == 0 || scan[i].mse <= scan[i - 1].mse) &&
                       (i + 1 == scan.size() || scan[i].mse <= scan[i + 1].mse);
    if (local && scan[i].mse <= best * (1 + 1e-3))
      brackets.push_back({scan[i > 0 ? i - 1 : i].m, scan[i + 1 < scan.size() ? i + 1 : i].m});
  }
  // Kinks: a cut point b crosses a support end or a point mass at maxval = x·native_max/b.
  std::vector<double> anchors;
  if (std::isfinite(law.lo)) anchors.push_back(law.lo);
  if (std::isfinite(law.hi)) anchors.push_back(law.hi);
  for (const point_mass& pm : law.masses) anchors.push_back(pm.x);
  std::vector<sample> found = scan;  // every evaluated candidate; the tie rule is applied at the end
  auto consider = [&](double m, double v) { found.push_back({m, v}); };
  for (const auto& br : brackets) {
    std::vector<double> knots{br.first, br.second};
    for (double x : anchors)
      for (double b : ev.native_cuts()) {
        if (b == 0 || (x > 0) != (b > 0)) continue;
        const double m = x * ev.native_max() / b;
        if (m > br.first && m < br.second) knots.push_back(m);
      }
    std::sort(knots.begin(), knots.end());
    knots.erase(std::unique(knots.begin(), knots.end()), knots.end());
    for (std::size_t k = 0; k + 1 < knots.size(); ++k) {
      const double a = knots[k], b = knots[k + 1];
      consider(a, mse_at(a));
      if (b / a - 1 < 1e-14) continue;
      std::uintmax_t iters = 80;
      const auto mn = boost::math::tools::brent_find_minima(mse_at, a, b, 40, iters);
      consider(mn.first, mn.second);
    }
    consider(knots.back(), mse_at(knots.back()));
  }
  // 3. Smallest maxval among minima equal within 1e-12 relative.
  double best_v = std::numeric_limits<double>::infinity();
  for (const auto& c : found) best_v = std::min(best_v, c.mse);
  double best_m = std::numeric_limits<double>::infinity();
  for (const auto& c : found)
    if (c.mse <= best_v * (1 + 1e-12)) best_m = std::min(best_m, c.m);
  res.maxval = best_m;
  res.moments = ev.at(best_m);
  return res;
}

}  // namespace exmy
