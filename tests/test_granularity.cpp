// tests/test_granularity.cpp — ptq/granularity.hpp and the per-group measurement of
// format_choice.hpp: parsing, the group order (checked against codes.hpp's independent
// group_index), per-channel quantization along axis 0 and 1 against a direct per-element loop, OCP
// MX shared exponents for the floor / ceil / nearest rules (including the block-max saturation of
// microxcaling#4: 957 → 896 under floor for E4M3 elements) against log2 in long double, and the
// weight-only RTN groups of Intel Neural Compressor (qdq_weight_sym / qdq_weight_asym formulas).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "exmy/ptq/format_choice.hpp"
#include "exmy/ptq/granularity.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"

using namespace exmy;

namespace {

tensor make_tensor(std::vector<std::int64_t> shape, std::uint64_t seed, double sigma = 1.0) {
  tensor t;
  t.name = "t";
  t.shape = std::move(shape);
  std::mt19937_64 rng(seed);
  std::student_t_distribution<double> d(5.0);
  t.data.resize(static_cast<std::size_t>(t.numel()));
  for (auto& x : t.data) x = static_cast<float>(sigma * d(rng));
  return t;
}

ptq_options options(const std::string& gran, const std::string& formats) {
  ptq_options o;
  o.gran = parse_granularity(gran);
  o.formats = parse_format_list(formats);
  o.analysis = false;
  return o;
}

// The error statistic computed element by element with the scalar rule and given params.
double direct_sq_err(const std::vector<float>& x, const std::vector<quant_params>& p_of_elem) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = double(quantize_value<rounding::rne>(x[i], p_of_elem[i], 0u)) - x[i];
    s += e * e;
  }
  return s;
}

}  // namespace

TEST_CASE("parse_granularity: forms, defaults, round trip and errors") {
  CHECK(parse_granularity("tensor").kind == granularity_kind::tensor);
  const granularity c = parse_granularity("channel");
  CHECK(c.kind == granularity_kind::channel);
  CHECK(c.axis == 0);
  CHECK(parse_granularity("channel:1").axis == 1);
  const granularity b = parse_granularity("block:32");
  CHECK(b.kind == granularity_kind::block);
  CHECK(b.size == 32);
  CHECK(b.axis == -1);
  CHECK(b.rule == block_rule::floor);
  const granularity b2 = parse_granularity("block:16:0:ceil");
  CHECK(b2.axis == 0);
  CHECK(b2.rule == block_rule::ceil);
  CHECK(parse_granularity("block:32:nearest").rule == block_rule::nearest);
  const granularity g = parse_granularity("group:128:asym");
  CHECK(g.kind == granularity_kind::group);
  CHECK_FALSE(g.symmetric);
  for (const char* s : {"tensor", "channel:2", "block:32:-1:nearest", "group:64:1:asym"}) {
    const granularity a = parse_granularity(s), r = parse_granularity(to_string(a));
    CHECK(r.kind == a.kind);
    CHECK(r.axis == a.axis);
    CHECK(r.size == a.size);
    CHECK(r.rule == a.rule);
    CHECK(r.symmetric == a.symmetric);
  }
  for (const char* bad : {"", "layer", "tensor:1", "channel:x", "channel:1:2", "block", "block:0",
                          "block:x", "block:32:up", "group:8:floor", "block:32:1:2",
                          "group:8:sym:asym"})
    CHECK_THROWS_AS(parse_granularity(bad), error);
}

TEST_CASE("resolve: negative axes, rank fallbacks, out-of-range axes") {
  CHECK(resolve(parse_granularity("channel"), {5}).kind == granularity_kind::tensor);
  CHECK(resolve(parse_granularity("block:4"), {}).kind == granularity_kind::tensor);
  CHECK(resolve(parse_granularity("block:4"), {3, 8}).axis == 1);
  CHECK(resolve(parse_granularity("channel:-1"), {3, 8}).axis == 1);
  CHECK_THROWS_AS(resolve(parse_granularity("channel:2"), {3, 8}), error);
  CHECK_THROWS_AS(resolve(parse_granularity("block:4:-3"), {3, 8}), error);
}

TEST_CASE("group order matches codes.hpp group_index and round-trips") {
  const std::vector<std::vector<std::int64_t>> shapes = {{6}, {4, 5}, {3, 7, 2}, {2, 3, 4, 5}};
  const char* grans[] = {"tensor", "channel:0", "channel:1", "channel:-1", "block:3:0",
                         "block:2:1", "block:4", "group:3:-1", "block:5:1"};
  for (const auto& shape : shapes)
    for (const char* gs : grans) {
      granularity r;
      try {
        r = resolve(parse_granularity(gs), shape);
      } catch (const error&) {
        continue;  // axis outside this rank
      }
      std::int64_t n = 1;
      for (auto d : shape) n *= d;
      std::vector<float> x(static_cast<std::size_t>(n)), y(x.size()), z(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);
      to_group_order(x.data(), shape, r, y.data());
      const std::vector<std::int64_t> off = group_offsets(shape, r);
      const std::vector<std::int64_t> gi = group_index(shape, to_group_layout(r));
      INFO(gs << " rank " << shape.size());
      REQUIRE(off.back() == n);
      CHECK(std::int64_t(off.size()) - 1 == group_count(shape, to_group_layout(r)));
      // Element y[k] came from row-major index m = y[k]; its group per codes.hpp must be the run
      // holding position k.
      std::size_t g = 0;
      for (std::int64_t k = 0; k < n; ++k) {
        while (off[g + 1] <= k) ++g;
        CHECK(gi[static_cast<std::size_t>(y[static_cast<std::size_t>(k)])] == std::int64_t(g));
      }
      from_group_order(y.data(), shape, r, z.data());
      CHECK(z == x);
    }
}

TEST_CASE("per-channel quantization along axis 0 and axis 1 equals a direct loop") {
  const tensor t = make_tensor({6, 40}, 1);
  for (int axis : {0, 1}) {
    ptq_options o = options("channel:" + std::to_string(axis), "e4m3,e2m5,int8");
    const tensor_report r = analyze_tensor(t, o, true);
    CHECK(r.groups == t.shape[static_cast<std::size_t>(axis)]);
    for (std::size_t k = 0; k < r.formats.size(); ++k) {
      const format_spec f = parse_format(r.formats[k].format);
      // Channel c's maxval is max |x| over the channel (current_minmax, reference-spec §5.2).
      std::vector<double> amax(static_cast<std::size_t>(t.shape[axis]), 0.0);
      for (std::int64_t i = 0; i < 6; ++i)
        for (std::int64_t j = 0; j < 40; ++j) {
          const std::size_t c = static_cast<std::size_t>(axis == 0 ? i : j);
          amax[c] = std::max(amax[c], std::fabs(double(t.data[std::size_t(i * 40 + j)])));
        }
      std::vector<quant_params> pe;
      for (std::int64_t i = 0; i < 6; ++i)
        for (std::int64_t j = 0; j < 40; ++j) pe.push_back(make_params(f, amax[std::size_t(axis == 0 ? i : j)]));
      for (std::size_t c = 0; c < amax.size(); ++c) CHECK(r.formats[k].params[c].maxval == amax[c]);
      INFO("axis " << axis << " " << f.name);
      CHECK(r.formats[k].stats.sum_sq_err == doctest::Approx(direct_sq_err(t.data, pe)).epsilon(1e-12));
      // The fake-quantized tensor equals the per-element scalar rule.
      const tensor q = fake_quantize(t, r, k, o);
      for (std::size_t i = 0; i < t.data.size(); ++i)
        CHECK(q.data[i] == quantize_value<rounding::rne>(t.data[i], pe[i], 0u));
    }
  }
}

TEST_CASE("MX shared exponent: floor saturates the block max, ceil and nearest") {
  const format_spec e4m3 = parse_format("e4m3fn");  // OCP E4M3: max 448 = 1.75·2^8
  // microxcaling#4: amax 957 = 1.869·2^9 → floor X = 2^(9−8) = 2; 957/2 = 478.5 > 448 saturates.
  CHECK(shared_exponent(957, e4m3, block_rule::floor) == 1);
  CHECK(quantize_value<rounding::rne>(957.0, block_params(e4m3, 1), 0u) == 896.0);
  // ceil: the smallest X with 957 ≤ 448·X is 4; 957/4 = 239.25 → 240 (E4M3 spacing 16 there).
  CHECK(shared_exponent(957, e4m3, block_rule::ceil) == 2);
  CHECK(quantize_value<rounding::rne>(957.0, block_params(e4m3, 2), 0u) == 960.0);
  // nearest: log2(957/448) = 1.095 → 1 (saturates as floor does here).
  CHECK(shared_exponent(957, e4m3, block_rule::nearest) == 1);
  // Boundaries of nearest: 448·√2 = 633.57 and 448/√2 = 316.78.
  CHECK(shared_exponent(633.5, e4m3, block_rule::nearest) == 0);
  CHECK(shared_exponent(633.6, e4m3, block_rule::nearest) == 1);
  CHECK(shared_exponent(316.8, e4m3, block_rule::nearest) == 0);
  CHECK(shared_exponent(316.7, e4m3, block_rule::nearest) == -1);
  // E8M0 range and empty blocks.
  CHECK(shared_exponent(std::ldexp(1.0, 200), e4m3, block_rule::floor) == 127);
  CHECK(shared_exponent(std::ldexp(1.0, -200), e4m3, block_rule::ceil) == -127);
  CHECK(shared_exponent(0.0, e4m3, block_rule::floor) == -127);
  CHECK(shared_exponent(NAN, e4m3, block_rule::floor) == -127);
  // Oracle: the definitions in long double logarithms on random maxvals, several element formats.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> U(-30, 30);
  for (const char* name : {"e4m3fn", "e5m2", "e2m1fn", "e3m2fn", "int8", "e2m5"}) {
    const format_spec f = parse_format(name);
    const long double mx = limits(f).max;
    int emax = 0;
    std::frexp(double(mx), &emax);
    --emax;
    for (int i = 0; i < 2000; ++i) {
      const double m = std::exp2(U(rng));
      const long double l = std::log2((long double)m);
      const long double r = std::log2((long double)m / mx);
      INFO(name << " m = " << m);
      CHECK(shared_exponent(m, f, block_rule::floor) == int(std::floor(l)) - emax);
      CHECK(shared_exponent(m, f, block_rule::ceil) == int(std::ceil(r)));
      CHECK(shared_exponent(m, f, block_rule::nearest) == int(std::lround(r)));
    }
  }
}

TEST_CASE("MX block granularity: measurement and fake-quant equal a per-block loop") {
  tensor t = make_tensor({3, 70}, 2, 0.3);  // 70 = 2 full blocks of 32 + one of 6 per row
  t.data[5] = 957.0f;                      // a block whose maximum saturates under floor
  t.data[100] = 1e-3f;
  for (const char* rule : {"floor", "ceil", "nearest"}) {
    ptq_options o = options(std::string("block:32:") + rule, "e4m3fn,e2m1fn,int8");
    const tensor_report r = analyze_tensor(t, o, true);
    CHECK(r.groups == 9);
    for (std::size_t k = 0; k < r.formats.size(); ++k) {
      const format_spec f = parse_format(r.formats[k].format);
      std::vector<quant_params> pe(t.data.size());
      for (int row = 0; row < 3; ++row)
        for (int b = 0; b < 3; ++b) {
          double amax = 0;
          const int c0 = b * 32, c1 = std::min(70, c0 + 32);
          for (int c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(double(t.data[row * 70 + c])));
          const quant_params p = block_params(f, shared_exponent(amax, f, parse_block_rule(rule)));
          for (int c = c0; c < c1; ++c) pe[std::size_t(row * 70 + c)] = p;
        }
      INFO(rule << " " << f.name);
      CHECK(r.formats[k].stats.sum_sq_err == doctest::Approx(direct_sq_err(t.data, pe)).epsilon(1e-12));
      const tensor q = fake_quantize(t, r, k, o);
      for (std::size_t i = 0; i < t.data.size(); ++i)
        CHECK(q.data[i] == quantize_value<rounding::rne>(t.data[i], pe[i], 0u));
      if (f.name == "e4m3fn") CHECK(q.data[5] == (std::string(rule) == "ceil" ? 960.0f : 896.0f));
    }
  }
}

TEST_CASE("weight-only RTN groups: INC's symmetric and asymmetric formulas") {
  const tensor t = make_tensor({4, 24}, 5, 0.05);
  // Symmetric int4, groups of 8 along the input axis: scale = wmax/7, q = clamp(round(w/s), −8, 7)
  // (neural_compressor qdq_weight_sym, full_range = false).
  {
    ptq_options o = options("group:8", "int4");
    const tensor_report r = analyze_tensor(t, o, true);
    REQUIRE(r.formats[0].error.empty());
    const tensor q = fake_quantize(t, r, 0, o);
    for (int g = 0; g < 12; ++g) {
      double wmax = 0;
      for (int c = 0; c < 8; ++c) wmax = std::max(wmax, std::fabs(double(t.data[g * 8 + c])));
      const double s = wmax / 7;
      for (int c = 0; c < 8; ++c) {
        const double w = t.data[g * 8 + c];
        const double ref = s * std::clamp(std::nearbyint(w / s), -8.0, 7.0);
        CHECK(q.data[std::size_t(g * 8 + c)] == doctest::Approx(ref).epsilon(1e-6));
      }
    }
  }
  // Asymmetric: scale = (wmax − wmin)/15 with wmin ≤ 0 ≤ wmax, zp = round(−wmin/scale),
  // q = clamp(round(w/scale) + zp, 0, 15) (qdq_weight_asym).
  {
    ptq_options o = options("group:8:asym", "int4");
    const tensor_report r = analyze_tensor(t, o, true);
    CHECK(r.formats[0].format == "uint4a");
    const tensor q = fake_quantize(t, r, 0, o);
    for (int g = 0; g < 12; ++g) {
      double lo = 0, hi = 0;
      for (int c = 0; c < 8; ++c) {
        lo = std::min(lo, double(t.data[g * 8 + c]));
        hi = std::max(hi, double(t.data[g * 8 + c]));
      }
      const double s = (hi - lo) / 15, zp = std::nearbyint(-lo / s);
      for (int c = 0; c < 8; ++c) {
        const double w = t.data[g * 8 + c];
        const double ref = s * (std::clamp(std::nearbyint(w / s) + zp, 0.0, 15.0) - zp);
        CHECK(q.data[std::size_t(g * 8 + c)] == doctest::Approx(ref).epsilon(1e-6));
      }
    }
  }
  // reduce_range: int8 becomes 7-bit {−64 … 63}·maxval/63.
  {
    ptq_options o = options("tensor", "int8");
    o.reduce_range = true;
    const tensor_report r = analyze_tensor(t, o, true);
    CHECK(r.formats[0].format == "int7");
    CHECK(limits(parse_format("int7")).max == 63);
    CHECK(reduce_range(parse_format("uint8a")).name == "uint7a");
    CHECK(reduce_range(parse_format("e4m3")).name == "e4m3");
    CHECK_THROWS_AS(asymmetric_variant(parse_format("e4m3")), error);
  }
}

TEST_CASE("format choice: NaN/inf counted, SQNR over finite values, best = highest SQNR") {
  tensor t = make_tensor({1000}, 9);
  t.data[3] = NAN;
  t.data[4] = INFINITY;
  ptq_options o = options("tensor", "all");
  o.analysis = true;
  const tensor_report r = analyze_tensor(t, o);
  CHECK(r.stats.nan == 1);
  CHECK(r.stats.inf == 1);
  CHECK(r.stats.finite == 998);
  REQUIRE(r.best >= 0);
  for (const auto& f : r.formats) {
    CHECK(f.error.empty());
    CHECK(f.stats.count == 998);
    CHECK(f.stats.nan_count == 1);
    CHECK(f.sqnr_db <= r.formats[std::size_t(r.best)].sqnr_db);
    CHECK(std::isfinite(f.predicted_db));
  }
  // A tensor without finite values has no SQNR and no best format.
  tensor nan_only = make_tensor({4}, 10);
  for (auto& v : nan_only.data) v = NAN;
  const tensor_report rn = analyze_tensor(nan_only, o);
  CHECK(rn.best == -1);
  CHECK(std::isnan(rn.formats[0].sqnr_db));
  CHECK(rn.stats.nan == 4);
  const ptq_summary s = summarize({r, r, rn});
  CHECK(s.tensors == 3);
  CHECK(s.nan == 6);
  CHECK(s.formats[0].exact == 0);
  CHECK(s.formats[std::size_t(r.best)].wins == 2);
  CHECK(s.formats[0].weighted_sqnr_db == doctest::Approx(r.formats[0].sqnr_db));
}
