// bench/quantize_bench_cuda.cu — throughput of the CUDA drivers (issue 2 of exmy): the quantize
// kernel and the fused error pass on 64 Mi float32 values in device memory, for e4m3, e2m5 and int8
// with RNE and stochastic rounding, each as a fraction of a device-to-device cudaMemcpy of the same
// bytes measured in the same run (design.md: benchmarks report ratios to a reference, not raw
// numbers from one machine). Timing: CUDA events, one warm-up call, median of 5. JSON on stdout.
//
// Usage: quantize_bench_cuda [elements]   (default 67108864). Exits with status 1 and a message
// on stderr when no CUDA device is usable.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "exmy/cli/cli_common.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cuda.hpp"
#include "exmy/random/philox.hpp"

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw exmy::error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

// Standard normal data from the counter-based generator (Box–Muller on two Philox words).
__global__ void fill_normal(float* x, std::size_t n, std::uint64_t seed) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride) {
    const exmy::philox_out r =
        exmy::philox4x32_10(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32), 0u,
                            0u, static_cast<std::uint32_t>(seed), 0u);
    const double u1 = (r.v[0] + 1.0) * 2.3283064365386963e-10;  // (0, 1]; 2^-32
    const double u2 = r.v[1] * 2.3283064365386963e-10;
    x[i] = static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
}

// Median device time in milliseconds of `reps` calls after one warm-up call.
double median_ms(const std::function<void()>& f, int reps = 5) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  f();
  check(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(a), "cudaEventRecord");
    f();
    check(cudaEventRecord(b), "cudaEventRecord");
    check(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Device memory owned for the run.
struct device_floats {
  float* p = nullptr;
  explicit device_floats(std::size_t n) {
    check(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(float)), "cudaMalloc");
  }
  ~device_floats() { cudaFree(p); }
  device_floats(const device_floats&) = delete;
  device_floats& operator=(const device_floats&) = delete;
};

int run(int argc, char** argv) {
  if (!exmy::cuda_available()) {
    std::cerr << "quantize_bench_cuda: " << exmy::cuda_status() << "; nothing to measure\n";
    return 1;
  }
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : std::size_t{1} << 26;
  if (n == 0) throw exmy::error("elements must be a positive integer");
  const double bytes = double(n) * sizeof(float);
  device_floats in(n), out(n), copy(n);
  fill_normal<<<1024, 256>>>(in.p, n, 2024);
  check(cudaGetLastError(), "fill kernel");
  check(cudaDeviceSynchronize(), "fill kernel");

  // Reference: a device-to-device copy of the same n·4 bytes (it reads and writes them, as the
  // quantize kernel does; the error pass only reads).
  const double memcpy_ms = median_ms([&] {
    check(cudaMemcpy(copy.p, in.p, n * sizeof(float), cudaMemcpyDeviceToDevice), "cudaMemcpy");
  });
  auto gbps = [&](double ms) { return bytes / (ms * 1e6); };

  nlohmann::json doc = exmy::cli::provenance(1, argc, argv);
  doc["benchmark"] = "quantize_bench_cuda";
  doc["device"] = exmy::cuda_status();
  doc["elements"] = n;
  doc["dtype"] = "float32";
  doc["data"] = "standard normal (Philox4x32-10, Box-Muller), maxval 4";
  doc["timing"] = "CUDA events, 1 warm-up, median of 5; error pass includes its host fold";
  doc["gb_per_s_definition"] = "n*4 bytes / median time (GB = 1e9 bytes)";
  doc["memcpy_d2d"] = {{"ms", memcpy_ms}, {"gb_per_s", gbps(memcpy_ms)}};
  nlohmann::json rows = nlohmann::json::array();
  for (const char* fmt : {"e4m3", "e2m5", "int8"}) {
    const exmy::quant_params p = exmy::make_params(exmy::parse_format(fmt), 4.0);
    for (exmy::rounding r : {exmy::rounding::rne, exmy::rounding::stochastic}) {
      exmy::quantize_options o;
      o.mode = r;
      o.seed = 7;
      const double q_ms = median_ms([&] { exmy::quantize_cuda_device(in.p, out.p, n, p, o); });
      exmy::error_stats s;
      const double e_ms = median_ms([&] { s = exmy::quantize_error_cuda_device(in.p, n, p, o); });
      for (int pass = 0; pass < 2; ++pass) {
        const double ms = pass == 0 ? q_ms : e_ms;
        nlohmann::json row = {{"format", fmt},
                              {"rounding", exmy::to_string(r)},
                              {"pass", pass == 0 ? "quantize" : "error"},
                              {"ms", ms},
                              {"gb_per_s", gbps(ms)},
                              {"fraction_of_memcpy", memcpy_ms / ms}};
        if (pass == 1) row["sqnr_db"] = s.sqnr_db();  // keeps the result observable
        rows.push_back(row);
      }
    }
  }
  doc["results"] = rows;
  std::cout << doc.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "quantize_bench_cuda: error: " << e.what() << "\n";
    return 2;
  }
}
