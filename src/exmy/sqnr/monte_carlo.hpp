// exmy/sqnr/monte_carlo.hpp — the Monte-Carlo SQNR engine (issue 4 of exmy): the second way exmy
// measures a format, and the check on the closed forms of analytic.hpp.
//
//   exmy::mc_options o;  o.samples = 10'000'000;  o.seed = 1;
//   exmy::mc_result r = exmy::monte_carlo_mse(d, exmy::make_params(f, maxval), o);
//   r.mse, r.ci95_lo, r.ci95_hi, r.sqnr_db(), exmy::z_score(r, analytic.mse)
//
// One fused pass per block of mc_block_len samples: draw (sampler.hpp, sample i a pure function of
// (seed, i)) → quantize with the scalar rule (round.hpp, double) → accumulate Σ(q−x), Σ(q−x)²,
// Σx(q−x), Σx², Σ(q−x)⁴, Σx, and the count, Σ(q−x)², Σ(q−x)⁴ of the samples beyond the grid's
// end points, in 8 fixed lanes (sample i of a block in lane i mod 8). Lanes are
// folded 0…7, blocks folded in order into at most mc_max_batches chunks (a function of n only),
// chunks folded in order: the sums are bit-identical for any thread count, SIMD width and on the
// GPU (monte_carlo_cuda.cu). No sample array is materialised.
//
// Statistics: the 95 % interval is mse ± 1.96·se with se² = (mean(e⁴) − mse²)/n (fourth moment);
// the chunks also give a batch-means standard error as a cross-check. Where E[(Q−X)⁴] is infinite
// (an unbounded Student-t with ν ≤ 4) the interval is undefined and ci_reason says why.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "exmy/config.hpp"
#include "exmy/distributions/distribution.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/sqnr/analytic.hpp"

namespace exmy {

/// Samples per accumulation block (fixed: results do not depend on threads or devices).
constexpr std::uint64_t mc_block_len = 4096;
/// Upper bound on the number of chunks (batches) a run is folded from.
constexpr std::uint64_t mc_max_batches = 1024;

enum class mc_device : unsigned char { cpu, cuda };
const char* to_string(mc_device d);
/// Parses "cpu" | "cuda".
mc_device parse_mc_device(const std::string& s);

/// Options of a Monte-Carlo run.
struct mc_options {
  std::uint64_t samples = 10000000;  ///< n (dot products: the number of trials)
  std::uint64_t seed = 0;            ///< Philox key (random/uniform_bits.hpp)
  rounding mode = rounding::rne;
  int threads = 0;                   ///< CPU threads; 0: OpenMP's default
  mc_device device = mc_device::cpu;
  int cuda_device = -1;              ///< CUDA device; < 0: the least-loaded one
  /// Called now and then from one thread with (done, total) chunks; returning false cancels the
  /// run (monte_carlo_* then throws exmy::error("interrupted")). Optional.
  std::function<bool(std::uint64_t done, std::uint64_t total)> progress;
};

/// Raw sums over the samples, e = Q(x) − x: what is bit-identical across threads and devices.
struct mc_sums {
  std::uint64_t n = 0;
  double e = 0;   ///< Σe
  double ee = 0;  ///< Σe²
  double xe = 0;  ///< Σx·e
  double xx = 0;  ///< Σx²
  double e4 = 0;  ///< Σe⁴
  double x = 0;   ///< Σx
  /// The part from samples beyond the grid's end points (x > maxval or x < minval), the
  /// clipping region of analytic.hpp's decomposition: count, Σe², Σe⁴ there.
  std::uint64_t n_clip = 0;
  double ee_clip = 0;
  double e4_clip = 0;
};

/// Adds b to a field by field: the fold used at every level, on the host and on the device.
EXMY_HOST_DEVICE inline void accumulate(mc_sums& a, const mc_sums& b) {
  a.n += b.n;
  a.e += b.e;
  a.ee += b.ee;
  a.xe += b.xe;
  a.xx += b.xx;
  a.e4 += b.e4;
  a.x += b.x;
  a.n_clip += b.n_clip;
  a.ee_clip += b.ee_clip;
  a.e4_clip += b.e4_clip;
}

/// A Monte-Carlo estimate of the error moments of one (distribution, quantizer, rounding).
struct mc_result {
  std::uint64_t samples = 0;
  std::uint64_t seed = 0;
  mc_sums sums;
  double mse = 0;            ///< Σe²/n
  double x_err = 0;          ///< Σx·e/n, estimates E[X(Q−X)]
  double mean_err = 0;       ///< Σe/n
  double mean = 0;           ///< Σx/n (sampler check)
  double second_moment = 0;  ///< Σx²/n (sampler check)
  double signal_power = 0;   ///< E[X²] of the law (exact): the SQNR's numerator
  double se = 0;             ///< standard error of mse (fourth moment); NaN when undefined
  double batch_se = 0;       ///< standard error from batch means over the chunks (NaN if < 2)
  std::uint64_t batches = 0;
  bool ci_defined = false;
  std::string ci_reason;     ///< why the interval is undefined (empty when defined)
  double ci95_lo = 0, ci95_hi = 0;  ///< NaN when undefined
  /// The MSE split like analytic.hpp's: clip_mse from samples beyond the grid's end points,
  /// inner_mse = mse − clip_mse from the rest, each with its fourth-moment standard error. When the
  /// clipping region is rare (n·P(clip) ≲ 30) but its errors are large, the sampling law of mse is
  /// Poisson-skewed and its interval undercovers; inner_mse stays well-behaved (its errors are
  /// bounded, so inner_se is defined even where the total interval is not).
  double clip_mse = 0, clip_se = 0;
  double inner_mse = 0, inner_se = 0;
  /// 10·log10(E[X²]/mse) in dB.
  double sqnr_db() const;
  /// −10·log10(mse), the paper's convention (reference-spec Q1).
  double paper_db() const;
  /// The 95 % interval of sqnr_db() (the MSE interval mapped through the monotone function; the
  /// signal power is exact). {NaN, NaN} when undefined; +inf where the MSE bound is ≤ 0.
  std::pair<double, double> sqnr_db_ci() const;
  std::pair<double, double> paper_db_ci() const;
};

/// Runs n = o.samples draws of d through the quantizer p with rounding o.mode (exact scale mode)
/// on o.device. Throws exmy::error for a law without a sampler, n = 0, or an unusable device.
mc_result monte_carlo_mse(const distribution& d, const quant_params& p, const mc_options& o);

/// (mc − analytic)/se: how many standard errors the estimate lies from the closed form. NaN
/// when the interval is undefined.
double z_score(const mc_result& r, double analytic_mse);

/// Whether E[(Q(X) − X)⁴] is finite for a saturating quantizer: false only for a law with
/// unbounded support and E[X⁴] = ∞ (Student-t with ν ≤ 4). Sets *reason when false.
bool finite_fourth_moment(const distribution& d, std::string* reason = nullptr);

/// Monte-Carlo dot-product error: trials of length-K vectors x (stream 0), y (stream 1), element
/// k of trial t at index t·K + k; D_t = Σ_k (x_k y_k − Q(x_k)Q(y_k)) (8 lanes over k, folded in
/// order). mse = mean D_t², with its fourth-moment interval.
struct mc_dot_result {
  std::uint64_t trials = 0;
  std::uint64_t length = 0;
  std::uint64_t seed = 0;
  double sum_d = 0, sum_dd = 0, sum_d4 = 0;  ///< ΣD_t, ΣD_t², ΣD_t⁴ (bit-reproducible)
  double mse = 0;
  double se = 0;
  bool ci_defined = false;
  std::string ci_reason;
  double ci95_lo = 0, ci95_hi = 0;
};

/// o.samples trials of length K (1 ≤ K ≤ 2^16) on the CPU (o.device must be cpu).
mc_dot_result monte_carlo_dot(const distribution& dx, const quant_params& px,
                              const distribution& dy, const quant_params& py, std::uint64_t length,
                              const mc_options& o);

/// The closed form for independent entries: K·E[e²] + K(K−1)·E[e]², e = XY − Q(X)Q(Y), with
/// E[e²] = dot_product_mse (reference-spec §4.3) and E[e] = μx·μy − (μx + E[Q−X])(μy + E[Q−Y]).
double analytic_dot_mse(const error_moments& mx, double mean_x, const error_moments& my,
                        double mean_y, std::uint64_t length);

/// True when a CUDA device can run the Monte-Carlo kernel; else why not in *why.
bool mc_cuda_available(std::string* why = nullptr);

}  // namespace exmy
