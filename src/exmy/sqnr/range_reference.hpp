// exmy/sqnr/range_reference.hpp — "reference mode" range setting: the paper's sample-based MSE line
// search (`estimate_range_line_search`, reference-spec §5.1) on the paper's 5M-value samples
// (reference-spec §1), reproducing the maxval the authors' script picks for every format.
//
// The reference quantizes the whole sample 1000 times per format (≈4 min each, §9 Q17). Here the
// sample is sorted once and carries double-double prefix sums of x, so a candidate's loss
// Σ(x − Q(x))² = Σx² + Σ over grid cells of (n·g² − 2g·Σx), rearranged into one term per cell
// boundary: ~250 terms per candidate instead of 5M quantizations. The boundaries of all 1000
// candidates are sorted and located in one sweep through the sample (consecutive boundaries a few
// values apart, not scattered over 40 MB).
// When several candidates are within `recheck_rel` of the best, they are re-evaluated exactly as
// the reference does (Σ (x − Q(x))², Q = quantize_value) and the tie rule is applied to those
// values.
//
// Candidate quantizers (reference-spec §5.1, §6.2, §7, Q10): t_k = k·step with
// step = ((absmax + margin)·expand)/num_candidates in float64; floating-point formats use the exact
// grid at maxval = float32(t_k) (the reference's float32 bias moves its grid by ~1e-7 relative,
// which the spec's table shows to be immaterial); integer formats use the float32 step
// Δ = float32(float32(t_k)/native_max) of SymmetricUniformQuantizer, levels Δ·{qmin … qmax}.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/huge_page_allocator.hpp"

namespace exmy {

/// Settings of the line search; the defaults are LineSearchEstimator's (reference-spec §5.1).
struct line_search_options {
  int num_candidates = 1000;
  double range_margin = 0.5;   ///< added to the sample's absmax
  double expand_range = 10.0;  ///< the search reaches expand_range·(absmax + margin)
  double tie_rel = 1e-12;      ///< losses this close (relative) are tied; the smallest k wins
  double recheck_rel = 1e-9;   ///< candidates this close to the best are re-evaluated directly
};

/// Outcome of the search. `maxval` is what the reference returns: float32(t_k*), as a double.
struct line_search_result {
  double maxval = 0;  ///< float32(k*·step)
  int k = 0;          ///< winning candidate, 1 … num_candidates
  double loss = 0;    ///< Σ(x − Q(x))² of the winner (direct evaluation when it was rechecked)
  double step = 0;    ///< candidate spacing (float64)
  double absmax = 0;  ///< max(|min|, max) of the sample
  std::vector<double> losses;  ///< fast loss of every candidate (index k − 1)
  std::vector<int> rechecked;  ///< near-tied candidates re-evaluated directly (empty: no near-tie)
};

/// A sample sorted once (LSD radix sort), with compensated (double-double) prefix sums of x and x²
/// every few values: the data structure behind the fast loss. Reusable across formats.
class sorted_sample {
 public:
  using buffer = std::vector<double, huge_page_allocator<double>>;

  /// Sorts `values` (finite doubles; throws exmy::error for NaN/inf or an empty sample).
  explicit sorted_sample(std::vector<double> values);

  std::size_t size() const { return x_.size(); }
  double min() const { return x_.front(); }
  double max() const { return x_.back(); }
  const buffer& values() const { return x_; }

  /// Σ(x − g(x))² (accurate to ~1e-25 relative) where g(x) is the point of the ascending grid
  /// `grid` nearest to x, the end points taking everything beyond them (saturation).
  double nearest_point_loss(const std::vector<double>& grid) const;
  /// out[k] = nearest_point_loss(grids[k]) (to ~1e-27 relative) for many grids at once: all cell
  /// boundaries are sorted and located in one forward sweep through the sample, on every core;
  /// the same for any thread count.
  void nearest_point_losses(const std::vector<std::vector<double>>& grids, double* out) const;

 private:
  /// Σx (double-double) of the values before one index.
  struct prefix {
    double hi, lo;  // no initialisers: the 20 MB table is written once, not zeroed first
  };
  prefix prefix_at(std::size_t i) const;  // Σ over x_[0, i)
  // Number of samples ≤ v, for x_[0] ≤ v < x_.back(), searched outward from the index `guess`.
  std::size_t upper_index_near(double v, std::size_t guess) const;
  static constexpr std::size_t block = 4;  // prefix sums are stored every `block` values
  buffer x_;
  std::vector<prefix, huge_page_allocator<prefix>> prefix_;  // entry b: Σ over x_[0, b·block)
  double sum_x2_hi_ = 0, sum_x2_lo_ = 0;                     // Σx² of the whole sample
};

/// The quantizer of threshold t (candidate range [−t, t]) as the reference builds it (see above).
/// Throws exmy::error for formats whose quantizer is not nearest-point-with-saturation (affine
/// integers, non-saturating overflow, flushed subnormals).
quant_params reference_candidate_params(const format_spec& f, double threshold);

/// The reference's loss Σ(x − Q(x))²: each term rounded to double as in float64 torch, summed with
/// double-double accumulation (order-independent to ~1e-30).
double reference_loss(const double* x, std::size_t n, const quant_params& p);

/// The line search of reference-spec §5.1 on a prepared sample.
line_search_result reference_line_search(const sorted_sample& sample, const format_spec& f,
                                         const line_search_options& opt = {});
/// Convenience form: sorts the sample (prefer the sorted_sample form for several formats).
line_search_result reference_line_search(std::vector<double> sample, const format_spec& f,
                                         const line_search_options& opt = {});

/// The paper's sample (reference-spec §1): np.random.seed(seed), then one call drawing n values:
/// "uniform" → uniform(−1, 1); "normal" → normal(0, 1) clipped to ±10; "student_t" →
/// standard_t(8) clipped to ±100. Bit-identical to numpy's legacy generator.
std::vector<double> paper_sample(const std::string& which, std::size_t n = 5000000,
                                 unsigned seed = 10);

}  // namespace exmy
