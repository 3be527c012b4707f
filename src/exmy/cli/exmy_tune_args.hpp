// exmy/cli/exmy_tune_args.hpp — the command line of exmy-tune: its options (declare_options) and
// their check (check_options), which parses every value before the model and data are read
// (issue 8): bad input ends in one error line and exit code 2. Separate from main() so that the
// fuzz target fuzz/fuzz_cli.cpp runs exactly this parsing.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/image_set.hpp"
#include "exmy/ptq/measure.hpp"
#include "exmy/ptq/tuning.hpp"

namespace exmy::cli {

/// More threads than this is a typo, not a machine (OpenMP cannot create them).
constexpr int k_tune_max_threads = 1024;

/// The option values as typed.
struct tune_args {
  std::string model = "results/models/fashion_cnn.safetensors", data = fashion_mnist_dir;
  std::string formats = "e4m3", strategy = "sensitivity", measure = "output", widen, device = "cpu";
  std::string bn = "fold", acts = "static", act_est = "allminmax", weight_est = "current_minmax";
  std::string op_types = "conv2d,linear,add,pool,logits", rounding = "rne", scale = "exact";
  std::string output = "-";
  double tolerable_loss = 0.01, timeout = 600;
  int max_trials = 50, threads = 0;
  std::int64_t calib = 300, eval_images = 10000;
  bool evaluate_only = false, independent = false, keep_first = false, keep_last = false;
  bool per_tensor = false, symmetric_int_acts = false;
};

/// The checked run: one base config per format, the tuning options, the device.
struct tune_plan {
  device_spec dev;
  std::vector<quant_config> set;
  tuning_options topt;
  bn_mode bn = bn_mode::fold;
};

/// Declares the options of exmy-tune on `app`, bound to `a`.
inline void declare_options(CLI::App& app, tune_args& a) {
  app.add_option("--model", a.model, "safetensors file with the weights and the graph")->capture_default_str();
  app.add_option("--data", a.data, "Fashion-MNIST IDX directory")->capture_default_str();
  app.add_option("--formats", a.formats, "comma-separated formats, one base config each")->capture_default_str();
  app.add_option("--tolerable-loss", a.tolerable_loss, "relative accuracy loss allowed")->capture_default_str();
  app.add_option("--strategy", a.strategy, "order | inc-fp8 | sensitivity")->capture_default_str();
  app.add_option("--measure", a.measure, "sensitivity: output | tensor | analytic")->capture_default_str();
  app.add_option("--widen", a.widen, "sensitivity: widen sensitive units to this format instead of fp32");
  app.add_option("--max-trials", a.max_trials, "evaluations at most")->capture_default_str();
  app.add_option("--timeout", a.timeout, "seconds (0: none)")->capture_default_str();
  app.add_option("--device", a.device, "cpu | cuda[:N]")->capture_default_str();
  app.add_option("--calib", a.calib, "calibration images (the first N training images)")->capture_default_str();
  app.add_option("--eval-images", a.eval_images, "evaluation images (the first N test images)")->capture_default_str();
  app.add_option("--bn", a.bn, "BatchNorm: fold | keep | reestimate")->capture_default_str();
  app.add_option("--acts", a.acts, "activation ranges: static | dynamic")->capture_default_str();
  app.add_option("--act-estimator", a.act_est, "static activation range estimator")->capture_default_str();
  app.add_option("--weight-estimator", a.weight_est, "weight range estimator (per channel)")->capture_default_str();
  app.add_option("--op-types", a.op_types, "allow-list of op types")->capture_default_str();
  app.add_flag("--keep-first-conv", a.keep_first, "keep the first conv in fp32");
  app.add_flag("--keep-last-linear", a.keep_last, "keep the last linear in fp32");
  app.add_flag("--per-tensor-weights", a.per_tensor, "one weight scale per tensor (default: per channel)");
  app.add_flag("--symmetric-int-acts", a.symmetric_int_acts, "integer activations symmetric (no zero point)");
  app.add_option("--rounding", a.rounding, "rne | rna | rtz")->capture_default_str();
  app.add_option("--scale", a.scale, "exact | hardware")->capture_default_str();
  app.add_flag("--evaluate", a.evaluate_only, "evaluate each format as one config; no tuning");
  app.add_flag("--independent", a.independent, "tune each format on its own (one run per format)");
  app.add_option("--threads", a.threads, "CPU threads (0: OpenMP default)");
  app.add_option("-o,--output", a.output, "JSON output file ('-': stdout)")->capture_default_str();
}

/// Parses and checks the option values (after app.parse); throws exmy::error naming the first
/// problem. Reads no file. (Whether a CUDA device is present is checked by the caller, with
/// require_device.)
inline tune_plan check_options(const tune_args& a) {
  tune_plan p;
  p.dev = parse_device(a.device);
  if (a.threads < 0 || a.threads > k_tune_max_threads)
    throw error("--threads " + std::to_string(a.threads) + ": expected 0 ≤ N ≤ " +
                std::to_string(k_tune_max_threads));
  if (a.calib < 1 || a.eval_images < 1) throw error("--calib and --eval-images must be ≥ 1");
  if (!(a.tolerable_loss >= 0 && a.tolerable_loss <= 1))
    throw error("--tolerable-loss must lie in [0, 1]");
  if (!(a.timeout >= 0 && std::isfinite(a.timeout)))
    throw error("--timeout must be a finite number of seconds ≥ 0");
  if (a.max_trials < 1) throw error("--max-trials must be ≥ 1");

  quant_config proto;
  proto.op_types.clear();
  for (std::size_t s = 0; s <= a.op_types.size();) {
    const std::size_t e = std::min(a.op_types.find(',', s), a.op_types.size());
    if (e > s) proto.op_types.push_back(parse_unit_type(a.op_types.substr(s, e - s)));
    s = e + 1;
  }
  proto.keep_first_conv = a.keep_first;
  proto.keep_last_linear = a.keep_last;
  proto.weight_per_channel = !a.per_tensor;
  proto.weight_est.kind = parse_estimator(a.weight_est);
  proto.act_est.kind = parse_estimator(a.act_est);
  proto.acts = parse_act_mode(a.acts);
  proto.act_int_affine = !a.symmetric_int_acts;
  proto.mode = parse_rounding(a.rounding);
  proto.scale = parse_scale_mode(a.scale);
  for (const format_spec& f : parse_format_list(a.formats)) {
    quant_config c = proto;
    c.name = f.name;
    c.weight_format = c.act_format = f;
    p.set.push_back(c);
  }
  p.topt.strategy = parse_tuning_strategy(a.strategy);
  p.topt.measure = parse_sensitivity_measure(a.measure);
  if (!a.widen.empty()) p.topt.widen = parse_format(a.widen);
  p.bn = parse_bn_mode(a.bn);
  return p;
}

}  // namespace exmy::cli
