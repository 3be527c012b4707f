// tests/test_ocp_decode.cpp — the hardware encodings decoded code by code from their published
// definitions (a table of spec parameters, decoded in double; deliberately not the code of
// tests/oracle.hpp) and compared with the library's native grids, limits() and the oracle's decoder.
//
// Sources of the table:
//  [OFP8] OCP 8-bit Floating Point Specification (OFP8) rev. 1.0, 2023, Table 1 (E4M3, E5M2).
//  [MX]   OCP Microscaling Formats (MX) Specification v1.0, 2023, §5.3.2–5.3.3 (FP6 E2M3/E3M2,
//         FP4 E2M1: no inf, no NaN).
//  [fnuz] ml_dtypes float8_e4m3fnuz / float8_e5m2fnuz (Noune et al., "8-bit numerical formats for
//         deep neural networks", 2022): bias 2^(E−1), 0x80 is the only NaN, no −0, no inf.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "oracle.hpp"

using namespace exmy;

namespace {

enum class specials { none, e4m3, e5m2, fnuz };

struct ocp_row {
  const char* name;
  int E, M, bias;
  specials sp;
  double max, min_normal, min_subnormal;  // as printed in the source
  int nan_codes, inf_codes;
};

const ocp_row k_rows[] = {
    // [OFP8] E4M3: max S.1111.110 = 448, min normal S.0001.000 = 2^−6, min subnormal
    // S.0000.001 = 2^−9, NaN S.1111.111, no infinities.
    {"e4m3fn", 4, 3, 7, specials::e4m3, 448.0, 0.015625, 0.001953125, 2, 0},
    // [OFP8] E5M2: max S.11110.11 = 57344, min normal 2^−14, min subnormal 2^−16,
    // inf S.11111.00, NaN S.11111.{01, 10, 11}.
    {"e5m2ieee", 5, 2, 15, specials::e5m2, 57344.0, 6.103515625e-05, 1.52587890625e-05, 6, 2},
    // [fnuz] E4M3FNUZ: max 0x7F = 1.875·2^7 = 240, min normal 2^−7, min subnormal 2^−10.
    {"e4m3fnuz", 4, 3, 8, specials::fnuz, 240.0, 0.0078125, 0.0009765625, 1, 0},
    // [fnuz] E5M2FNUZ: max 0x7F = 1.75·2^15 = 57344, min normal 2^−15, min subnormal 2^−17.
    {"e5m2fnuz", 5, 2, 16, specials::fnuz, 57344.0, 3.0517578125e-05, 7.62939453125e-06, 1, 0},
    // [MX] FP4 E2M1: max 6.0, min normal 1.0, min subnormal 0.5.
    {"e2m1fn", 2, 1, 1, specials::none, 6.0, 1.0, 0.5, 0, 0},
    // [MX] FP6 E3M2: max 28.0, min normal 0.25, min subnormal 0.0625.
    {"e3m2fn", 3, 2, 3, specials::none, 28.0, 0.25, 0.0625, 0, 0},
    // [MX] FP6 E2M3: max 7.5, min normal 1.0, min subnormal 0.125.
    {"e2m3fn", 2, 3, 1, specials::none, 7.5, 1.0, 0.125, 0, 0},
};

enum class kind { finite, nan, inf };

// Decodes one code from the row's parameters, in double.
kind decode_ref(const ocp_row& r, unsigned code, double& value) {
  const int bits = 1 + r.E + r.M;
  const unsigned s = (code >> (bits - 1)) & 1u;
  const unsigned e = (code >> r.M) & ((1u << r.E) - 1);
  const unsigned m = code & ((1u << r.M) - 1);
  const unsigned e_top = (1u << r.E) - 1, m_top = (1u << r.M) - 1;
  switch (r.sp) {
    case specials::e4m3:
      if (e == e_top && m == m_top) return kind::nan;
      break;
    case specials::e5m2:
      if (e == e_top) return m == 0 ? kind::inf : kind::nan;
      break;
    case specials::fnuz:
      if (code == (1u << (bits - 1))) return kind::nan;
      break;
    case specials::none: break;
  }
  const double frac = double(m) / double(1u << r.M);
  const double mag = e == 0 ? std::ldexp(frac, 1 - r.bias) : std::ldexp(1.0 + frac, int(e) - r.bias);
  value = s ? -mag : mag;
  return kind::finite;
}

}  // namespace

TEST_CASE("OCP / ml_dtypes encodings: every code against the library's grid and limits") {
  for (const ocp_row& r : k_rows) {
    const std::string name = r.name;
    CAPTURE(name);
    const format_spec f = parse_format(r.name);
    const format_limits L = limits(f);
    const int bits = 1 + r.E + r.M;
    REQUIRE(f.bits == bits);
    CHECK(f.native_bias == r.bias);
    std::vector<double> finite;
    int nan = 0, inf = 0, finite_codes = 0, oracle_mismatch = 0;
    for (unsigned c = 0; c < (1u << bits); ++c) {
      double v = 0;
      const kind k = decode_ref(r, c, v);
      nan += k == kind::nan;
      inf += k == kind::inf;
      if (k == kind::finite) {
        ++finite_codes;
        finite.push_back(v);
      }
      // The oracle's bit-field decoder (tests/oracle.hpp) agrees code by code.
      const exmy_test::code_value d = exmy_test::decode(f, c);
      const bool same_kind = (k == kind::nan && d.kind == exmy_test::code_kind::nan) ||
                             (k == kind::inf && d.kind == exmy_test::code_kind::inf) ||
                             (k == kind::finite && d.kind == exmy_test::code_kind::finite);
      const double dv = (d.neg ? -1.0 : 1.0) * std::ldexp(double(d.n), d.q);
      oracle_mismatch += !same_kind || (k == kind::finite && (dv != v || std::signbit(dv) != std::signbit(v)));
    }
    CHECK(oracle_mismatch == 0);
    CHECK(nan == r.nan_codes);
    CHECK(inf == r.inf_codes);
    CHECK(finite_codes == L.finite_codes);
    CHECK(nan + inf + L.finite_codes == (1 << bits));
    std::sort(finite.begin(), finite.end());
    finite.erase(std::unique(finite.begin(), finite.end()), finite.end());  // −0 == +0: one zero
    CHECK(static_cast<std::int64_t>(finite.size()) == L.finite_values);
    // The published extremes, and the library's limits.
    const double mx = finite.back();
    const double min_sub = *std::upper_bound(finite.begin(), finite.end(), 0.0);
    CHECK(mx == r.max);
    CHECK(-finite.front() == r.max);
    CHECK(min_sub == r.min_subnormal);
    CHECK(L.max == r.max);
    CHECK(L.min_normal == r.min_normal);
    CHECK(L.min_subnormal == r.min_subnormal);
    double v = 0;
    REQUIRE(decode_ref(r, 1u << r.M, v) == kind::finite);  // exponent field 1, mantissa 0
    CHECK(v == r.min_normal);
    // The native grid is exactly this value set.
    const std::vector<double> g = grid(make_native_params(f));
    CHECK(g == finite);
  }
}

TEST_CASE("spot codes from the published tables") {
  // (format, code, value) with value NaN/inf where the spec says so.
  struct spot {
    const char* fmt;
    unsigned code;
    double value;
  };
  const double nan = std::nan(""), inf = INFINITY;
  const spot spots[] = {
      {"e4m3fn", 0x7E, 448.0},          {"e4m3fn", 0x7F, nan},   {"e4m3fn", 0xFF, nan},
      {"e4m3fn", 0x08, 0.015625},       {"e4m3fn", 0x01, 0.001953125},
      {"e4m3fn", 0xFE, -448.0},         {"e4m3fn", 0x38, 1.0},   // 0.0111.000: 2^(7−7)
      {"e5m2ieee", 0x7B, 57344.0},      {"e5m2ieee", 0x7C, inf}, {"e5m2ieee", 0xFC, -inf},
      {"e5m2ieee", 0x7D, nan},          {"e5m2ieee", 0x3C, 1.0}, // 0.01111.00: 2^(15−15)
      {"e5m2ieee", 0x01, 1.52587890625e-05},
      {"e4m3fnuz", 0x7F, 240.0},        {"e4m3fnuz", 0x80, nan}, {"e4m3fnuz", 0x40, 1.0},
      {"e4m3fnuz", 0x81, -0.0009765625},
      {"e5m2fnuz", 0x7F, 57344.0},      {"e5m2fnuz", 0x80, nan}, {"e5m2fnuz", 0x40, 1.0},
      {"e2m1fn", 0x7, 6.0},             {"e2m1fn", 0x1, 0.5},    {"e2m1fn", 0xF, -6.0},
      {"e3m2fn", 0x1F, 28.0},           {"e3m2fn", 0x01, 0.0625},
      {"e2m3fn", 0x1F, 7.5},            {"e2m3fn", 0x01, 0.125},
  };
  for (const spot& s : spots) {
    const ocp_row* row = nullptr;
    for (const ocp_row& r : k_rows)
      if (std::string(r.name) == s.fmt) row = &r;
    REQUIRE(row);
    double v = 0;
    const kind k = decode_ref(*row, s.code, v);
    const std::string what = std::string(s.fmt) + " code " + std::to_string(s.code);
    CAPTURE(what);
    if (std::isnan(s.value)) {
      CHECK(k == kind::nan);
    } else if (std::isinf(s.value)) {
      CHECK(k == kind::inf);
      CHECK(std::signbit(s.value) == bool(s.code >> 7));
    } else {
      CHECK(k == kind::finite);
      CHECK(v == s.value);
    }
  }
  // [MX] Table: the eight FP4 E2M1 magnitudes.
  const std::vector<double> fp4 = {-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6};
  CHECK(grid(make_native_params(parse_format("e2m1fn"))) == fp4);
}
