// exmy/sqnr/cells.hpp — the quantizer seen by the analytic engine: the real line cut into intervals
// on each of which Q(x) is constant (reference-spec §3, generalised to every rounding mode, flushed
// subnormals and non-saturating overflow).
//
// Boundaries are the grid points and, for the nearest modes, the midpoints between neighbours of the
// grid *with* subnormals; each interval's value is Q(interval midpoint) computed by the scalar rule
// itself, so the analytic engine integrates exactly the function the quantizer implements. Splitting
// every nearest-point cell at its grid point keeps u at an end of each interval (better conditioned
// closed forms, as the reference does). Stochastic rounding: an interval between neighbours g_lo,
// g_hi carries both; E[(Q−x)²|x] = (x−g_lo)(g_hi−x) and E[Q−x|x] = 0 there.
#pragma once

#include <cstdint>
#include <vector>

#include "exmy/quantize/params.hpp"

namespace exmy {

/// Which part of the error decomposition an interval belongs to.
enum class cell_region : std::uint8_t {
  clip,       ///< beyond the grid's end points (saturation or overflow)
  normal,     ///< rounding inside the normal range (integers: everywhere inside)
  subnormal,  ///< rounding in the subnormal range |x| < min normal, including flush to zero
};

/// One interval [lo, hi] and the value(s) Q takes on it (data frame).
struct cell {
  double lo, hi;
  double value;   ///< Q(x) on the interval (±inf / NaN for non-saturating overflow)
  double value2;  ///< stochastic rounding: the upper neighbour (value is the lower); else = value
  cell_region region;
};

/// Cells covering (−inf, +inf) in increasing order for parameters p and rounding mode r.
std::vector<cell> quantization_cells(const quant_params& p, rounding r);

const char* to_string(cell_region r);

}  // namespace exmy
