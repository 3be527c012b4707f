// exmy/sqnr/mx.hpp — block-scaled (OCP MX) formats in both SQNR engines (issue 4): k i.i.d.
// draws share one power-of-two scale 2^e chosen from the block maximum M = max|x_j| by a rule
// (ptq/granularity.hpp: floor as OCP MX v1.0 §6.3, ceil, nearest), and every element is quantized
// to the element grid scaled by 2^e (block_params). MXFP8 = e4m3fn/e5m2ieee elements, MXFP6 =
// e2m3fn/e3m2fn, MXFP4 = e2m1fn, MXINT8 = int8n … with k = 32.
//
// Analytic MSE (derivation, README "Block-scaled (MX) formats"). The exponent e(M) is a
// non-decreasing step function: e(M) = e on M ∈ [a_e, a_{e+1}). For one element x of a block, the
// maximum of the other k − 1 draws, M', has the cdf G(m) = F(m)^(k−1), F(m) = P(|X| ≤ m), and
// M = max(|x|, M'). So the block uses exponent e with probability
//     G(a_{e+1})               when a_e ≤ |x| < a_{e+1}   (x itself sets the binade: M' < a_{e+1}),
//     G(a_{e+1}) − G(a_e)      when |x| < a_e             (M' alone lies in [a_e, a_{e+1})),
//     0                        when |x| ≥ a_{e+1},
// and, with err_e(x) = Q_e(x) − x on the grid of exponent e,
//     E[err²] = Σ_e [ G(a_{e+1}) ∫_{a_e ≤ |x| < a_{e+1}} err_e² p + (G(a_{e+1}) − G(a_e)) ∫_{|x| < a_e} err_e² p ],
// each integral an ordinary cell sum of the analytic engine over a window of the support. Exact
// for continuous laws (no point masses: clipped and empirical laws are refused); the thresholds
// a_e are found by bisection on shared_exponent itself, so every rule is integrated as coded.
//
// Monte-Carlo: samples b·k … b·k + k − 1 of the stream form block b (the sampler of
// monte_carlo.hpp, sample i a function of (seed, i)); blocks fold in a fixed order, so results do
// not depend on threads. The standard error comes from the per-block sums of squared errors
// (elements of one block share a scale and are not independent; blocks are).
#pragma once

#include <cstdint>
#include <string>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/granularity.hpp"
#include "exmy/sqnr/analytic.hpp"
#include "exmy/sqnr/monte_carlo.hpp"

namespace exmy {

/// A block-scaled format: element grid, block length k, scale rounding rule.
struct mx_spec {
  format_spec element;
  std::int64_t block = 32;
  block_rule rule = block_rule::floor;
};

/// Parses "K" or "K:floor|ceil|nearest" (the --block option) for an element format; K in 1…65536.
mx_spec parse_mx(const format_spec& element, const std::string& block);
/// "e4m3fn/32:floor".
std::string to_string(const mx_spec& mx);

/// Closed-form error moments of the MX format on law d (mse, x_err, mean_err and the parts).
/// Throws exmy::error for a law with point masses.
error_moments mx_analytic_moments(const distribution& d, const mx_spec& mx,
                                  rounding r = rounding::rne);

/// Monte-Carlo estimate (CPU): ceil(o.samples / k) whole blocks. o.device must be cpu.
mc_result monte_carlo_mx(const distribution& d, const mx_spec& mx, const mc_options& o);

}  // namespace exmy
