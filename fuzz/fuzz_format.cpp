// fuzz/fuzz_format.cpp — libFuzzer target for format names (issue 8): parse_format and
// parse_format_list on arbitrary text (first byte: the --bits of `all`, −128…127). exmy::error is
// the accepted failure; a parsed format must also keep the parser's promises, or abort() makes it
// a finding: validate() accepts it, parse_format(name) gives it back, its limits are finite and
// positive, and its native grid quantizes as the README policy table says (NaN stays NaN, finite
// inputs of a saturating format land on the nearest grid value, ±inf on ±max).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/round.hpp"

namespace {

using namespace exmy;

void require(bool ok) {
  if (!ok) std::abort();
}

bool same(const format_spec& a, const format_spec& b) {
  return a.name == b.name && a.kind == b.kind && a.bits == b.bits && a.exp_bits == b.exp_bits &&
         a.man_bits == b.man_bits && a.is_signed == b.is_signed && a.enc == b.enc &&
         a.subnormals == b.subnormals && a.overflow == b.overflow && a.irange == b.irange &&
         a.native_bias == b.native_bias;
}

void check_grid(const format_spec& f, const quant_params& p) {
  // Formats above 12 bits: their ends only (a 2^16-point grid costs ~0.1 s per call under ASan).
  const std::vector<double> g = f.bits <= 12 ? grid(p) : std::vector<double>{p.minval, p.maxval};
  require(!g.empty() && std::is_sorted(g.begin(), g.end()));
  const bool full = f.bits <= 12;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const bool saturating = f.overflow == overflow_mode::saturate || !f.is_float();
  for (double x : {0.0, -0.0, 1.0, -1.0, 0.3, -2.5, g.front(), g.back(), 2 * g.back(),
                   g.back() * 0.999, 1e-300, -1e-300, 4.9e-324, HUGE_VAL, -HUGE_VAL, nan}) {
    for (rounding r : {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic}) {
      const double q = quantize_value(x, p, r, 0x9e3779b9u);
      if (std::isnan(x)) {
        require(std::isnan(q));
        continue;
      }
      if (!saturating) continue;  // ±inf / NaN on overflow: the non-saturating rows of the table
      require(std::isfinite(q) && q >= g.front() && q <= g.back());
      if (std::isinf(x)) require(q == (x > 0 ? g.back() : g.front()));
      if (!full) continue;
      require(std::binary_search(g.begin(), g.end(), q));
      // Nearest: no grid value is strictly closer (ties either way). Not for .ftz: a result in the
      // subnormal range becomes ±0 even where the smallest normal is nearer (the policy table).
      if (r == rounding::rne && std::isfinite(x) && f.subnormals) {
        const auto it = std::lower_bound(g.begin(), g.end(), x);
        double best = std::abs(q - x);
        if (it != g.end()) require(best <= std::abs(*it - x));
        if (it != g.begin()) require(best <= std::abs(*(it - 1) - x));
      }
    }
  }
}

void check_format(const format_spec& f) {
  validate(f);  // must not throw: the parser returns valid descriptors only
  require(same(parse_format(f.name), f));
  const format_limits L = limits(f);
  require(L.max > 0 && std::isfinite(L.max) && L.min_subnormal > 0 &&
          L.min_subnormal <= L.min_normal && L.min_normal <= L.max && L.finite_values > 0 &&
          L.finite_codes >= L.finite_values);
  if (f.is_affine()) {
    check_grid(f, make_affine_params(f, -1.0, 2.0));
    return;
  }
  check_grid(f, make_native_params(f));
  // A flexible scale: maxval 1 may be refused for the widest exponent ranges (their grid would
  // leave double precision); that refusal is an exmy::error, anything else is a finding.
  quant_params p;
  try {
    p = make_params(f, 1.0);
  } catch (const exmy::error&) {
    return;
  }
  check_grid(f, p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 4096) return 0;
  const int bits = static_cast<std::int8_t>(data[0]);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  // Only the parsers may throw exmy::error; one escaping check_format() terminates the run.
  std::vector<format_spec> parsed;
  try {
    parsed.push_back(parse_format(text));
  } catch (const exmy::error&) {
  }
  try {
    for (const format_spec& f : parse_format_list(text, bits)) parsed.push_back(f);
  } catch (const exmy::error&) {
  }
  for (const format_spec& f : parsed) check_format(f);
  return 0;
}
