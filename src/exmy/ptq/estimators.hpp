// exmy/ptq/estimators.hpp — range estimators of the PTQ harness (issue 5, "Range estimation";
// reference-spec §5.2 for the paper's four, anchors.md a2/b9 for the calibration methods of the
// other tools). Each estimator turns the values of one group (a tensor, a channel, a block) into a
// range [lo, hi]; symmetric quantization uses maxval = max(|lo|, |hi|) (reference-spec §6.3
// set_quant_range). Only finite values take part; NaN and ±inf are counted, never averaged.
//
//   current_minmax   min and max of the current tensor (reference-spec §5.2)
//   allminmax        running min of mins / max of maxes over calls (range_tracker)
//   running_minmax   v ← (1 − μ)·v_batch + μ·v over calls, μ = 0.9 (range_tracker)
//   mse              the paper's FP_MSE_Estimator: 111 candidates linspace(0.1a, 1.2a, 111),
//                    a = max(|min|, |max|) of the group, argmin of Σ(x − Q(x))² (first on ties);
//                    optional mantissa vote over M = 1 … n−2 (mse_vote_search)
//   kl               histogram entropy calibration (kl_threshold; variant documented there)
//   percentile       numpy's 'linear' percentile of |x| (symmetric) or of x at 100−p and p
//   analytic         fit a normal and a Student-t (ν by maximum likelihood) and take the maxval
//                    that minimises the analytic MSE of the fitted law (sqnr/range_optimal.hpp),
//                    which also predicts the SQNR
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exmy/distributions/distribution.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"

namespace exmy {

enum class estimator_kind : std::uint8_t {
  current_minmax, allminmax, running_minmax, mse, kl, percentile, analytic
};
const char* to_string(estimator_kind k);
/// Parses the names above ("MSE" as the paper's CLI spells it is accepted); throws exmy::error.
estimator_kind parse_estimator(const std::string& s);

/// How kl_threshold builds the quantized histogram (see kl_threshold).
enum class kl_grouping : std::uint8_t { format_cells, uniform_levels };
const char* to_string(kl_grouping g);

/// Options of every estimator; each field is recorded in the report.
struct estimator_options {
  estimator_kind kind = estimator_kind::current_minmax;
  double momentum = 0.9;       ///< running_minmax (reference-spec §5.2: μ = 0.9)
  bool mantissa_vote = false;  ///< mse: the paper's per-channel vote over M (reference-spec §5.2)
  double percentile = 99.99;   ///< percentile, in (0, 100]
  int kl_bins = 2048;          ///< kl: histogram bins over [0, max|x|]
  int kl_start_bin = 128;      ///< kl: smallest candidate threshold, in bins
  kl_grouping kl_mode = kl_grouping::format_cells;
  rounding mode = rounding::rne;  ///< rounding of the quantizer inside objectives (mse)
};

/// A range and the census of the values it was computed from.
struct value_range {
  double lo = 0, hi = 0;      ///< over finite values (0, 0 when there are none)
  std::uint64_t finite = 0, nan = 0, inf = 0;
};

/// Min and max of the finite values of x[0 … n).
value_range finite_range(const float* x, std::size_t n);

/// max(|lo|, |hi|), or 0 for an empty range.
double symmetric_maxval(const value_range& r);

/// allminmax / running_minmax across calls (batches), per group.
class range_tracker {
 public:
  /// kind: allminmax or running_minmax (current_minmax keeps only the last batch).
  explicit range_tracker(estimator_kind kind, double momentum = 0.9);
  /// Feeds the per-group ranges of one batch; the first batch initialises the state (as the
  /// reference does). Throws exmy::error when the group count changes between batches.
  const std::vector<value_range>& update(const std::vector<value_range>& batch);
  const std::vector<value_range>& current() const { return state_; }

 private:
  estimator_kind kind_;
  double momentum_;
  std::vector<value_range> state_;
};

/// The paper's candidate maxvals for a = max(|min|, |max|): linspace(0.1a, 1.2a, 111), i.e.
/// 0.1a + i·(1.1a/110) evaluated in double and rounded to float32 (the reference holds them in a
/// float32 tensor; PyTorch's vectorised linspace kernel may differ from this in the last bit).
std::vector<double> mse_candidates(double a);

/// Result of the MSE grid search over the groups of a group-ordered buffer.
struct mse_result {
  std::vector<double> maxval;  ///< per group
  std::vector<double> loss;    ///< per group: Σ(x − Q(x))² at that maxval
  format_spec format;          ///< the format searched (the voted split after a vote)
  int voted_man_bits = -1;     ///< mse_vote_search: the plurality M; −1 otherwise
  std::vector<int> votes;      ///< mse_vote_search: per group, the best M
};

/// The 111-point search for format f in every group [offsets[g], offsets[g+1]) of data. Groups
/// without a finite non-zero value get maxval 1 (every element is then represented exactly).
/// Results do not depend on the thread count.
mse_result mse_search(const float* data, const std::vector<std::int64_t>& offsets,
                      const format_spec& f, const estimator_options& o = {});

/// The paper's vote (reference-spec §5.2): for each group the best M in 1 … bits−2 (argmin over
/// M of the min over the 111 candidates, first on ties); the plurality M (ties: the smallest)
/// fixes the split e(bits−1−M)mM for the tensor; then each group's argmin maxval for that split.
mse_result mse_vote_search(const float* data, const std::vector<std::int64_t>& offsets, int bits,
                           const estimator_options& o = {});

/// Histogram entropy calibration, the TensorRT / pytorch-quantization / ModelOpt
/// `_compute_amax_entropy` algorithm:
///  1. histogram of |x| with B = o.kl_bins bins over [0, max|x|] (numpy.histogram binning);
///     then bins[0] = bins[1] (ModelOpt's de-emphasis of exact zeros);
///  2. for every candidate i = o.kl_start_bin … B: reference P = bins[0 … i) with the count of
///     bins[i …] added to its last bin; quantized Q = bins[0 … i) merged into groups, each group's
///     total spread evenly over its non-empty bins (empty bins stay 0);
///     groups: uniform_levels = ModelOpt exactly (2^(n−1) levels for a signed n-bit format,
///     np.digitize(range(i), linspace(0, i, levels + 1)));
///     format_cells (default, format-aware) = bins whose centres the format, scaled to the
///     threshold T = edge i, rounds (o.mode) to the same value;
///  3. KL(P ‖ Q) = Σ p·log(p/q) over normalised P, Q (scipy.stats.entropy; +inf where q = 0 < p);
///  4. the last (largest) i with the minimal divergence; the threshold is edge i = i·max|x|/B.
/// Returns 0 when x has no finite non-zero value. Symmetric formats only.
double kl_threshold(const float* x, std::size_t n, const format_spec& f,
                    const estimator_options& o = {});

/// numpy.percentile(v, p) with the default 'linear' method ((n−1)·p/100 virtual index, numpy's
/// _lerp), in double, over the finite values v of x (absolute values when `absolute`). 0 for none.
double percentile_of(const float* x, std::size_t n, double p, bool absolute);

/// Mean, spread and tail weight of the finite values of a tensor.
struct tensor_moments {
  std::uint64_t finite = 0, nan = 0, inf = 0;
  double lo = 0, hi = 0;         ///< finite range
  double mean = 0, std = 0;      ///< population moments (divide by N)
  double excess_kurtosis = 0;    ///< m4/m2² − 3 (0 for a normal law; scipy.stats.kurtosis default)
};
/// Two passes in double over fixed 64Ki-element chunks combined in order (thread-count independent).
tensor_moments moments(const float* x, std::size_t n);

/// Maximum-likelihood fits on a deterministic subsample (every s-th finite value, s chosen so that
/// at most max_points values are used).
struct law_fit {
  double normal_mu = 0, normal_sigma = 0, normal_loglik = 0;  ///< loglik per point
  double t_nu = 0, t_mu = 0, t_scale = 0, t_loglik = 0;       ///< ν ∈ [0.5, 1000]
  bool use_t = false;     ///< Akaike: the Student-t when 2·N·(ℓ_t − ℓ_normal) > 2 and ν < 1000
  std::size_t points = 0;  ///< size of the subsample
  double lo = 0, hi = 0;   ///< the tensor's finite range (the fitted law is clipped to it)
};
/// Normal: sample mean and population σ. Student-t: for each ν the (μ, scale) maximising the
/// likelihood (EM iterations to convergence), and ν maximising that profile likelihood (Brent on
/// log ν, Boost.Math). `valid` is false when fewer than 2 distinct finite values exist.
law_fit fit_law(const float* x, std::size_t n, std::size_t max_points = 1 << 16);
/// True when the fit can be turned into a distribution (σ > 0, lo < hi).
bool fit_usable(const law_fit& f);
/// The chosen law (Student-t or normal), clipped to the tensor's range [lo, hi].
distribution fitted_distribution(const law_fit& f);

/// The analytic estimator's answer for one format.
struct analytic_range {
  double maxval = 0;
  double predicted_db = 0;  ///< 10·log10(E[X²]/MSE) of the fitted law at that maxval
};
/// optimal_maxval() of the fitted law for format f (non-affine formats).
analytic_range analytic_maxval(const distribution& law, const format_spec& f,
                               rounding r = rounding::rne);

/// The range of every group [offsets[g], offsets[g+1]) of data for format f under estimator o:
/// current/all/running_minmax: the finite min/max (one batch); mse: [−m, m] of mse_search;
/// kl: [−T, T]; percentile: [−P(|x|), P(|x|)] when `symmetric`, else [P(100−p), P(p)]; analytic:
/// [−m, m] of analytic_maxval on a per-group fit. Throws exmy::error for asymmetric mse/kl/analytic.
std::vector<value_range> estimate_ranges(const float* data, const std::vector<std::int64_t>& offsets,
                                         const format_spec& f, const estimator_options& o,
                                         bool symmetric = true);

}  // namespace exmy
