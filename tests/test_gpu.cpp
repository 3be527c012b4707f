// The CUDA drivers against the CPU drivers (label gpu; issue 2 of exmy, design.md §2–3): device
// output equals host output bit for bit, and the device error statistics equal quantize_error bit
// for bit. Without a usable device every comparison is skipped with "SKIPPED: <reason>" and the
// executable still succeeds; the argument checks that need no device run everywhere.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/quantize_cuda.hpp"

#if defined(EXMY_HAVE_CUDA)
#include <cuda_runtime_api.h>
#endif

using namespace exmy;

namespace {

bool skip_without_device() {
  if (cuda_available()) return false;
  MESSAGE("SKIPPED: " << cuda_status());
  return true;
}

template <class T>
std::uint64_t bits(T v) {
  if constexpr (sizeof(T) == 4) {
    std::uint32_t b;
    std::memcpy(&b, &v, 4);
    return b;
  } else {
    std::uint64_t b;
    std::memcpy(&b, &v, 8);
    return b;
  }
}

// Equal bits (so −0 ≠ +0); any NaN equals any NaN: NaN payloads are not part of the rule (NVIDIA
// GPUs produce the canonical NaN 0x7fffffff from arithmetic, x86 keeps the operand's payload).
template <class T>
bool same(T a, T b) {
  return (a != a && b != b) || bits(a) == bits(b);
}

struct config {
  std::string name;
  quant_params p;
};

// The formats of the brief at their native scale and at a maxval off the power-of-two lattice
// (alpha ≠ 1, the exact-mode path that needs the fma-corrected decisions); affine int8 at two
// ranges.
std::vector<config> configs() {
  std::vector<config> out;
  for (const char* name :
       {"e4m3", "e5m2", "e4m3fn.nosat", "e2m1fn", "int8", "int8a", "fp16", "bf16"}) {
    const format_spec f = parse_format(name);
    if (f.is_affine()) {
      out.push_back({std::string(name) + " [-1.3, 2.9]", make_affine_params(f, -1.3, 2.9)});
      out.push_back({std::string(name) + " [-0.25, 7]", make_affine_params(f, -0.25, 7.0)});
    } else {
      out.push_back({std::string(name) + " native", make_native_params(f)});
      out.push_back({std::string(name) + " maxval 3.7", make_params(f, 3.7)});
    }
  }
  return out;
}

// Every grid value, every midpoint of neighbours and the representable numbers just below and
// above each midpoint, the neighbours of the end points, and the special values.
template <class T>
std::vector<T> structural_inputs(const quant_params& p) {
  const std::vector<double> g = grid(p);
  std::vector<T> v;
  v.reserve(4 * g.size() + 32);
  const T inf = std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < g.size(); ++i) {
    const T gi = static_cast<T>(g[i]);
    v.push_back(gi);
    v.push_back(std::nextafter(gi, -inf));
    v.push_back(std::nextafter(gi, inf));
    if (i + 1 < g.size()) {
      const T m = static_cast<T>(0.5 * g[i] + 0.5 * g[i + 1]);
      v.push_back(m);
      v.push_back(std::nextafter(m, -inf));
      v.push_back(std::nextafter(m, inf));
    }
  }
  const T big = std::numeric_limits<T>::max(), tiny = std::numeric_limits<T>::denorm_min();
  for (T x : {T(0), -T(0), inf, -inf, std::numeric_limits<T>::quiet_NaN(), big, -big, tiny, -tiny,
              std::numeric_limits<T>::min(), -std::numeric_limits<T>::min(),
              static_cast<T>(1.5 * p.maxval), static_cast<T>(1.5 * p.minval)})
    v.push_back(x);
  return v;
}

// n random inputs: normal around the grid's scale, log-uniform magnitudes from below the smallest
// step to beyond the ends, and raw bit patterns (every exponent, NaN and ±inf included).
template <class T>
std::vector<T> random_inputs(const quant_params& p, std::size_t n, std::uint64_t seed) {
  const double span = std::max(p.maxval, -p.minval);
  double step = span;
  for (double g : grid(p))
    if (g > 0.0) step = std::min(step, g);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, span / 2);
  std::uniform_real_distribution<double> expo(std::log2(step) - 4, std::log2(span) + 4);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t r = rng();
    const unsigned kind = r % 10;
    if (kind < 4) {
      v[i] = static_cast<T>(normal(rng));
    } else if (kind < 8) {
      const double m = std::exp2(expo(rng));
      v[i] = static_cast<T>((r >> 8) & 1 ? -m : m);
    } else {
      const std::uint64_t b = rng();
      if constexpr (sizeof(T) == 4) {
        const auto b32 = static_cast<std::uint32_t>(b);
        std::memcpy(&v[i], &b32, 4);
      } else if (kind == 8) {
        std::memcpy(&v[i], &b, 8);
      } else {  // float bit patterns widened: the float range seen by float64 data
        const auto b32 = static_cast<std::uint32_t>(b);
        float f;
        std::memcpy(&f, &b32, 4);
        v[i] = f;
      }
    }
  }
  return v;
}

constexpr rounding k_modes[] = {rounding::rne, rounding::rna, rounding::rtz, rounding::stochastic};
constexpr scale_mode k_scales[] = {scale_mode::exact, scale_mode::hardware};

quantize_options options(rounding r, scale_mode s) {
  quantize_options o;
  o.mode = r;
  o.scale = s;
  o.seed = 0x0123456789abcdefull;
  o.offset = 1000003;  // a non-zero stochastic-rounding counter offset (chunked data)
  return o;
}

// Compares device and host outputs; reports the first difference.
template <class T>
void check_outputs(const std::vector<T>& in, const std::vector<T>& host, const std::vector<T>& dev,
                   const std::string& what) {
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < in.size(); ++i)
    if (!same(host[i], dev[i]) && bad++ == 0) first = i;
  if (bad) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "first at %zu: x=%a host=%a device=%a", first, double(in[first]),
                  double(host[first]), double(dev[first]));
    MESSAGE(what << ": " << bad << " of " << in.size() << " outputs differ; " << buf);
  }
  CHECK_MESSAGE(bad == 0, what);
}

void check_stats(const error_stats& h, const error_stats& d, const std::string& what) {
  INFO(what);
  CHECK(same(h.sum_sq_err, d.sum_sq_err));
  CHECK(same(h.sum_sq, d.sum_sq));
  CHECK(same(h.sum_x_err, d.sum_x_err));
  CHECK(same(h.sum_err, d.sum_err));
  CHECK(same(h.sum_x, d.sum_x));
  CHECK(same(h.max_abs_err, d.max_abs_err));
  CHECK(h.count == d.count);
  CHECK(h.clipped == d.clipped);
  CHECK(h.flushed == d.flushed);
  CHECK(h.nan_count == d.nan_count);
  CHECK(h.inf_count == d.inf_count);
}

// All modes and scale modes of one configuration on one input set (statistics for float32).
template <class T>
void compare_all(const config& c, const std::vector<T>& in, const char* set) {
  std::vector<T> host(in.size()), dev(in.size());
  for (rounding r : k_modes)
    for (scale_mode s : k_scales) {
      const quantize_options o = options(r, s);
      const std::string what = c.name + ", " + set + ", " + to_string(r) + ", " + to_string(s) +
                               (sizeof(T) == 4 ? ", float32" : ", float64");
      quantize(in.data(), host.data(), in.size(), c.p, o);
      quantize_cuda(in.data(), dev.data(), in.size(), c.p, o);
      check_outputs(in, host, dev, what);
      if constexpr (sizeof(T) == 4)
        check_stats(quantize_error(in.data(), in.size(), c.p, o),
                    quantize_error_cuda(in.data(), in.size(), c.p, o), what + ", statistics");
    }
}

}  // namespace

TEST_CASE("cuda_status explains the device state; calls without a device fail clearly") {
  const std::string status = cuda_status();
  MESSAGE("cuda_status: " << status);
  CHECK(!status.empty());
  if (cuda_available()) {
    CHECK(status.find("CUDA device") == 0);
    return;
  }
  // "built without CUDA" (stub) or "no CUDA device: <runtime error>" (this driver).
  CHECK((status.find("built without CUDA") == 0 || status.find("no CUDA device") == 0));
  const quant_params p = make_params(parse_format("e4m3"), 3.7);
  std::vector<float> x(4, 1.0f), y(4);
  CHECK_THROWS_AS(quantize_cuda(x.data(), y.data(), x.size(), p), error);
  CHECK_THROWS_AS(quantize_error_cuda(x.data(), x.size(), p), error);
}

TEST_CASE("CUDA drivers check their arguments before touching a device") {
  // maxval 1e39 > FLT_MAX ≈ 3.4028e38: the grid does not fit float32 (require_float32_range).
  const quant_params wide = make_params(parse_format("e5m2"), 1e39);
  std::vector<float> x(4, 1.0f), y(4);
  CHECK_THROWS_AS(quantize(x.data(), y.data(), x.size(), wide), error);  // the host agrees
#if defined(EXMY_HAVE_CUDA)
  CHECK_THROWS_WITH_AS(quantize_cuda(x.data(), y.data(), x.size(), wide),
                       doctest::Contains("float32"), error);
  CHECK_THROWS_WITH_AS(quantize_error_cuda(x.data(), x.size(), wide), doctest::Contains("float32"),
                       error);
  const quant_params p = make_params(parse_format("e4m3"), 3.7);
  CHECK_THROWS_WITH_AS(quantize_cuda(static_cast<const float*>(nullptr), y.data(), 4, p),
                       doctest::Contains("null"), error);
  // Zero elements: nothing to do, no device needed.
  CHECK_NOTHROW(quantize_cuda(static_cast<const float*>(nullptr), nullptr, 0, p));
  const error_stats s = quantize_error_cuda(nullptr, 0, p);
  CHECK(s.count == 0);
  CHECK(s.sum_sq_err == 0.0);
#endif
}

TEST_CASE("device == host on every code, midpoint and neighbour (all modes, float32 and float64)") {
  if (skip_without_device()) return;
  for (const config& c : configs()) {
    compare_all(c, structural_inputs<float>(c.p), "grid points and midpoints");
    compare_all(c, structural_inputs<double>(c.p), "grid points and midpoints");
  }
}

TEST_CASE("device == host on 10^7 random inputs per format (all modes, float32 and float64)") {
  if (skip_without_device()) return;
  const std::size_t n = 10'000'000;
  std::uint64_t seed = 1;
  for (const config& c : configs()) {
    compare_all(c, random_inputs<float>(c.p, n, seed++), "random");
    compare_all(c, random_inputs<double>(c.p, n, seed++), "random");
  }
}

TEST_CASE("short and ragged lengths: 0, 1, 7 and 4099 elements") {
  if (skip_without_device()) return;
  const std::vector<config> cs = {{"e4m3 maxval 3.7", make_params(parse_format("e4m3"), 3.7)},
                                  {"int8 native", make_native_params(parse_format("int8"))}};
  for (const config& c : cs)
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4099}}) {
      const std::string len = "length " + std::to_string(n);
      const std::vector<float> f = random_inputs<float>(c.p, n, 100 + n);
      const std::vector<double> d = random_inputs<double>(c.p, n, 200 + n);
      compare_all(c, f, len.c_str());
      compare_all(c, d, len.c_str());
    }
}

TEST_CASE("stochastic rounding on chunks: the counter offset continues the stream") {
  if (skip_without_device()) return;
  const quant_params p = make_params(parse_format("e2m1fn"), 3.7);
  const std::vector<float> in = random_inputs<float>(p, 100'003, 7);
  quantize_options o = options(rounding::stochastic, scale_mode::exact);
  std::vector<float> whole(in.size()), parts(in.size());
  quantize_cuda(in.data(), whole.data(), in.size(), p, o);
  const std::size_t h = 40'000;  // not a multiple of the 4096-element statistics block
  quantize_cuda(in.data(), parts.data(), h, p, o);
  o.offset += h;
  quantize_cuda(in.data() + h, parts.data() + h, in.size() - h, p, o);
  check_outputs(in, whole, parts, "two chunks vs one call");
  // A different seed must change some results (the test can fail).
  o = options(rounding::stochastic, scale_mode::exact);
  o.seed += 1;
  quantize_cuda(in.data(), parts.data(), in.size(), p, o);
  std::size_t changed = 0;
  for (std::size_t i = 0; i < in.size(); ++i) changed += same(whole[i], parts[i]) ? 0 : 1;
  CHECK(changed > 0);
}

#if defined(EXMY_HAVE_CUDA)
TEST_CASE("device-pointer API: in-place, explicit device 0, fused statistics") {
  if (skip_without_device()) return;
  const quant_params p = make_params(parse_format("e5m2"), 3.7);
  const std::vector<float> in = random_inputs<float>(p, 1'000'003, 11);
  const std::size_t bytes = in.size() * sizeof(float);
  float* d = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&d), bytes) == cudaSuccess);
  REQUIRE(cudaMemcpy(d, in.data(), bytes, cudaMemcpyHostToDevice) == cudaSuccess);
  for (rounding r : k_modes) {
    const quantize_options o = options(r, scale_mode::exact);
    const std::string what = std::string("device pointers, ") + to_string(r);
    check_stats(quantize_error(in.data(), in.size(), p, o),
                quantize_error_cuda_device(d, in.size(), p, o, 0), what + ", statistics");
  }
  const quantize_options o = options(rounding::stochastic, scale_mode::hardware);
  quantize_cuda_device(d, d, in.size(), p, o, 0);  // in place
  std::vector<float> host(in.size()), dev(in.size());
  REQUIRE(cudaMemcpy(dev.data(), d, bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
  cudaFree(d);
  quantize(in.data(), host.data(), in.size(), p, o);
  check_outputs(in, host, dev, "device pointers, in place, stochastic, hardware");
}
#endif
