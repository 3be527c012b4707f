// exmy/cli/compute_quant_error_args.hpp — the command line of compute_quant_error: its options
// (declare_options) and their check (check_options), which parses every value and enforces every
// size limit before any work starts (issue 8, "resource limits"), so bad input ends in one error
// line and exit code 2, never in an out-of-memory kill or hours of work. Separate from main() so
// that the fuzz target fuzz/fuzz_cli.cpp runs exactly this parsing on arbitrary argument sets.
#pragma once

#include <cmath>
#include <cstdint>
#include <iomanip>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/monte_carlo.hpp"
#include "exmy/sqnr/mx.hpp"
#include "exmy/sqnr/report.hpp"

namespace exmy::cli {

/// The paper's three laws (reference-spec §1), used when no --dist is given.
inline const char* const k_paper_dists[] = {"uniform:lo=-1,hi=1", "normal:mu=0,sigma=1,clip=10",
                                            "student_t:nu=8,clip=100"};

/// --block without --dist: continuous laws (the MX closed form refuses point masses, so the
/// paper's clipped laws are not the default here), and without --formats: the OCP MX elements.
inline const char* const k_mx_dists[] = {"normal:mu=0,sigma=1", "laplace:b=1", "student_t:nu=8"};
inline const char* const k_mx_formats = "e4m3fn,e5m2,e2m3fn,e3m2fn,e2m1fn,int8n";

/// Limits on what one run may ask for (README "Errors"). A cell is one (distribution, format,
/// maxval) evaluation; its record and output take about 1 KB, so 10^6 cells is ~1 GB.
constexpr std::size_t k_max_cells = 1000000;
/// Monte-Carlo draws ~5·10^7 samples per core-second (README "Monte-Carlo"): 10^11 per cell is
/// about half an hour of a 16-core machine, 10^12 in all several hours.
constexpr double k_max_samples_per_cell = 1e11;
constexpr double k_max_samples_total = 1e12;
/// --range reference keeps a 5·10^6-point sample (40 MB) per distribution in memory.
constexpr std::size_t k_max_reference_dists = 16;
/// More threads than this is a typo, not a machine (OpenMP would fail to create them).
constexpr int k_max_threads = 1024;

/// The option values as typed.
struct cqe_args {
  std::vector<std::string> dists;
  std::string formats = "paper", range = "reference", output = "table", file = "-", sweep,
              rounding = "rne", method = "analytic", device = "cpu", block;
  int bits = 8, threads = 0;
  double maxval = 0, samples = 1e7;
  std::uint64_t seed = 0;
  bool maxval_given = false;
};

/// The checked run: parsed laws, formats and modes, the sweep points.
struct cqe_plan {
  std::vector<distribution> laws;
  std::vector<format_spec> formats;
  range_method method = range_method::reference;
  rounding mode = rounding::rne;
  bool want_mc = false;
  mc_device device = mc_device::cpu;
  std::uint64_t samples = 0;
  std::vector<double> sweep_points;  ///< empty: one maxval per cell (chosen by the range method)
  /// --block: the formats as block-scaled (MX) formats, one per entry of `formats`; empty otherwise.
  std::vector<mx_spec> mx;
};

/// "%.10g" without locale surprises (error messages).
inline std::string cqe_num(double v) {
  std::ostringstream os;
  os << std::setprecision(10) << v;
  return os.str();
}

/// Declares the options of compute_quant_error on `app`, bound to `a`.
inline void declare_options(CLI::App& app, cqe_args& a) {
  app.add_option("--dist", a.dists,
                 "distribution spec, repeatable (e.g. normal:mu=0,sigma=1,clip=10, "
                 "student_t:nu=3, uniform:lo=-1,hi=1, laplace:b=1,clip=20, …,trunc=4)");
  app.add_option("--formats", a.formats, "format list: paper (default), all, or names");
  app.add_option("--bits", a.bits, "with --formats all: every split of this many bits");
  app.add_option("--range", a.range, "reference | optimal | fixed");
  app.add_option("--maxval", a.maxval, "the maxval for --range fixed");
  app.add_option("--rounding", a.rounding, "rne | rna | rtz | stochastic");
  app.add_option("--output", a.output, "table | csv | json");
  app.add_option("-o", a.file, "output file (written atomically; default stdout)");
  app.add_option("--threads", a.threads, "threads over (distribution, format) cells");
  app.add_option("--sweep-maxval", a.sweep, "LO:HI:COUNT — MSE at COUNT log-spaced maxvals");
  app.add_option("--method", a.method,
                 "analytic | mc | both: Monte-Carlo estimate at the same maxval, with its 95% CI "
                 "and z against the analytic MSE (records keep the analytic columns)");
  app.add_option("--samples", a.samples, "Monte-Carlo samples per cell (default 1e7)");
  app.add_option("--seed", a.seed, "Monte-Carlo seed (sample i is a function of seed and i)");
  app.add_option("--device", a.device, "Monte-Carlo device: cpu | cuda");
  app.add_option("--block", a.block,
                 "K[:floor|ceil|nearest] — block-scaled (MX) formats: every K elements share a "
                 "power-of-two scale from their maximum (OCP MX: 32:floor); replaces --range");
}

/// Parses and checks the option values (after app.parse); throws exmy::error naming the first
/// problem. Does no work and allocates nothing proportional to the requested sizes.
inline cqe_plan check_options(cqe_args& a, const CLI::App& app) {
  cqe_plan p;
  a.maxval_given = app.count("--maxval") > 0;
  if (a.output != "table" && a.output != "csv" && a.output != "json")
    throw error("--output '" + a.output + "': expected table, csv or json");
  if (a.bits < 3 || a.bits > 16) throw error("--bits " + std::to_string(a.bits) + " outside 3…16");
  if (a.threads < 0 || a.threads > k_max_threads)
    throw error("--threads " + std::to_string(a.threads) + ": expected 0 ≤ N ≤ " +
                std::to_string(k_max_threads));
  const bool mx = !a.block.empty();
  if (mx && (app.count("--range") || a.maxval_given || !a.sweep.empty()))
    throw error("--block: the block scale replaces the range; drop --range, --maxval and --sweep-maxval");
  p.method = mx ? range_method::fixed : parse_range_method(a.range);
  p.mode = parse_rounding(a.rounding);
  if (a.method != "analytic" && a.method != "mc" && a.method != "both")
    throw error("--method '" + a.method + "': expected analytic, mc or both");
  p.want_mc = a.method != "analytic";
  p.device = parse_mc_device(a.device);
  if (!(a.samples >= 1 && a.samples <= k_max_samples_per_cell && a.samples == std::floor(a.samples)))
    throw error("--samples " + cqe_num(a.samples) + ": expected an integer in 1…1e11");
  p.samples = static_cast<std::uint64_t>(a.samples);
  if (mx && p.want_mc && p.device != mc_device::cpu)
    throw error("--block: the Monte-Carlo engine runs block-scaled formats on the CPU (--device cpu)");
  if (!mx && p.method == range_method::fixed && !(a.maxval > 0 && std::isfinite(a.maxval)))
    throw error("--range fixed needs --maxval > 0 (got " + cqe_num(a.maxval) + ")");
  if (p.method != range_method::fixed && a.maxval_given)
    throw error("--maxval is only used with --range fixed");
  if (p.method == range_method::reference && p.mode != rounding::rne)
    throw error("--range reference reproduces the paper's RNE quantizers; use --rounding rne");
  if (a.dists.empty() && mx) a.dists.assign(std::begin(k_mx_dists), std::end(k_mx_dists));
  if (a.dists.empty()) a.dists.assign(std::begin(k_paper_dists), std::end(k_paper_dists));
  if (mx && app.count("--formats") == 0) a.formats = k_mx_formats;
  for (const auto& s : a.dists) {
    p.laws.push_back(parse_distribution(s));
    (void)view_of(p.laws.back());  // what the engine accepts (its range of scales)
  }
  p.formats = parse_format_list(a.formats, a.bits);
  if (mx)
    for (const format_spec& f : p.formats) p.mx.push_back(parse_mx(f, a.block));

  // Sweep: MSE vs maxval curves, one record per (distribution, format, maxval).
  std::size_t per_pair = 1;
  double lo = 0, hi = 0;
  long count = 0;
  if (!a.sweep.empty()) {
    char c1 = 0, c2 = 0;
    std::istringstream is(a.sweep);
    if (!(is >> lo >> c1 >> hi >> c2 >> count) || c1 != ':' || c2 != ':' || !is.eof() ||
        !(lo > 0) || !(hi > lo) || !std::isfinite(hi / lo) || count < 2 || count > 1000000)
      throw error("--sweep-maxval '" + a.sweep +
                  "': expected LO:HI:COUNT with 0 < LO < HI, HI/LO finite and 2 ≤ COUNT ≤ 1e6");
    per_pair = static_cast<std::size_t>(count);
  }
  // Sizes: laws, formats and sweep points are each at most ~10^6 here, so the products fit.
  const double cells = double(p.laws.size()) * double(p.formats.size()) * double(per_pair);
  if (cells > double(k_max_cells))
    throw error(std::to_string(p.laws.size()) + " distributions × " +
                std::to_string(p.formats.size()) + " formats × " + std::to_string(per_pair) +
                " maxvals = " + cqe_num(cells) + " cells: at most " + std::to_string(k_max_cells) +
                " per run");
  if (p.want_mc && cells * a.samples > k_max_samples_total)
    throw error("--samples " + cqe_num(a.samples) + " × " + cqe_num(cells) +
                " cells: at most 1e12 Monte-Carlo samples per run");
  if (p.method == range_method::reference && a.sweep.empty() &&
      p.laws.size() > k_max_reference_dists)
    throw error(std::to_string(p.laws.size()) + " distributions with --range reference: at most " +
                std::to_string(k_max_reference_dists) +
                " (each keeps a 5e6-point sample in memory; use --range optimal)");
  for (long i = 0; i < count; ++i)
    p.sweep_points.push_back(lo * std::pow(hi / lo, double(i) / double(count - 1)));
  // A given maxval must scale every format's grid within double precision; the grid's extent
  // grows with maxval, so the ends of a sweep decide for the points between them.
  std::vector<std::pair<const char*, double>> given;
  if (!mx && p.method == range_method::fixed && a.sweep.empty()) given.push_back({"--maxval", a.maxval});
  if (!p.sweep_points.empty()) given = {{"--sweep-maxval", lo}, {"--sweep-maxval", hi}};
  for (const auto& [opt, m] : given)
    for (const format_spec& f : p.formats) {
      if (f.is_affine()) continue;  // refused per cell: an affine format has no maxval
      try {
        (void)make_params(f, m);
      } catch (const error& e) {
        throw error(std::string(opt) + " " + cqe_num(m) + ": " + e.what());
      }
    }
  return p;
}

}  // namespace exmy::cli
