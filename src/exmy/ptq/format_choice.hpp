// exmy/ptq/format_choice.hpp — per-tensor format choice (issue 5, "Format choice"; anchors.md d4):
// for a candidate set (default: every 8-bit split e1m6 … e6m1 and int8) estimate each tensor's
// ranges, measure its SQNR per format with the fused error pass (measure.hpp, CPU or CUDA), pick
// the best, and put next to it what the analytic engine predicts from a normal / Student-t fit
// of the tensor, with the tensor's kurtosis and fitted ν — the paper's claim "more outliers → more
// exponent bits" checked on real weights.
//
// SQNR is the standard 10·log10(Σx² / Σ(Q(x) − x)²) over the tensor's finite values (+inf when
// every value is represented exactly). Predicted SQNR comes from the fitted law clipped to the
// tensor's range: at the range actually used (per-tensor granularity only, where a single scale
// exists) and at the law's analytically optimal maxval (what the `analytic` estimator would pick).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/codes.hpp"
#include "exmy/ptq/estimators.hpp"
#include "exmy/ptq/granularity.hpp"
#include "exmy/ptq/measure.hpp"
#include "exmy/ptq/tensor.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

namespace exmy {

/// Which candidates get the fitted law's optimal-range prediction (one optimal_maxval search
/// each, tens of milliseconds).
enum class optimal_prediction : std::uint8_t { none, best, all };
const char* to_string(optimal_prediction p);
/// Parses "none" | "best" | "all".
optimal_prediction parse_optimal_prediction(const std::string& s);

/// Everything that decides a PTQ measurement; recorded in the report.
struct ptq_options {
  std::vector<format_spec> formats;  ///< candidates; empty: parse_format_list("all") (8-bit)
  granularity gran;                  ///< as given; resolve() adapts it to each tensor
  estimator_options est;
  bool symmetric = true;     ///< false: integer candidates become asymmetric_variant (zero point)
  bool reduce_range = false; ///< integer candidates lose one bit (granularity.hpp reduce_range)
  rounding mode = rounding::rne;
  scale_mode scale = scale_mode::exact;
  device_spec device;        ///< where the measurement pass runs (estimators run on the CPU)
  bool analysis = true;      ///< fit ν and predict SQNR (kurtosis is always reported)
  optimal_prediction predict_optimal = optimal_prediction::best;  ///< optimal-range SQNR for …
  std::size_t fit_points = std::size_t{1} << 14;  ///< subsample size of the fits
  std::size_t chunk = default_chunk;              ///< measurement chunk (elements)
};

/// The candidates after reduce_range / asymmetric: what is actually quantized.
std::vector<format_spec> effective_formats(const ptq_options& o);

/// Throws exmy::error for inconsistent options: a percentile outside (0, 100], a momentum outside
/// [0, 1], fewer than 2 kl bins, a mantissa vote without mse, an estimator that searches a
/// symmetric range (mse, kl, analytic) with an asymmetric (affine) candidate, block granularity
/// with an affine candidate, an empty candidate list.
void validate(const ptq_options& o);

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

/// One (tensor, format) cell.
struct format_result {
  std::string format;   ///< canonical name of the effective format
  std::string error;    ///< non-empty when the format could not be applied (no numbers then)
  error_stats stats;    ///< the folded fused-pass statistics
  double sqnr_db = not_a_number;
  double maxval_min = not_a_number, maxval_max = not_a_number;  ///< over groups (largest grid value)
  double predicted_db = not_a_number;      ///< fitted law at the used scale (per tensor only)
  double predicted_opt_db = not_a_number;  ///< fitted law at its optimal maxval
  double predicted_opt_maxval = not_a_number;
  std::vector<quant_params> params;  ///< per group in codes.hpp order (kept on request)
};

/// Everything measured about one tensor.
struct tensor_report {
  std::string name;
  std::vector<std::int64_t> shape;
  dtype source = dtype::f32;
  granularity applied;        ///< the resolved granularity
  std::int64_t groups = 1;
  tensor_moments stats;       ///< census, mean, std, excess kurtosis (all finite values)
  bool fitted = false;
  law_fit fit;                ///< valid when fitted
  std::vector<format_result> formats;  ///< in candidate order
  int best = -1;  ///< index of the highest measured SQNR (first on ties); −1: no finite value
  std::string vote;           ///< mse with mantissa_vote: the split the paper's vote picks
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
};

/// Estimates, measures and predicts one tensor for every candidate. keep_params keeps the
/// per-group parameters (needed by fake_quantize / export_codes). A format that cannot be applied
/// (e.g. a grid beyond float32 for this range) gets an error string, not an exception; bad
/// options (an asymmetric mse search …) throw exmy::error.
tensor_report analyze_tensor(const tensor& t, const ptq_options& o, bool keep_params = false);

/// Per-format totals over a model.
struct format_summary {
  std::string format;
  double weighted_sqnr_db = not_a_number;  ///< Σ numel·SQNR / Σ numel over tensors with finite SQNR
  /// 10·log10(ΣΣx² / ΣΣ(Q−x)²) over the same tensors (exactly represented tensors — constants
  /// such as ONNX shape scalars — are left out: they would dominate the energy without error).
  double pooled_sqnr_db = not_a_number;
  std::int64_t parameters = 0;             ///< Σ numel over the tensors in weighted_sqnr_db
  int exact = 0;                           ///< tensors represented exactly (SQNR = +inf)
  int failed = 0;                          ///< tensors where the format could not be applied
  /// Tensors (with a finite best SQNR) where this format reaches the best SQNR; tied formats all
  /// count (e1m6 and int8 share their grid under symmetric min-max ranges and tie exactly).
  int wins = 0;
  int sole_wins = 0;                       ///< tensors where it alone is the best
};
struct ptq_summary {
  std::int64_t tensors = 0, parameters = 0;
  std::uint64_t nan = 0, inf = 0;
  std::vector<format_summary> formats;
};
ptq_summary summarize(const std::vector<tensor_report>& reports);

/// The fake-quantized tensor for candidate k of a report made with keep_params (CPU drivers;
/// NaN/inf elements pass through the scalar rule as it defines).
tensor fake_quantize(const tensor& t, const tensor_report& r, std::size_t k, const ptq_options& o);

/// Real codes of candidate k (codes.hpp), from fake_quantize's output.
code_tensor export_codes(const tensor& t, const tensor_report& r, std::size_t k,
                         const ptq_options& o);

}  // namespace exmy
