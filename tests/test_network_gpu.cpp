// The network's fake-quantized GEMMs on a CUDA device through cuBLAS (label gpu; issue 6, "CPU and
// GPU": "CPU and GPU accuracies agree within a stated tolerance: count and report the test images
// whose prediction differs"). With a device: cublas_gemm_hook against a double-precision product
// on random matrices (every thread at once), and the FP32 and e4m3 networks on all 10 000
// Fashion-MNIST test images, CPU (Eigen) against cuBLAS. Without one the device cases print one
// "no CUDA device: skipped" message and return. The hook plumbing (tuning space, exceptions out of
// the OpenMP loops) is checked on the CPU with a host hook, device or not.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "exmy/ptq/gemm_cublas.hpp"
#include "exmy/ptq/image_set.hpp"
#include "exmy/ptq/quantized_network.hpp"
#include "exmy/ptq/tuning.hpp"
#include "exmy/quantize/quantize_cuda.hpp"

using namespace exmy;

namespace {

const std::string k_model = std::string(EXMY_SOURCE_DIR) + "/results/models/fashion_cnn.safetensors";

// True with a usable device; otherwise prints the skip message (once per run) and checks that
// asking for the hook fails with exmy::error instead.
bool have_device() {
  if (cuda_available()) return true;
  static bool said = false;
  if (!said) {
    MESSAGE("no CUDA device: skipped (" << cuda_status() << ")");
    said = true;
  }
  CHECK_THROWS_AS(cublas_gemm_hook(-1), error);
  return false;
}

// Row-major C = A·B on the host, float32 sums in i-k-j order (a plain reference hook).
void host_gemm(const float* a, const float* b, float* c, std::int64_t m, std::int64_t k,
               std::int64_t n) {
  for (std::int64_t i = 0; i < m; ++i) {
    float* ci = c + i * n;
    for (std::int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
    for (std::int64_t r = 0; r < k; ++r) {
      const float air = a[i * k + r];
      for (std::int64_t j = 0; j < n; ++j) ci[j] += air * b[r * n + j];
    }
  }
}

// Largest |ĉ − c| / (|A||B|)_ij over C, c computed in double (exact to ~K·2^-53, negligible here);
// 0 for an all-zero |A||B| entry that ĉ matches.
double worst_scaled_error(const std::vector<float>& a, const std::vector<float>& b,
                          const std::vector<float>& c, std::int64_t m, std::int64_t k,
                          std::int64_t n) {
  double worst = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double exact = 0, mag = 0;
      for (std::int64_t r = 0; r < k; ++r) {
        const double p = double(a[std::size_t(i * k + r)]) * double(b[std::size_t(r * n + j)]);
        exact += p;
        mag += std::fabs(p);
      }
      const double err = std::fabs(double(c[std::size_t(i * n + j)]) - exact);
      if (mag > 0)
        worst = std::max(worst, err / mag);
      else if (err > 0)
        worst = std::max(worst, 1.0);  // |A||B| = 0 forces c = 0
    }
  return worst;
}

// Number of images whose predictions differ.
std::int64_t disagreements(const std::vector<int>& x, const std::vector<int>& y) {
  std::int64_t d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) d += x[i] != y[i];
  return d;
}

}  // namespace

TEST_CASE("gpu: cublas_gemm_hook against a double-precision product, from several threads") {
  if (!have_device()) return;
  const gemm_hook hook = cublas_gemm_hook(-1);
  // The network's GEMM shapes (conv: Cout × C·k·k × H·W; linear: out × in × 1), odd sizes that
  // no tile divides, K = 0 (an empty sum: zeros) and a long K where TF32 would be far off.
  struct shape {
    std::int64_t m, k, n;
  };
  const std::vector<shape> shapes = {{1, 1, 1},    {16, 9, 784},  {32, 144, 196}, {64, 576, 49},
                                     {10, 64, 1},  {37, 1000, 53}, {3, 0, 5},     {5, 4099, 7},
                                     {129, 33, 65}, {1, 300, 1}};
  const int threads = 6;
  std::vector<double> worst(std::size_t(threads) * shapes.size(), -1.0);
  std::vector<std::string> failures(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        std::mt19937_64 gen(std::uint64_t(1000 + t));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        // Every thread runs the shapes in its own rotation, so buffers grow and shrink in
        // different orders while the others run.
        for (std::size_t s = 0; s < shapes.size(); ++s) {
          const std::size_t idx = (s + std::size_t(t)) % shapes.size();
          const shape& sh = shapes[idx];
          std::vector<float> a(std::size_t(sh.m * sh.k)), b(std::size_t(sh.k * sh.n)),
              c(std::size_t(sh.m * sh.n), -7.0f);
          for (float& x : a) x = normal(gen);
          for (float& x : b) x = normal(gen) * 0.25f + 0.5f;  // not centred: partial cancellation
          hook(0, a.data(), b.data(), c.data(), sh.m, sh.k, sh.n);
          worst[std::size_t(t) * shapes.size() + idx] =
              sh.k == 0 ? (std::all_of(c.begin(), c.end(), [](float x) { return x == 0.0f; }) ? 0.0 : 1.0)
                        : worst_scaled_error(a, b, c, sh.m, sh.k, sh.n);
        }
      } catch (const std::exception& e) {
        failures[std::size_t(t)] = e.what();
      }
    });
  for (std::thread& th : pool) th.join();
  for (const std::string& f : failures) CHECK_MESSAGE(f.empty(), f);
  for (int t = 0; t < threads; ++t)
    for (std::size_t s = 0; s < shapes.size(); ++s) {
      const shape& sh = shapes[s];
      CAPTURE(t);
      CAPTURE(sh.m);
      CAPTURE(sh.k);
      CAPTURE(sh.n);
      // Higham's bound for any summation order in float32: |ĉ − c| ≤ γ_K·(|A||B|), γ_K ≈ K·u,
      // u = 2^-24; factor 2 of slack (fused multiply-adds only tighten it). TF32 products
      // (u = 2^-11) would exceed it by orders of magnitude.
      const double bound = 2.0 * double(std::max<std::int64_t>(sh.k, 1)) * std::ldexp(1.0, -24);
      const double w = worst[std::size_t(t) * shapes.size() + s];
      CHECK(w >= 0.0);
      CHECK(w <= bound);
    }
}

TEST_CASE("gpu: FP32 and e4m3 networks on 10 000 test images, CPU vs cuBLAS") {
  if (!have_device()) return;
  const gemm_hook hook = cublas_gemm_hook(-1);
  const network net = load_network(k_model);
  const image_set calib = load_fashion_mnist("train", fashion_mnist_dir, 300);
  const image_set test = load_fashion_mnist("test", fashion_mnist_dir, 10000);
  REQUIRE(test.count == 10000);
  // Tolerance: 0.1 % of the images (10). cuBLAS sums in another order than Eigen, so a logit
  // moves by a few float32 ulps and, in e4m3, an activation near a rounding boundary can move to
  // the neighbouring grid point; only near-tied logits change their argmax.
  const std::int64_t tolerance = 10;

  const std::vector<int> fp32_cpu = predict(net, test);
  const std::vector<int> fp32_gpu = predict(net, test, 250, hook);
  const std::int64_t fp32_diff = disagreements(fp32_cpu, fp32_gpu);
  MESSAGE("FP32: " << fp32_diff << " of 10000 predictions differ; accuracy CPU "
                   << accuracy(fp32_cpu, test.labels) << ", cuBLAS " << accuracy(fp32_gpu, test.labels));
  CHECK(fp32_diff <= tolerance);

  // e4m3 weights per output channel, activations per tensor with static ranges (the defaults).
  prepared_model m = prepare(net, bn_mode::fold);
  calibrate(m, calib);
  quant_config c;
  c.name = "e4m3";
  c.weight_format = c.act_format = parse_format("e4m3");
  REQUIRE(c.weight_per_channel);
  REQUIRE(c.acts == act_mode::static_range);
  const quantized_model q = convert(m, c);
  const std::vector<int> e4m3_cpu = predict(q, test);
  const std::vector<int> e4m3_gpu = predict(q, test, 250, hook);
  const std::int64_t e4m3_diff = disagreements(e4m3_cpu, e4m3_gpu);
  MESSAGE("e4m3: " << e4m3_diff << " of 10000 predictions differ; accuracy CPU "
                   << accuracy(e4m3_cpu, test.labels) << ", cuBLAS " << accuracy(e4m3_gpu, test.labels));
  CHECK(e4m3_diff <= tolerance);

  // The tuning space evaluates through the same hook.
  const tuning_space space = make_tuning_space(m, test, sensitivity_measure::output, hook);
  CHECK(space.evaluate(c) == accuracy(e4m3_gpu, test.labels));
}

TEST_CASE("tuning space and predict run their GEMMs through the hook (CPU hook)") {
  const network net = load_network(k_model);
  const image_set calib = load_fashion_mnist("train", fashion_mnist_dir, 20);
  const image_set eval = load_fashion_mnist("test", fashion_mnist_dir, 40);
  prepared_model m = prepare(net, bn_mode::fold);
  calibrate(m, calib);
  quant_config c;
  c.weight_format = c.act_format = parse_format("e4m3");

  std::atomic<long> calls{0};
  const gemm_hook counting = [&calls](int, const float* a, const float* b, float* out,
                                      std::int64_t mm, std::int64_t k, std::int64_t n) {
    ++calls;
    host_gemm(a, b, out, mm, k, n);
  };
  const tuning_space space = make_tuning_space(m, eval, sensitivity_measure::output, counting);
  const double acc = space.evaluate(c);
  const long per_eval = calls.load();
  // 5 convolutions and 1 linear per image.
  CHECK(per_eval == 6 * eval.count);
  CHECK(acc == accuracy(predict(convert(m, c), eval, 250, counting), eval.labels));
  calls = 0;
  const std::vector<sensitivity_entry> sens = space.sensitivity(c);
  CHECK_FALSE(sens.empty());
  // The FP32 reference and one pass per quantized unit, each on the 20 calibration images.
  CHECK(calls.load() == long(1 + sens.size()) * 6 * calib.count);
  // Without a hook nothing goes through it (the CPU path is Eigen, as before).
  calls = 0;
  (void)make_tuning_space(m, eval, sensitivity_measure::output).evaluate(c);
  CHECK(calls.load() == 0);

  // A hook's exception leaves forward() as that exception, not through std::terminate.
  const gemm_hook failing = [](int, const float*, const float*, float*, std::int64_t, std::int64_t,
                               std::int64_t) { throw error("device lost"); };
  CHECK_THROWS_WITH_AS(predict(net, eval, 250, failing), "device lost", error);
}
