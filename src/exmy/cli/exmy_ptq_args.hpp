// exmy/cli/exmy_ptq_args.hpp — the command line of exmy-ptq: its options (declare_options) and
// their check (check_options), which parses every value and enforces the size limits before any
// file is opened (issue 8, "resource limits"): bad input ends in one error line and exit code 2.
// Separate from main() so that the fuzz target fuzz/fuzz_cli.cpp runs exactly this parsing.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/format_choice.hpp"

namespace exmy::cli {

/// Limits (README "Errors"): the kl estimator builds a histogram of --kl-bins doubles per tensor
/// and tries every bin from --kl-start-bin on (quadratic in the bins); a regular expression
/// longer than this is not a tensor name filter (libstdc++ compiles and matches it recursively,
/// so length bounds its stack use); more threads than this is a typo (OpenMP cannot create them).
constexpr int k_max_kl_bins = 1 << 16;
constexpr std::size_t k_max_regex_chars = 256;
constexpr int k_ptq_max_threads = 1024;

/// The option values as typed.
struct ptq_args {
  std::string model, formats = "all", gran = "tensor", estimator = "current_minmax",
                     device = "cpu", output, file = "-", write_path, export_path,
                     rounding = "rne", scale = "exact", kl_grouping = "format_cells", include,
                     write_format, predict = "best";
  int bits = 8, threads = 0, kl_bins = 2048, kl_start = 128;
  double momentum = 0.9, percentile = 99.99;
  bool vote = false, asymmetric = false, reduce = false, no_fit = false;
};

/// The checked run.
struct ptq_plan {
  ptq_options opt;
  std::vector<format_spec> effective;  ///< effective_formats(opt)
  int write_k = -1;                    ///< --write-format's candidate index, −1: each tensor's best
  std::string output;                  ///< table | csv | json
  std::regex filter;                   ///< --include (unused when empty)
};

inline bool ptq_ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

/// Declares the options of exmy-ptq on `app`, bound to `a`.
inline void declare_options(CLI::App& app, ptq_args& a) {
  app.add_option("MODEL", a.model, "tensor file: .npy, .npz, .safetensors or .onnx")->required();
  app.add_option("--formats", a.formats,
                 "candidates: comma-separated names, 'all' (every split + int) or 'paper'");
  app.add_option("--bits", a.bits, "bit width of 'all' / 'paper' (default 8)");
  app.add_option("--granularity", a.gran,
                 "tensor | channel[:AXIS] | block:K[:AXIS][:floor|ceil|nearest] | "
                 "group:G[:AXIS][:sym|asym]");
  app.add_option("--estimator", a.estimator,
                 "current_minmax | allminmax | running_minmax | mse | kl | percentile | analytic");
  app.add_option("--momentum", a.momentum, "running_minmax momentum (0.9)");
  app.add_option("--percentile", a.percentile, "percentile estimator: p in (0, 100] (99.99)");
  app.add_flag("--mantissa-vote", a.vote, "mse: also report the paper's per-channel mantissa vote");
  app.add_option("--kl-bins", a.kl_bins, "kl: histogram bins (2048)");
  app.add_option("--kl-start-bin", a.kl_start, "kl: first candidate bin (128)");
  app.add_option("--kl-grouping", a.kl_grouping, "kl: format_cells | uniform_levels");
  app.add_flag("--asymmetric", a.asymmetric, "integer formats with a zero point (uintNa)");
  app.add_flag("--reduce-range", a.reduce, "integer formats lose one bit (7-bit INT8)");
  app.add_option("--rounding", a.rounding, "rne | rna | rtz | sr");
  app.add_option("--scale", a.scale, "exact | hardware");
  app.add_option("--device", a.device, "cpu | cuda | cuda:N (measurement pass)");
  app.add_option("--output", a.output,
                 "table | json | csv (default: from -o's extension, else table)");
  app.add_option("-o", a.file, "output file ('-': stdout)");
  app.add_option("--include", a.include, "only tensors whose name matches this regular expression");
  app.add_option("--write", a.write_path, "write fake-quantized tensors (.safetensors or .npy)");
  app.add_option("--write-format", a.write_format,
                 "quantize --write/--export with this candidate instead of each tensor's best");
  app.add_option("--export", a.export_path, "write real codes + scales (.safetensors)");
  app.add_flag("--no-fit", a.no_fit, "skip the normal / Student-t fits and predictions");
  app.add_option("--predict-optimal", a.predict,
                 "none | best | all: candidates that get the fitted law's optimal-range SQNR");
  app.add_option("--threads", a.threads, "CPU threads (0: OpenMP default)");
}

/// Parses and checks the option values (after app.parse); throws exmy::error naming the first
/// problem. Opens no file.
inline ptq_plan check_options(const ptq_args& a) {
  ptq_plan p;
  p.output = a.output;
  if (p.output.empty())
    p.output = ptq_ends_with(a.file, ".json") ? "json" : ptq_ends_with(a.file, ".csv") ? "csv" : "table";
  if (p.output != "table" && p.output != "csv" && p.output != "json")
    throw error("--output '" + p.output + "': expected table, csv or json");
  ptq_options& o = p.opt;
  o.formats = parse_format_list(a.formats, a.bits);
  o.gran = parse_granularity(a.gran);
  o.est.kind = parse_estimator(a.estimator);
  o.est.momentum = a.momentum;
  o.est.percentile = a.percentile;
  o.est.mantissa_vote = a.vote;
  o.est.kl_bins = a.kl_bins;
  o.est.kl_start_bin = a.kl_start;
  if (a.kl_grouping == "format_cells") o.est.kl_mode = kl_grouping::format_cells;
  else if (a.kl_grouping == "uniform_levels") o.est.kl_mode = kl_grouping::uniform_levels;
  else throw error("--kl-grouping '" + a.kl_grouping + "': expected format_cells or uniform_levels");
  if (!(a.percentile > 0 && a.percentile <= 100)) throw error("--percentile must lie in (0, 100]");
  if (!(a.momentum >= 0 && a.momentum <= 1)) throw error("--momentum must lie in [0, 1]");
  if (a.kl_bins < 2 || a.kl_start < 1) throw error("--kl-bins must be ≥ 2 and --kl-start-bin ≥ 1");
  if (a.kl_bins > k_max_kl_bins)
    throw error("--kl-bins " + std::to_string(a.kl_bins) + ": at most " +
                std::to_string(k_max_kl_bins));
  if (a.vote && o.est.kind != estimator_kind::mse)
    throw error("--mantissa-vote applies to the mse estimator only");
  o.symmetric = !a.asymmetric;
  o.reduce_range = a.reduce;
  o.mode = parse_rounding(a.rounding);
  o.est.mode = o.mode;
  o.scale = parse_scale_mode(a.scale);
  o.device = parse_device(a.device);
  o.analysis = !a.no_fit;
  o.predict_optimal = parse_optimal_prediction(a.predict);
  if (a.threads < 0 || a.threads > k_ptq_max_threads)
    throw error("--threads " + std::to_string(a.threads) + ": expected 0 ≤ N ≤ " +
                std::to_string(k_ptq_max_threads));
  validate(o);
  p.effective = effective_formats(o);
  if (!a.write_format.empty()) {
    const format_spec wf = parse_format(a.write_format);
    for (std::size_t k = 0; k < o.formats.size(); ++k)
      if (o.formats[k].name == wf.name || p.effective[k].name == wf.name) p.write_k = static_cast<int>(k);
    if (p.write_k < 0) throw error("--write-format '" + a.write_format + "' is not a candidate");
  }
  if (!a.write_path.empty() && !ptq_ends_with(a.write_path, ".safetensors") &&
      !ptq_ends_with(a.write_path, ".npy"))
    throw error("--write '" + a.write_path + "': expected a .safetensors or .npy file name");
  if (!a.export_path.empty() && !ptq_ends_with(a.export_path, ".safetensors"))
    throw error("--export '" + a.export_path + "': expected a .safetensors file name");
  if (!a.include.empty()) {
    if (a.include.size() > k_max_regex_chars)
      throw error("--include: a regular expression of " + std::to_string(a.include.size()) +
                  " characters; at most " + std::to_string(k_max_regex_chars));
    try {
      p.filter = std::regex(a.include);
    } catch (const std::regex_error& e) {
      throw error("--include '" + a.include + "': " + e.what());
    }
  }
  return p;
}

}  // namespace exmy::cli
