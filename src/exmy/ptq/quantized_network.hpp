// exmy/ptq/quantized_network.hpp — post-training fake quantization of a whole network, with the
// API of Intel Neural Compressor (issue 6, "PTQ pipeline"; anchors.md b1 INC fp8_v1, b2 INC 3.x):
//
//   prepare(net, bn)          find the quantizable units and put observers on their tensors
//   calibrate(model, images)  run the float32 network on calibration images (default 300)
//   convert(model, config)    fake-quantize weights (per output channel) and fix the activation
//                             quantizers (per tensor), each unit with its own format
//   predict / accuracy        run the converted network
//
// Quantizable units and what each quantizes (INC's op-wise wrappers):
//   conv2d, linear   the weight (per output channel, or per tensor) and the input activation
//   add              both inputs
//   pool             the global average pool's output
//   logits           the network's output
// Unit types can be allowed or not (INC FP8_OP_TYPE_LIST), the first conv and the last linear
// kept in float32 (DISABLE_FIRST_CONV / DISABLE_LAST_LINEAR), any unit kept in float32 or given
// its own format ("mixed per layer").
//
// Activations are quantized statically (one range per tensor from the calibration observers and
// the chosen estimator) or dynamically (the range of each image's tensor, computed at run time;
// per image so that results do not depend on the evaluation batch). Integer activations use an
// unsigned affine range with a zero point by default, as INC's INT8 (uint8, asymmetric) does.
//
// BatchNorm (reference-spec Q15; INC "BN calibration"):
//   fold        folded into the preceding conv before quantization (deploy style)
//   keep        kept in float32 after the quantized conv, running statistics as trained
//   reestimate  kept in float32, running statistics re-estimated on the calibration images with
//               the quantized weights and activations in place (train-mode batch statistics over
//               all calibration images as one batch; the unbiased variance is stored, as torch does)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/estimators.hpp"
#include "exmy/ptq/image_set.hpp"
#include "exmy/ptq/network.hpp"
#include "exmy/quantize/params.hpp"

namespace exmy {

/// Op types the pipeline can quantize.
enum class unit_type : std::uint8_t { conv2d, linear, add, pool, logits };
const char* to_string(unit_type t);
/// Parses "conv2d" (or "conv"), "linear", "add", "pool", "logits"; throws exmy::error.
unit_type parse_unit_type(const std::string& s);
/// Every unit type, in the order above.
std::vector<unit_type> all_unit_types();

enum class bn_mode : std::uint8_t { fold, keep, reestimate };
const char* to_string(bn_mode m);
/// Parses "fold" | "keep" | "reestimate"; throws exmy::error.
bn_mode parse_bn_mode(const std::string& s);

enum class act_mode : std::uint8_t { static_range, dynamic_range };
const char* to_string(act_mode m);
/// Parses "static" | "dynamic"; throws exmy::error.
act_mode parse_act_mode(const std::string& s);

/// One quantizable op and the tensors it quantizes.
struct quant_unit {
  std::string name;            ///< the node's name; "logits" for the output unit
  unit_type type = unit_type::conv2d;
  int node = 0;                ///< node index in the prepared network
  bool has_weight = false;
  std::vector<int> act_slots;  ///< input slots it quantizes; −1 = the node's output
};

/// Everything calibration saw of one activation (unit, slot).
struct act_observer {
  int unit = 0, node = 0, slot = 0;
  std::vector<value_range> batches;  ///< the finite range of every calibration batch
  std::vector<float> samples;        ///< the values (a strided subsample beyond max_samples)
  double signal = 0;                 ///< Σx² over the samples (for SQNR)
};

/// The float32 network with observers (INC `prepare`), ready for calibration.
struct prepared_model {
  network net;                       ///< BatchNorm already folded under bn_mode::fold
  network original;                  ///< as loaded (for reports)
  bn_mode bn = bn_mode::fold;
  std::vector<quant_unit> units;
  std::vector<act_observer> observers;
  int first_conv = -1, last_linear = -1;  ///< unit indices (−1: none)
  image_set calibration;             ///< kept for BN re-estimation
  std::size_t max_samples = std::size_t{1} << 22;  ///< per observer
  /// Index of the unit called `name`; throws exmy::error when there is none.
  int unit_index(const std::string& name) const;
};

/// Finds the units of `net` and installs one observer per quantized activation.
prepared_model prepare(const network& net, bn_mode bn = bn_mode::fold);

/// Runs the float32 network on the images (batches of `batch`) and records every observer's
/// ranges and values. Replaces what an earlier calibration recorded.
void calibrate(prepared_model& m, const image_set& images, std::int64_t batch = 100);

/// What to quantize and how (one trial of the tuner).
struct quant_config {
  std::string name;                          ///< free text for reports
  format_spec weight_format = parse_format("e4m3");
  format_spec act_format = parse_format("e4m3");
  std::map<std::string, format_spec> unit_formats;  ///< per-unit override (weights and activations)
  std::set<std::string> fp32_units;          ///< units kept in float32
  std::vector<unit_type> op_types = all_unit_types();  ///< allow-list
  bool keep_first_conv = false, keep_last_linear = false;
  bool weight_per_channel = true;
  estimator_options weight_est;              ///< default current_minmax (per channel)
  estimator_options act_est{estimator_kind::allminmax};  ///< static ranges over calibration
  act_mode acts = act_mode::static_range;
  bool act_int_affine = true;                ///< integer activations: unsigned affine + zero point
  rounding mode = rounding::rne;
  scale_mode scale = scale_mode::exact;
};

/// The quantizer of one activation in the converted network.
struct act_quantizer {
  int unit = 0, node = 0, slot = 0;
  format_spec format;
  bool dynamic = false;
  bool identity = false;    ///< static range holding no non-zero finite value: left as it is
  bool affine = false;      ///< integer with zero point
  quant_params params;      ///< static ranges
  double sqnr_db = 0;       ///< measured on the calibration samples (static ranges)
};

/// What convert decided for one unit.
struct unit_state {
  bool quantized = false;
  std::string reason;       ///< why not ("op type not allowed", "first conv", "fp32 fallback" …)
  format_spec weight_format, act_format;
  double weight_sqnr_db = 0;  ///< Σw² / Σ(Q(w) − w)² over the whole weight, in dB
  double act_sqnr_db = 0;     ///< pooled over the unit's activations (static ranges)
  /// The weight's quantizers, one per output channel (one for per-tensor weights); a default
  /// quant_params (scale 1) for an all-zero channel. Empty when the weight is not quantized.
  std::vector<quant_params> weight_params;
};

/// A converted network (INC `convert`): fake-quantized weights, activation quantizers.
struct quantized_model {
  network net;
  std::vector<quant_unit> units;
  std::vector<unit_state> state;
  std::vector<act_quantizer> acts;
  quant_config config;
  bn_mode bn = bn_mode::fold;
  /// Names of the units left in float32.
  std::vector<std::string> fp32_units() const;
};

/// Which units a config quantizes, with which formats, and why the others stay in float32 (the
/// first step of convert; no SQNR filled in). Throws exmy::error for unknown unit names.
std::vector<unit_state> plan_units(const prepared_model& m, const quant_config& c);

/// Quantizes the prepared model's weights and sets up its activation quantizers (INC `convert`).
/// Throws exmy::error for a config that names an unknown unit, or a model never calibrated
/// while static ranges are asked for.
quantized_model convert(const prepared_model& m, const quant_config& c);

/// Logits of the converted network for `count` images (`gemm`: an optional emulated arithmetic).
tensor run(const quantized_model& q, const float* images, std::int64_t count,
           const gemm_hook& gemm = {});

/// Predicted classes of every image of the set (batches of `batch`).
std::vector<int> predict(const quantized_model& q, const image_set& s, std::int64_t batch = 250,
                         const gemm_hook& gemm = {});
/// The float32 network's predictions (`gemm`: e.g. cublas_gemm_hook, ptq/gemm_cublas.hpp).
std::vector<int> predict(const network& net, const image_set& s, std::int64_t batch = 250,
                         const gemm_hook& gemm = {});

/// The parameters for an activation range (symmetric maxval, or affine for integer formats when
/// `affine`); `identity` is set when the range holds no non-zero value.
quant_params activation_params(const format_spec& f, const value_range& r, bool affine,
                               bool& identity);

}  // namespace exmy
