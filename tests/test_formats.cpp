// Unit tests of format descriptors: tabulated limits of every preset (each with its derivation),
// the parser and its errors.
#include <doctest/doctest.h>

#include <cmath>

#include "exmy/formats/format_spec.hpp"

using namespace exmy;

namespace {
struct expected_limits {
  const char* name;
  double max, min_normal, min_subnormal, epsilon;
  long long values;
  int bias;
};
}  // namespace

TEST_CASE("preset limits (derivations in comments)") {
  const expected_limits table[] = {
      // OCP E4M3: bias 7; max S.1111.110 = 1.75·2^8 = 448; min normal 2^(1−7) = 2^−6;
      // min subnormal 2^−6·2^−3 = 2^−9; 256 codes − 2 NaN − 1 duplicate zero = 253 values.
      {"e4m3fn", 448, std::ldexp(1, -6), std::ldexp(1, -9), 0.125, 253, 7},
      // OCP E5M2: bias 15, top exponent inf/NaN: max 1.75·2^15 = 57344; min normal 2^−14,
      // min subnormal 2^−16; 256 − 8 (±inf, 6 NaN) − 1 = 247 values.
      {"e5m2ieee", 57344, std::ldexp(1, -14), std::ldexp(1, -16), 0.25, 247, 15},
      // fnuz E4M3: bias 8, only 0x80 is NaN: max 1.875·2^7 = 240; min normal 2^−7, min sub 2^−10;
      // 255 finite codes, one zero: 255 values.
      {"e4m3fnuz", 240, std::ldexp(1, -7), std::ldexp(1, -10), 0.125, 255, 8},
      // fnuz E5M2: bias 16: max 1.75·2^15 = 57344; min normal 2^−15, min sub 2^−17; 255 values.
      {"e5m2fnuz", 57344, std::ldexp(1, -15), std::ldexp(1, -17), 0.25, 255, 16},
      // E3M4 IEEE-style: bias 3, top exponent reserved: max (2 − 2^−4)·2^3 = 15.5;
      // min normal 2^−2, min sub 2^−6; 256 − 2·16 − 1 = 223 values.
      {"e3m4ieee", 15.5, 0.25, std::ldexp(1, -6), 0.0625, 223, 3},
      // OCP FP6 E2M3: bias 1, no specials: max 1.875·2^2 = 7.5; min normal 1, min sub 1/8;
      // 64 − 1 = 63 values.
      {"e2m3fn", 7.5, 1.0, 0.125, 0.125, 63, 1},
      // OCP FP6 E3M2: bias 3: max 1.75·2^4 = 28; min normal 2^−2, min sub 2^−4; 63 values.
      {"e3m2fn", 28, 0.25, 0.0625, 0.25, 63, 3},
      // OCP FP4 E2M1: bias 1: max 1.5·2^2 = 6; min normal 1, min sub 0.5; 15 values.
      {"e2m1fn", 6, 1.0, 0.5, 0.5, 15, 1},
      // IEEE binary16: max (2 − 2^−10)·2^15 = 65504; min normal 2^−14, min sub 2^−24;
      // 65536 − 2·1024 − 1 = 63487 values.
      {"fp16", 65504, std::ldexp(1, -14), std::ldexp(1, -24), std::ldexp(1, -10), 63487, 15},
      // bfloat16: bias 127: max (2 − 2^−7)·2^127; min normal 2^−126, min sub 2^−133.
      {"bf16", std::ldexp(255, 120), std::ldexp(1, -126), std::ldexp(1, -133), std::ldexp(1, -7),
       65536 - 2 * 128 - 1, 127},
      // The paper's E4M3 grid: bias 2^(E−1) = 8, every code finite: max 1.875·2^(15−8) = 240
      // (FPQuantizer default maxval, reference-spec §6.3); 255 distinct values.
      {"e4m3", 240, std::ldexp(1, -7), std::ldexp(1, -10), 0.125, 255, 8},
      // The paper's E5M2 grid: bias 16: max 1.75·2^15 = 57344 (reference-spec §6.3).
      {"e5m2", 57344, std::ldexp(1, -15), std::ldexp(1, -17), 0.25, 255, 16},
      // The paper's E3M4 and E2M5 default maxvals 15.5 and 3.9375 (reference-spec §6.3).
      {"e3m4", 15.5, std::ldexp(1, -3), std::ldexp(1, -7), 0.0625, 255, 4},
      {"e2m5", 3.9375, 0.5, std::ldexp(1, -6), std::ldexp(1, -5), 255, 2},
      // E1M6 = the symmetric integer grid {−127…127}/64 (reference-spec §6.1).
      {"e1m6", 127.0 / 64, 1.0, 1.0 / 64, 1.0 / 64, 255, 1},
      // The paper's INT8: codes −128…127 (reference-spec §7), 256 values, step 1.
      {"int8", 127, 1, 1, 1, 256, 0},
      {"int8n", 127, 1, 1, 1, 255, 0},
      {"uint8", 255, 1, 1, 1, 256, 0},
      {"int4", 7, 1, 1, 1, 16, 0},
  };
  for (const auto& t : table) {
    CAPTURE(t.name);
    const format_spec f = parse_format(t.name);
    const format_limits L = limits(f);
    CHECK(L.max == t.max);
    CHECK(L.min_normal == t.min_normal);
    CHECK(L.min_subnormal == t.min_subnormal);
    CHECK(L.epsilon == t.epsilon);
    CHECK(L.finite_values == t.values);
    CHECK(f.native_bias == t.bias);
  }
}

TEST_CASE("parser: canonical names round-trip, modifiers, errors") {
  for (const auto& f : presets()) {
    CAPTURE(f.name);
    const format_spec g = parse_format(f.name);
    CHECK(g.name == f.name);
    CHECK(g.bits == f.bits);
    CHECK(g.enc == f.enc);
  }
  CHECK(parse_format("E4M3FN").name == "e4m3fn");
  CHECK(parse_format("e4m3fn.nosat").overflow == overflow_mode::non_saturating);
  CHECK(parse_format("e4m3.ftz").subnormals == false);
  CHECK(parse_format("ue4m4").bits == 8);
  CHECK(parse_format("ue4m4").is_signed == false);
  CHECK(parse_format("e2m1fn").enc == encoding::finite);  // OCP FP4: no NaN, no inf
  CHECK(parse_format("e4m3fn").enc == encoding::fn);
  CHECK(parse_format("int12").bits == 12);
  // Plain eXmY is always the paper's grid, never a hardware encoding.
  CHECK(parse_format("e5m2").enc == encoding::finite);
  CHECK(parse_format("e5m2").native_bias == 16);

  auto msg = [](const char* name) {
    try {
      parse_format(name);
    } catch (const error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg("fp8").find("unknown format 'fp8'") != std::string::npos);
  CHECK(msg("fp8").find("eXmY") != std::string::npos);  // lists the families
  CHECK(msg("e4m3xx").find("unknown suffix 'xx'") != std::string::npos);
  CHECK(msg("int17").find("outside 2") != std::string::npos);
  CHECK(msg("e11m4").find("E ≤ 10") != std::string::npos);
  CHECK(msg("e4m3.nosat").find("cannot be non-saturating") != std::string::npos);
  CHECK(msg("e0m7").find("E must be at least 1") != std::string::npos);
  CHECK(msg("").find("empty") != std::string::npos);
  CHECK(msg("e4m3.bogus").find("unknown modifier") != std::string::npos);
}

TEST_CASE("format lists: paper and all") {
  auto p = parse_format_list("paper");
  REQUIRE(p.size() == 5);
  CHECK(p[0].name == "e5m2");
  CHECK(p[4].name == "int8");
  auto a = parse_format_list("all");
  REQUIRE(a.size() == 7);  // e1m6 … e6m1, int8
  CHECK(a[0].name == "e1m6");
  CHECK(a[5].name == "e6m1");
  auto a6 = parse_format_list("all", 6);
  CHECK(a6.size() == 5);  // e1m4 … e4m1, int6
  CHECK_THROWS_AS(parse_format_list("e4m3,,int8"), error);
}
