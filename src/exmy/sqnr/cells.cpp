// exmy/sqnr/cells.cpp — cutting the real line into the intervals of constant Q(x).
#include "exmy/sqnr/cells.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "exmy/quantize/round.hpp"

namespace exmy {

const char* to_string(cell_region r) {
  switch (r) {
    case cell_region::clip: return "clip";
    case cell_region::normal: return "normal";
    case cell_region::subnormal: return "subnormal";
  }
  return "?";
}

std::vector<cell> quantization_cells(const quant_params& p, rounding r) {
  // Boundaries come from the grid with subnormals kept: with .ftz the subnormal interval still
  // rounds at the subnormal step before it flushes, so its cells keep their real boundaries.
  quant_params full = p;
  full.flush_subnormals = 0;
  const std::vector<double> g = grid(full);
  const double inf = std::numeric_limits<double>::infinity();
  // Smallest normal magnitude in the data frame (integers: no subnormal region).
  const double min_normal = p.is_float ? p.min_normal * p.scale : 0.0;
  const bool nearest = (r == rounding::rne || r == rounding::rna);

  std::vector<double> cuts;  // interior boundaries, ascending
  cuts.reserve(2 * g.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    cuts.push_back(g[i]);
    if (nearest && i + 1 < g.size()) cuts.push_back(g[i] + 0.5 * (g[i + 1] - g[i]));
  }
  // Non-saturating formats: the first x beyond the top (bottom) that overflows starts a new cell.
  if (p.on_overflow != overflow_result::saturate) {
    const double top = g.back(), bot = g.front();
    // The overflow threshold lies within one top-binade step of the end point; bisect on Q.
    auto overflow_edge = [&](double from, double dir) {
      double step = std::abs(from) * 0.5;
      double lo = from, hi = from + dir * step;
      while (std::isfinite(quantize_value(hi, p, r))) hi = lo + 2.0 * (hi - lo);
      for (int it = 0; it < 200; ++it) {
        const double mid = lo + 0.5 * (hi - lo);
        if (mid == lo || mid == hi) break;
        (std::isfinite(quantize_value(mid, p, r)) ? lo : hi) = mid;
      }
      return hi;
    };
    if (top > 0) cuts.push_back(overflow_edge(top, 1.0));
    if (bot < 0) cuts.insert(cuts.begin(), overflow_edge(bot, -1.0));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  std::vector<cell> out;
  out.reserve(cuts.size() + 1);
  auto region_of = [&](double a, double b) {
    if (b <= g.front() || a >= g.back()) return cell_region::clip;
    const double mid = (a == -inf) ? b : (b == inf ? a : a + 0.5 * (b - a));
    return std::abs(mid) < min_normal ? cell_region::subnormal : cell_region::normal;
  };
  auto value_at = [&](double a, double b) {
    double mid;
    if (a == -inf) mid = b - std::max(1.0, std::abs(b));
    else if (b == inf) mid = a + std::max(1.0, std::abs(a));
    else mid = a + 0.5 * (b - a);
    return quantize_value(mid, p, r == rounding::stochastic ? rounding::rtz : r);
  };
  double prev = -inf;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const double next = i < cuts.size() ? cuts[i] : inf;
    cell c;
    c.lo = prev;
    c.hi = next;
    c.region = region_of(prev, next);
    if (r == rounding::stochastic && std::isfinite(prev) && std::isfinite(next) &&
        c.region != cell_region::clip) {
      // Between two neighbours: value = the lower (toward −inf), value2 = the upper.
      c.value = quantize_value(prev, p, rounding::rne);
      c.value2 = quantize_value(next, p, rounding::rne);
    } else {
      c.value = c.value2 = value_at(prev, next);
    }
    out.push_back(c);
    prev = next;
  }
  return out;
}

}  // namespace exmy
