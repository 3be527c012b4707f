// exmy/arith/multiplier.hpp — multiplier models of emulated arithmetic (issue 6, "Low-precision and
// approximate arithmetic"; the forked paper repository's "approx" operators): parsing from text
// and each model's relative-error distribution, exhaustively over all operand pairs of a format.
// The models themselves (exact, rounded, truncated, Mitchell, L-Mul) and their definitions are in
// arith_core.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "exmy/arith/arith_core.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {

/// A multiplier model and its text name.
struct multiplier {
  multiplier_model model;
  format_spec product_format;  ///< rounded: the format products are rounded to
  std::string name;            ///< canonical text ("lmul:3")
};

/// Parses "exact", "round:FMT" (any format name), "trunc:W", "mitchell:W" or "lmul:W" (W mantissa
/// bits kept of each operand, 0 … 52); throws exmy::error.
multiplier parse_multiplier(const std::string& s);

/// The modelled product a·b (operands split on every call; see emulated_gemm for loops).
double multiply(const multiplier& m, double a, double b);

/// The relative error ε = (model − a·b)/(a·b) over every ordered pair of non-zero finite values of
/// a format's native grid (both signs): the multiplier's error distribution on that operand format.
struct multiplier_error {
  std::string multiplier, operand_format;
  std::int64_t pairs = 0;
  double mean = 0;        ///< E[ε] — the bias
  double mean_abs = 0;    ///< E[|ε|]
  double rms = 0;         ///< √E[ε²]
  double min = 0, max = 0;  ///< extreme signed errors
  double max_abs = 0;     ///< max |ε|
  double p01 = 0, p50 = 0, p99 = 0;  ///< quantiles of ε (nearest rank)
  /// Var ε = E[ε²] − E[ε]².
  double variance() const { return rms * rms - mean * mean; }
};

/// Exhaustive over all pairs (e.g. 254² = 64 516 for e4m3's 255 distinct finite values less 0).
/// Throws exmy::error for a format with more than 2^12 distinct values.
multiplier_error exhaustive_multiplier_error(const multiplier& m, const format_spec& operands);

}  // namespace exmy
