// Emulated low-precision arithmetic (issue 6, "Low-precision and approximate arithmetic"): the
// multiplier models against independent oracles (integer bit-pattern addition for Mitchell, the
// L-Mul formula by hand, truncation by hand, Mitchell's known worst case), the accumulators
// against native float / _Float16 / bit-level bf16 arithmetic and against a long-double reference
// with Higham's bound, the emulated GEMM against a double GEMM, the native-frame network GEMMs
// against the float32 network, and the dot-product error model against Monte-Carlo.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "exmy/arith/dot_monte_carlo.hpp"
#include "exmy/arith/network_arith.hpp"
#include "exmy/random/philox.hpp"

using namespace exmy;

namespace {

std::uint32_t bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
float from_bits(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

// A deterministic uniform in [0, 1) (splitmix64; any fixed generator will do).
struct rng {
  std::uint64_t s;
  double next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return double((z ^ (z >> 31)) >> 11) * 0x1p-53;
  }
};

// Round a float to bfloat16 (RNE) on its bit pattern (finite inputs): the well-known
// "add 0x7fff plus the lowest kept bit, truncate" rule — an oracle independent of quantize_value.
float bf16_rne(float x) {
  const std::uint32_t u = bits(x);
  return from_bits(((u + 0x7fffu + ((u >> 16) & 1u)) >> 16) << 16);
}

}  // namespace

TEST_CASE("multiplier: parsing") {
  CHECK(parse_multiplier("exact").model.kind == multiplier_kind::exact);
  CHECK(parse_multiplier("round:bf16").product_format.name == "bf16");
  CHECK(parse_multiplier("mitchell:7").model.mantissa_bits == 7);
  // l(W) = W (W ≤ 3), 3 (W = 4), 4 (W > 4): Luo & Sun 2024 (arXiv 2410.00907), §3.1.
  CHECK(parse_multiplier("lmul:2").model.lmul_offset == 0.25);
  CHECK(parse_multiplier("lmul:3").model.lmul_offset == 0.125);
  CHECK(parse_multiplier("lmul:4").model.lmul_offset == 0.125);
  CHECK(parse_multiplier("lmul:7").model.lmul_offset == 0.0625);
  for (const char* bad : {"", "exact:3", "round:", "trunc", "trunc:x", "trunc:53", "lmul:-1", "mul:3",
                          "round:e9m9"})
    CHECK_THROWS_AS(parse_multiplier(bad), error);
}

TEST_CASE("multiplier: Mitchell on normal float32 is the integer sum of the bit patterns minus the bias") {
  // Mitchell (1962) as hardware does it on IEEE numbers: bits(a) + bits(b) − bits(1.0f) for
  // positive normal operands whose product stays normal; the sign is the XOR of the signs. With
  // W = 23 every fraction bit of float32 is kept.
  const multiplier m = parse_multiplier("mitchell:23");
  rng r{1};
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    const float a = float(std::ldexp(1.0 + r.next(), int(r.next() * 60) - 30));
    const float b = float(std::ldexp(1.0 + r.next(), int(r.next() * 60) - 30));
    const float expect = from_bits(bits(a) + bits(b) - 0x3f800000u);
    const bool neg = r.next() < 0.5;
    const double got = multiply(m, neg ? -a : a, b);
    CHECK(got == (neg ? -double(expect) : double(expect)));
    ++checked;
  }
  CHECK(checked == 200000);
}

TEST_CASE("multiplier: L-Mul and truncation by hand") {
  // L-Mul(x, y) = (1 + x_m + y_m + 2^−l(m))·2^(x_e + y_e) (Luo & Sun 2024, §3.1).
  // 3 = 2^1·1.5, 0.75 = 2^−1·1.5: W = 3 → (1 + .5 + .5 + .125)·2^0 = 2.125 (exact 2.25).
  CHECK(multiply(parse_multiplier("lmul:3"), 3.0, 0.75) == 2.125);
  CHECK(multiply(parse_multiplier("lmul:2"), 3.0, 0.75) == 2.25);     // offset 1/4
  CHECK(multiply(parse_multiplier("lmul:5"), 3.0, 0.75) == 2.0625);   // offset 1/16
  CHECK(multiply(parse_multiplier("lmul:3"), -3.0, 0.75) == -2.125);  // sign: XOR
  // 1.9375 = 1 + 15/16: with W = 2 the fraction is truncated to 3/4 before the sum:
  // (1 + .75 + .75 + .25)·2^0 = 2.75 (the formula as a real number, no renormalisation).
  CHECK(multiply(parse_multiplier("lmul:2"), 1.9375, 1.9375) == 2.75);
  CHECK(multiply(parse_multiplier("lmul:3"), 0.0, 5.0) == 0.0);
  // Truncated mantissa: keep W fraction bits of each operand, multiply exactly.
  CHECK(multiply(parse_multiplier("trunc:2"), 1.9375, 1.9375) == 1.75 * 1.75);
  CHECK(multiply(parse_multiplier("trunc:0"), 1.9375, -3.5) == -2.0);  // 1·2^0 × −1·2^1
  CHECK(multiply(parse_multiplier("trunc:4"), 1.9375, 1.9375) == 1.9375 * 1.9375);
  // Mitchell with a carry: fa + fb = 1.25 ≥ 1 → 2^(ea+eb+1)·(fa + fb) = 2·1.25.
  CHECK(multiply(parse_multiplier("mitchell:3"), 1.625, 1.625) == 2.5);
  CHECK(multiply(parse_multiplier("mitchell:3"), 1.25, 1.5) == 1.75);  // no carry: 1 + .25 + .5
  // Rounded: e5m2 keeps 2 fraction bits, so [2, 4) holds 2, 2.5, 3, 3.5: 1.25·1.75 = 2.1875 → 2
  // and 1.25·1.875 = 2.34375 → 2.5 (nearest).
  CHECK(multiply(parse_multiplier("round:e5m2"), 1.25, 1.75) == 2.0);
  CHECK(multiply(parse_multiplier("round:e5m2"), 1.25, 1.875) == 2.5);
}

TEST_CASE("multiplier: exhaustive error over e4m3 pairs") {
  const format_spec e4m3 = parse_format("e4m3");
  // e4m3 (paper grid) has 255 distinct finite values; without 0: 254, so 254² ordered pairs.
  const multiplier_error ex = exhaustive_multiplier_error(parse_multiplier("exact"), e4m3);
  CHECK(ex.pairs == 254 * 254);
  CHECK(ex.max_abs == 0);
  // Products of two 4-bit significands have at most 8 significant bits: exact in bf16.
  CHECK(exhaustive_multiplier_error(parse_multiplier("round:bf16"), e4m3).max_abs == 0);
  // W = 3 keeps every fraction bit of e4m3: truncation changes nothing.
  CHECK(exhaustive_multiplier_error(parse_multiplier("trunc:3"), e4m3).max_abs == 0);
  // Mitchell never overestimates ((1 + fa)(1 + fb) − (1 + fa + fb) = fa·fb ≥ 0, and with a carry
  // (1 + fa)(1 + fb) − 2(fa + fb) = (1 − fa)(1 − fb) ≥ 0); its worst case is fa = fb = 1/2:
  // 2/(1.5·1.5) − 1 = −1/9 (Mitchell 1962), and e4m3 holds fractions 1/2.
  const multiplier_error mi = exhaustive_multiplier_error(parse_multiplier("mitchell:3"), e4m3);
  CHECK(mi.max == 0);
  CHECK(mi.min == doctest::Approx(-1.0 / 9).epsilon(1e-15));
  CHECK(mi.mean < 0);
  CHECK(mi.mean == doctest::Approx(-0.0368).epsilon(0.02));  // the table of results/arith
  // trunc:2 only ever drops bits: every error ≤ 0.
  CHECK(exhaustive_multiplier_error(parse_multiplier("trunc:2"), e4m3).max <= 0);
  CHECK_THROWS_AS(exhaustive_multiplier_error(parse_multiplier("exact"), parse_format("fp16")), error);
}

TEST_CASE("accumulator: parsing and spacing") {
  CHECK(parse_accumulator("fp32").model.order == sum_order::sequential);
  CHECK(parse_accumulator("bf16:pairwise").model.order == sum_order::pairwise);
  CHECK(parse_accumulator("fp16:block32").model.block == 32);
  for (const char* bad : {"fp16:block", "fp16:block0", "fp16:blockx", "fp16:random", "e9m9"})
    CHECK_THROWS_AS(parse_accumulator(bad), error);
  // Spacing = distance to the next grid value above |x| (checked against the grid itself).
  for (const char* f : {"bf16", "fp16", "e4m3", "e5m7"}) {
    const accumulator a = parse_accumulator(f);
    const std::vector<double> g = grid(a.model.params);
    for (std::size_t i = g.size() / 2 + 1; i + 1 < g.size(); i += 7)
      CHECK(spacing(a, g[i]) == g[i + 1] - g[i]);
  }
  CHECK(spacing(parse_accumulator("fp32"), 1.0) == 0x1p-23);
  CHECK(spacing(parse_accumulator("fp64"), 1.0) == 0);
}

TEST_CASE("accumulator: the short rounding path equals quantize_value on every grid point and midpoint") {
  // round_grid (arith_core.hpp) against THE scalar rule (quantize/round.hpp): every grid value,
  // every midpoint between neighbours (ties), a point just either side of each midpoint, values
  // beyond the largest (saturation) and random doubles over the whole range.
  for (const char* f : {"bf16", "fp16", "e4m3", "e5m2", "e3m4", "e5m7", "e4m3fn"}) {
    CAPTURE(std::string(f));
    const quant_params p = make_native_params(parse_format(f));
    const grid_rounding g = grid_rounding_of(p);
    REQUIRE(g.fast);
    const std::vector<double> v = grid(p);
    std::vector<double> xs;
    for (std::size_t i = 0; i + 1 < v.size(); i += (v.size() > 70000 ? 3 : 1)) {
      const double mid = 0.5 * (v[i] + v[i + 1]);
      xs.insert(xs.end(), {v[i], mid, std::nextafter(mid, -1e300), std::nextafter(mid, 1e300)});
    }
    xs.insert(xs.end(), {v.back() * 1.01, -v.back() * 3, 1e300, -1e-300, 5e-324, 0.0, -0.0});
    rng r{5};
    for (int i = 0; i < 20000; ++i) xs.push_back((r.next() - 0.5) * std::ldexp(1.0, int(r.next() * 80) - 50));
    std::size_t bad = 0;
    for (double x : xs) {
      const double a = round_grid(g, p, x), b = quantize_value<rounding::rne>(x, p);
      if (std::memcmp(&a, &b, sizeof a) != 0) ++bad;
    }
    CHECK(bad == 0);
  }
  // Grids the short path does not cover fall back to quantize_value.
  CHECK_FALSE(grid_rounding_of(make_native_params(parse_format("int8"))).fast);
  CHECK_FALSE(grid_rounding_of(make_params(parse_format("e4m3"), 3.0)).fast);
  CHECK_FALSE(grid_rounding_of(make_native_params(parse_format("fp16.nosat"))).fast);
}

TEST_CASE("accumulator: known stalls and exact trees") {
  const std::vector<double> ones(4096, 1.0);
  // fp16 has 10 fraction bits: from 2048 = 2^11 the spacing is 2, so 2048 + 1 is a tie between
  // 2048 and 2050 and round-to-nearest-even keeps 2048 (even significand) — the sum stalls.
  CHECK(accumulate(parse_accumulator("fp16"), ones.data(), ones.size()) == 2048);
  // bf16 (7 fraction bits) stalls the same way at 256.
  CHECK(accumulate(parse_accumulator("bf16"), ones.data(), ones.size()) == 256);
  // Pairwise: every node adds two equal powers of two — exact in any format holding 4096.
  CHECK(accumulate(parse_accumulator("fp16:pairwise"), ones.data(), ones.size()) == 4096);
  // Blocks of 1024 never reach 2048; their sums are promoted to fp32.
  CHECK(accumulate(parse_accumulator("fp16:block1024"), ones.data(), ones.size()) == 4096);
  CHECK(accumulate(parse_accumulator("fp16:block4096"), ones.data(), ones.size()) == 2048);
  // The pairwise tree for n = 5: ((p0 + p1) + (p2 + p3)) + p4.
  std::vector<std::string> names;  // subtree texts, addressed by the doubles the reduction passes
  pairwise_reduce(
      5,
      [&](std::int64_t i) {
        names.push_back(std::to_string(i));
        return double(names.size() - 1);
      },
      [&](double l, double r) {
        names.push_back("(" + names[std::size_t(l)] + "+" + names[std::size_t(r)] + ")");
        return double(names.size() - 1);
      });
  CHECK(names.back() == "(((0+1)+(2+3))+4)");
}

TEST_CASE("accumulator: against native float, _Float16 and bit-level bf16 arithmetic") {
  rng r{7};
  std::vector<double> p(3000);
  for (double& x : p) x = (r.next() - 0.4) * std::ldexp(1.0, int(r.next() * 12) - 6);
  // fp32: the IEEE float loop.
  float s32 = 0;
  for (double x : p) s32 += float(x);
  CHECK(accumulate(parse_accumulator("fp32"), p.data(), p.size()) == double(s32));
  // fp16: GCC's _Float16 (each operation correctly rounded to binary16).
  _Float16 s16 = 0;
  for (double x : p) s16 = _Float16(s16 + _Float16(x));
  CHECK(accumulate(parse_accumulator("fp16"), p.data(), p.size()) == double(s16));
  // bf16 on bits: the sum of two bf16 values computed in double, through float (double rounding
  // is innocuous: 53 ≥ 2·24 + 2 and 24 ≥ 2·8 + 2, Figueroa 1995).
  float sb = 0;
  for (double x : p) sb = bf16_rne(float(double(sb) + double(bf16_rne(float(x)))));
  CHECK(accumulate(parse_accumulator("bf16"), p.data(), p.size()) == double(sb));
  // fp64 sequential is the plain double loop.
  double s64 = 0;
  for (double x : p) s64 += x;
  CHECK(accumulate(parse_accumulator("fp64"), p.data(), p.size()) == s64);
}

TEST_CASE("accumulator: within Higham's bound of the long-double sum") {
  // |ŝ − s| ≤ γ·Σ|p|, γ = (n − 1)u/(1 − (n − 1)u) sequential, ⌈log2 n⌉u/(1 − …) pairwise
  // (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §4.2), u = 2^−(M+1).
  rng r{11};
  const std::size_t n = 1000;
  std::vector<double> p(n);
  for (double& x : p) x = double(float((r.next() - 0.5) * 100));
  long double exact = 0, abs_sum = 0;
  for (double x : p) {
    exact += x;
    abs_sum += std::fabs(x);
  }
  struct c {
    const char* acc;
    int man;
    bool pairwise;
  };
  // (bf16 and fp16 sequential are left out: (n − 1)u ≥ 1 there, the bound says nothing.)
  for (const c& k : {c{"fp32", 23, false}, c{"fp32:pairwise", 23, true}, c{"bf16:pairwise", 7, true},
                     c{"fp16:pairwise", 10, true}}) {
    CAPTURE(std::string(k.acc));
    const double u = std::ldexp(1.0, -(k.man + 1));
    const double steps = k.pairwise ? std::ceil(std::log2(double(n))) : double(n - 1);
    // + n·u: each product p_k is first rounded into the accumulator too.
    const double gamma = (steps + 1) * u / (1 - (steps + 1) * u);
    REQUIRE(gamma > 0);
    const double got = accumulate(parse_accumulator(k.acc), p.data(), n);
    CHECK(std::fabs(double((long double)got - exact)) <= gamma * double(abs_sum));
  }
}

TEST_CASE("emulated GEMM: exact × fp64 equals a double GEMM; orders agree with emulated_dot") {
  rng r{3};
  const std::int64_t m = 5, k = 37, n = 11;
  std::vector<float> a(std::size_t(m * k)), b(std::size_t(k * n)), c(std::size_t(m * n));
  for (float& x : a) x = float(r.next() * 2 - 1);
  for (float& x : b) x = float(r.next() * 2 - 1);
  emulated_gemm(parse_arithmetic("exact/fp64"), a.data(), b.data(), c.data(), m, k, n);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;  // float products are exact in double; summed in order
      for (std::int64_t t = 0; t < k; ++t) s += double(a[std::size_t(i * k + t)]) * b[std::size_t(t * n + j)];
      CHECK(c[std::size_t(i * n + j)] == float(s));
    }
  for (const char* ar : {"lmul:3/bf16:pairwise", "mitchell:4/fp16:block8", "round:e5m2/fp32", "trunc:2/e5m7"}) {
    CAPTURE(std::string(ar));
    const arithmetic x = parse_arithmetic(ar);
    emulated_gemm(x, a.data(), b.data(), c.data(), m, k, n);
    std::vector<float> col(static_cast<std::size_t>(k));
    for (std::int64_t t = 0; t < k; ++t) col[std::size_t(t)] = b[std::size_t(t * n + 4)];
    CHECK(c[std::size_t(2 * n + 4)] == float(emulated_dot(x, a.data() + 2 * k, col.data(), col.size())));
  }
  CHECK_THROWS_AS(parse_arithmetic("exact"), error);
  CHECK_THROWS_AS(parse_arithmetic("exact/fp32/fp16"), error);
}

TEST_CASE("error model: exact arithmetic has none; Monte-Carlo agrees with the prediction") {
  // Products of e4m3 values are exact in fp32 and short sums of them too: nothing to predict.
  const format_spec e4m3 = parse_format("e4m3");
  const std::vector<float> a{1.5f, -2.0f, 0.25f}, b{3.0f, 0.5f, -8.0f};
  const dot_error_terms t = predicted_dot_error(parse_arithmetic("exact/fp32"), {}, a.data(), b.data(), 3);
  CHECK(t.total() == 0);
  CHECK(t.overflows == 0);
  // Monte-Carlo (1000 dots of length 256, operands N(0, σ²) on e4m3's grid with max = 4σ) vs the
  // model. The model is first order (independent errors, code pairs equally likely for the
  // multiplier statistics); measured/predicted stays within [0.75, 1.33] for these pairs (the
  // committed results/arith table shows 0.8–1.2), and the sums never overflow.
  for (const char* s : {"exact/bf16", "exact/bf16:pairwise", "exact/bf16:block32", "mitchell:3/fp32",
                        "lmul:3/fp32", "trunc:2/fp32", "round:e5m2/fp32", "exact/fp32"}) {
    CAPTURE(std::string(s));
    const arithmetic ar = parse_arithmetic(s);
    dot_mc_options o;
    o.length = 256;
    o.trials = 1000;
    const dot_mc_result r =
        dot_monte_carlo(ar, exhaustive_multiplier_error(ar.mul, e4m3), e4m3, o);
    CHECK(r.overflow_dots == 0);
    CHECK(r.measured_mse > 0);
    CHECK(r.measured_mse / r.predicted_mse > 0.75);
    CHECK(r.measured_mse / r.predicted_mse < 1.33);
  }
  // fp16 accumulation of full-range e4m3 products overflows (240² = 57600 is near fp16's 65504):
  // counted, not modelled.
  const arithmetic f16 = parse_arithmetic("exact/fp16");
  dot_mc_options o;
  o.length = 432;
  o.trials = 200;
  CHECK(dot_monte_carlo(f16, {}, e4m3, o).overflow_dots > 0);
}

TEST_CASE("network: native-frame GEMMs reproduce the float32 GEMMs of the fake-quantized network") {
  const network net = load_network(std::string(EXMY_SOURCE_DIR) + "/results/models/fashion_cnn.safetensors");
  prepared_model pm = prepare(net, bn_mode::fold);
  calibrate(pm, load_fashion_mnist("train", fashion_mnist_dir, 100));
  const image_set test = load_fashion_mnist("test", fashion_mnist_dir, 40);
  for (const char* f : {"e4m3", "int8"}) {
    CAPTURE(std::string(f));
    quant_config c;
    c.weight_format = c.act_format = parse_format(f);
    const quantized_model q = convert(pm, c);
    const emulated_network en(q);
    // The operands recovered on the native grid, times their scales, give the fake-quantized
    // values back (up to their float rounding).
    const int node = q.units[std::size_t(pm.unit_index("conv2"))].node;
    const tensor& w = q.net.nodes[std::size_t(node)].weight;
    const std::int64_t co = w.shape[0], kk = w.numel() / co;
    const std::vector<float> ones(std::size_t(kk), 0.0f);
    const native_gemm g = en.to_native(node, w.data.data(), ones.data(), co, kk, 1);
    const quant_params native = native_of(q.state[std::size_t(pm.unit_index("conv2"))].weight_params[0]);
    for (std::int64_t e = 0; e < kk; ++e) {
      CHECK(quantize_value<rounding::rne>(double(g.a[std::size_t(e)]), native) == g.a[std::size_t(e)]);
      CHECK(double(g.a[std::size_t(e)]) * g.row_scale[0] ==
            doctest::Approx(double(w.data[std::size_t(e)])).epsilon(1e-6));
    }
    // exact/fp64 in the native frame ≈ Eigen's float32 GEMM on the scaled values.
    const tensor ref = run(q, test.pixels.data(), test.count);
    const arithmetic ar = parse_arithmetic("exact/fp64");
    const tensor got = run(q, test.pixels.data(), test.count, en.hook(ar, device_spec{}));
    double worst = 0;
    for (std::size_t i = 0; i < ref.data.size(); ++i)
      worst = std::max(worst, std::fabs(double(got.data[i]) - ref.data[i]) / (1 + std::fabs(ref.data[i])));
    CHECK(worst < 1e-4);
    CHECK(argmax_rows(got) == argmax_rows(ref));
  }
}
