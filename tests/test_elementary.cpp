// The samplers' elementary functions (random/elementary.hpp, issue 4 of exmy) against long double
// libm (x87 extended: 11 more bits than double, so the reference is good to ~2^−11 ulp): the
// accuracy the header states, special values, and the exactness of the 53-bit uniforms.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "exmy/random/elementary.hpp"
#include "exmy/random/uniform_bits.hpp"

namespace {

// Error of r in units of the last place of the exact value ref.
double ulp_error(double r, long double ref) {
  if (std::isinf(r) && std::isinf(static_cast<double>(ref)) && (r > 0) == (ref > 0)) return 0;
  const long double a = std::fabs(ref);
  int e = 0;
  std::frexp(static_cast<double>(a), &e);  // a in [2^(e−1), 2^e)
  const long double ulp = std::ldexp(1.0L, std::max(e - 53, -1074));
  return static_cast<double>(std::fabs(static_cast<long double>(r) - ref) / ulp);
}

std::uint64_t bits(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, 8);
  return b;
}

// sin(πx), cos(πx) in long double with the same exact reduction (x − n/2 is exact in double).
void sincospi_ref(double x, long double& s, long double& c) {
  const double n = std::nearbyint(2.0 * x);
  const long double r = static_cast<long double>(x - 0.5 * n);
  const long double pi = 3.141592653589793238462643383279502884L;
  const long double sr = std::sin(pi * r), cr = std::cos(pi * r);
  const long long q = static_cast<long long>(n) & 3;
  const long double ss[4] = {sr, cr, -sr, -cr}, cc[4] = {cr, -sr, -cr, sr};
  s = ss[q];
  c = cc[q];
}

constexpr int k_n = 1000000;  // arguments per function and range

}  // namespace

TEST_CASE("log: < 1 ulp over every binade, near 1 and on subnormals") {
  std::mt19937_64 g(1);
  double worst = 0;
  for (int i = 0; i < k_n; ++i) {
    // Log-uniform over the whole positive range (exponent −1074 … 1023), then near 1.
    const double e = std::uniform_real_distribution<double>(-1074, 1023.9)(g);
    const double x1 = std::exp2(e);
    const double x2 = 1.0 + std::uniform_real_distribution<double>(-0.3, 0.4)(g) *
                                std::exp2(-std::uniform_int_distribution<int>(0, 60)(g));
    for (double x : {x1, x2}) {
      if (x == 1.0) continue;  // log(1) = 0 exactly: checked below
      worst = std::max(worst, ulp_error(exmy::elem::log(x), std::log(static_cast<long double>(x))));
    }
  }
  MESSAGE("log: max error " << worst << " ulp");
  CHECK(worst < 1.0);
  CHECK(exmy::elem::log(1.0) == 0.0);
  CHECK(exmy::elem::log(0.0) == -INFINITY);
  CHECK(exmy::elem::log(INFINITY) == INFINITY);
  CHECK(std::isnan(exmy::elem::log(-1.0)));
  CHECK(std::isnan(exmy::elem::log(NAN)));
  CHECK(ulp_error(exmy::elem::log(DBL_TRUE_MIN), std::log(static_cast<long double>(DBL_TRUE_MIN))) < 1);
  CHECK(ulp_error(exmy::elem::log(DBL_MAX), std::log(static_cast<long double>(DBL_MAX))) < 1);
}

TEST_CASE("exp: < 1 ulp from underflow to overflow") {
  std::mt19937_64 g(2);
  double worst = 0;
  for (int i = 0; i < k_n; ++i) {
    const double x1 = std::uniform_real_distribution<double>(-708.3, 709.78)(g);  // normal results
    const double x2 = std::uniform_real_distribution<double>(-1, 1)(g) *
                      std::exp2(-std::uniform_int_distribution<int>(0, 60)(g));
    for (double x : {x1, x2})
      worst = std::max(worst, ulp_error(exmy::elem::exp(x), std::exp(static_cast<long double>(x))));
  }
  MESSAGE("exp: max error " << worst << " ulp");
  CHECK(worst < 1.0);
  // Gradual underflow: the subnormal results are rounded once (error ≤ ½ ulp of the subnormal
  // grid plus the ≤ 1 ulp of y before scaling, which the single rounding then absorbs).
  double worst_sub = 0;
  for (int i = 0; i < 100000; ++i) {
    const double x = std::uniform_real_distribution<double>(-745.0, -708.4)(g);
    worst_sub = std::max(worst_sub, ulp_error(exmy::elem::exp(x), std::exp(static_cast<long double>(x))));
  }
  MESSAGE("exp (subnormal results): max error " << worst_sub << " ulp");
  CHECK(worst_sub <= 1.0);
  CHECK(exmy::elem::exp(0.0) == 1.0);
  CHECK(exmy::elem::exp(710.0) == INFINITY);
  CHECK(exmy::elem::exp(-INFINITY) == 0.0);
  CHECK(exmy::elem::exp(INFINITY) == INFINITY);
  CHECK(exmy::elem::exp(-746.0) == 0.0);
  CHECK(std::isnan(exmy::elem::exp(NAN)));
}

TEST_CASE("expm1: ≤ 2 ulp, full relative accuracy for tiny arguments") {
  std::mt19937_64 g(3);
  double worst = 0, worst_small = 0;
  for (int i = 0; i < k_n; ++i) {
    const double x1 = std::uniform_real_distribution<double>(-40, 709.7)(g);
    const double x2 = std::uniform_real_distribution<double>(-1, 1)(g) *
                      std::exp2(-std::uniform_int_distribution<int>(0, 60)(g));
    worst = std::max(worst, ulp_error(exmy::elem::expm1(x1), std::expm1(static_cast<long double>(x1))));
    const double e2 = ulp_error(exmy::elem::expm1(x2), std::expm1(static_cast<long double>(x2)));
    worst = std::max(worst, e2);
    if (std::fabs(x2) <= 0.34) worst_small = std::max(worst_small, e2);
  }
  MESSAGE("expm1: max error " << worst << " ulp (|x| ≤ 0.34: " << worst_small << ")");
  CHECK(worst <= 2.0);
  CHECK(worst_small < 1.0);
  CHECK(exmy::elem::expm1(0.0) == 0.0);
  CHECK(exmy::elem::expm1(1e-300) == 1e-300);
  CHECK(exmy::elem::expm1(-800.0) == -1.0);
  CHECK(exmy::elem::expm1(710.0) == INFINITY);
}

TEST_CASE("pow: within 1 ulp + |y·ln x|·2^-52 relative") {
  std::mt19937_64 g(4);
  double worst = 0;  // error relative to the stated bound
  for (int i = 0; i < k_n; ++i) {
    const double x = std::exp2(std::uniform_real_distribution<double>(-60, 60)(g));
    const double y = std::uniform_real_distribution<double>(-10, 10)(g);
    const long double ref = std::pow(static_cast<long double>(x), static_cast<long double>(y));
    if (!(ref > 1e-300L && ref < 1e300L)) continue;
    const double h = std::fabs(y * std::log(x));
    const double err = ulp_error(exmy::elem::pow(x, y), ref);
    worst = std::max(worst, err / (1.0 + 2.0 * h));  // 2^−52 relative ≤ 2 ulp: bound 1 + 2h ulp
  }
  MESSAGE("pow: max error / stated bound " << worst);
  CHECK(worst <= 1.0);
  CHECK(ulp_error(exmy::elem::pow(2.0, 10.0), 1024.0L) <= 1.0);
  CHECK(exmy::elem::pow(7.0, 0.0) == 1.0);
  CHECK(exmy::elem::pow(1.0, 1e300) == 1.0);
  CHECK(exmy::elem::pow(0.0, 2.0) == 0.0);
  CHECK(exmy::elem::pow(0.0, -2.0) == INFINITY);
}

TEST_CASE("sqrt: the correctly rounded IEEE operation") {
  std::mt19937_64 g(5);
  for (int i = 0; i < 100000; ++i) {
    const double x = std::exp2(std::uniform_real_distribution<double>(-1074, 1023.9)(g));
    REQUIRE(bits(exmy::elem::sqrt(x)) == bits(std::sqrt(x)));
  }
  CHECK(std::isnan(exmy::elem::sqrt(-1.0)));
}

TEST_CASE("sincospi: < 1 ulp, exact quadrant symmetries") {
  std::mt19937_64 g(6);
  double worst_s = 0, worst_c = 0;
  for (int i = 0; i < k_n; ++i) {
    const double x1 = std::uniform_real_distribution<double>(-4, 4)(g);
    // Near the zeros of sin and cos (multiples of ½), where relative accuracy is hardest.
    const double x2 = 0.5 * std::uniform_int_distribution<int>(-8, 8)(g) +
                      std::uniform_real_distribution<double>(-1, 1)(g) *
                          std::exp2(-std::uniform_int_distribution<int>(2, 60)(g));
    for (double x : {x1, x2}) {
      double s, c;
      exmy::elem::sincospi(x, s, c);
      long double rs, rc;
      sincospi_ref(x, rs, rc);
      if (rs != 0) worst_s = std::max(worst_s, ulp_error(s, rs));
      if (rc != 0) worst_c = std::max(worst_c, ulp_error(c, rc));
    }
  }
  MESSAGE("sincospi: max error sin " << worst_s << " ulp, cos " << worst_c << " ulp");
  CHECK(worst_s < 1.0);
  CHECK(worst_c < 1.0);
  double s, c;
  exmy::elem::sincospi(0.0, s, c);
  CHECK((s == 0.0 && c == 1.0));
  exmy::elem::sincospi(0.5, s, c);
  CHECK((s == 1.0 && c == 0.0));
  // Odd/even symmetry holds exactly: the reduction and the polynomials are odd/even in r.
  for (int i = 0; i < 10000; ++i) {
    const double x = std::uniform_real_distribution<double>(-8, 8)(g);
    double s1, c1, s2, c2;
    exmy::elem::sincospi(x, s1, c1);
    exmy::elem::sincospi(-x, s2, c2);
    REQUIRE(bits(s2) == bits(-s1));
    REQUIRE(bits(c2) == bits(c1));
  }
  exmy::elem::sincospi(1.0, s, c);
  CHECK((s == 0.0 && c == -1.0));
}

TEST_CASE("53-bit uniforms: exact values at the ends of the word range") {
  using namespace exmy;
  // k = 0 and k = 2^53 − 1 (all 53 bits set), by the definitions in uniform_bits.hpp.
  CHECK(u01_co(0, 0) == 0.0);
  CHECK(u01_co(0xffffffffu, 0xffffffffu) == 1.0 - 0x1p-53);
  CHECK(u01_oc(0, 0) == 0x1p-53);
  CHECK(u01_oc(0xffffffffu, 0xffffffffu) == 1.0);
  CHECK(u_sym(0, 0) == -1.0 + 0x1p-53);
  CHECK(u_sym(0xffffffffu, 0xffffffffu) == 1.0 - 0x1p-53);
  // The 11 low bits of the second word are not used; bit 11 is the last one that is.
  CHECK(u01_co(0, 0x7ffu) == 0.0);
  CHECK(u01_co(0, 0x800u) == 0x1p-53);
  CHECK(u01_co(0x80000000u, 0) == 0.5);
  // Symmetry: complementing all 53 bits negates u_sym.
  std::mt19937_64 g(7);
  for (int i = 0; i < 10000; ++i) {
    const auto a = static_cast<std::uint32_t>(g()), b = static_cast<std::uint32_t>(g());
    REQUIRE(u_sym(~a, ~b) == -u_sym(a, b));
    // k·2^−53 from the formula equals the integer computed exactly.
    const std::uint64_t k = (std::uint64_t{a} << 21) | (b >> 11);
    REQUIRE(u01_co(a, b) == static_cast<double>(k) * 0x1p-53);
  }
}
