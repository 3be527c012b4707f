// exmy/arith/arith_core.hpp — the scalar rules of emulated low-precision arithmetic (issue 6,
// "Low-precision and approximate arithmetic"): one modelled product, one accumulator rounding, and
// the three summation orders. Header-only and EXMY_HOST_DEVICE, like quantize/round.hpp: the CPU
// GEMM (emulated_gemm.cpp) and the CUDA kernel (emulated_gemm_cuda.cu) call these same functions in
// the same order, which is what makes their results equal bit for bit.
//
// Multipliers (models of the ones the hardware literature describes, named as such — not claims
// to reproduce any particular chip). Every operand x ≠ 0 is x = ±2^e·(1 + f), f ∈ [0, 1); "W
// mantissa bits" keeps f_W = ⌊f·2^W⌋/2^W (truncation, what a W-bit datapath sees):
//   exact      a·b (exact in double for operands of ≤ 26 significant bits, e.g. any float32 pair)
//   rounded    a·b rounded (RNE) to a format's native grid (bf16, fp16, e4m3, …)
//   truncated  ±2^(ea+eb)·(1 + fa_W)(1 + fb_W): keep W mantissa bits of each operand, multiply
//   mitchell   Mitchell (1962), log2(1 + f) ≈ f: t = fa_W + fb_W, ±2^(ea+eb)·(1 + t) when t < 1,
//              else ±2^(ea+eb+1)·t — for normal IEEE numbers exactly "add the integer bit patterns
//              and subtract the bias" (the mantissa carry increments the exponent)
//   lmul       L-Mul (Luo & Sun 2024, arXiv 2410.00907, §3.1): the mantissa product fa·fb replaced
//              by the fixed offset 2^−l(W): ±2^(ea+eb)·(1 + fa_W + fb_W + 2^−l(W)), l(W) = W for
//              W ≤ 3, 3 for W = 4, 4 for W > 4. This is the paper's formula as a real number; its
//              integer-adder implementation moves a mantissa carry into the exponent as Mitchell
//              does, which differs from the formula when fa + fb + 2^−l ≥ 1.
//
// Accumulators: every product and every partial sum is rounded (RNE) to the accumulator's
// precision — fp64 (nothing rounded: the reference), fp32, or a format's native grid (bf16, fp16,
// any eXmY) — "quantize after every multiply and add". Orders:
//   sequential  s ← R(s + R(p_k)), k = 0 … n−1
//   pairwise    a binary tree: leaves R(p_k) in order, each node R(left + right); the tree is the
//               one of iterative (binary-counter) pairwise summation: perfect for n = 2^t, else
//               the perfect trees of n's binary digits joined from the right (Higham 2002, §4.2)
//   blocked:K   sequential within blocks of K products, each block sum added in fp32 to a running
//               fp32 total (the periodic promotion to fp32 of FP8 tensor-core GEMMs)
// A float32 sum R32(a + b) of two float32 values is computed as the double a + b rounded to float:
// double rounding through binary64 is innocuous for + when 53 ≥ 2·24 + 2 (Figueroa 1995), so it is
// the IEEE float addition; the same holds for every ≤ 16-bit format.
#pragma once

#include <cstdint>

#include "exmy/config.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/round.hpp"

namespace exmy {

enum class multiplier_kind : std::uint8_t { exact, rounded, truncated, mitchell, lmul };

/// A float format's native grid in the form a short RNE needs (see round_grid): signed,
/// saturating, subnormals kept, ±0, scale 1 — bf16, fp16 and the paper's eXmY grids. `fast` is
/// false for every other grid, which then goes through quantize_value.
struct grid_rounding {
  std::uint8_t fast = 0;
  std::int32_t man_bits = 0;  ///< M
  std::int32_t emin = 0;      ///< lowest binade exponent (subnormal spacing 2^(emin − M))
  double maxval = 0;          ///< largest finite value (saturation)
};

/// The fast form of params p where it applies (see grid_rounding).
inline grid_rounding grid_rounding_of(const quant_params& p) {
  grid_rounding g;
  g.fast = p.is_float && p.scale == 1.0 && !p.flush_subnormals && p.neg_zero &&
           p.on_overflow == overflow_result::saturate && p.max_neg_n == p.max_pos_n &&
           p.emin - p.man_bits > -1022 && p.emax < 1000;
  g.man_bits = p.man_bits;
  g.emin = p.emin;
  g.maxval = p.maxval;
  return g;
}

/// x rounded (RNE) onto grid p, through the short path when g.fast: x = ±2^e·1.f keeps M fraction
/// bits at binade max(e, emin), i.e. x/q rounded to an integer with q = 2^(max(e, emin) − M) (a
/// power of two, so x/q and the product back are exact), then saturated at ±maxval. Equal to
/// quantize_value<rne>(x, p) for these grids (tests/test_arith.cpp checks it exhaustively on
/// midpoints).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double round_grid(const grid_rounding& g, const quant_params& p,
                                                    double x) {
  const std::uint64_t b = detail::bits_of(x);
  const int ex = int((b >> 52) & 0x7ff);
  if (!g.fast || ex == 0x7ff) return quantize_value<rounding::rne>(x, p);
  if ((b << 1) == 0) return x;  // ±0
  // The binade of |x| (a subnormal double lies far below every fast grid's emin).
  const int e = ex == 0 ? -1023 : ex - 1023;
  const int q = (e > g.emin ? e : g.emin) - g.man_bits;
#if defined(__CUDA_ARCH__)
  const double n = ::rint(x * detail::pow2(-q));
#else
  const double n = __builtin_rint(x * detail::pow2(-q));  // RNE: the default rounding mode
#endif
  const double r = n * detail::pow2(q);
  if (r > g.maxval) return g.maxval;
  if (r < -g.maxval) return -g.maxval;
  return r;
}
enum class acc_precision : std::uint8_t { fp64, fp32, format };
enum class sum_order : std::uint8_t { sequential, pairwise, blocked };

/// The trivially copyable part of a multiplier (multiplier.hpp builds it from text).
struct multiplier_model {
  multiplier_kind kind = multiplier_kind::exact;
  std::int32_t mantissa_bits = 52;  ///< W of truncated / mitchell / lmul (0 … 52)
  double lmul_offset = 0;           ///< 2^−l(W)
  quant_params product;             ///< rounded: the native grid of the product format
  grid_rounding product_fast;       ///< its short rounding path
};

/// The trivially copyable part of an accumulator (accumulator.hpp builds it from text).
struct accumulator_model {
  acc_precision precision = acc_precision::fp32;
  sum_order order = sum_order::sequential;
  std::int64_t block = 32;  ///< blocked:K
  quant_params params;      ///< format: its native grid
  grid_rounding fast;       ///< its short rounding path
};

/// An operand as the approximate multipliers see it: value = scale·(1 + frac) before truncation;
/// scale = ±2^e carries the sign, frac is already truncated to W bits (x = 0: scale = 0).
struct split_operand {
  double scale = 0;
  double frac = 0;
  double value = 0;  ///< the operand itself (exact and rounded use it)
};

/// Splits x for multiplier m from its bit pattern (subnormal doubles are normalised first; ±inf and
/// NaN keep scale 0 and only `value`).
EXMY_FORCEINLINE EXMY_HOST_DEVICE split_operand split_of(const multiplier_model& m, double x) {
  split_operand r;
  r.value = x;
  if (m.kind == multiplier_kind::exact || m.kind == multiplier_kind::rounded) return r;
  std::uint64_t b = detail::bits_of(x);
  int e = int((b >> 52) & 0x7ff);
  if (e == 0x7ff || (b << 1) == 0) return r;  // ±inf, NaN, ±0
  int shift = 0;
  if (e == 0) {  // subnormal double: scale by 2^54 into the normal range (exact)
    b = detail::bits_of(x * 18014398509481984.0);
    e = int((b >> 52) & 0x7ff);
    shift = 54;
  }
  const int drop = 52 - (m.mantissa_bits < 52 ? m.mantissa_bits : 52);
  const std::uint64_t mant = ((b & detail::k_mant_mask) >> drop) << drop;
  r.frac = detail::from_bits(std::uint64_t{1023} << 52 | mant) - 1.0;  // exact
  // 2^(e − 1023 − shift), built in two exact steps so that no factor leaves the normal range.
  r.scale = detail::pow2(e - 1023) * (shift ? 5.551115123125783e-17 : 1.0);  // 2^−54
  if (b >> 63) r.scale = -r.scale;
  return r;
}

/// The modelled product of two split operands. The approximate significand (1 + …) is exact in
/// double for W ≤ 50, and multiplying by the power-of-two scales is exact unless the result leaves
/// the double range.
EXMY_FORCEINLINE EXMY_HOST_DEVICE double multiply_split(const multiplier_model& m,
                                                        const split_operand& a,
                                                        const split_operand& b) {
  switch (m.kind) {
    case multiplier_kind::exact: return a.value * b.value;
    case multiplier_kind::rounded:
      return round_grid(m.product_fast, m.product, a.value * b.value);
    case multiplier_kind::truncated: return ((1.0 + a.frac) * (1.0 + b.frac)) * a.scale * b.scale;
    case multiplier_kind::mitchell: {
      const double t = a.frac + b.frac;
      return (t < 1.0 ? 1.0 + t : 2.0 * t) * a.scale * b.scale;
    }
    case multiplier_kind::lmul:
      return (1.0 + a.frac + b.frac + m.lmul_offset) * a.scale * b.scale;
  }
  return 0;
}

/// x rounded to the accumulator's precision (RNE).
EXMY_FORCEINLINE EXMY_HOST_DEVICE double round_acc(const accumulator_model& a, double x) {
  switch (a.precision) {
    case acc_precision::fp64: return x;
    case acc_precision::fp32: return static_cast<double>(static_cast<float>(x));
    case acc_precision::format: return round_grid(a.fast, a.params, x);
  }
  return x;
}

/// Iterative pairwise reduction over n leaves (see the header): `leaf(i)` gives leaf i, `node(l,
/// r)` joins two subtrees. Used both to sum under a model and to walk the exact partial sums of
/// the error model, so both see the same tree.
template <class Leaf, class Node>
EXMY_HOST_DEVICE double pairwise_reduce(std::int64_t n, Leaf leaf, Node node) {
  if (n <= 0) return 0;
  double stack[64];
  int level[64];
  int top = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double v = leaf(i);
    int l = 0;
    // A binary counter: equal-height neighbours merge, so at most one tree per height remains.
    while (top > 0 && level[top - 1] == l) {
      v = node(stack[top - 1], v);
      --top;
      ++l;
    }
    stack[top] = v;
    level[top] = l;
    ++top;
  }
  double v = stack[--top];
  while (top > 0) v = node(stack[--top], v);
  return v;
}

/// Σ prod(i), i ∈ [0, n), under accumulator a; prod(i) is the modelled product i.
template <class Prod>
EXMY_HOST_DEVICE double accumulate_model(const accumulator_model& a, std::int64_t n, Prod prod) {
  switch (a.order) {
    case sum_order::sequential: {
      double s = 0;
      for (std::int64_t i = 0; i < n; ++i) s = round_acc(a, s + round_acc(a, prod(i)));
      return s;
    }
    case sum_order::pairwise:
      return pairwise_reduce(
          n, [&](std::int64_t i) { return round_acc(a, prod(i)); },
          [&](double l, double r) { return round_acc(a, l + r); });
    case sum_order::blocked: {
      double total = 0;  // a float32 value held in a double
      for (std::int64_t b0 = 0; b0 < n; b0 += a.block) {
        const std::int64_t b1 = b0 + a.block < n ? b0 + a.block : n;
        double s = 0;
        for (std::int64_t i = b0; i < b1; ++i) s = round_acc(a, s + round_acc(a, prod(i)));
        total = static_cast<double>(static_cast<float>(total + static_cast<double>(static_cast<float>(s))));
      }
      return total;
    }
  }
  return 0;
}

}  // namespace exmy
