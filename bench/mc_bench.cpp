// bench/mc_bench — throughput of the fused Monte-Carlo pass (issue 4 of exmy, "Performance"):
// draw → quantize (E4M3 at maxval 448, exact rule, double) → accumulate, in samples/s on 1 thread
// and on 2 threads, per distribution, next to a baseline measured in the same run:
// std::mt19937_64 + std::<law>_distribution<double> + a scalar quantize_value loop (one generator
// per thread). Reported as wall-clock samples/s and as samples per CPU-second of the process (per
// core, robust when the machine is shared); the ratio is measured in the same run.
// Usage: mc_bench [--n N] [--reps R] [--threads T] > mc_bench.json
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/sqnr/monte_carlo.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct timing {
  double wall;  ///< median wall seconds
  double cpu;   ///< median process CPU seconds (all threads): robust on a shared machine
};

template <class F>
timing time_median(int reps, F&& f) {
  std::vector<double> w, c;
  for (int r = 0; r < reps; ++r) {
    const auto a = clock_type::now();
    const std::clock_t ca = std::clock();
    f();
    c.push_back(static_cast<double>(std::clock() - ca) / CLOCKS_PER_SEC);
    w.push_back(std::chrono::duration<double>(clock_type::now() - a).count());
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  return {w[w.size() / 2], c[c.size() / 2]};
}

// The baseline: a std generator per thread, the scalar rule, a plain double accumulator. Built for
// AVX2 + FMA where the CPU has them (as exmy's Monte-Carlo loop is): the scalar rule's fma is then
// one instruction rather than a libm call, which keeps the comparison fair.
template <class Dist>
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma")))
#endif
double baseline_body(Dist dist, const exmy::quant_params& p, std::uint64_t n, int threads) {
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
#if defined(_OPENMP)
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    std::mt19937_64 g(1234 + static_cast<unsigned>(t));
    Dist d = dist;
    double acc = 0;
    const std::uint64_t m = n / static_cast<std::uint64_t>(nt);
    for (std::uint64_t i = 0; i < m; ++i) {
      const double x = d(g);
      const double e = exmy::quantize_value<exmy::rounding::rne>(x, p) - x;
      acc += e * e;
    }
    total += acc;
  }
  return total;
}

template <class Dist>
double baseline(Dist dist, const exmy::quant_params& p, std::uint64_t n, int threads) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::cerr << "mc_bench: the baseline needs AVX2 + FMA on x86-64\n";
    std::exit(2);
  }
#endif
  return baseline_body(dist, p, n, threads);
}

// Laplace(0, 1) for the baseline: the sign and an exponential.
struct std_laplace {
  std::exponential_distribution<double> e{1.0};
  std::uniform_int_distribution<int> s{0, 1};
  template <class G>
  double operator()(G& g) {
    const double v = e(g);
    return s(g) ? v : -v;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t n = std::uint64_t{1} << 24;
  int reps = 3, max_threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--n") n = std::stoull(argv[i + 1]);
    else if (a == "--reps") reps = std::stoi(argv[i + 1]);
    else if (a == "--threads") max_threads = std::stoi(argv[i + 1]);
    else {
      std::cerr << "usage: mc_bench [--n N] [--reps R] [--threads T]\n";
      return 2;
    }
  }
  const exmy::quant_params p = exmy::make_params(exmy::parse_format("e4m3"), 448);
  nlohmann::json out;
  out["benchmark"] = "mc_bench";
  out["format"] = "e4m3, maxval 448, rne";
  out["samples"] = n;
  out["simd_path"] = exmy::to_string(exmy::active_simd_path());
  out["results"] = nlohmann::json::array();
  struct law {
    const char* spec;
    int kind;  // baseline: 0 uniform, 1 normal, 2 student_t(8), 3 laplace
  };
  const law laws[] = {{"uniform:lo=-1,hi=1", 0},
                      {"normal:mu=0,sigma=1", 1},
                      {"student_t:nu=8", 2},
                      {"laplace:b=1", 3}};
  std::cerr << "law                  threads  exmy M/s  baseline M/s  ratio  exmy M/cpu-s  base M/cpu-s\n";
  for (const law& l : laws) {
    const exmy::distribution d = exmy::parse_distribution(l.spec);
    for (int threads = 1; threads <= max_threads; ++threads) {
      exmy::mc_options o;
      o.samples = n;
      o.seed = 1;
      o.threads = threads;
      double sink = 0;
      const timing t_mc = time_median(reps, [&] { sink += exmy::monte_carlo_mse(d, p, o).mse; });
      const timing t_base = time_median(reps, [&] {
        switch (l.kind) {
          case 0: sink += baseline(std::uniform_real_distribution<double>(-1, 1), p, n, threads); break;
          case 1: sink += baseline(std::normal_distribution<double>(0, 1), p, n, threads); break;
          case 2: sink += baseline(std::student_t_distribution<double>(8), p, n, threads); break;
          default: sink += baseline(std_laplace{}, p, n, threads); break;
        }
      });
      const double mc_rate = static_cast<double>(n) / t_mc.wall / 1e6;
      const double base_rate = static_cast<double>(n) / t_base.wall / 1e6;
      // Per core: samples per CPU-second of the process (threads summed).
      const double mc_core = static_cast<double>(n) / t_mc.cpu / 1e6;
      const double base_core = static_cast<double>(n) / t_base.cpu / 1e6;
      char line[200];
      std::snprintf(line, sizeof line, "%-22s %5d %9.1f %13.1f %6.2f %12.1f %12.1f%s\n", l.spec,
                    threads, mc_rate, base_rate, mc_rate / base_rate, mc_core, base_core,
                    sink == 0 ? " " : "");
      std::cerr << line;
      out["results"].push_back({{"distribution", l.spec},
                                {"threads", threads},
                                {"exmy_msamples_per_s", mc_rate},
                                {"baseline_msamples_per_s", base_rate},
                                {"ratio", mc_rate / base_rate},
                                {"exmy_msamples_per_cpu_s", mc_core},
                                {"baseline_msamples_per_cpu_s", base_core}});
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
