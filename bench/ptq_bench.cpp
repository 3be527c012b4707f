// bench/ptq_bench — throughput of the PTQ harness (issue 5, "Performance"): a generated
// safetensors model of ~100 M float32 parameters (written by the benchmark into /tmp), every
// candidate of the default set (e1m6 … e6m1, int8), per-channel scales, with the current_minmax
// and the mse estimator. Each run reads the file tensor by tensor (memory-mapped), estimates,
// measures all formats from cache-resident chunks and folds the statistics — what exmy-ptq does
// without the printing. References measured in the same run: reading the file alone, and one
// fused error pass of one format over the same data.
//
// Usage: ptq_bench [--params N] [--tensors T] [--mse-tensors K] [--file PATH] [--keep]
//   --mse-tensors K: the mse run covers the first K tensors only (its time is per parameter
//   and is also extrapolated to the whole file; 0 = all tensors).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <nlohmann/json.hpp>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "exmy/ptq/format_choice.hpp"
#include "exmy/ptq/tensor_io.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point a) {
  return std::chrono::duration<double>(clock_type::now() - a).count();
}

// CPU seconds of the process (all threads). On a shared machine wall time includes waiting for
// a core; CPU time / threads is what the same run takes on idle cores.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// SplitMix64: a counter-based hash, so generation is parallel and deterministic.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
double uniform01(std::uint64_t k) { return (double(mix(k) >> 11) + 0.5) * 0x1.0p-53; }

// Weight-like data: per-row scale, a normal body (Box–Muller) and a sparse heavy tail.
void fill(std::vector<float>& v, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const double scale = 0.02 * (0.5 + uniform01(seed ^ (0xABCDull + std::uint64_t(r))));
    for (std::int64_t c = 0; c < cols; ++c) {
      const std::uint64_t k = seed * 0x100000000ull + std::uint64_t(r * cols + c);
      const double u1 = uniform01(2 * k), u2 = uniform01(2 * k + 1);
      double z = std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      if ((mix(k ^ 0x5555) & 1023) == 0) z *= 8;  // 1/1024 outliers
      v[std::size_t(r * cols + c)] = float(scale * z);
    }
  }
}

struct run_stats {
  double seconds = 0;
  double cpu = 0;
  std::int64_t params = 0;
  int tensors = 0;
};

run_stats run(const std::string& path, const exmy::ptq_options& o, int max_tensors) {
  run_stats s;
  const double c0 = cpu_seconds();
  const auto t0 = clock_type::now();
  exmy::for_each_tensor(path, [&](exmy::tensor&& t) {
    if (max_tensors > 0 && s.tensors >= max_tensors) return;
    const exmy::tensor_report r = exmy::analyze_tensor(t, o);
    s.params += t.numel();
    ++s.tensors;
    if (r.best < 0) std::cerr << "warning: no format for " << t.name << "\n";
  });
  s.seconds = seconds_since(t0);
  s.cpu = cpu_seconds() - c0;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t params = 100'000'000;
  int tensors = 24, mse_tensors = 2;
  std::string file = "/tmp/exmy_ptq_bench.safetensors";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "ptq_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--params") params = std::stoll(next());
    else if (a == "--tensors") tensors = std::stoi(next());
    else if (a == "--mse-tensors") mse_tensors = std::stoi(next());
    else if (a == "--file") file = next();
    else if (a == "--keep") keep = true;
    else {
      std::cerr << "usage: ptq_bench [--params N] [--tensors T] [--mse-tensors K] [--file PATH] [--keep]\n";
      return 2;
    }
  }
  // Tensors of [rows, 1024]: per-channel = one scale per row of 1024 values.
  const std::int64_t cols = 1024;
  const std::int64_t rows = std::max<std::int64_t>(1, params / tensors / cols);
  const std::int64_t total = rows * cols * tensors;

  auto tg = clock_type::now();
  {
    exmy::safetensors_writer w(file);
    std::vector<float> v(std::size_t(rows * cols));
    for (int t = 0; t < tensors; ++t) {
      fill(v, rows, cols, std::uint64_t(t + 1));
      w.add("layer" + std::to_string(t) + ".weight", exmy::safetensors_dtype::f32, {rows, cols},
            v.data(), v.size() * sizeof(float));
    }
    w.commit();
  }
  const double gen_s = seconds_since(tg);
  const double gbytes = double(total) * 4 / 1e9;

  int threads = 1;
#if defined(_OPENMP)
  threads = omp_get_max_threads();
#endif
  exmy::ptq_options o;
  o.gran = exmy::parse_granularity("channel");
  o.analysis = false;
  const std::size_t F = exmy::effective_formats(o).size();

  // References: the file read alone; one fused pass of one format per tensor (per tensor scale).
  double c = cpu_seconds();
  auto tr = clock_type::now();
  double sink = 0;
  exmy::for_each_tensor(file, [&](exmy::tensor&& t) { sink += t.data[t.data.size() / 2]; });
  const double read_s = seconds_since(tr), read_cpu = cpu_seconds() - c;
  c = cpu_seconds();
  auto tp = clock_type::now();
  exmy::for_each_tensor(file, [&](exmy::tensor&& t) {
    const exmy::quant_params p = exmy::make_params(exmy::parse_format("e4m3"), 0.5);
    sink += exmy::quantize_error(t.data.data(), t.data.size(), p).sum_sq_err;
  });
  const double pass_s = seconds_since(tp), pass_cpu = cpu_seconds() - c;

  const run_stats mm = run(file, o, 0);
  exmy::ptq_options oa = o;
  oa.analysis = true;
  const run_stats ma = run(file, oa, 0);
  exmy::ptq_options om = o;
  om.est.kind = exmy::estimator_kind::mse;
  const run_stats ms = run(file, om, mse_tensors);

  auto rate = [&](const run_stats& r) {
    const double gb = double(r.params) * 4 / 1e9;
    return nlohmann::json{{"seconds", r.seconds},
                          {"cpu_seconds", r.cpu},
                          {"cpu_seconds_per_thread", r.cpu / threads},
                          {"tensors", r.tensors},
                          {"parameters", r.params},
                          {"data_gb_per_s", gb / r.seconds},
                          {"format_gb_per_s", gb * double(F) / r.seconds},
                          {"seconds_per_100M_params", r.seconds * 1e8 / double(r.params)}};
  };
  nlohmann::json j{{"file", file},
                   {"parameters", total},
                   {"tensors", tensors},
                   {"shape", {rows, cols}},
                   {"data_gb", gbytes},
                   {"formats", F},
                   {"granularity", "channel:0"},
                   {"threads", threads},
                   {"simd", exmy::to_string(exmy::active_simd_path())},
                   {"generate_seconds", gen_s},
                   {"read_only_seconds", read_s},
                   {"read_only_cpu_seconds", read_cpu},
                   {"one_format_fused_pass_seconds", pass_s},
                   {"one_format_fused_pass_cpu_seconds", pass_cpu},
                   {"current_minmax", rate(mm)},
                   {"current_minmax_with_fit_and_prediction", rate(ma)},
                   {"mse", rate(ms)},
                   {"sink", sink}};
  std::cerr << "ptq_bench: " << total << " parameters (" << gbytes << " GB) in " << tensors
            << " tensors [" << rows << ", " << cols << "], " << F << " formats, per channel, "
            << threads << " threads\n"
            << "  (wall s / CPU s of all threads)\n"
            << "  read only:                      " << read_s << " / " << read_cpu << "\n"
            << "  one format, one fused pass:     " << pass_s << " / " << pass_cpu << "\n"
            << "  current_minmax, all formats:    " << mm.seconds << " / " << mm.cpu << "  ("
            << gbytes / mm.seconds << " GB/s data, " << gbytes * F / mm.seconds
            << " GB/s format-data, wall)\n"
            << "  + fit and prediction:           " << ma.seconds << " / " << ma.cpu << "\n"
            << "  mse (" << ms.tensors << " tensors):                " << ms.seconds << " / " << ms.cpu
            << "  (" << ms.seconds * 1e8 / double(ms.params) << " wall s per 100M parameters)\n";
  std::cout << j.dump(2) << "\n";
  if (!keep) std::filesystem::remove(file);
  return 0;
}
