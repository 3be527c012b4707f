// tests/test_mx.cpp — block-scaled (MX) formats (sqnr/mx.hpp, issue 4): the closed form over the
// distribution of the block maximum against Monte-Carlo blocks (an independent computation: real
// blocks of k draws, their maximum, shared_exponent and the scalar rule), a limit where the
// exponent is almost surely constant, and the sensitivity of the comparison to the scale rule.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "exmy/sqnr/mx.hpp"
#include "exmy/sqnr/report.hpp"

using namespace exmy;

namespace {

mc_result run_mc(const distribution& d, const mx_spec& mx, std::uint64_t n, rounding r = rounding::rne) {
  mc_options o;
  o.samples = n;
  o.seed = 7;
  o.mode = r;
  return monte_carlo_mx(d, mx, o);
}

}  // namespace

TEST_CASE("MX analytic MSE agrees with Monte-Carlo blocks within 4 standard errors") {
  // OCP MX element formats (MXFP8 e4m3/e5m2, MXFP6 e3m2/e2m3, MXFP4 e2m1, MXINT8 as int8n), k = 32.
  const char* elements[] = {"e4m3fn", "e5m2", "e3m2fn", "e2m3fn", "e2m1fn", "int8n"};
  const char* laws[] = {"normal:mu=0,sigma=1", "laplace:b=1", "uniform:lo=-1,hi=1",
                        "student_t:nu=8", "normal:mu=0.5,sigma=2,trunc=3"};
  for (const char* law : laws)
    for (const char* el : elements)
      for (const char* block : {"32", "32:ceil", "8:nearest"}) {
        const distribution d = parse_distribution(law);
        const mx_spec mx = parse_mx(parse_format(el), block);
        const error_moments a = mx_analytic_moments(d, mx);
        const mc_result m = run_mc(d, mx, std::uint64_t{1} << 20);
        CAPTURE(law);
        CAPTURE(to_string(mx));
        CAPTURE(a.mse);
        CAPTURE(m.mse);
        REQUIRE(m.ci_defined);
        CHECK(std::fabs(m.mse - a.mse) <= 4 * m.se);
        CHECK(a.clip_mse + a.round_mse + a.subnormal_mse == doctest::Approx(a.mse).epsilon(1e-9));
      }
}

TEST_CASE("stochastic rounding: MX analytic vs Monte-Carlo") {
  const distribution d = parse_distribution("normal:mu=0,sigma=1");
  for (const char* el : {"e4m3fn", "e2m1fn"}) {
    const mx_spec mx = parse_mx(parse_format(el), "32");
    const error_moments a = mx_analytic_moments(d, mx, rounding::stochastic);
    const mc_result m = run_mc(d, mx, std::uint64_t{1} << 20, rounding::stochastic);
    CAPTURE(el);
    CHECK(std::fabs(m.mse - a.mse) <= 4 * m.se);
  }
}

TEST_CASE("a block maximum that almost surely sits in one binade: the plain grid's MSE") {
  // Uniform(−1, 1), k = 64: P(M < 1/2) = 2^−64, so the floor rule uses e = −emax_elem (the binade
  // [1/2, 1)) except with probability 5e-20 and the MSE is that of the single grid
  // block_params(element, 0 − emax) restricted to the law — the weights G must reproduce it.
  const distribution d = parse_distribution("uniform:lo=-1,hi=1");
  for (const char* el : {"e4m3fn", "e2m1fn", "int8n"}) {
    const mx_spec mx = parse_mx(parse_format(el), "64");
    const int e = shared_exponent(0.75, mx.element, mx.rule);
    const error_moments plain = analytic_moments(view_of(d), block_params(mx.element, e));
    const error_moments a = mx_analytic_moments(d, mx);
    CAPTURE(el);
    CHECK(a.mse == doctest::Approx(plain.mse).epsilon(1e-12));
  }
}

TEST_CASE("the comparison can fail: the wrong scale rule is many standard errors away") {
  const distribution d = parse_distribution("normal:mu=0,sigma=1");
  const format_spec el = parse_format("e4m3fn");
  const error_moments floor_a = mx_analytic_moments(d, parse_mx(el, "32:floor"));
  const mc_result ceil_m = run_mc(d, parse_mx(el, "32:ceil"), std::uint64_t{1} << 20);
  CHECK(std::fabs(ceil_m.mse - floor_a.mse) > 10 * ceil_m.se);
  // …and so is the block length.
  const error_moments k8 = mx_analytic_moments(d, parse_mx(el, "8"));
  const mc_result k32 = run_mc(d, parse_mx(el, "32"), std::uint64_t{1} << 20);
  CHECK(std::fabs(k32.mse - k8.mse) > 10 * k32.se);
}

TEST_CASE("MX results do not depend on the thread count; bad input is refused") {
  const distribution d = parse_distribution("laplace:b=1");
  const mx_spec mx = parse_mx(parse_format("e2m1fn"), "32");
  mc_options o;
  o.samples = 100000;
  o.threads = 1;
  const mc_result one = monte_carlo_mx(d, mx, o);
  o.threads = 3;
  const mc_result three = monte_carlo_mx(d, mx, o);
  CHECK(one.sums.ee == three.sums.ee);
  CHECK(one.sums.e4 == three.sums.e4);
  CHECK(one.samples == 100000);  // 3125 whole blocks of 32
  CHECK_THROWS_WITH_AS(mx_analytic_moments(parse_distribution("normal:mu=0,sigma=1,clip=3"), mx),
                       doctest::Contains("point masses"), exmy::error);
  CHECK_THROWS_AS(parse_mx(mx.element, "0"), exmy::error);
  CHECK_THROWS_AS(parse_mx(mx.element, "32:up"), exmy::error);
  CHECK_THROWS_AS(parse_mx(mx.element, "70000"), exmy::error);
}
