// tests/test_drivers.cpp — the CPU span drivers of quantize/quantize_cpu.hpp: out-of-place,
// in-place and the fused error pass equal the scalar rule (round.hpp) element by element, on every
// length, alignment, thread count and SIMD path; hardware scale mode is x·hw_mul → native cast →
// ·hw_div; the error statistics equal a plain double loop and are bit-identical across threads and
// SIMD paths (design.md §2: one rule, loops around it).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/quantize/round_fast.hpp"

using namespace exmy;

namespace {

template <class T>
bool same_bits(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// A 64-byte aligned buffer of n + 1 elements; data() + 1 is the unaligned view the tests use.
template <class T>
struct aligned_buf {
  T* base;
  explicit aligned_buf(std::size_t n) {
    const std::size_t bytes = ((n + 1) * sizeof(T) + 63) / 64 * 64;
    base = static_cast<T*>(std::aligned_alloc(64, bytes));
  }
  ~aligned_buf() { std::free(base); }
  aligned_buf(const aligned_buf&) = delete;
  aligned_buf& operator=(const aligned_buf&) = delete;
  T* view() { return base + 1; }
};

// Random data around the grid: a normal body, tails beyond max, tiny values, specials.
template <class T>
std::vector<T> make_data(std::size_t n, double maxval, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> N(0.0, maxval / 3);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (rng() % 10) {
      case 0: v[i] = static_cast<T>(N(rng) * 4); break;
      case 1: v[i] = static_cast<T>(N(rng) * 1e-6); break;
      case 2: {
        const T sp[] = {T(0), -T(0), std::numeric_limits<T>::quiet_NaN(),
                        std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
                        static_cast<T>(maxval), static_cast<T>(-maxval)};
        v[i] = sp[rng() % 7];
        break;
      }
      default: v[i] = static_cast<T>(N(rng));
    }
  }
  return v;
}

// The scalar rule for element i (global index offset + i) of a driver call.
template <class T>
T expected(T x, const quant_params& p, const quant_params& nat, const quantize_options& opt,
           std::size_t i) {
  const std::uint32_t u =
      opt.mode == rounding::stochastic ? sr_uniform(opt.seed, opt.offset + i) : 0u;
  if (opt.scale == scale_mode::hardware) {
    if constexpr (sizeof(T) == 4)
      return quantize_value(x * p.hw_mul_f, nat, opt.mode, u) * p.hw_div_f;
    else
      return quantize_value(x * p.hw_mul_d, nat, opt.mode, u) * p.hw_div_d;
  }
  return quantize_value(x, p, opt.mode, u);
}

// Plain double loop over the scalar rule's results: the reference of quantize_error.
template <class T>
error_stats plain_stats(const std::vector<T>& x, const std::vector<T>& q, const quant_params& p) {
  error_stats s;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i], qi = q[i];
    if (std::isnan(xi)) {
      ++s.nan_count;
      continue;
    }
    if (std::isinf(xi)) {
      ++s.inf_count;
      continue;
    }
    const double e = qi - xi;
    s.sum_sq_err += e * e;
    s.sum_sq += xi * xi;
    s.sum_x_err += xi * e;
    s.sum_err += e;
    s.sum_x += xi;
    s.max_abs_err = std::max(s.max_abs_err, std::fabs(e));
    ++s.count;
    s.clipped += (xi > p.maxval || xi < p.minval);
    s.flushed += (xi != 0 && qi == 0);
  }
  return s;
}

bool same_stats(const error_stats& a, const error_stats& b) {
  return same_bits(a.sum_sq_err, b.sum_sq_err) && same_bits(a.sum_sq, b.sum_sq) &&
         same_bits(a.sum_x_err, b.sum_x_err) && same_bits(a.sum_err, b.sum_err) &&
         same_bits(a.sum_x, b.sum_x) && same_bits(a.max_abs_err, b.max_abs_err) &&
         a.count == b.count && a.clipped == b.clipped && a.flushed == b.flushed &&
         a.nan_count == b.nan_count && a.inf_count == b.inf_count;
}

// Sums agree to rounding: the plain loop and the 8-lane blocked sum differ only in order, so the
// difference is bounded by n·eps·Σ|terms| (here ≤ 1e-10 relative to Σ|terms|). A sum that is not
// finite (a non-saturating format turned a finite input into ±inf/NaN) must be the same class.
bool close(double got, double ref, double abs_scale) {
  if (!std::isfinite(ref)) return same_bits(got, ref) || (std::isnan(got) && std::isnan(ref));
  return std::fabs(got - ref) <= 1e-10 * abs_scale;
}
void check_close(const error_stats& got, const error_stats& ref, double abs_scale) {
  CHECK(close(got.sum_sq_err, ref.sum_sq_err, ref.sum_sq_err));
  CHECK(close(got.sum_sq, ref.sum_sq, ref.sum_sq));
  CHECK(close(got.sum_x_err, ref.sum_x_err, abs_scale));
  CHECK(close(got.sum_err, ref.sum_err, abs_scale));
  CHECK(close(got.sum_x, ref.sum_x, abs_scale));
  CHECK(same_bits(got.max_abs_err, ref.max_abs_err));
  CHECK(got.count == ref.count);
  CHECK(got.clipped == ref.clipped);
  CHECK(got.flushed == ref.flushed);
  CHECK(got.nan_count == ref.nan_count);
  CHECK(got.inf_count == ref.inf_count);
}

struct driver_case {
  const char* fmt;
  double maxval;  // 0: native; < 0: affine range [maxval, −3·maxval]
};

quant_params params_of(const driver_case& c) {
  const format_spec f = parse_format(c.fmt);
  if (c.maxval < 0) return make_affine_params(f, c.maxval, -3 * c.maxval);
  return c.maxval > 0 ? make_params(f, c.maxval) : make_native_params(f);
}

const driver_case k_cases[] = {{"e4m3", 3.928556},      {"e5m2ieee", 0.0}, {"e4m3fn.nosat", 0.0},
                               {"int8", 1.7},           {"uint8a", -1.0},  {"e2m1fn", 6.5},
                               {"fp16", 1e-3},          {"e5m2.ftz", 448.0}, {"e3m4ieee.nosat", 0.0},
                               {"int16", 2.5}};

std::vector<simd_path> supported_paths() {
  std::vector<simd_path> out;
  for (simd_path s : {simd_path::scalar, simd_path::avx2, simd_path::avx512})
    if (simd_path_supported(s)) out.push_back(s);
  return out;
}

template <class T>
void check_drivers(const driver_case& c) {
  const quant_params p = params_of(c);
  const quant_params nat = native_of(p);
  const double scale = std::max(p.maxval, -p.minval);
  const auto paths = supported_paths();
  set_simd_path(simd_path::automatic);
  const simd_path active_path = active_simd_path();
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4099},
                        std::size_t{100003}}) {
    const std::vector<T> data = make_data<T>(n, scale, n * 31 + sizeof(T));
    aligned_buf<T> in(n), out(n), inplace(n);
    if (n) std::memcpy(in.view(), data.data(), n * sizeof(T));
    for (rounding r : {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic})
      for (scale_mode sm : {scale_mode::exact, scale_mode::hardware}) {
        quantize_options opt;
        opt.mode = r;
        opt.scale = sm;
        opt.seed = 0xabcdef12345ull;
        opt.offset = r == rounding::stochastic ? 12345 : 0;
        std::vector<T> want(n);
        for (std::size_t i = 0; i < n; ++i) want[i] = expected(data[i], p, nat, opt, i);
        const error_stats ref = plain_stats(data, want, p);
        double abs_scale = 0;  // Σ of |x|·(1 + |q − x|) + |q − x| over finite pairs
        for (std::size_t i = 0; i < n; ++i) {
          const double xi = data[i], ei = double(want[i]) - xi;
          if (std::isfinite(xi) && std::isfinite(ei)) abs_scale += std::fabs(xi) * (1 + std::fabs(ei)) + std::fabs(ei);
        }
        error_stats first_stats;
        bool have_first = false;
        // Every (path, threads) pair up to 4099 elements; for the long input (16 × slower) the
        // automatic path with 1, 2, 7 threads and each other path with 2.
        std::vector<std::pair<simd_path, int>> runs;
        for (simd_path sp : paths)
          for (int threads : {1, 2, 7})
            if (n <= 4099 || sp == active_path || threads == 2) runs.push_back({sp, threads});
        for (const auto& run : runs) {
            const simd_path sp = run.first;
            const int threads = run.second;
            set_simd_path(sp);
            opt.threads = threads;
            const std::string what = std::string(c.fmt) + " " + to_string(r) + " " + to_string(sm) +
                                     " path " + to_string(sp);
            CAPTURE(what);
            CAPTURE(n);
            CAPTURE(threads);
            CAPTURE(sizeof(T));
            quantize(in.view(), out.view(), n, p, opt);
            if (n) std::memcpy(inplace.view(), data.data(), n * sizeof(T));
            quantize_inplace(inplace.view(), n, p, opt);
            long bad = 0, bad_inplace = 0;
            std::size_t first_bad = n;
            for (std::size_t i = 0; i < n; ++i) {
              if (!same_bits(out.view()[i], want[i]) && bad++ == 0) first_bad = i;
              bad_inplace += !same_bits(inplace.view()[i], want[i]);
            }
            if (bad) {
              CAPTURE(first_bad);
              CAPTURE(double(data[first_bad]));
              CAPTURE(double(out.view()[first_bad]));
              CAPTURE(double(want[first_bad]));
              CHECK(bad == 0);
            }
            CHECK(bad_inplace == 0);
            const error_stats s = quantize_error(in.view(), n, p, opt);
            check_close(s, ref, abs_scale);
            if (!have_first) {
              first_stats = s;
              have_first = true;
            }
            CHECK(same_stats(s, first_stats));  // identical across threads and SIMD paths
          }
      }
  }
  set_simd_path(simd_path::automatic);
}

}  // namespace

TEST_CASE("drivers equal the scalar rule on every length, alignment, thread count and path") {
  for (simd_path s : {simd_path::avx2, simd_path::avx512})
    if (!simd_path_supported(s)) MESSAGE("SIMD path ", to_string(s), " not supported here: skipped");
  for (const driver_case& c : k_cases) {
    const quant_params p = params_of(c);
    if (std::max(p.maxval, -p.minval) <= 3.4e38) check_drivers<float>(c);
    check_drivers<double>(c);
  }
}

TEST_CASE("hardware scale mode equals exact mode at a power-of-two scale") {
  // e4m3 at 240·2^−5 and int8 at 127·2^−3: hw_mul = 2^5 and 2^3 exactly, so x·hw_mul, the native
  // cast and ·hw_div introduce no rounding of their own (results stay float32 normals).
  for (const auto& c : {std::pair<const char*, double>{"e4m3", 7.5}, {"int8", 15.875}, {"e5m2ieee", 448.0}}) {
    const quant_params p = make_params(parse_format(c.first), c.second);
    REQUIRE(p.alpha == 1.0);
    const std::vector<float> x = make_data<float>(50000, c.second, 3);
    std::vector<float> a(x.size()), b(x.size());
    for (rounding r : {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic}) {
      quantize_options opt;
      opt.mode = r;
      opt.seed = 17;
      quantize(x.data(), a.data(), x.size(), p, opt);
      opt.scale = scale_mode::hardware;
      quantize(x.data(), b.data(), x.size(), p, opt);
      long bad = 0;
      for (std::size_t i = 0; i < x.size(); ++i) bad += !same_bits(a[i], b[i]);
      const std::string what = std::string(c.first) + " " + to_string(r);
      CAPTURE(what);
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("quantize_error counts on a crafted input") {
  // e4m3 native: max 240, smallest subnormal 2^−10 (bias 8, reference-spec §6.1).
  const quant_params p = make_native_params(parse_format("e4m3"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> x = {
      0.0, -0.0,                  // finite, exact
      1e-9, -1e-9,                // flushed: far below half of 2^−10
      std::ldexp(1.0, -11),       // flushed: the tie 2^−11 between 0 and 2^−10 goes to 0 (even)
      std::ldexp(1.0, -10),       // kept: the smallest subnormal
      300.0, -1e6,                // clipped (beyond ±240)
      240.0, 1.0,                 // on the grid
      nan, -nan, inf, -inf};      // counted only
  const error_stats s = quantize_error(x.data(), x.size(), p);
  CHECK(s.count == 10);
  CHECK(s.clipped == 2);
  CHECK(s.flushed == 3);
  CHECK(s.nan_count == 2);
  CHECK(s.inf_count == 2);
  // (q − x) over finite inputs: ±1e-9 → ∓1e-9, 2^−11 → −2^−11, 300 → −60, −1e6 → 1e6 − 240.
  const double sq = 2e-18 + std::ldexp(1.0, -22) + 3600.0 + (1e6 - 240) * (1e6 - 240);
  CHECK(s.sum_sq_err == doctest::Approx(sq).epsilon(1e-15));
  CHECK(s.max_abs_err == 1e6 - 240);
  const std::vector<float> xf(x.begin(), x.end());
  const error_stats sf = quantize_error(xf.data(), xf.size(), p);
  CHECK(sf.count == 10);
  CHECK(sf.clipped == 2);
  CHECK(sf.flushed == 3);
  CHECK(sf.nan_count == 2);
  CHECK(sf.inf_count == 2);
}

TEST_CASE("outputs beyond 16 MiB (non-temporal stores) equal the scalar rule, any alignment") {
  // quantize_cpu.cpp streams out-of-place float32 outputs of ≥ 16 MiB (peeling up to 7 elements
  // to reach 32-byte alignment): the values must not change, whatever the alignment.
  const std::size_t n = (std::size_t{17} << 20) / sizeof(float) + 5;
  for (const char* fmt : {"e4m3", "int8", "e2m5"}) {
    const quant_params p = make_params(parse_format(fmt), 5.746844291687012);
    const quant_params nat = native_of(p);
    const std::vector<float> data = make_data<float>(n, 5.75, 99);
    aligned_buf<float> out(n + 8);
    for (std::size_t shift : {std::size_t{0}, std::size_t{3}, std::size_t{7}})
      for (rounding r : {rounding::rne, rounding::rtz})
        for (scale_mode sm : {scale_mode::exact, scale_mode::hardware}) {
          quantize_options opt;
          opt.mode = r;
          opt.scale = sm;
          opt.threads = 2;
          float* dst = out.base + shift;  // base is 64-byte aligned
          quantize(data.data(), dst, n, p, opt);
          long bad = 0;
          for (std::size_t i = 0; i < n; ++i) bad += !same_bits(dst[i], expected(data[i], p, nat, opt, i));
          CAPTURE(fmt);
          CAPTURE(shift);
          CAPTURE(to_string(r));
          CHECK(bad == 0);
        }
  }
}

// quantize() of x under rne and rna on every SIMD path equals quantize_value bit for bit.
template <class T>
void check_nearest_paths(const std::vector<T>& x, const quant_params& p, const char* fmt, double maxval) {
  std::vector<T> out(x.size());
  for (rounding r : {rounding::rne, rounding::rna})
    for (simd_path sp : supported_paths()) {
      set_simd_path(sp);
      quantize_options opt;
      opt.mode = r;
      quantize(x.data(), out.data(), x.size(), p, opt);
      long bad = 0;
      std::size_t first = 0;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (!same_bits(out[i], quantize_value(x[i], p, r, 0u)) && bad++ == 0) first = i;
      CAPTURE(fmt);
      CAPTURE(maxval);
      CAPTURE(sizeof(T));
      CAPTURE(to_string(r));
      CAPTURE(to_string(sp));
      CAPTURE(x[first]);
      CHECK(bad == 0);
    }
  set_simd_path(simd_path::automatic);
}

TEST_CASE("fast paths (float32 FMA product and table read, float64) equal the scalar rule over many scales") {
  // round_fast.hpp picks, per call, the FMA product when fmaf(q, s_lo, q·s_hi) is exact for every
  // significand (make_fast_params checks it), else the output table. Sweep 400 maxvals per format
  // so that both choices occur, on every grid value, every midpoint (double, rounded to float) and
  // their float neighbours, and on random data; every path must equal quantize_value bit for bit.
  long fma_scales = 0, table_scales = 0;
  for (const char* fmt : {"e4m3", "e2m5", "e5m2", "int8", "int4", "uint8a", "e3m2fn", "e4m3fnuz"}) {
    for (int k = 0; k < 400; ++k) {
      const format_spec f = parse_format(fmt);
      // Odd k: a scale s with n·s within ~2^−50 of a float rounding boundary for a significand
      // n = 9 + k % 7 (s = midpoint/n, nudged), where the FMA product may round the other way.
      const bool affine = std::string(fmt) == "uint8a";
      const double native = 1.0 / (affine ? make_affine_params(f, -0.3, 1.0) : make_params(f, 1.0)).scale;
      const double mid = 1.0 + (2.0 * (k % 50) + 1.0) * 0x1p-24;
      const double s = mid / (9 + k % 7) * (1.0 + ((k / 2) % 5 - 2) * 0x1p-50);
      const double maxval = k % 2 ? s * native : std::ldexp(1.0 + k * (1.0 / 397.0) + 1e-7 * k, k % 7 - 3);
      // The affine format takes a lopsided range, so its two maxima differ.
      const quant_params p = affine ? make_affine_params(f, -0.3 * maxval, maxval)
                                                           : make_params(f, maxval);
      std::vector<float> table;
      const fast_params fp = make_fast_params(p, &table);
      REQUIRE(fp.eligible == 1);
      (fp.fma_ok ? fma_scales : table_scales) += 1;
      if (k % 8 != 0 && fp.fma_ok) continue;  // every 8th scale and every table one
      std::vector<float> x = make_data<float>(1003, maxval, 7 + k);
      const std::vector<double> g = grid(p);
      for (std::size_t j = 0; j < g.size(); ++j) {
        const float v = static_cast<float>(g[j]);
        x.push_back(v);
        if (j + 1 < g.size()) {
          const float mid = static_cast<float>(0.5 * (g[j] + g[j + 1]));
          for (float m : {mid, std::nextafter(mid, -1e30f), std::nextafter(mid, 1e30f)}) x.push_back(m);
        }
      }
      check_nearest_paths(x, p, fmt, maxval);
      // float64 data (quantize_fast_d, round-to-nearest): the same values, and the midpoints and
      // their double neighbours.
      std::vector<double> xd(x.begin(), x.end());
      for (std::size_t j = 0; j + 1 < g.size(); ++j) {
        const double mid = 0.5 * (g[j] + g[j + 1]);
        for (double m : {mid, std::nextafter(mid, -1e300), std::nextafter(mid, 1e300)}) xd.push_back(m);
      }
      check_nearest_paths(xd, p, fmt, maxval);
    }
  }
  MESSAGE("scales on the FMA product: ", fma_scales, ", on the table: ", table_scales);
  CHECK(fma_scales > 0);
  CHECK(table_scales > 0);
}
