// bench/analytic_bench — speed of the analytic engine (issue 3 of exmy, "Performance"): the two
// compute_quant_error runs the issue times, against the paper's script (3456 s for its table on a
// 2-core machine of this class, issue 3), plus where the time goes.
//  1. `compute_quant_error` (the paper's table: reference line search on 3 × 5M-value numpy-legacy
//     samples, 5 formats; target ≤ 2 s) and `compute_quant_error --formats all --range optimal`
//     (3 laws × 8 formats; target ≤ 0.5 s), run as child processes: median wall seconds and the
//     child's user + system CPU seconds (robust when the machine is shared).
//  2. In process, on one thread: drawing and sorting each paper sample, its 5 line searches, its
//     optimal-range searches (with µs per exact MSE evaluation).
//  3. The Student-t cumulative function through the per-law tables against Boost's ibeta.
// Usage: analytic_bench [--cqe PATH] [--reps R] > analytic_bench.json
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "exmy/distributions/distribution.hpp"
#include "exmy/sqnr/range_optimal.hpp"
#include "exmy/sqnr/range_reference.hpp"
#include "exmy/sqnr/report.hpp"

extern char** environ;

namespace {

constexpr double k_paper_seconds = 3456;  // the paper's compute_quant_error.py (issue 3)
const char* const k_paper_laws[] = {"uniform:lo=-1,hi=1", "normal:mu=0,sigma=1,clip=10",
                                    "student_t:nu=8,clip=100"};
const char* const k_paper_formats[] = {"e5m2", "e4m3", "e3m4", "e2m5", "int8"};
const char* const k_all_formats[] = {"e1m6", "e2m5", "e3m4", "e4m3", "e5m2", "e6m1", "int8"};

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}
double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct run_time {
  double wall = 0, cpu = 0;  // median wall seconds, median child user + system seconds
  bool ok = true;
};

// Runs argv with stdout to /dev/null, `reps` times.
run_time time_command(const std::vector<std::string>& args, int reps) {
  std::vector<double> wall, cpu;
  run_time r;
  for (int i = 0; i < reps; ++i) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    const auto t0 = clock_type::now();
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      r.ok = false;
      return r;
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    wall.push_back(seconds_since(t0));
    cpu.push_back(static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r.ok = false;
  }
  r.wall = median(wall);
  r.cpu = median(cpu);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(EXMY_CQE_PATH)
  std::string cqe = EXMY_CQE_PATH;
#else
  std::string cqe = "compute_quant_error";
#endif
  int reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--cqe")
      cqe = argv[i + 1];
    else if (a == "--reps")
      reps = std::max(1, std::stoi(argv[i + 1]));
    else {
      std::cerr << "usage: analytic_bench [--cqe PATH] [--reps R]\n";
      return 2;
    }
  }
  nlohmann::json out;
  out["benchmark"] = "analytic_bench";
  out["paper_seconds"] = k_paper_seconds;
#if defined(_OPENMP)
  out["threads"] = omp_get_max_threads();
#else
  out["threads"] = 1;
#endif

  // 1. The two command lines of the issue.
  struct command {
    const char* name;
    std::vector<std::string> args;
    double target;
  };
  const command commands[] = {
      {"paper_table", {cqe}, 2.0},
      {"all_formats_optimal", {cqe, "--formats", "all", "--range", "optimal"}, 0.5}};
  out["cli"] = nlohmann::json::array();
  for (const command& c : commands) {
    const run_time t = time_command(c.args, reps);
    std::string line;
    for (std::size_t i = 0; i < c.args.size(); ++i) line += (i ? " " : "") + c.args[i];
    std::cerr << c.name << ": wall " << t.wall << " s, cpu " << t.cpu << " s (target " << c.target
              << " s wall), paper/wall " << k_paper_seconds / t.wall << "\n";
    out["cli"].push_back({{"name", c.name},
                          {"command", line},
                          {"ok", t.ok},
                          {"wall_s", t.wall},
                          {"cpu_s", t.cpu},
                          {"target_wall_s", c.target},
                          {"ratio_to_paper", k_paper_seconds / t.wall},
                          {"ratio_to_paper_cpu", k_paper_seconds / t.cpu}});
  }

  // 2. Phases in process, one thread (CPU seconds of this thread).
#if defined(_OPENMP)
  omp_set_num_threads(1);
#endif
  out["phases"] = nlohmann::json::array();
  for (const char* spec : k_paper_laws) {
    const exmy::distribution d = exmy::parse_distribution(spec);
    double t0 = thread_cpu();
    std::vector<double> x = exmy::reference_sample(d);
    const double draw = thread_cpu() - t0;
    t0 = thread_cpu();
    const exmy::sorted_sample s(std::move(x));
    const double sort = thread_cpu() - t0;
    t0 = thread_cpu();
    for (const char* f : k_paper_formats) exmy::reference_line_search(s, exmy::parse_format(f));
    const double search = thread_cpu() - t0;
    const exmy::law_view v = exmy::view_of(d);
    int evaluations = 0;
    t0 = thread_cpu();
    for (const char* f : k_all_formats)
      evaluations += exmy::optimal_maxval(v, exmy::parse_format(f)).evaluations;
    const double optimal = thread_cpu() - t0;
    std::cerr << spec << ": draw " << draw << " s, sort " << sort << " s, 5 line searches "
              << search << " s, 7 optimal searches " << optimal << " s ("
              << 1e6 * optimal / evaluations << " µs per MSE)\n";
    out["phases"].push_back({{"distribution", spec},
                             {"draw_cpu_s", draw},
                             {"sort_cpu_s", sort},
                             {"line_searches_cpu_s", search},
                             {"optimal_searches_cpu_s", optimal},
                             {"optimal_evaluations", evaluations},
                             {"us_per_mse_evaluation", 1e6 * optimal / evaluations}});
  }

  // 3. Student-t cdf: tables (built on the first call, outside the timing) against Boost's ibeta.
  {
    const exmy::student_t_law t(8);
    const int n = 200000;
    double sink = exmy::ccdf(t, 1.0);
    double t0 = thread_cpu();
    for (int i = 0; i < n; ++i) sink += exmy::ccdf(t, 0.25 + 1e-4 * i);
    const double tables = (thread_cpu() - t0) / n;
    t0 = thread_cpu();
    for (int i = 0; i < n; ++i) {
      const double z = 0.25 + 1e-4 * i, x = 8 / (8 + z * z);
      sink += 0.5 * boost::math::ibeta(4.0, 0.5, x);
    }
    const double boost = (thread_cpu() - t0) / n;
    std::cerr << "student_t(8) ccdf: tables " << 1e9 * tables << " ns, Boost ibeta " << 1e9 * boost
              << " ns" << (sink == 0 ? " " : "") << "\n";
    out["student_t_ccdf"] = {{"tables_ns", 1e9 * tables}, {"boost_ibeta_ns", 1e9 * boost}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
