// exmy/arith/accumulator.hpp — accumulator models of emulated dot products (issue 6, "Accumulator
// models: fp32, bf16, fp16 or any eXmY, order sequential / pairwise / blocked k, including
// 'quantize after every multiply and add'"): parsing from text, summing under a model, and the
// grid spacing the error model needs. The rules themselves are in arith_core.hpp.
#pragma once

#include <cstddef>
#include <string>

#include "exmy/arith/arith_core.hpp"
#include "exmy/formats/format_spec.hpp"

namespace exmy {

/// An accumulator model and its text name.
struct accumulator {
  accumulator_model model;
  format_spec format;  ///< acc_precision::format: the format partial sums are rounded to
  std::string name;    ///< canonical text ("bf16:pairwise")
};

/// Parses PRECISION[:ORDER] — PRECISION fp64 | fp32 | any format name (bf16, fp16, e5m10, e4m3 …),
/// ORDER sequential (default) | pairwise | blockK (e.g. "fp16:block32"); throws exmy::error.
accumulator parse_accumulator(const std::string& s);

/// x rounded to the accumulator's precision.
double round_to(const accumulator& a, double x);

/// Σ p[0 … n) under the model (every p[k] and every partial sum rounded).
double accumulate(const accumulator& a, const double* p, std::size_t n);

/// The spacing of the accumulator's grid at |x|: 2^(max(e, emin) − M) with |x| ∈ [2^e, 2^(e+1))
/// (float formats, in the data frame), the step (integers), 0 for fp64.
double spacing(const accumulator& a, double x);

}  // namespace exmy
