// exmy/formats/format_spec.hpp — the runtime descriptor of a number format.
//
// A format is a small value type: total bits, exponent/mantissa split, signedness, the encoding of
// special values, subnormal handling and overflow policy (floating point), or the integer range kind.
// Its *native* value set is fixed by the descriptor; a scale (quant_params, quantize/params.hpp) maps
// it onto the real line. Conventions follow reference-spec §6–§7 (the paper's grids) and the OCP
// 8-bit FP / MX specifications for the hardware encodings (see README "Formats").
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace exmy {

/// Error for every invalid user input (format names, parameters, files). Its message is one line
/// that names the offending token; the command-line tools print it and exit with code 2.
class error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class format_kind : std::uint8_t { floating, integer };

/// Encoding of special values of a floating-point format.
/// finite: every code is a finite number (the paper's grid; OCP FP6/FP4).
/// ieee:   the all-ones exponent holds ±inf (mantissa 0) and NaN.
/// fn:     no infinities; only S.1…1.1…1 is NaN (OCP E4M3).
/// fnuz:   no infinities, no −0; the code 1000…0 is the only NaN; bias one larger.
enum class encoding : std::uint8_t { finite, ieee, fn, fnuz };

/// What a finite value beyond the largest representable magnitude becomes.
/// saturate: ±max. non_saturating: ±inf (ieee) or NaN (fn, fnuz) — OCP "non-saturating mode".
enum class overflow_mode : std::uint8_t { saturate, non_saturating };

/// Integer range conventions (reference-spec §7 for `paper`).
/// paper:    {−2^(n−1) … 2^(n−1)−1}·maxval/(2^(n−1)−1) (asymmetric, reaches −128/127·maxval).
/// narrow:   {−(2^(n−1)−1) … 2^(n−1)−1}·maxval/(2^(n−1)−1) (symmetric).
/// unsigned_:{0 … 2^n−1}·maxval/(2^n−1).
/// affine:   {qmin … qmax} with scale and integer zero point from a [min, max] range (signed range).
/// affine_unsigned: the same on {0 … 2^n−1}.
enum class int_range : std::uint8_t { paper, narrow, unsigned_, affine, affine_unsigned };

/// The runtime descriptor of a number format. Build it with parse_format() or a preset.
struct format_spec {
  std::string name;                 ///< canonical name; parse_format(name) gives this spec back
  format_kind kind = format_kind::floating;
  int bits = 8;                     ///< total bits n, 2 … 16
  int exp_bits = 4;                 ///< E (floating only)
  int man_bits = 3;                 ///< M (floating only)
  bool is_signed = true;
  encoding enc = encoding::finite;  ///< floating only
  bool subnormals = true;           ///< false: results in the subnormal range flush to (signed) zero
  overflow_mode overflow = overflow_mode::saturate;
  int_range irange = int_range::paper;  ///< integer only
  int native_bias = 8;              ///< hardware exponent bias (floating only)

  bool is_float() const { return kind == format_kind::floating; }
  bool is_affine() const {
    return kind == format_kind::integer &&
           (irange == int_range::affine || irange == int_range::affine_unsigned);
  }
  /// True when the format can encode NaN (fake-quant still returns NaN for NaN input otherwise).
  bool has_nan() const { return is_float() && enc != encoding::finite; }
  bool has_inf() const { return is_float() && enc == encoding::ieee; }
  bool has_negative_zero() const {
    return is_float() && is_signed && enc != encoding::fnuz;
  }
};

/// Properties of the native (unscaled) value set of a format; all exact in double.
struct format_limits {
  double max = 0;            ///< largest finite value
  double min_value = 0;      ///< most negative finite value (−max for symmetric formats)
  double min_normal = 0;     ///< smallest positive normal value (integers: the step)
  double min_subnormal = 0;  ///< smallest positive value
  double epsilon = 0;        ///< 2^−M for floats (gap after 1.0 relative to 1.0); step for integers
  std::int64_t finite_codes = 0;   ///< number of codes that decode to a finite number
  std::int64_t finite_values = 0;  ///< number of distinct finite values (±0 counted once)
  int emin = 0;              ///< exponent of the smallest normal binade (floats)
  int emax = 0;              ///< exponent of the largest binade holding a finite value (floats)
  std::int64_t max_significand = 0;  ///< integer significand of max at emax (floats: in [2^M, 2^(M+1)))
};

/// Checks a descriptor and throws exmy::error naming the problem (bits out of 2…16, E+M+sign ≠ n,
/// E = 0, an exponent range that does not fit double precision, a non-saturating finite format …).
void validate(const format_spec& f);

/// Native-scale limits of a (valid) format.
format_limits limits(const format_spec& f);

/// Parses a format name: eXmY (the paper's grid), eXmY{fn,fnuz,ieee}, OCP FP6/FP4 e2m3fn/e3m2fn/
/// e2m1fn, fp16, bf16, intN, intNn, uintN, intNa, uintNa, optional prefix `u` for unsigned floats and
/// modifiers `.nosat` / `.sat` / `.ftz`. Throws exmy::error listing the families on failure.
format_spec parse_format(const std::string& name);

/// Parses a comma-separated list; `paper` expands to e5m2,e4m3,e3m4,e2m5,int8 and `all` to every
/// split of `bits` bits (e1m(bits−2) … e(bits−2)m1) plus int<bits>.
std::vector<format_spec> parse_format_list(const std::string& list, int bits = 8);

/// Every named preset (the hardware encodings, fp16/bf16, the 8-bit paper splits and integers).
std::vector<format_spec> presets();

/// Text names of enum values (as used in tables and JSON).
const char* to_string(encoding e);
const char* to_string(overflow_mode o);
const char* to_string(int_range r);

}  // namespace exmy
