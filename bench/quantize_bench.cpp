// bench/quantize_bench — throughput of the CPU drivers as a ratio to references measured in the
// same run (issue "quantizer core", benchmark section; shared/notes/performance.md):
//   out-of-place quantize  vs  std::memcpy of the same bytes,
//   fused error pass       vs  a read-only sum of squares with 8 accumulators (same flags).
// Usage: quantize_bench [--n N] [--reps R] [--formats e4m3,e2m5,int8] > bench.json
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

// Median of `reps` timings of f() in seconds.
template <class F>
double time_median(int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto a = clock_type::now();
    f();
    t.push_back(std::chrono::duration<double>(clock_type::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Read-only reference: sum of squares with 8 independent accumulators, split over threads.
double sum_squares(const float* x, std::size_t n, int threads) {
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    float acc[8] = {};
#pragma omp for schedule(static)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(n / 8); ++i)
      for (int l = 0; l < 8; ++l) acc[l] += x[8 * i + l] * x[8 * i + l];
    for (float a : acc) total += a;
  }
  return total;
}

void copy_parallel(const float* in, float* out, std::size_t n, int threads) {
#pragma omp parallel num_threads(threads)
  {
#if defined(_OPENMP)
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    const std::size_t b = n * t / nt, e = n * (t + 1) / nt;
    std::memcpy(out + b, in + b, (e - b) * sizeof(float));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = std::size_t{64} << 20;  // 64 Mi float32 elements (256 MiB)
  int reps = 5;
  std::string list = "e4m3,e2m5,int8";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--n") n = std::stoull(argv[i + 1]);
    else if (a == "--reps") reps = std::stoi(argv[i + 1]);
    else if (a == "--formats") list = argv[i + 1];
  }
  std::vector<float> x(n), y(n);
  {
    std::mt19937_64 g(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (auto& v : x) v = d(g);
  }
  const float absmax = *std::max_element(x.begin(), x.end(), [](float a, float b) {
    return std::abs(a) < std::abs(b);
  });
  nlohmann::json out;
  out["schema_version"] = 1;
  out["elements"] = n;
  out["simd_path"] = exmy::to_string(exmy::active_simd_path());
  out["maxval"] = std::abs(absmax);
  out["results"] = nlohmann::json::array();
  volatile double sink = 0;
  for (int threads : {1, 2}) {
    const double t_copy = time_median(reps, [&] { copy_parallel(x.data(), y.data(), n, threads); });
    const double t_sum = time_median(reps, [&] { sink = sink + sum_squares(x.data(), n, threads); });
    for (const auto& f : exmy::parse_format_list(list)) {
      // Non-lattice maxval (the data's absmax): the general exact path, as PTQ uses it.
      const exmy::quant_params p = exmy::make_params(f, std::abs(absmax));
      for (auto mode : {exmy::rounding::rne, exmy::rounding::stochastic}) {
        exmy::quantize_options o;
        o.mode = mode;
        o.threads = threads;
        o.seed = 42;
        const double t_q = time_median(reps, [&] { exmy::quantize(x.data(), y.data(), n, p, o); });
        const double t_e =
            time_median(reps, [&] { sink = sink + exmy::quantize_error(x.data(), n, p, o).sum_sq_err; });
        out["results"].push_back({{"format", f.name},
                                  {"rounding", exmy::to_string(mode)},
                                  {"threads", threads},
                                  {"quantize_gelem_s", n / t_q / 1e9},
                                  {"memcpy_gelem_s", n / t_copy / 1e9},
                                  {"quantize_vs_memcpy", t_copy / t_q},
                                  {"error_pass_gelem_s", n / t_e / 1e9},
                                  {"sum_squares_gelem_s", n / t_sum / 1e9},
                                  {"error_pass_vs_sum_squares", t_sum / t_e}});
        std::cerr << f.name << " " << exmy::to_string(mode) << " threads=" << threads
                  << "  quantize " << n / t_q / 1e9 << " G/s (" << t_copy / t_q
                  << "x memcpy)  error pass " << n / t_e / 1e9 << " G/s (" << t_sum / t_e
                  << "x sum of squares)\n";
      }
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
