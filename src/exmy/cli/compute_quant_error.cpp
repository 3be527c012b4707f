// compute_quant_error — expected quantization error of number formats under distributions
// (the analytic engine; reproduces the table of "FP8 Quantization: The Power of the Exponent").
//
// With no arguments it prints the paper's table in the paper's layout (reference-spec §1:
// reference range search, three distributions, five formats) with the standard SQNR beside the
// paper's "SQNR" (which is −10·log10 MSE, reference-spec Q1).
// --method mc|both adds the Monte-Carlo engine (sqnr/monte_carlo.hpp) at the same maxval: its MSE, a
// 95 % interval and the z-score against the closed form, per cell.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "exmy/cli/cli_common.hpp"
#include "exmy/cli/compute_quant_error_args.hpp"
#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/sqnr/range_optimal.hpp"
#include "exmy/sqnr/range_reference.hpp"
#include "exmy/sqnr/monte_carlo.hpp"
#include "exmy/sqnr/mx.hpp"
#include "exmy/sqnr/report.hpp"

namespace {

constexpr int k_schema_version = 1;

using exmy::cli::k_paper_dists;

std::string sci(double v) {  // Python's "{:.2e}"
  char b[64];
  std::snprintf(b, sizeof b, "%.2e", v);
  return b;
}

std::string num(double v, int prec = 10) {
  std::ostringstream os;
  os << std::setprecision(prec) << v;
  return os.str();
}

// The paper's distribution headers (compute_quant_error.py) for its three laws; the canonical
// spec otherwise.
std::string header_of(const std::string& spec) {
  if (spec == k_paper_dists[0]) return "Uniform distribution on [ -1.0 , 1.0 ]";
  if (spec == k_paper_dists[1])
    return "Gaussian distr  , mu =  0.0 , sigma =  1.0  clipped at [ -10.0 , 10.0 ]";
  if (spec == k_paper_dists[2]) return "Student's-t distr , nu =  8.0  clipped at [ -100.0 , 100.0 ]";
  return "Distribution " + spec;
}

// The paper labels formats "FP8 e E m M" (INT8 as "FP8 0 E 7 M", Q8); other formats by name.
std::string label_of(const exmy::format_spec& f) {
  if (f.bits == 8 && f.is_signed && f.is_float() && f.enc == exmy::encoding::finite &&
      f.name == "e" + std::to_string(f.exp_bits) + "m" + std::to_string(f.man_bits))
    return "FP8 " + std::to_string(f.exp_bits) + " E " + std::to_string(f.man_bits) + " M";
  if (f.name == "int8") return "FP8 0 E 7 M";
  std::string s = f.name;
  while (s.size() < 11) s += ' ';
  return s;
}

nlohmann::json record_json(const exmy::sqnr_record& r, const exmy::mx_spec* mx = nullptr) {
  const auto& m = r.moments;
  if (mx) {  // block-scaled: no single maxval, no dot-product model (scales shared within a block)
    return {{"distribution", r.distribution}, {"format", r.format},
            {"element_format", mx->element.name}, {"block", mx->block},
            {"block_rule", exmy::to_string(mx->rule)}, {"range_method", "block"},
            {"rounding", exmy::to_string(r.mode)}, {"maxval", nullptr},
            {"mse", m.mse}, {"sqnr_db", m.sqnr_db()}, {"paper_db", m.paper_db()},
            {"second_moment", m.second_moment}, {"dot_mse", nullptr}, {"dot_sqnr_db", nullptr},
            {"clip_mse", m.clip_mse}, {"round_mse", m.round_mse}, {"subnormal_mse", m.subnormal_mse}};
  }
  return {{"distribution", r.distribution},  {"format", r.format},
          {"range_method", exmy::to_string(r.method)},
          {"rounding", exmy::to_string(r.mode)}, {"maxval", r.maxval},
          {"mse", m.mse},                        {"sqnr_db", m.sqnr_db()},
          {"paper_db", m.paper_db()},            {"second_moment", m.second_moment},
          {"dot_mse", r.dot_mse},                {"dot_sqnr_db", r.dot_sqnr_db},
          {"clip_mse", m.clip_mse},              {"round_mse", m.round_mse},
          {"subnormal_mse", m.subnormal_mse}};
}

const char* const k_columns[] = {"distribution", "format",   "range_method", "rounding",
                                 "maxval",       "mse",      "sqnr_db",      "paper_db",
                                 "second_moment", "dot_mse", "dot_sqnr_db",  "clip_mse",
                                 "round_mse",    "subnormal_mse"};

std::string csv_field(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    return s.find(',') != std::string::npos ? "\"" + s + "\"" : s;
  }
  if (v.is_null()) return "";
  const double d = v.get<double>();
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (std::isnan(d)) return "nan";
  return num(d, 17);
}

// Monte-Carlo results of a cell (--method mc|both, issue 4 of exmy): the estimate, its 95 %
// interval and z against the analytic MSE at the same maxval.
struct mc_cell {
  bool run = false;
  exmy::mc_result r;
  double z = NAN;
};

const char* const k_mc_columns[] = {"mc_mse",     "mc_ci95_lo", "mc_ci95_hi",  "mc_samples",
                                    "mc_seed",    "z",          "mc_sqnr_db",  "mc_paper_db"};

void add_mc_json(nlohmann::json& j, const mc_cell& c) {
  j["mc_mse"] = c.r.mse;
  j["mc_ci95_lo"] = c.r.ci95_lo;  // NaN (null in JSON) when the interval is undefined
  j["mc_ci95_hi"] = c.r.ci95_hi;
  j["mc_samples"] = c.r.samples;
  j["mc_seed"] = c.r.seed;
  j["z"] = c.z;
  j["mc_sqnr_db"] = c.r.sqnr_db();
  j["mc_paper_db"] = c.r.paper_db();
  if (!c.r.ci_defined) j["mc_ci_reason"] = c.r.ci_reason;
}

// "MSE 1.78e-04  95% CI [1.776e-04, 1.779e-04]  z -0.95" (or the reason there is no interval).
std::string mc_text(const mc_cell& c) {
  char b[160];
  if (c.r.ci_defined && std::isnan(c.z))  // no closed form to compare with (--method mc)
    std::snprintf(b, sizeof b, "MSE %.2e  95%% CI [%.4e, %.4e]", c.r.mse, c.r.ci95_lo, c.r.ci95_hi);
  else if (c.r.ci_defined)
    std::snprintf(b, sizeof b, "MSE %.2e  95%% CI [%.4e, %.4e]  z %+.2f", c.r.mse, c.r.ci95_lo,
                  c.r.ci95_hi, c.z);
  else
    std::snprintf(b, sizeof b, "MSE %.2e  95%% CI undefined", c.r.mse);
  std::string s = b;
  if (!c.r.ci_defined) s += " (" + c.r.ci_reason + ")";
  return s;
}

// Ctrl-C during the Monte-Carlo pass: the first stops the run cleanly (the output file is written
// only at the end, atomically, so nothing half-written is left); a second one exits at once.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) {
  if (g_interrupted) std::_Exit(130);
  g_interrupted = 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "compute_quant_error: expected quantization MSE / SQNR of number formats under "
      "distributions (analytic engine)"};
  exmy::cli::cqe_args args;
  exmy::cli::declare_options(app, args);
  return exmy::cli::run_tool("compute_quant_error", app, argc, argv, [&]() {
    // Every option parsed and every size checked before any work (compute_quant_error_args.hpp).
    const exmy::cli::cqe_plan plan = exmy::cli::check_options(args, app);
    const std::vector<exmy::distribution>& laws = plan.laws;
    const std::vector<exmy::format_spec>& fs = plan.formats;
    const std::vector<double>& sweep_points = plan.sweep_points;
    const exmy::range_method method = plan.method;
    const exmy::rounding mode = plan.mode;
    const bool want_mc = plan.want_mc;
    const std::string& output = args.output;
    const int threads = args.threads;
    const double maxval = args.maxval;

    // Cells and samples run side by side on --threads threads (0: every core).
    const int team =
        threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

    // Reference mode: one sample per distribution, reused for every format (reference-spec §1).
    // Each is one sequential random stream, so the distributions are drawn and sorted side by
    // side (one law alone keeps the cores for its sort).
    std::vector<std::unique_ptr<exmy::sorted_sample>> samples(laws.size());
    std::vector<std::string> sample_errors(laws.size());
    if (method == exmy::range_method::reference && sweep_points.empty()) {
      const int sample_team = static_cast<int>(std::min<std::size_t>(laws.size(), team));
#pragma omp parallel for schedule(dynamic) num_threads(sample_team)
      for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(laws.size()); ++i) {
        // Last law first: the paper's Student-t sampler is the slowest of its three.
        const std::size_t d = laws.size() - 1 - static_cast<std::size_t>(i);
        try {
          samples[d] = std::make_unique<exmy::sorted_sample>(exmy::reference_sample(laws[d]));
        } catch (const std::exception& e) {
          sample_errors[d] = e.what();
        }
      }
    }
    for (const auto& e : sample_errors)
      if (!e.empty()) throw exmy::error(e);

    struct job {
      std::size_t d, f;
      double maxval;
    };
    std::vector<job> jobs;
    for (std::size_t d = 0; d < laws.size(); ++d)
      for (std::size_t f = 0; f < fs.size(); ++f) {
        if (sweep_points.empty()) jobs.push_back({d, f, maxval});
        else
          for (double m : sweep_points) jobs.push_back({d, f, m});
      }
    std::vector<exmy::sqnr_record> recs(jobs.size());
    std::vector<std::string> errors(jobs.size());
#pragma omp parallel for schedule(dynamic) num_threads(team)
    for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(jobs.size()); ++i) {
      const job& j = jobs[static_cast<std::size_t>(i)];
      exmy::evaluate_options o;
      o.mode = mode;
      o.method = sweep_points.empty() ? method : exmy::range_method::fixed;
      o.maxval = j.maxval;
      o.sample = samples[j.d].get();
      try {
        if (!plan.mx.empty()) {
          exmy::sqnr_record r;
          r.distribution = exmy::to_string(laws[j.d]);
          r.format = exmy::to_string(plan.mx[j.f]);
          r.mode = mode;
          r.maxval = NAN;
          r.dot_mse = r.dot_sqnr_db = r.dot_paper_db = NAN;
          if (args.method != "mc") {
            r.moments = exmy::mx_analytic_moments(laws[j.d], plan.mx[j.f], mode);
          } else {  // Monte-Carlo only: the closed form may not exist (point masses)
            r.moments.mse = NAN;
            r.moments.second_moment = exmy::second_moment(laws[j.d]);
          }
          recs[static_cast<std::size_t>(i)] = r;
          continue;
        }
        recs[static_cast<std::size_t>(i)] = exmy::evaluate(laws[j.d], fs[j.f], o);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
      }
    }
    for (const auto& e : errors)
      if (!e.empty()) throw exmy::error(e);

    // Monte-Carlo pass, cell by cell, each on every thread (or the device). A progress line on
    // stderr when it is a terminal and the pass has run for 2 s.
    std::vector<mc_cell> mc(recs.size());
    if (want_mc) {
      const bool tty = isatty(STDERR_FILENO) != 0;
      const auto t0 = std::chrono::steady_clock::now();
      auto last = t0;
      bool shown = false;
      g_interrupted = 0;
      const auto old_handler = std::signal(SIGINT, on_sigint);
      struct restore {
        void (*h)(int);
        ~restore() { std::signal(SIGINT, h); }
      } restore_handler{old_handler};
      for (std::size_t i = 0; i < recs.size(); ++i) {
        exmy::mc_options o;
        o.samples = plan.samples;
        o.seed = args.seed;
        o.mode = mode;
        o.threads = threads;
        o.device = plan.device;
        o.progress = [&](std::uint64_t done, std::uint64_t total) {
          if (g_interrupted) return false;
          const auto now = std::chrono::steady_clock::now();
          if (tty && now - t0 > std::chrono::seconds(2) &&
              now - last > std::chrono::milliseconds(200)) {
            last = now;
            shown = true;
            std::fprintf(stderr, "\rMonte-Carlo: cell %zu/%zu %3.0f%%", i + 1, recs.size(),
                         100.0 * static_cast<double>(done) / static_cast<double>(total));
          }
          return true;
        };
        mc[i].r = plan.mx.empty()
                      ? exmy::monte_carlo_mse(laws[jobs[i].d], exmy::make_params(fs[jobs[i].f], recs[i].maxval), o)
                      : exmy::monte_carlo_mx(laws[jobs[i].d], plan.mx[jobs[i].f], o);
        mc[i].run = true;
        mc[i].z = exmy::z_score(mc[i].r, recs[i].moments.mse);
      }
      if (shown) std::fprintf(stderr, "\r%60s\r", "");
    }

    std::ostringstream os;
    if (output == "json") {
      nlohmann::json j = exmy::cli::provenance(k_schema_version, argc, argv);
      j["records"] = nlohmann::json::array();
      for (std::size_t i = 0; i < recs.size(); ++i) {
        nlohmann::json rj = record_json(recs[i], plan.mx.empty() ? nullptr : &plan.mx[jobs[i].f]);
        if (mc[i].run) add_mc_json(rj, mc[i]);
        j["records"].push_back(rj);
      }
      os << j.dump(2) << "\n";
    } else if (output == "csv") {
      os << "# schema_version=" << k_schema_version << " exmy_version=" << exmy::version()
         << " git_sha=" << EXMY_GIT_SHA << " date=" << exmy::cli::utc_date()
         << " command=" << exmy::cli::command_line(argc, argv)
         << "\n";
      std::vector<std::string> cols(std::begin(k_columns), std::end(k_columns));
      if (!plan.mx.empty()) cols.insert(cols.begin() + 2, {"element_format", "block", "block_rule"});
      if (want_mc) cols.insert(cols.end(), std::begin(k_mc_columns), std::end(k_mc_columns));
      for (std::size_t c = 0; c < cols.size(); ++c) os << (c ? "," : "") << cols[c];
      os << "\n";
      for (std::size_t i = 0; i < recs.size(); ++i) {
        nlohmann::json j = record_json(recs[i], plan.mx.empty() ? nullptr : &plan.mx[jobs[i].f]);
        if (mc[i].run) add_mc_json(j, mc[i]);
        for (std::size_t c = 0; c < cols.size(); ++c) os << (c ? "," : "") << csv_field(j[cols[c]]);
        os << "\n";
      }
    } else {
      // The paper's layout (compute_quant_error.py), then the standard SQNR and the maxval.
      std::string current;
      for (const auto& r : recs) {
        if (r.distribution != current) {
          current = r.distribution;
          os << std::string(80, '*') << "\n" << header_of(current) << "\n";
        }
        const auto& m = r.moments;
        const mc_cell& mcc = mc[static_cast<std::size_t>(&r - recs.data())];
        if (!plan.mx.empty()) {  // block-scaled: the format and rule, the SQNR, no maxval
          std::string label = r.format;
          while (label.size() < 22) label += ' ';
          os << label;
          if (args.method != "mc")
            os << " expected MSE " << sci(m.mse) << "  sqnr_db " << std::fixed << std::setprecision(3)
               << m.sqnr_db() << std::defaultfloat << "\n";
          if (mcc.run)
            os << (args.method != "mc" ? std::string(22, ' ') : std::string()) << " Monte-Carlo  "
               << mc_text(mcc) << "  sqnr_db " << std::fixed << std::setprecision(3)
               << mcc.r.sqnr_db() << std::defaultfloat << "  (" << mcc.r.samples << " samples, seed "
               << mcc.r.seed << ")\n";
          continue;
        }
        const exmy::format_spec f = exmy::parse_format(r.format);
        if (args.method == "mc") {  // the Monte-Carlo estimate in place of the closed form
          os << label_of(f) << " Quantization: Monte-Carlo " << mc_text(mcc) << "  SQNR  "
             << sci(mcc.r.paper_db()) << "   | sqnr_db " << std::fixed << std::setprecision(3)
             << mcc.r.sqnr_db() << std::defaultfloat << "  maxval " << num(r.maxval, 7) << " ("
             << exmy::to_string(r.method) << ")\n";
          continue;
        }
        os << label_of(f) << " Quantization: expected MSE " << sci(m.mse) << "  SQNR  "
           << sci(m.paper_db()) << "   | sqnr_db " << std::fixed << std::setprecision(3)
           << m.sqnr_db() << std::defaultfloat << "  maxval " << num(r.maxval, 7) << " ("
           << exmy::to_string(r.method) << ")\n";
        os << "            Dot product:  expected MSE " << sci(r.dot_mse) << "  SQNR  "
           << sci(r.dot_paper_db) << "   | dot_sqnr_db " << std::fixed << std::setprecision(3)
           << r.dot_sqnr_db << std::defaultfloat << "\n";
        if (mcc.run)
          os << "            Monte-Carlo:  " << mc_text(mcc) << "  (" << mcc.r.samples
             << " samples, seed " << mcc.r.seed << ")\n";
      }
    }
    exmy::cli::write_atomic(args.file, os.str());
    return 0;
  });
}
