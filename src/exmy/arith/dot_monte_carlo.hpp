// exmy/arith/dot_monte_carlo.hpp — Monte-Carlo check of the dot-product error model (issue 6,
// "… vs Monte-Carlo on synthetic vectors"): random dot products of normal vectors quantized to an
// operand format, computed under an arithmetic and exactly, their mean squared error with a
// standard error, against the mean of the model's per-dot prediction (dot_error.hpp).
#pragma once

#include <cstdint>

#include "exmy/arith/dot_error.hpp"

namespace exmy {

struct dot_mc_options {
  std::int64_t length = 256;      ///< K, products per dot
  std::int64_t trials = 2000;     ///< dot products
  double sigmas = 4;              ///< the format's largest native value is `sigmas` standard deviations
  std::uint64_t seed = 20240501;  ///< Philox seed (sample i of stream 0: a, of stream 1: b)
};

struct dot_mc_result {
  std::int64_t length = 0, trials = 0;
  double measured_mse = 0;   ///< mean of (ŷ − y)² over the trials (native frame)
  double measured_se = 0;    ///< its standard error (sample standard deviation / √trials)
  double predicted_mse = 0;  ///< mean over the trials of the model's prediction
  dot_error_terms predicted_terms;  ///< the same per term
  double signal = 0;         ///< mean of y²
  std::int64_t overflow_dots = 0;  ///< dots where some rounding overflowed (outside the model)
  /// (measured − predicted) / standard error (0 when both are 0).
  double z() const;
};

/// Operands a_i, b_i ~ N(0, σ²) with σ = native max / sigmas, rounded (RNE) onto the operand
/// format's native grid; y summed in double — exact when every product is a multiple of the
/// smallest product and the sum stays below 2^53 of it (e4m3: multiples of 2^−20 below 2^26), else
/// within ~2^−53·Σ|p|, far below every modelled error.
dot_mc_result dot_monte_carlo(const arithmetic& ar, const multiplier_error& mul,
                              const format_spec& operands, const dot_mc_options& opt = {});

}  // namespace exmy
