// exmy/ptq/tuning.hpp — accuracy-driven tuning of a quantized network (issue 6, "Accuracy-driven
// tuning"; anchors.md b2: INC 3.x `autotune(TuningConfig(config_set, tolerable_loss, max_trials))`,
// b1: INC fp8_v1 `next_tune_cfg_fp8`).
//
// A trial is one evaluation: convert with a config and measure accuracy on the evaluation set.
// Tuning stops at the first trial whose relative loss (baseline − accuracy) / baseline is at most
// tolerable_loss; otherwise, when max_trials or the timeout is reached or the strategy has nothing
// left to try, it returns the best trial (highest accuracy, the first on ties).
//
// Strategies, each run over the configs of config_set in order (one "base" config at a time):
//   in_order     the configs as given (INC 3.x autotune).
//   inc_fp8      INC's FP8 op-type strategy: (1) every allowed op type; (2) conv2d + linear only;
//                (3) the same with the first conv and the last linear in float32; then INC's basic
//                strategy op-wise fallback: (4) each remaining quantized unit alone back to float32,
//                in graph order, (5) fallbacks accumulated in the order of the accuracy each one
//                alone gave. Every step is a full evaluation. (INC keeps adding op types after a
//                pass to widen coverage; with stop-at-first-pass semantics that never runs.)
//   sensitivity  exmy's: (1) every allowed op type; then rank the quantized units by sensitivity —
//                the SQNR of the network's logits on the calibration images with only that unit
//                quantized (measured; no labels, no accuracy evaluation), or the SQNR of the
//                unit's own tensors (measured or analytic) — and fall back (or widen to another
//                format) the k most sensitive units, k = 1, 2, …, one evaluation each.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "exmy/ptq/image_set.hpp"
#include "exmy/ptq/quantized_network.hpp"

namespace exmy {

/// INC 3.x TuningConfig.
struct tuning_config {
  std::vector<quant_config> config_set;
  double tolerable_loss = 0.01;  ///< relative to the float32 accuracy
  int max_trials = 100;
  double timeout_s = 0;          ///< wall-clock budget of the evaluations; 0: none
};

enum class tuning_strategy : std::uint8_t { in_order, inc_fp8, sensitivity };
const char* to_string(tuning_strategy s);
/// Parses "order" (or "in_order"), "inc-fp8" (or "inc_fp8"), "sensitivity"; throws exmy::error.
tuning_strategy parse_tuning_strategy(const std::string& s);

/// How the sensitivity strategy ranks units.
enum class sensitivity_measure : std::uint8_t {
  output,    ///< logits SQNR with only the unit quantized (forward passes on calibration images)
  tensor,    ///< measured SQNR of the unit's own weight and activations (noise-to-signal summed)
  analytic,  ///< the same predicted from normal / Student-t fits (sqnr/report.hpp evaluate)
};
const char* to_string(sensitivity_measure m);
/// Parses "output" | "tensor" | "analytic"; throws exmy::error.
sensitivity_measure parse_sensitivity_measure(const std::string& s);

struct tuning_options {
  tuning_strategy strategy = tuning_strategy::sensitivity;
  sensitivity_measure measure = sensitivity_measure::output;
  std::optional<format_spec> widen;  ///< sensitivity: give fallen-back units this format, not fp32
};

/// One unit's sensitivity score (lower SQNR = more sensitive).
struct sensitivity_entry {
  std::string unit;
  double sqnr_db = 0;
};

/// One evaluation.
struct trial_record {
  int trial = 0;                ///< 1-based
  int base = 0;                 ///< index into config_set
  std::string step;             ///< what the strategy tried ("all op types", "fallback conv3" …)
  quant_config config;
  double accuracy = 0;
  double relative_loss = 0;     ///< (baseline − accuracy) / baseline
  bool passed = false;
  std::vector<std::string> fp32_units;   ///< units left in float32 (every reason)
  std::vector<std::string> widened_units;
  double seconds = 0;           ///< wall time since tuning started, at the end of this trial
};

struct tuning_result {
  double baseline = 0;
  std::vector<trial_record> trials;
  int best = -1;                ///< index into trials
  bool met = false;             ///< the best trial is within the tolerable loss
  std::string stop;             ///< "within tolerable loss" | "max trials" | "timeout" | "exhausted"
  std::vector<std::vector<sensitivity_entry>> sensitivity;  ///< per base config (sensitivity)
  double sensitivity_seconds = 0;  ///< time spent ranking (not counted as evaluations)
  double seconds = 0;
  /// Number of evaluations (trials run).
  int evaluations() const { return int(trials.size()); }
};

/// The tuner's view of a model: its units, first conv / last linear, and two callbacks.
struct tuning_space {
  std::vector<quant_unit> units;
  int first_conv = -1, last_linear = -1;
  /// Accuracy of a config (one evaluation).
  std::function<double(const quant_config&)> evaluate;
  /// Sensitivity of every unit the config quantizes (any order; the tuner sorts).
  std::function<std::vector<sensitivity_entry>(const quant_config&)> sensitivity;
  /// Which units a config leaves in float32 (with convert's rules).
  std::function<std::vector<std::string>(const quant_config&)> fp32_units;
};

/// Runs a strategy. `baseline` is the float32 accuracy the losses are relative to.
tuning_result autotune(const tuning_space& space, const tuning_config& cfg,
                       const tuning_options& opt, double baseline);

/// The tuning space of a calibrated model evaluated on `eval` (accuracy of predict()). `gemm`
/// computes the conv2d / linear GEMMs of every evaluation and of the output sensitivity's forward
/// passes (e.g. cublas_gemm_hook, ptq/gemm_cublas.hpp; copied into the space); empty: Eigen on
/// the CPU.
tuning_space make_tuning_space(const prepared_model& m, const image_set& eval,
                               sensitivity_measure measure, const gemm_hook& gemm = {});

/// Sensitivity of every unit `base` quantizes, by `measure` (see sensitivity_measure); `gemm` as
/// for make_tuning_space (used by the output measure only: the others run no forward pass).
std::vector<sensitivity_entry> unit_sensitivity(const prepared_model& m, const quant_config& base,
                                                sensitivity_measure measure,
                                                const gemm_hook& gemm = {});

}  // namespace exmy
