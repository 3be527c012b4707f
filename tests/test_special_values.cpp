// Special values through every path (issue 8): NaN, ±inf, −0, overflow and subnormal inputs give
// what README's policy tables say ("Rounding and special-value policy" for the scalar rule; "Errors
// and special values" for Monte-Carlo, PTQ and the analytic engine) — through the scalar rule
// (float and double), the CPU drivers on every SIMD path the machine has, exact and hardware scale
// modes, every rounding mode; the fused error pass; Monte-Carlo; the PTQ estimators, statistics and
// format choice; and the analytic engine at extreme law parameters and maxvals.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "exmy/distributions/distribution.hpp"
#include "exmy/ptq/estimators.hpp"
#include "exmy/ptq/format_choice.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/sqnr/analytic.hpp"
#include "exmy/sqnr/monte_carlo.hpp"
#include "exmy/sqnr/report.hpp"

using namespace exmy;

namespace {

const double k_nan = std::numeric_limits<double>::quiet_NaN();
const double k_inf = std::numeric_limits<double>::infinity();
const rounding k_modes[] = {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic};

// What a result must be: a NaN, an exact value (the sign of a zero included), or "either of two
// values" (stochastic rounding of a value between two grid points).
struct expect {
  enum kind_t { nan, value, either } kind = value;
  double a = 0, b = 0;
};
expect is_nan() { return {expect::nan, 0, 0}; }
expect is(double v) { return {expect::value, v, v}; }

bool same_value(double got, double want) {
  if (want == 0) return got == 0 && std::signbit(got) == std::signbit(want);
  return got == want;
}

bool matches(double got, const expect& e) {
  switch (e.kind) {
    case expect::nan: return std::isnan(got);
    case expect::value: return same_value(got, e.a);
    default: return same_value(got, e.a) || same_value(got, e.b);
  }
}

// v rounded to float and back. Through a volatile: GCC 12.2 at -O2/-O3 vectorizes two such
// round trips written side by side (SLP) and then drops the truncate/extend pair as a no-op, so
// `{double(float(a)), double(float(b))}` returns {a, b} (`struct P {double a, b;}; P g(double a,
// double b) { return {double(float(a)), double(float(b))}; }` compiles to a bare `ret`).
double float_rounded(double v) {
  volatile float f = static_cast<float>(v);
  return f;
}

std::string text(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

// The README table, column by column: the value a special input gets for format f (scaled by p).
struct policy {
  const format_spec& f;
  const quant_params& p;
  rounding r;

  bool saturating() const { return f.overflow == overflow_mode::saturate || !f.is_float(); }
  // A finite value beyond the grid (or an infinity) that the rounding carries past the end.
  expect overflow(bool negative, bool infinite_input) const {
    if (!f.is_signed && negative) return is(0.0);  // x < 0, unsigned: +0
    const double sat = negative ? p.minval : p.maxval;
    if (saturating()) return is(sat);
    if (r == rounding::rtz && !infinite_input) return is(sat);  // IEEE 754 §7.4
    if (f.enc == encoding::ieee) return is(negative ? -k_inf : k_inf);
    return is_nan();  // fn, fnuz: no infinity
  }
  // A value that rounds to zero: the sign survives where the format has −0.
  expect zero(bool negative) const { return is(negative && p.neg_zero ? -0.0 : 0.0); }
};

// The rows of the table for one format: (input, expected result).
std::vector<std::pair<double, expect>> rows(const format_spec& f, const quant_params& p, rounding r) {
  const policy pol{f, p, r};
  std::vector<std::pair<double, expect>> v;
  v.push_back({k_nan, is_nan()});
  v.push_back({-k_nan, is_nan()});
  v.push_back({k_inf, pol.overflow(false, true)});
  v.push_back({-k_inf, pol.overflow(true, true)});
  v.push_back({4 * p.maxval, pol.overflow(false, false)});
  v.push_back({4 * (f.is_signed ? p.minval : -p.maxval), pol.overflow(true, false)});
  v.push_back({0.0, is(0.0)});
  v.push_back({-0.0, pol.zero(true)});
  // IEEE subnormal inputs, far below half the grid's smallest step: zero with the input's sign
  // (both float32 and double subnormals; a DAZ mode must not matter).
  double min_pos = 0;
  for (double g : grid(p))
    if (g > 0) {
      min_pos = g;
      break;
    }
  for (double x : {4.9406564584124654e-324, 1.401298464324817e-45}) {
    if (!(x < 0.5 * min_pos)) continue;  // a grid this fine represents them: ordinary values
    v.push_back({x, is(0.0)});
    v.push_back({-x, f.is_signed ? pol.zero(true) : is(0.0)});
  }
  // A negative value of an unsigned format: +0.
  if (!f.is_signed) v.push_back({-0.5 * p.maxval, is(0.0)});
  // A value in the subnormal range of a .ftz format: ±0 (it would be a subnormal result).
  if (f.is_float() && !f.subnormals) {
    // The smallest subnormal of the grid (n = 1 at the subnormal binade exponent emin − M):
    // nearer to 0 than to the smallest normal 2^M steps away, so every rounding mode flushes it.
    const double sub = std::ldexp(p.scale, p.emin - p.man_bits);
    v.push_back({sub, is(0.0)});
    v.push_back({-sub, f.is_signed ? pol.zero(true) : is(0.0)});
  }
  return v;
}

// Every format family of the table's columns: saturating with specials, non-saturating ieee and
// fn/fnuz, finite-only (paper grids, OCP FP6/FP4, integers), unsigned, flush-to-zero.
const char* const k_formats[] = {"e4m3fn",     "e5m2ieee",        "e4m3fnuz",  "e5m2fnuz",
                                 "e5m2ieee.nosat", "e3m4ieee.nosat", "fp16.nosat", "e4m3fn.nosat",
                                 "e4m3fnuz.nosat", "e4m3",         "e2m5",      "e2m1fn",
                                 "e3m2fn",     "int8",            "int8n",     "uint8",
                                 "int4",       "ue4m3",           "e4m3.ftz",  "e4m3fn.ftz",
                                 "e5m2ieee.nosat.ftz", "bf16"};

// Runs one input through every path and checks each against `e`.
void check_all_paths(const format_spec& f, const quant_params& p, rounding r, double x,
                     const expect& e) {
  const std::string where = f.name + " " + std::to_string(int(r)) + " x=" + text(x);
  const std::uint32_t u = 0x80000000u;  // stochastic: a fixed uniform
  // 1. The scalar rule, double and float (float only where x is a float; the float result is
  // the double result rounded to float, ±inf beyond float's range).
  const double qd = quantize_value(x, p, r, u);
  CHECK_MESSAGE(matches(qd, e), where << " scalar double gave " << text(qd));
  const float xf = static_cast<float>(x);
  const bool as_float = static_cast<double>(xf) == x || std::isnan(x);
  expect ef = e;
  if (e.kind != expect::nan) {
    ef.a = float_rounded(e.a);
    ef.b = float_rounded(e.b);
  }
  if (as_float) {
    const float qf = quantize_value(xf, p, r, u);
    CHECK_MESSAGE(matches(qf, ef), where << " scalar float gave " << text(qf));
  }
  // 2. The drivers on every SIMD path this CPU has (stochastic rounding draws its own uniforms
  // there; every row of the table is decided without them).
  for (simd_path sp : {simd_path::scalar, simd_path::avx2, simd_path::avx512}) {
    if (!simd_path_supported(sp)) continue;
    set_simd_path(sp);
    quantize_options o;
    o.mode = r;
    o.threads = 1;
    // A block of 19 copies: vector bodies and the scalar tail both see the value.
    std::vector<double> in(19, x), out(19);
    quantize(in.data(), out.data(), in.size(), p, o);
    for (double v : out)
      CHECK_MESSAGE(matches(v, e), where << " driver double " << std::string(to_string(sp)) << " gave " << text(v));
    if (as_float) {
      std::vector<float> inf_(19, xf), outf(19);
      quantize(inf_.data(), outf.data(), inf_.size(), p, o);
      for (float v : outf)
        CHECK_MESSAGE(matches(v, ef), where << " driver float " << std::string(to_string(sp)) << " gave " << text(v));
    }
  }
  set_simd_path(simd_path::automatic);
}

}  // namespace

TEST_CASE("quantizer: the README policy table, every format family, rounding mode and path") {
  for (const char* name : k_formats) {
    const format_spec f = parse_format(name);
    // The native scale and a flexible one (maxval 3): the policy does not depend on the scale.
    for (const quant_params& p : {make_native_params(f), make_params(f, 3.0)}) {
      for (rounding r : k_modes) {
        // Stochastic rounding of a tie-free special value is deterministic, except for the
        // 4·max row (rounds past the end either way) — all rows are exact here.
        for (const auto& [x, e] : rows(f, p, r)) check_all_paths(f, p, r, x, e);
      }
    }
  }
}

TEST_CASE("quantizer, hardware scale mode: NaN, ±inf, −0 and overflow follow the same table") {
  for (const char* name : {"e4m3fn", "e5m2ieee.nosat", "e4m3fn.nosat", "e4m3fnuz", "int8", "uint8"}) {
    const format_spec f = parse_format(name);
    const quant_params p = make_params(f, 3.0);
    quantize_options o;
    o.scale = scale_mode::hardware;
    o.threads = 1;
    // Reference: a large finite input in hardware mode (what saturation gives in this mode).
    std::vector<double> big{1e30, -1e30}, big_q(2);
    quantize(big.data(), big_q.data(), 2, p, o);
    std::vector<double> in{k_nan, k_inf, -k_inf, -0.0, 0.0, -4.9406564584124654e-324}, out(in.size());
    quantize(in.data(), out.data(), in.size(), p, o);
    INFO(name);
    CHECK(std::isnan(out[0]));
    const policy pol{f, p, rounding::rne};
    if (pol.saturating()) {
      CHECK(out[1] == big_q[0]);
      CHECK(same_value(out[2], f.is_signed ? big_q[1] : 0.0));
    } else if (f.enc == encoding::ieee) {
      CHECK(out[1] == k_inf);
      CHECK(out[2] == -k_inf);
    } else {
      CHECK(std::isnan(out[1]));
      CHECK(std::isnan(out[2]));
    }
    CHECK(same_value(out[3], p.neg_zero ? -0.0 : 0.0));
    CHECK(same_value(out[4], 0.0));
    CHECK(same_value(out[5], p.neg_zero ? -0.0 : 0.0));
  }
}

TEST_CASE("fused error pass: NaN and ±inf are counted and left out of every sum") {
  const quant_params p = make_params(parse_format("e4m3"), 4.0);
  const std::vector<float> finite{0.5f, -1.25f, 3.0f, 7.5f, -0.0f, 1e-40f};
  std::vector<float> mixed;
  for (float v : finite) {
    mixed.push_back(v);
    mixed.push_back(std::numeric_limits<float>::quiet_NaN());
    mixed.push_back(v < 0 ? -INFINITY : INFINITY);
  }
  quantize_options o;
  o.threads = 1;
  const error_stats a = quantize_error(finite.data(), finite.size(), p, o);
  const error_stats b = quantize_error(mixed.data(), mixed.size(), p, o);
  CHECK(b.count == finite.size());
  CHECK(b.nan_count == finite.size());
  CHECK(b.inf_count == finite.size());
  CHECK(b.sum_sq_err == doctest::Approx(a.sum_sq_err).epsilon(1e-15));
  CHECK(b.sum_sq == doctest::Approx(a.sum_sq).epsilon(1e-15));
  CHECK(b.max_abs_err == a.max_abs_err);
  CHECK(b.clipped == a.clipped);  // 7.5 > 4
  CHECK(b.clipped == 1);
  CHECK(std::isfinite(b.sqnr_db()));
  // Nothing finite: no samples, MSE 0 by definition, no SQNR claim of "exact".
  const std::vector<float> none{NAN, INFINITY, -INFINITY};
  const error_stats c = quantize_error(none.data(), none.size(), p, o);
  CHECK(c.count == 0);
  CHECK(c.mse() == 0);
}

TEST_CASE("Monte-Carlo: overflow of a non-saturating format is an infinite MSE, as in the closed form") {
  // N(0,1) is unbounded: with maxval 1, a non-saturating format overflows on a third of the
  // samples (to ±inf for ieee, to NaN for fn/fnuz: an error of unbounded size either way).
  const distribution d = normal(0, 1);
  for (const char* name : {"e5m2ieee.nosat", "e4m3fn.nosat", "e4m3fnuz.nosat"}) {
    INFO(name);
    const quant_params p = make_params(parse_format(name), 1.0);
    const error_moments a = analytic_moments(view_of(d), p, rounding::rne);
    CHECK(a.mse == k_inf);
    mc_options o;
    o.samples = 4096;
    o.threads = 1;
    const mc_result r = monte_carlo_mse(d, p, o);
    CHECK(r.mse == k_inf);
    CHECK(!r.ci_defined);
    // rtz never overflows a finite sample: finite MSE again.
    o.mode = rounding::rtz;
    const mc_result t = monte_carlo_mse(d, p, o);
    CHECK(std::isfinite(t.mse));
  }
  // Bounded support inside the grid: a non-saturating format never overflows, finite MSE.
  const mc_result b = monte_carlo_mse(uniform(-1, 1), make_params(parse_format("e4m3fn.nosat"), 2.0),
                                      mc_options{});
  CHECK(std::isfinite(b.mse));
}

TEST_CASE("distributions: NaN and ±inf parameters are refused; an empirical sample with NaN too") {
  CHECK_THROWS_AS(normal(k_nan, 1), error);
  CHECK_THROWS_AS(normal(0, k_inf), error);
  CHECK_THROWS_AS(normal(0, -0.0), error);
  CHECK_THROWS_AS(uniform(0, k_nan), error);
  CHECK_THROWS_AS(uniform(-k_inf, 0), error);
  CHECK_THROWS_AS(student_t(k_inf), error);
  CHECK_THROWS_AS(laplace(k_nan), error);
  CHECK_THROWS_AS(normal(0, 1, clipped(k_nan)), error);
  CHECK_THROWS_AS(empirical({1.0, k_nan}), error);
  CHECK_THROWS_AS(empirical({1.0, -k_inf}), error);
  CHECK_THROWS_AS(parse_distribution("normal:mu=nan"), error);
  CHECK_THROWS_AS(parse_distribution("normal:sigma=inf"), error);
  CHECK_THROWS_AS(parse_distribution("uniform:lo=-inf,hi=0"), error);
  CHECK_THROWS_AS(integrate(normal(0, 1), k_nan, 1, 0), error);
  // Student-t for nu in 1e-100…1e6; beyond, refused (fuzz_distribution: at nu = 1.9e30 the cdf
  // came out negative, at nu = 2.51e-300 with trunc=4 cdf + ccdf was 1.11).
  CHECK_NOTHROW(student_t(1e6));
  CHECK_NOTHROW(student_t(1e-100, 1, truncated(4)));
  CHECK_THROWS_AS(student_t(1.0000001e6), error);
  CHECK_THROWS_AS(student_t(0.99e-100, 1, truncated(4)), error);
  CHECK_THROWS_AS(parse_distribution("student_t:nu=1888888888888888888888888888888"), error);
  CHECK_THROWS_AS(parse_distribution("student_t:nu=2.51e-300,trunc=4"), error);
  // Locations, scales and support ends within ±1e150 (fuzz_distribution: mu = 1e308 gave
  // E[X²] = NaN; uniform(−1e303, 1e303) too, lo² + lo·hi + hi² = inf − inf); bounds beyond.
  CHECK_NOTHROW(normal(1e150, 1e150, clipped(1e300)));
  CHECK(second_moment(uniform(-1e150, 1e150)) == doctest::Approx(1e300 / 3).epsilon(1e-15));
  CHECK_THROWS_AS(parse_distribution("normal:mu=1e308,sigma=1e-300,clip=1e308"), error);
  CHECK_THROWS_AS(uniform(-1e303, 1e303), error);
  CHECK_THROWS_AS(laplace(1.1e150), error);
  CHECK_THROWS_AS(student_t(3, 1e151), error);
  CHECK(!std::isnan(second_moment(student_t(0.5, 1, clipped(1e301)))));
  // A truncated law's cdf and ccdf stay within [0, 1] (fuzz_distribution: 1 + 9e-16 here).
  const distribution narrow = parse_distribution("student_t:nu=1.5,scale=4.9e-162,trunc=4");
  for (double x : {-1.0, -1e-300, 0.0, 1e-300, 1.0}) {
    CHECK(cdf(narrow, x) <= 1);
    CHECK(ccdf(narrow, x) <= 1);
  }
}

TEST_CASE("analytic engine: extreme law parameters and maxvals give a finite, non-negative MSE or a clear error") {
  // The engine's range (view_of): root mean square within 1e-100…1e100 and a location at most
  // 1e100 scales from 0. Inside it, laws across that range and maxvals from 1e-300 to 1e300: the
  // grid either fits the double range (a number comes out) or make_params refuses it.
  for (const char* spec : {"normal:mu=0,sigma=1e-300", "uniform:lo=-1e-300,hi=1e-300",
                           "normal:sigma=1e160", "uniform:lo=0,hi=1e140", "normal:mu=1,sigma=1.5e-323",
                           "laplace:mu=1,b=1e-200", "student_t:nu=3,mu=-1,scale=1e-120"}) {
    INFO(spec);
    CHECK_THROWS_AS(view_of(parse_distribution(spec)), error);
  }
  const std::vector<distribution> laws = {
      normal(0, 1e-95),           normal(0, 1e95),          normal(1e95, 1, clipped(1e300)),
      uniform(-1e-95, 1e-95),     uniform(0, 1e95),         student_t(1e-3, 1, clipped(1e10)),
      student_t(200),             student_t(2.5, 1e-95),    laplace(1e-95),
      laplace(1e95, clipped(1e95)), normal(0, 1, truncated(-1e-95, 1e-95)),
      normal(1, 1e-90)};
  for (const distribution& d : laws) {
    const double ex2 = second_moment(d);
    INFO(to_string(d));
    CHECK(!std::isnan(ex2));
    CHECK(ex2 >= 0);
    const law_view v = view_of(d);
    for (const char* name : {"e4m3", "e5m2ieee", "int8", "e4m3fn.ftz", "e2m1fn"}) {
      const format_spec f = parse_format(name);
      for (double m : {1e-300, 1e-150, 1e-5, 1.0, 1e5, 1e150, 1e300}) {
        quant_params p;
        try {
          p = make_params(f, m);
        } catch (const error&) {
          continue;  // the grid leaves the double range: refused with a message (test_error_messages)
        }
        for (rounding r : k_modes) {
          const error_moments e = analytic_moments(v, p, r);
          INFO(name << " maxval " << m << " rounding " << int(r));
          CHECK(!std::isnan(e.mse));
          CHECK(e.mse >= 0);
          // (Q − X)² ≤ 2X² + 2·max|Q|²: finite whenever both are.
          if (std::isfinite(2 * ex2 + 2 * m * m)) CHECK(std::isfinite(e.mse));
          CHECK(!std::isnan(e.sqnr_db()));
        }
      }
    }
  }
}

TEST_CASE("PTQ estimators: NaN and ±inf never move a range, a threshold or a search") {
  std::vector<float> finite;
  for (int i = 0; i < 4000; ++i) finite.push_back(std::sin(0.37f * float(i)) * (1.0f + 0.001f * float(i % 97)));
  std::vector<float> mixed = finite;
  for (std::size_t i = 0; i < mixed.size(); i += 37) mixed.insert(mixed.begin() + i, (i % 2) ? NAN : -INFINITY);
  mixed.push_back(INFINITY);
  const format_spec f = parse_format("e4m3");
  const value_range a = finite_range(finite.data(), finite.size());
  const value_range b = finite_range(mixed.data(), mixed.size());
  CHECK(a.lo == b.lo);
  CHECK(a.hi == b.hi);
  CHECK(b.finite == finite.size());
  CHECK(b.nan + b.inf == mixed.size() - finite.size());
  CHECK(percentile_of(finite.data(), finite.size(), 99.0, true) ==
        percentile_of(mixed.data(), mixed.size(), 99.0, true));
  CHECK(kl_threshold(finite.data(), finite.size(), f) == kl_threshold(mixed.data(), mixed.size(), f));
  const mse_result ma = mse_search(finite.data(), {0, std::int64_t(finite.size())}, f);
  const mse_result mb = mse_search(mixed.data(), {0, std::int64_t(mixed.size())}, f);
  CHECK(ma.maxval[0] == mb.maxval[0]);
  const tensor_moments sa = moments(finite.data(), finite.size());
  const tensor_moments sb = moments(mixed.data(), mixed.size());
  CHECK(sa.mean == doctest::Approx(sb.mean).epsilon(1e-12));
  CHECK(sa.std == doctest::Approx(sb.std).epsilon(1e-12));
  CHECK(sb.nan + sb.inf == mixed.size() - finite.size());
  // No finite value at all: empty range, zero thresholds, the search's fallback maxval 1.
  const std::vector<float> none{NAN, INFINITY, -INFINITY, NAN};
  CHECK(finite_range(none.data(), none.size()).finite == 0);
  CHECK(percentile_of(none.data(), none.size(), 50.0, false) == 0);
  CHECK(kl_threshold(none.data(), none.size(), f) == 0);
  CHECK(mse_search(none.data(), {0, 4}, f).maxval[0] == 1.0);
}

namespace {

tensor make_tensor(std::vector<float> v) {
  tensor t;
  t.name = "t";
  t.shape = {std::int64_t(v.size())};
  t.data = std::move(v);
  return t;
}

}  // namespace

TEST_CASE("PTQ format choice: special values are counted, measured over the finite part, never chosen on") {
  ptq_options o;
  o.formats = parse_format_list("e4m3,e3m4,int8");
  o.analysis = false;
  for (estimator_kind k : {estimator_kind::current_minmax, estimator_kind::mse, estimator_kind::kl,
                           estimator_kind::percentile}) {
    o.est.kind = k;
    INFO(to_string(k));
    std::vector<float> finite;
    for (int i = 0; i < 3000; ++i) finite.push_back(std::cos(0.11f * float(i)) * 2.0f);
    std::vector<float> mixed = finite;
    mixed[10] = NAN;
    mixed[20] = INFINITY;
    mixed[30] = -INFINITY;
    std::vector<float> kept;  // the finite part of `mixed`
    for (float v : mixed)
      if (std::isfinite(v)) kept.push_back(v);
    const tensor_report a = analyze_tensor(make_tensor(kept), o);
    const tensor_report b = analyze_tensor(make_tensor(mixed), o);
    CHECK(b.stats.nan == 1);
    CHECK(b.stats.inf == 2);
    CHECK(b.best == a.best);
    for (std::size_t i = 0; i < a.formats.size(); ++i) {
      CHECK(b.formats[i].error.empty());
      CHECK(b.formats[i].maxval_max == doctest::Approx(a.formats[i].maxval_max).epsilon(1e-12));
      CHECK(b.formats[i].sqnr_db == doctest::Approx(a.formats[i].sqnr_db).epsilon(1e-9));
    }
  }
  o.est.kind = estimator_kind::current_minmax;
  // All NaN / ±inf: nothing to measure, no best format, no exception.
  const tensor_report n = analyze_tensor(make_tensor({NAN, INFINITY, -INFINITY}), o);
  CHECK(n.best == -1);
  CHECK(n.stats.finite == 0);
  // All zeros (−0 included): represented exactly by every format, SQNR +inf, the first one best.
  const tensor_report z = analyze_tensor(make_tensor({0.0f, -0.0f, 0.0f}), o);
  CHECK(z.stats.finite == 3);
  CHECK(z.best == 0);
  for (const format_result& fr : z.formats) {
    CHECK(fr.error.empty());
    CHECK(fr.sqnr_db == k_inf);
  }
  // float32 subnormals: ordinary finite values, measured like any others.
  const tensor_report s = analyze_tensor(make_tensor({1e-40f, -3e-41f, 2e-45f, 7e-39f}), o);
  CHECK(s.stats.finite == 4);
  CHECK(s.best >= 0);
  CHECK(s.formats[std::size_t(s.best)].sqnr_db > 0);
}
