// exmy/quantize/stats_lanes.hpp — the accumulator lanes of the fused error pass, shared by the CPU
// loops (quantize_kernels.inc: 8 lanes per 4096-element block, element i of a block in lane i % 8)
// and the CUDA kernel (quantize_cuda.cu: one lane per thread). Both add every (x, q) pair with the
// same function in the same element order, which is what makes their statistics bit-identical.
// Internal header, not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "exmy/config.hpp"

namespace exmy {

constexpr int kernel_lanes = 8;  ///< fixed accumulator lanes of the statistics loops
/// Elements per statistics block (fixed, so that results do not depend on threads or devices).
constexpr std::size_t stats_block_len = std::size_t{1} << 12;

/// Partial sums of L lanes (L = kernel_lanes on the CPU, 1 per GPU thread); lane l holds
/// Σ(q−x)², Σx², Σx(q−x), Σ(q−x), Σx, max|q−x| and the counters of its elements.
template <int L>
struct lane_sums {
  double ee[L] = {}, xx[L] = {}, xe[L] = {}, e[L] = {}, x[L] = {}, maxe[L] = {};
  std::uint64_t count[L] = {}, clipped[L] = {}, flushed[L] = {}, nan[L] = {}, inf[L] = {};
};

/// Per-lane partial sums of one CPU block; combined lane 0…7 in order.
using stats_lanes = lane_sums<kernel_lanes>;

/// Adds one (x, q) pair to lane l. hi/lo: the grid's end points (clipping test). Non-finite x only
/// counts; maxe never becomes NaN or −0 (a NaN or −0 error never compares greater than it), so
/// the maxima of lanes can be combined in any order.
template <int L>
EXMY_FORCEINLINE EXMY_HOST_DEVICE void accumulate_lane(lane_sums<L>& s, int l, double x, double q,
                                                       double hi, double lo) {
  const bool fin = (x - x) == 0.0;  // false for NaN and ±inf
  const double e = fin ? q - x : 0.0;
  const double xf = fin ? x : 0.0;
  s.ee[l] += e * e;
  s.xx[l] += xf * xf;
  s.xe[l] += xf * e;
  s.e[l] += e;
  s.x[l] += xf;
  const double ae = e < 0.0 ? -e : e;
  s.maxe[l] = ae > s.maxe[l] ? ae : s.maxe[l];
  s.count[l] += fin ? 1 : 0;
  s.clipped[l] += (fin && (x > hi || x < lo)) ? 1 : 0;
  s.flushed[l] += (fin && x != 0.0 && q == 0.0) ? 1 : 0;
  s.nan[l] += (x != x) ? 1 : 0;
  s.inf[l] += (!fin && x == x) ? 1 : 0;
}

}  // namespace exmy
