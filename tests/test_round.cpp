// Unit tests of the scalar rule: spot values with their derivations, special values, modes.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/round.hpp"

using namespace exmy;

namespace {
float q(const char* fmt, float x, rounding r = rounding::rne) {
  const quant_params p = make_native_params(parse_format(fmt));
  return quantize_value(x, p, r);
}
}  // namespace

TEST_CASE("OCP e4m3fn spot values (ml_dtypes behaviour, saturating mode)") {
  CHECK(q("e4m3fn", 1.0f) == 1.0f);
  CHECK(q("e4m3fn", 1.0625f) == 1.0f);     // tie between 1 and 1.125: even mantissa 000
  CHECK(q("e4m3fn", 1.1875f) == 1.25f);    // tie between 1.125 (odd) and 1.25: even
  CHECK(q("e4m3fn", 4.25f) == 4.0f);       // ml_dtypes#221: RNE at step 0.5
  CHECK(q("e4m3fn", 464.0f) == 448.0f);    // tie 448/480 → 448 (even); 480 would be NaN
  CHECK(q("e4m3fn", 1e6f) == 448.0f);      // saturating
  CHECK(q("e4m3fn", -1e6f) == -448.0f);
  CHECK(q("e4m3fn", std::ldexp(1.0f, -10)) == 0.0f);  // half of min subnormal: tie to 0 (even)
  CHECK(q("e4m3fn", std::ldexp(1.5f, -10)) == std::ldexp(1.0f, -9));
  CHECK(std::signbit(q("e4m3fn", -1e-30f)));  // −0 kept
  CHECK(std::isnan(q("e4m3fn", std::numeric_limits<float>::quiet_NaN())));
  CHECK(q("e4m3fn", INFINITY) == 448.0f);
  CHECK(std::isnan(q("e4m3fn.nosat", 465.0f)));  // non-saturating: rounds to 480 → NaN
  CHECK(q("e4m3fn.nosat", 464.0f) == 448.0f);
  CHECK(std::isinf(q("e5m2ieee.nosat", 61440.0f)));  // tie 57344/65536 → even → overflow → inf
  CHECK(q("e5m2ieee", 61440.0f) == 57344.0f);
  CHECK(!std::signbit(q("e4m3fnuz", -1e-30f)));  // fnuz has no −0
  CHECK(q("e4m3fn", 1.0625f, rounding::rna) == 1.125f);
  CHECK(q("e4m3fn", 1.2f, rounding::rtz) == 1.125f);
  CHECK(q("e4m3fn", -1.2f, rounding::rtz) == -1.125f);
}

TEST_CASE("integer grids") {
  // Paper INT8 at maxval 127: Δ = 1, codes −128…127 (reference-spec §7).
  const quant_params p = make_params(parse_format("int8"), 127.0);
  CHECK(quantize_value(2.5, p, rounding::rne) == 2.0);
  CHECK(quantize_value(3.5, p, rounding::rne) == 4.0);
  CHECK(quantize_value(-200.0, p, rounding::rne) == -128.0);
  CHECK(quantize_value(200.0, p, rounding::rne) == 127.0);
  const quant_params n = make_params(parse_format("int8n"), 127.0);
  CHECK(quantize_value(-200.0, n, rounding::rne) == -127.0);
  const quant_params u = make_params(parse_format("uint8"), 255.0);
  CHECK(quantize_value(-3.0, u, rounding::rne) == 0.0);
  CHECK(!std::signbit(quantize_value(-3.0, u, rounding::rne)));
  // Affine: [−1, 3] on uint8: scale 4/255, zero point round(0 + 1/(4/255)) = round(63.75) = 64.
  const quant_params a = make_affine_params(parse_format("uint8a"), -1.0, 3.0);
  CHECK(a.zero_point == 64);
  CHECK(quantize_value(0.0, a, rounding::rne) == 0.0);  // 0.0 exactly representable
  CHECK(quantize_value(-5.0, a, rounding::rne) == -64 * (4.0 / 255));
}

TEST_CASE("flexible scale: maxval is the largest value; grids are scaled copies") {
  for (const char* fmt : {"e5m2", "e4m3", "e3m4", "e2m5", "int8", "e4m3fn"}) {
    CAPTURE(fmt);
    for (double m : {1.0, 0.99, 3.928556, 38.5454, 448.0, 1e-6, 1e12}) {
      const quant_params p = make_params(parse_format(fmt), m);
      CHECK(p.maxval == doctest::Approx(m).epsilon(1e-15));
      CHECK(quantize_value(1e300, p, rounding::rne) == p.maxval);
      const auto g = grid(p);
      CHECK(g.back() == p.maxval);
      // Every grid point quantizes to itself.
      for (double v : g) REQUIRE(quantize_value(v, p, rounding::rne) == v);
    }
  }
}
