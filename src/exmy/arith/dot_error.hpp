// exmy/arith/dot_error.hpp — the predicted error of one emulated dot product (issue 6, "the
// dot-product error of each network layer measured vs an analytic prediction for product and
// accumulation error"; derivation in README "Accuracy-driven tuning" → "Low-precision arithmetic").
//
// y = Σ_k p_k, p_k = a_k·b_k exact; p̃_k the modelled products; ŷ the model's sum. Model every
// error as independent of the others:
//   - an approximate multiplier (trunc, mitchell, lmul): relative errors ε_k = (p̃_k − p_k)/p_k with
//     mean μ and variance σ² (exhaustive_multiplier_error on the operand format, every code pair
//     equally likely);
//   - every rounding of a value v onto a grid (a product rounded to a format, a product or a sum
//     rounded into the accumulator): uniform within its cell, variance Δ(v)²/12 with Δ(v) the
//     grid spacing at v, and 0 when v is already a grid value (e.g. the product of two 8-bit floats
//     in fp32, bf16 or fp16). Then
//
//   E[(ŷ − y)²] ≈ μ²·(Σ p_k)² + σ²·Σ p_k²              approximate multiplier: bias + spread
//                 (or Σ_k Δ_F(p_k)²/12                   product rounded to format F)
//               + Σ_k Δ(p̃_k)²/12                        each product rounded into the accumulator
//               + Σ_additions Δ(v)²/12                  each addition rounded
//
// The additions are walked on the modelled path (v = the two rounded operands of each addition):
// s_{k−1} + p_k (sequential), the nodes of the pairwise tree, or the within-block sums plus, in
// fp32, each block sum and running total (blocked:K) — so which additions are inexact is taken
// from the computation, how large their errors are from the cell model. The bias term μ²(Σp)²
// grows with the square of the sum: a biased multiplier (Mitchell, truncation) errs coherently.
// Values beyond a grid's largest finite one are counted as overflows, not modelled (saturation).

#pragma once

#include <cstddef>
#include <cstdint>

#include "exmy/arith/emulated_gemm.hpp"

namespace exmy {

/// The three terms of the predicted mean squared error of one dot product.
struct dot_error_terms {
  double multiplier = 0;        ///< μ²(Σp)² + σ²Σp², or Σ Δ_F(p)²/12 for round:F
  double product_rounding = 0;  ///< Σ Δ(p̃_k)²/12
  double sum_rounding = 0;      ///< Σ Δ(v)²/12 over the additions
  std::int64_t overflows = 0;   ///< roundings of a value beyond the grid's largest (not modelled)
  double total() const { return multiplier + product_rounding + sum_rounding; }
};

/// The prediction for Σ a[r]·b[r·stride], r < n, under `ar`, with the multiplier's statistics
/// `mul` (ignored for the exact multiplier, whose error is zero).
dot_error_terms predicted_dot_error(const arithmetic& ar, const multiplier_error& mul,
                                    const float* a, const float* b, std::int64_t n,
                                    std::int64_t stride = 1);

}  // namespace exmy
