// tests/test_round_exhaustive.cpp — the scalar rule (quantize/round.hpp) against the independent
// oracle of tests/oracle.hpp (design.md §6 "exhaustive"): every split of 4, 6, 8 and 16 bits
// (E ≤ 9), the hardware presets, .nosat/.ftz variants and the integer formats, each at its native
// scale and at non-lattice maxvals; every grid value, every midpoint, a million random inputs per
// format (10^5 for 16 bits), for float and double data, rne/rna/rtz, through the scalar rule and
// the span driver. Also: stochastic rounding (neighbours and frequencies), the paper's float64
// formula (reference-spec §6.2, test suite "paper_formula", label unit), the drivers under
// FTZ/DAZ, and the driver's float32 fast evaluation at many scales.
#include <doctest/doctest.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"
#include "oracle.hpp"

using namespace exmy;
using exmy_test::f128;
using exmy_test::grid_oracle;
using exmy_test::same_bits;

namespace {

constexpr rounding k_modes[] = {rounding::rne, rounding::rna, rounding::rtz};

// Counts checks and mismatches of one (format, params, dtype); keeps the first few as reproducers.
struct tally {
  std::string label;
  long checked = 0, bad = 0;
  std::string first;
  template <class T>
  void add(bool ok, const char* what, T x, rounding r, T got, T want) {
    ++checked;
    if (ok) return;
    if (++bad > 6) return;
    char buf[320];
    std::snprintf(buf, sizeof buf, "  %s [%s] %s x=%a (%.17g) mode=%s got=%a want=%a\n", label.c_str(),
                  sizeof(T) == 4 ? "float" : "double", what, double(x), double(x), to_string(r),
                  double(got), double(want));
    first += buf;
  }
};

struct param_case {
  quant_params p;
  std::string label;
};

std::string fmt_g(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The native scale plus each maxval (affine formats: each [lo, hi] range instead).
std::vector<param_case> params_for(const format_spec& f, const std::vector<double>& maxvals) {
  std::vector<param_case> out;
  out.push_back({make_native_params(f), f.name + " native"});
  if (f.is_affine()) {
    const double ranges[][2] = {{-1, 3}, {-0.37, 5.1}, {-3e-7, 1e-6}, {2.5, 7}, {-7, -2}};
    for (const auto& r : ranges)
      out.push_back({make_affine_params(f, r[0], r[1]),
                     f.name + " affine[" + fmt_g(r[0]) + "," + fmt_g(r[1]) + "]"});
  } else {
    for (double m : maxvals) out.push_back({make_params(f, m), f.name + " maxval=" + fmt_g(m)});
  }
  return out;
}

template <class T>
T lib(T x, const quant_params& p, rounding r) {
  return quantize_value(x, p, r);
}

// Float (or double) inputs bracketing an exact magnitude m ≥ 0: m itself when representable and
// the neighbours on each side, else the two values around it.
template <class T>
std::vector<T> bracketing(f128 m) {
  const T inf = std::numeric_limits<T>::infinity();
  const T t = static_cast<T>(m);
  if (static_cast<f128>(t) == m) return {std::nextafter(t, T(0)), t, std::nextafter(t, inf)};
  if (static_cast<f128>(t) < m) return {t, std::nextafter(t, inf)};
  return {std::nextafter(t, T(0)), t};
}

// 1a. Every grid value quantizes to itself (flushed subnormals of .ftz formats to zero). The
// comparison with the oracle for these inputs is part of check_inputs.
template <class T>
void check_grid_values(const grid_oracle& o, const quant_params& p, tally& t) {
  for (int s = 0; s < 2; ++s) {
    const auto& V = o.side(s);
    const std::size_t count = V.size() > 1 ? V.size() - 1 : 1;
    for (std::size_t i = 0; i < count; ++i) {
      if (V[i].flushed || (s == 1 && i == 0)) continue;  // −0 in: sign rules are the oracle's
      const T mag = static_cast<T>(V[i].v);
      const T x = s ? -mag : mag;
      const bool exact = static_cast<f128>(mag) == V[i].v;
      // Identity: exact grid values in every mode; the nearest T of a value under rne/rna.
      for (rounding r : k_modes) {
        if (!exact && r == rounding::rtz) continue;
        const T got = lib(x, p, r);
        t.add(same_bits(got, x), "grid value identity", x, r, got, x);
      }
    }
  }
}

// 1b. Every midpoint (and the floats around it) rounds as the mode says: the library and the
// oracle's search both equal the rule applied directly to the two neighbours.
template <class T>
void check_midpoints(const grid_oracle& o, const quant_params& p, tally& t) {
  for (int s = 0; s < 2; ++s) {
    const auto& V = o.side(s);
    const auto& mids = o.midpoints(s);
    for (std::size_t j = 0; j < mids.size(); ++j) {
      const f128 m = mids[j];
      for (T c : bracketing<T>(m)) {
        const f128 cq = static_cast<f128>(c);
        if (!(cq > V[j].v && cq < V[j + 1].v)) continue;  // a coarse T can miss the interval
        const T x = s ? -c : c;
        const auto w = o.locate(x);
        for (rounding r : k_modes) {
          int idx = static_cast<int>(j);
          if (r != rounding::rtz) {
            if (cq > m) idx += 1;
            if (cq == m && (r == rounding::rna || o.tie_goes_up(s, static_cast<int>(j)))) idx += 1;
          }
          const T want = grid_oracle::to<T>(o.finish(s, s == 1, idx, r == rounding::rtz));
          const T got = lib(x, p, r);
          t.add(same_bits(got, want), "midpoint rule", x, r, got, want);
          const T want_o = grid_oracle::to<T>(o.decide(w, r));
          t.add(same_bits(want_o, want), "oracle self-check", x, r, want_o, want);
        }
      }
    }
  }
}

// Random inputs: uniform over the range, log-uniform over every binade (subnormals included),
// beyond max, special values, random bit patterns, and a few ulps around grid values and midpoints.
template <class T>
struct input_gen {
  std::mt19937_64 rng;
  std::vector<double> pts;  // signed grid values (doubles) and midpoints
  double lo_mag, hi_mag;

  input_gen(const grid_oracle& o, std::uint64_t seed) : rng(seed) {
    for (int s = 0; s < 2; ++s) {
      for (const auto& pt : o.side(s)) pts.push_back(s ? -double(pt.v) : double(pt.v));
      for (f128 m : o.midpoints(s)) pts.push_back(s ? -double(m) : double(m));
    }
    const auto& P = o.side(0).size() > 1 ? o.side(0) : o.side(1);
    lo_mag = double(P[1].v);
    hi_mag = double(P[P.size() - 2].v);
  }
  double unif() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }
  T sign(T v) { return (rng() & 1) ? -v : v; }
  T next() {
    const T big = std::numeric_limits<T>::max();
    switch (rng() % 16) {
      case 0: case 1: case 2:
        return static_cast<T>((2 * unif() - 1) * 1.25 * hi_mag);
      case 3: case 4: case 5: {
        const double l0 = std::log2(lo_mag) - 6, l1 = std::log2(hi_mag) + 3;
        return sign(static_cast<T>(std::exp2(l0 + (l1 - l0) * unif())));
      }
      case 6: {
        const double v = hi_mag * (1 + std::exp2(-30 + 75 * unif()));
        return sign(static_cast<T>(std::min(v, double(big))));
      }
      case 7: {
        const T sp[] = {T(0), -T(0), std::numeric_limits<T>::quiet_NaN(),
                        -std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                        -std::numeric_limits<T>::infinity(), big, -big,
                        std::numeric_limits<T>::denorm_min(), -std::numeric_limits<T>::denorm_min(),
                        std::numeric_limits<T>::min(), static_cast<T>(hi_mag)};
        return sp[rng() % (sizeof sp / sizeof sp[0])];
      }
      case 8: case 9: {
        T v;
        if constexpr (sizeof(T) == 4) {
          const std::uint32_t b = static_cast<std::uint32_t>(rng());
          std::memcpy(&v, &b, 4);
        } else {
          const std::uint64_t b = rng();
          std::memcpy(&v, &b, 8);
        }
        return v;
      }
      default: {  // a few ulps around a grid value or a midpoint
        T v = static_cast<T>(pts[rng() % pts.size()]);
        const int k = static_cast<int>(rng() % 7) - 3;
        for (int i = 0; i < std::abs(k); ++i)
          v = std::nextafter(v, k > 0 ? std::numeric_limits<T>::infinity()
                                      : -std::numeric_limits<T>::infinity());
        return v;
      }
    }
  }
};

// 1c / 2a. Every input (grid values, midpoint neighbours, random) through the scalar rule and the
// span driver (its float32 fast path included): rne/rna/rtz equal the oracle; stochastic rounding
// gives one of the oracle's two neighbours, and the driver the scalar rule's value for its counter.
template <class T>
void check_inputs(const grid_oracle& o, const quant_params& p, const std::vector<T>& xs,
                  std::uint64_t seed, tally& t) {
  const std::size_t n = xs.size();
  std::vector<T> want(n), out(n);
  std::vector<grid_oracle::where> ws(n);
  for (std::size_t i = 0; i < n; ++i) ws[i] = o.locate(xs[i]);
  for (rounding r : k_modes) {
    for (std::size_t i = 0; i < n; ++i) {
      want[i] = grid_oracle::to<T>(o.decide(ws[i], r));
      const T got = lib(xs[i], p, r);
      t.add(same_bits(got, want[i]), "scalar", xs[i], r, got, want[i]);
    }
    quantize_options opt;
    opt.mode = r;
    opt.threads = 1;  // threads are test_drivers' subject; here idle OpenMP workers would only spin
    quantize(xs.data(), out.data(), n, p, opt);
    for (std::size_t i = 0; i < n; ++i)
      t.add(same_bits(out[i], want[i]), "driver", xs[i], r, out[i], want[i]);
  }
  quantize_options opt;
  opt.mode = rounding::stochastic;
  opt.seed = seed;
  opt.threads = 1;
  quantize(xs.data(), out.data(), n, p, opt);
  for (std::size_t i = 0; i < n; ++i) {
    const T got = quantize_value<rounding::stochastic>(xs[i], p, sr_uniform(seed, i));
    const auto nb = o.neighbours(ws[i]);
    const T a = grid_oracle::to<T>(nb.first), b = grid_oracle::to<T>(nb.second);
    t.add(same_bits(got, a) || same_bits(got, b), "stochastic neighbour", xs[i],
          rounding::stochastic, got, a);
    t.add(same_bits(out[i], got), "stochastic driver", xs[i], rounding::stochastic, out[i], got);
  }
}

// The inputs of one (format, params, dtype): grid values, midpoint neighbours, then `n` random.
template <class T>
std::vector<T> make_inputs(const grid_oracle& o, long n, std::uint64_t seed) {
  std::vector<T> xs;
  for (int s = 0; s < 2; ++s) {
    const auto& V = o.side(s);
    for (std::size_t i = 0; i < V.size(); ++i) xs.push_back(s ? -T(V[i].v) : T(V[i].v));
    for (f128 m : o.midpoints(s))
      for (T c : bracketing<T>(m)) xs.push_back(s ? -c : c);
  }
  input_gen<T> gen(o, seed);
  for (long i = 0; i < n; ++i) xs.push_back(gen.next());
  return xs;
}

template <class T>
void check_all(const grid_oracle& o, const quant_params& p, long n, std::uint64_t seed, tally& t) {
  check_grid_values<T>(o, p, t);
  check_midpoints<T>(o, p, t);
  check_inputs<T>(o, p, make_inputs<T>(o, n, seed), seed, t);
}

bool float_range(const quant_params& p) { return std::max(p.maxval, -p.minval) <= double(FLT_MAX); }

// Runs 1a–1c for one format at every scale; `random_total` inputs are shared among the cases.
void run_format(const std::string& name, const std::vector<double>& maxvals, long random_total) {
  const auto t0 = std::chrono::steady_clock::now();
  const format_spec f = parse_format(name);
  const auto cases = params_for(f, maxvals);
  long checked = 0;
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const param_case& pc = cases[ci];
    const grid_oracle o(f, pc.p);
    CAPTURE(pc.label);
    // The decoded codes agree with the library's limits and grid.
    REQUIRE_FALSE(o.has_duplicates());
    const format_limits L = limits(f);
    CHECK(o.finite_codes() == L.finite_codes);
    const std::vector<f128> vals = o.values();
    CHECK(static_cast<std::int64_t>(vals.size()) == L.finite_values);
    const std::vector<double> g = grid(pc.p);
    bool grid_same = g.size() == vals.size();
    for (std::size_t i = 0; grid_same && i < g.size(); ++i) grid_same = g[i] == double(vals[i]);
    CHECK(grid_same);
    CHECK(double(vals.back()) == pc.p.maxval);
    for (int dt = 0; dt < 2; ++dt) {
      if (dt == 0 && !float_range(pc.p)) continue;
      tally t;
      t.label = pc.label;
      const long n = random_total / long(2 * cases.size());
      const std::uint64_t seed = std::hash<std::string>{}(pc.label) + std::uint64_t(dt);
      if (dt == 0)
        check_all<float>(o, pc.p, n, seed, t);
      else
        check_all<double>(o, pc.p, n, seed, t);
      INFO(t.first);
      CHECK(t.bad == 0);
      checked += t.checked;
    }
  }
  const double sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%-20s %2zu scales %10ld checks %6.2f s\n", name.c_str(), cases.size(), checked, sec);
}

const std::vector<double> k_maxvals = {3.928556, 1e-6, 1e12};
constexpr long k_random = 1000000;

}  // namespace

TEST_CASE("paper grids: every split of 4, 6 and 8 bits") {
  // 448 is off the lattice of every 8-bit paper grid except e5m2 (57344/2^7).
  const std::vector<double> m8 = {3.928556, 448.0, 1e-6, 1e12};
  for (const char* nm : {"e1m6", "e2m5", "e3m4", "e4m3", "e5m2", "e6m1", "e7m0"})
    run_format(nm, m8, k_random);
  for (const char* nm : {"e1m2", "e2m1", "e3m0", "e1m4", "e2m3", "e3m2", "e4m1", "e5m0"})
    run_format(nm, k_maxvals, k_random);
  for (const char* nm : {"ue4m4", "ue5m3", "ue3m1"}) run_format(nm, k_maxvals, k_random);
}

TEST_CASE("16-bit splits with E <= 9, fp16 and bf16") {
  for (const char* nm : {"e1m14", "e2m13", "e3m12", "e4m11", "e5m10", "e6m9", "e7m8", "e8m7",
                         "e9m6", "fp16", "bf16"})
    run_format(nm, {3.928556, 1e12}, k_random / 10);
}

TEST_CASE("hardware presets") {
  const std::vector<double> m = {1.0, 3.928556, 1e-6, 1e12};
  for (const char* nm : {"e4m3fn", "e5m2ieee", "e4m3fnuz", "e5m2fnuz", "e3m4ieee", "e2m3fn",
                         "e3m2fn", "e2m1fn"})
    run_format(nm, m, k_random);
}

TEST_CASE(".nosat and .ftz variants") {
  for (const char* nm : {"e4m3fn.nosat", "e5m2ieee.nosat", "e4m3fnuz.nosat", "e5m2fnuz.nosat",
                         "e3m4ieee.nosat", "e4m3.ftz", "e5m2.ftz", "e4m3fn.ftz", "e5m2ieee.ftz",
                         "e4m3fnuz.ftz", "e2m1fn.ftz", "e3m2fn.ftz", "e5m2ieee.nosat.ftz"})
    run_format(nm, k_maxvals, k_random);
  for (const char* nm : {"fp16.nosat", "bf16.ftz"}) run_format(nm, {3.928556}, k_random / 10);
}

TEST_CASE("integer formats: intN, intNn, uintN, affine") {
  for (const char* nm : {"int4", "int4n", "uint4", "int8", "int8n", "uint8", "int8a", "uint8a"})
    run_format(nm, k_maxvals, k_random);
  for (const char* nm : {"int16", "int16n", "uint16"}) run_format(nm, {3.928556}, k_random / 10);
}

namespace {

// Magnitude of the neighbour above |x| for a stochastic-rounding frequency case.
struct sr_case {
  const char* fmt;
  double maxval;  // 0: native scale
  double near;    // the grid interval just above this value is used
};

}  // namespace

TEST_CASE("stochastic rounding: P(round up) equals the fractional position") {
  const sr_case cases[] = {
      {"e4m3", 0.0, 1.0},         // native: 1 → 1.125, positions exact in float and double
      {"e4m3", 3.928556, 1.0},    // non-lattice scale: positions not exact, fraction from f128
      {"e5m2ieee", 0.0, 2e-5},    // subnormal binade: 2^−16·{1, 2}
      {"int8", 1.7, -0.05},       // negative side of a paper int8 grid
      {"e2m1fn", 0.0, 4.0},       // 4 → 6: step 2
  };
  constexpr long N = 1000000;
  for (const sr_case& c : cases) {
    const format_spec f = parse_format(c.fmt);
    const quant_params p = c.maxval > 0 ? make_params(f, c.maxval) : make_native_params(f);
    const grid_oracle o(f, p);
    const int side = c.near < 0 ? 1 : 0;
    const auto w = o.locate(std::fabs(c.near));
    const f128 a = o.side(side)[w.j].v, b = o.side(side)[w.j + 1].v;
    for (double frac : {0.25, 0.5, 0.75}) {
      const double mag = static_cast<double>(a + (b - a) * static_cast<f128>(frac));
      const double x = side ? -mag : mag;
      const double fr = static_cast<double>((static_cast<f128>(mag) - a) / (b - a));
      const double sigma = std::sqrt(fr * (1 - fr) / N);
      const std::uint64_t seed = 0x5eed0000u + static_cast<std::uint64_t>(frac * 4);
      const double ad = static_cast<double>(a), bd = static_cast<double>(b);
      long up = 0, other = 0;
      for (long i = 0; i < N; ++i) {
        const double q = std::fabs(quantize_value<rounding::stochastic>(x, p, sr_uniform(seed, i)));
        other += q != ad && q != bd;
        up += q == bd;
      }
      CHECK(other == 0);
      const std::string fmt_name = c.fmt;
      CAPTURE(fmt_name);
      CAPTURE(x);
      CAPTURE(fr);
      CHECK(std::fabs(double(up) / N - fr) <= 4 * sigma);
      // The driver draws the same uniforms (counter = element index): the same count.
      std::vector<double> in(N, x), out(N);
      quantize_options opt;
      opt.mode = rounding::stochastic;
      opt.seed = seed;
      quantize(in.data(), out.data(), N, p, opt);
      long up_driver = 0;
      for (double q : out) up_driver += std::fabs(q) == bd;
      CHECK(up_driver == up);
    }
  }
}

TEST_SUITE("paper_formula") {
  // reference-spec §6.2, evaluated in float64 with std::log2/std::pow exactly as written there.
  double paper_q(double x, int E, int M, double m) {
    const double b = std::pow(2.0, E) - std::log2(m) + std::log2(2 - std::pow(2.0, -M)) - 1;
    const double xc = std::min(std::max(x, -m), m);
    const double e = std::max(1.0, std::floor(std::log2(std::fabs(xc)) + b));
    const double S = std::pow(2.0, e - M - b);
    return std::nearbyint(xc / S) * S;
  }

  TEST_CASE("paper float64 formula at integer bias equals quantize_value bit for bit") {
    // Default maxvals (2 − 2^−M)·2^(2^E − 1 − 2^(E−1)) of reference-spec §6.3 (bias 2^(E−1)), and
    // their multiples by 2^j, j in −30…30: the flexible bias b is mathematically an integer. In
    // float64, log2(m) and log2(2 − 2^−M) are rounded, and b comes out as an exact integer only for
    // some (format, j) — e.g. not for e6m1 at its default maxval 1.5·2^31. The comparison needs S to
    // be a power of two, so it runs where float64 b is an exact integer and counts the others.
    struct pf { const char* fmt; int E, M; double maxval; };
    const pf cases[] = {{"e1m6", 1, 6, 1.984375}, {"e2m5", 2, 5, 3.9375}, {"e3m4", 3, 4, 15.5},
                        {"e4m3", 4, 3, 240.0},    {"e5m2", 5, 2, 57344.0}, {"e6m1", 6, 1, 3221225472.0}};
    std::mt19937_64 rng(20221128);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    long checked = 0, skipped = 0, tested = 0;
    for (const pf& c : cases)
      for (int j = -30; j <= 30; ++j) {
        const double m = std::ldexp(c.maxval, j);
        const double b = std::pow(2.0, c.E) - std::log2(m) + std::log2(2 - std::pow(2.0, -c.M)) - 1;
        const std::string fmt_name = c.fmt;
        CAPTURE(fmt_name);
        CAPTURE(m);
        if (b != std::floor(b)) {
          ++skipped;
          continue;
        }
        ++tested;
        const quant_params p = make_params(parse_format(c.fmt), m);
        const std::vector<double> g = grid(p);
        std::vector<double> xs = {0.0, -0.0, m, -m, 2 * m, -1e300, 1e300};
        for (std::size_t i = 0; i + 1 < g.size(); ++i) {
          xs.push_back(g[i]);
          xs.push_back(0.5 * (g[i] + g[i + 1]));  // exact: a lattice grid's midpoints are doubles
        }
        const double lmin = std::log2(g[g.size() / 2 + 1]) - 4, lmax = std::log2(m) + 2;
        for (int i = 0; i < 4000; ++i) {
          const double s = (rng() & 1) ? -1.0 : 1.0;
          xs.push_back(s * (rng() & 2 ? 1.5 * m * U(rng) : std::exp2(lmin + (lmax - lmin) * U(rng))));
        }
        long bad = 0;
        std::string first;
        for (double x : xs) {
          const double want = paper_q(x, c.E, c.M, m);
          const double got = quantize_value<rounding::rne>(x, p);
          ++checked;
          if (!same_bits(got, want) && ++bad <= 5)
            first += "x=" + fmt_g(x) + " got=" + fmt_g(got) + " paper=" + fmt_g(want) + "\n";
        }
        INFO(first);
        CHECK(bad == 0);
      }
    std::printf("paper formula: %ld (format, maxval) pairs with integer float64 bias, %ld inputs; "
                "%ld pairs skipped (float64 bias not an integer)\n", tested, checked, skipped);
    CHECK(tested >= 150);  // 366 pairs, about 200 of them with an exact float64 bias (glibc log2)
  }
}

#if defined(__SSE__)
namespace {

// Sets (or clears) MXCSR FTZ|DAZ on the calling thread and on every OpenMP worker.
void set_ftz_daz(bool on) {
  auto apply = [on] { _mm_setcsr(on ? (_mm_getcsr() | 0x8040u) : (_mm_getcsr() & ~0x8040u)); };
  apply();
#pragma omp parallel num_threads(7)
  apply();
}

template <class T>
std::vector<T> ftz_inputs(const quant_params& p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<T> xs;
  const std::vector<double> g = grid(p);
  for (int i = 0; i < 60000; ++i) {
    T v;
    switch (i % 4) {
      case 0: {  // subnormal of T, random sign
        using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        const U mant = static_cast<U>(rng()) & ((U{1} << (sizeof(T) == 4 ? 23 : 52)) - 1);
        const U bits = mant | ((rng() & 1) ? (U{1} << (8 * sizeof(T) - 1)) : 0);
        std::memcpy(&v, &bits, sizeof v);
        break;
      }
      case 1:  // on and around the grid
        v = static_cast<T>(g[rng() % g.size()] * (1 + 0.3 * (double(rng() % 1000) / 1000 - 0.5)));
        break;
      case 2: {  // random bit patterns
        using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        const U bits = static_cast<U>(rng());
        std::memcpy(&v, &bits, sizeof v);
        break;
      }
      default:  // log-uniform from far below the grid to above it
        v = static_cast<T>(std::exp2(std::log2(p.maxval) - 160 * double(rng() % 10000) / 10000 + 2));
    }
    xs.push_back(v);
  }
  return xs;
}

template <class T>
void check_ftz_daz(const quant_params& p, const std::string& label) {
  const std::vector<T> xs = ftz_inputs<T>(p, std::hash<std::string>{}(label));
  const std::size_t n = xs.size();
  for (rounding r : {rounding::rne, rounding::rtz, rounding::stochastic})
    for (scale_mode sm : {scale_mode::exact, scale_mode::hardware})
      for (int threads : {1, 2}) {
        quantize_options opt;
        opt.mode = r;
        opt.scale = sm;
        opt.seed = 99;
        opt.threads = threads;
        std::vector<T> ref(n), got(n), inplace(xs);
        quantize(xs.data(), ref.data(), n, p, opt);
        const error_stats sref = quantize_error(xs.data(), n, p, opt);
        set_ftz_daz(true);
        volatile float tiny = 1e-38f;
        const float flushed = tiny * 1e-3f;  // 1e-41 is a float subnormal: 0 under FTZ
        quantize(xs.data(), got.data(), n, p, opt);
        quantize_inplace(inplace.data(), n, p, opt);
        const error_stats sgot = quantize_error(xs.data(), n, p, opt);
        set_ftz_daz(false);
        CAPTURE(label);
        CAPTURE(to_string(r));
        CAPTURE(to_string(sm));
        REQUIRE(flushed == 0.0f);  // the mode really was on
        long bad = 0;
        for (std::size_t i = 0; i < n; ++i)
          bad += !same_bits(ref[i], got[i]) + !same_bits(ref[i], inplace[i]);
        CHECK(bad == 0);
        CHECK(same_bits(sref.sum_sq_err, sgot.sum_sq_err));
        CHECK(same_bits(sref.sum_x_err, sgot.sum_x_err));
        CHECK(same_bits(sref.sum_sq, sgot.sum_sq));
        CHECK(same_bits(sref.max_abs_err, sgot.max_abs_err));
        CHECK(sref.flushed == sgot.flushed);
        CHECK(sref.clipped == sgot.clipped);
        CHECK(sref.count == sgot.count);
      }
}

}  // namespace

TEST_CASE("drivers under MXCSR FTZ|DAZ give the same bits") {
  const unsigned saved = _mm_getcsr();
  // Grids that reach float32 subnormals (e4m3 at 1e-36: smallest value 1e-36·2^−10/1.875 ≈ 5e-40).
  const std::pair<const char*, double> cases[] = {{"e4m3", 1e-36},  {"e5m2", 1e-30}, {"e2m1fn", 1e-38},
                                                  {"int8", 1e-40},  {"e4m3fn", 0.0}, {"e4m3fn.ftz", 1e-37},
                                                  {"e3m4", 3.928556}};
  for (const auto& c : cases) {
    const format_spec f = parse_format(c.first);
    const quant_params p = c.second > 0 ? make_params(f, c.second) : make_native_params(f);
    const std::string label = std::string(c.first) + " maxval=" + fmt_g(c.second);
    check_ftz_daz<float>(p, label);
    check_ftz_daz<double>(p, label);
  }
  CHECK((_mm_getcsr() & 0x8040u) == (saved & 0x8040u));
}
#endif  // __SSE__

TEST_CASE("float32 driver (fast evaluation + fallback) equals the scalar rule at many scales") {
  // The driver's float32 evaluation (round_fast.hpp) must flag every element it cannot decide
  // exactly; 16-bit significands and grids near the float32 underflow stress its error bounds.
  std::mt19937_64 rng(7);
  long checked = 0;
  for (const char* nm : {"int16", "uint16", "int16n", "e1m14", "e2m13", "e3m12", "fp16", "e7m8",
                         "e4m3", "int8", "e2m1fn"}) {
    const format_spec f = parse_format(nm);
    const int scales = f.bits == 16 ? 4 : 24;
    for (int k = 0; k < scales; ++k) {
      const double m = std::exp2(-60 + 120 * std::uniform_real_distribution<double>(0, 1)(rng));
      const quant_params p = make_params(f, m);
      const std::vector<double> g = grid(p);
      std::vector<float> xs;
      for (std::size_t i = 0; i < g.size(); ++i) {
        const float x = static_cast<float>(g[i]);
        xs.insert(xs.end(), {x, std::nextafter(x, 1e30f), std::nextafter(x, -1e30f)});
        if (i + 1 < g.size()) {
          const float mm = static_cast<float>(0.5 * (g[i] + g[i + 1]));
          xs.insert(xs.end(), {mm, std::nextafter(mm, 1e30f), std::nextafter(mm, -1e30f)});
        }
      }
      std::vector<float> out(xs.size());
      long bad = 0;
      std::string first;
      for (rounding r : {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic}) {
        quantize_options opt;
        opt.mode = r;
        opt.seed = 5;
        opt.threads = 1;
        quantize(xs.data(), out.data(), xs.size(), p, opt);
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const float want = quantize_value(xs[i], p, r, sr_uniform(5, i));
          ++checked;
          if (!same_bits(out[i], want) && ++bad <= 5) {
            char buf[200];
            std::snprintf(buf, sizeof buf, "%s maxval=%a x=%a %s driver=%a scalar=%a\n", nm, m,
                          double(xs[i]), to_string(r), double(out[i]), double(want));
            first += buf;
          }
        }
      }
      INFO(first);
      CHECK(bad == 0);
    }
  }
  std::printf("fast path vs scalar rule: %ld checks\n", checked);
}
