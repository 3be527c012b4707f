// exmy/quantize/params.hpp — quant_params: a format plus a scale, in the form the scalar rule uses.
//
// Every format's native value set is held in a "unit frame" as numbers n·2^q with an integer
// significand n and a binade exponent q = clamp(e, emin, emax) − M (integers: q = 0). A scale
// s = alpha·2^k (alpha in [1, 2)) maps the unit frame onto the real line: the representable values
// are s·v. For the paper's eXmY grid s = maxval / native_max, which is exactly the real-valued
// "flexible bias" of reference-spec §6.2 (b = 2^E − log2(maxval) + log2(2 − 2^−M) − 1); for an
// integer format s = Δ (reference-spec §7). s is the double nearest to that ratio; a maxval on the
// power-of-two lattice gives alpha = 1 and an exact scale.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"

namespace exmy {

/// Rounding modes of the scalar rule. stochastic rounds up with probability equal to the
/// fractional position between the two neighbours, driven by a caller-supplied 32-bit uniform.
enum class rounding : std::uint8_t { rne, rna, rtz, stochastic };

/// How a scale is applied. exact: the nearest point of the scaled grid in exact real arithmetic.
/// hardware: multiply by the float32 scale, cast to the native format, multiply by the float32
/// reciprocal (what real kernels do; float64 data uses double for the two multiplies).
enum class scale_mode : std::uint8_t { exact, hardware };

/// What an overflowing finite value (or an infinite input) becomes.
enum class overflow_result : std::uint8_t { saturate, infinity, nan };

/// Trivially copyable parameters of the scalar rule (host and device). Build with make_params.
struct quant_params {
  std::int32_t man_bits = 0;   ///< M; 0 for integers
  std::int32_t emin = 0;       ///< lowest binade exponent of the unit frame (integers: 0)
  std::int32_t emax = 0;       ///< highest binade exponent of the unit frame (integers: 0)
  std::int32_t scale_exp = 0;  ///< k in s = alpha·2^k
  double alpha = 1.0;          ///< mantissa of the scale, in [1, 2)
  double inv_alpha = 1.0;      ///< 1/alpha rounded (only a first guess; decisions are exact)
  std::uint64_t alpha_mant = 0;  ///< the 52 fraction bits of alpha (binade selection)
  double max_pos_n = 0;        ///< significand of the largest positive value (value = n·2^max_q)
  double max_neg_n = 0;        ///< significand of the most negative value's magnitude (0: unsigned)
  std::int32_t max_q = 0;      ///< binade exponent of the largest values
  double min_normal = 1.0;     ///< 2^emin in the unit frame (flush threshold)
  std::uint8_t is_float = 0;
  std::uint8_t flush_subnormals = 0;
  std::uint8_t neg_zero = 0;   ///< −0 is representable (results keep the sign of zero)
  overflow_result on_overflow = overflow_result::saturate;
  float hw_mul_f = 1.0f;       ///< hardware mode: quantization multiplier native_max/maxval (float32)
  float hw_div_f = 1.0f;       ///< hardware mode: its float32 reciprocal
  double hw_mul_d = 1.0;       ///< the same for float64 data
  double hw_div_d = 1.0;
  double maxval = 0;           ///< largest positive representable value in the data frame
  double minval = 0;           ///< most negative representable value in the data frame
  double scale = 1.0;          ///< s = alpha·2^k
  double zero_point = 0;       ///< affine integers: the integer zero point (0 otherwise)
};

/// The scale that maps the format's native maximum onto `maxval` (> 0, finite): the paper's
/// flexible bias for eXmY, Δ = maxval/(2^(n−1)−1) for intN. Throws exmy::error for a bad maxval or
/// a grid that leaves the double range. Affine formats need make_affine_params.
quant_params make_params(const format_spec& f, double maxval);

/// The hardware (native) scale: OCP presets produce exactly their hardware values, intN its codes.
quant_params make_native_params(const format_spec& f);

/// Affine (asymmetric) integer parameters from a data range [lo, hi] (extended to contain 0):
/// scale = (hi − lo)/(qmax − qmin), zero point = round(qmin − lo/scale) clamped to [qmin, qmax].
/// Works for every integer format; 0.0 is exactly representable.
quant_params make_affine_params(const format_spec& f, double lo, double hi);

/// The same parameters with the scale removed (alpha = 1, k = 0): the grid hardware mode casts to.
quant_params native_of(const quant_params& p);

/// Every representable value of the scaled grid, sorted ascending, duplicates (±0) removed. Each
/// entry is the double nearest to the exact grid value.
std::vector<double> grid(const quant_params& p);

/// The grid in the unit frame (exact), sorted, no duplicates.
std::vector<double> unit_grid(const quant_params& p);

/// Throws exmy::error when the grid's values are not all representable as float32 (then the data
/// must be float64). `what` names the caller in the message.
void require_float32_range(const quant_params& p, const char* what);

const char* to_string(rounding r);
const char* to_string(scale_mode m);
/// Parses "rne" | "rna" | "rtz" | "sr"/"stochastic"; throws exmy::error otherwise.
rounding parse_rounding(const std::string& s);
/// Parses "exact" | "hardware".
scale_mode parse_scale_mode(const std::string& s);

}  // namespace exmy
