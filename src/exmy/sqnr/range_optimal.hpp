// exmy/sqnr/range_optimal.hpp — the maxval that minimises the exact analytic MSE (issue "analytic
// engine", range method `optimal`), global across the periodic plateaus of reference-spec Q4.
//
// MSE(maxval) is piecewise smooth: it has kinks where a cell boundary (grid point or midpoint)
// crosses an end of a bounded support or a point mass. The search
//  1. scans log2(maxval) at 16 points per octave upward from below the data until further octaves
//     cannot help (no improvement for two octaves and no clipping error left to remove: from there
//     on a float grid only repeats itself near the data or coarsens its subnormals);
//  2. brackets the best scan points by their neighbours, enumerates the kinks inside each bracket,
//     and minimises every smooth piece with Brent's method (Boost.Math);
//  3. returns the smallest maxval among minima equal within 1e-12 relative.
// The cut pattern of the quantizer is built once at the native scale and scaled per evaluation.
#pragma once

#include "exmy/formats/format_spec.hpp"
#include "exmy/sqnr/analytic.hpp"

namespace exmy {

struct optimal_range_result {
  double maxval = 0;
  error_moments moments;
  int evaluations = 0;  ///< MSE evaluations spent
};

/// Global minimiser of the analytic MSE over maxval in [1e-300, 1e300]. Throws exmy::error for
/// affine formats (their range is two-sided: use the data range).
optimal_range_result optimal_maxval(const law_view& law, const format_spec& f,
                                    rounding r = rounding::rne);

/// Helper shared with sweeps: the analytic moments at `maxval` from native-scale cells.
class scaled_evaluator {
 public:
  scaled_evaluator(const law_view& law, const format_spec& f, rounding r);
  /// Moments at maxval (> 0).
  error_moments at(double maxval) const;
  /// Cut points at the native scale (grid points, midpoints, overflow edges), ascending.
  const std::vector<double>& native_cuts() const { return cuts_; }
  /// maxval per unit of scale: maxval = scale · native_max.
  double native_max() const { return native_max_; }

 private:
  const law_view& law_;
  format_spec f_;
  rounding r_;
  std::vector<cell> native_cells_;
  std::vector<double> cuts_;
  double native_max_ = 1;
};

}  // namespace exmy
