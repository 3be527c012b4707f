// exmy/sqnr/monte_carlo.cpp — the Monte-Carlo driver (issue 4 of exmy): chunks over OpenMP threads
// in a fixed geometry, the per-ISA kernels (mc_kernels.inc) or the CUDA kernel, and the
// statistics (MSE, fourth-moment and batch-means standard errors, 95 % intervals, z-scores).
#include "exmy/sqnr/monte_carlo.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "exmy/distributions/sampler.hpp"
#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/sqnr/mc_kernels.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace exmy {
namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_z975 = 1.959963984540054;  // Φ^−1(0.975): the 95 % two-sided normal quantile

using chunk_fn = void (*)(const mc_args&, std::uint64_t, std::uint64_t, mc_sums&);
using dot_chunk_fn = void (*)(const mc_dot_args&, std::uint64_t, std::uint64_t, mc_dot_sums&);

// The AVX2 build when the quantizer drivers run AVX2 or wider (the same dispatch switch,
// EXMY_SIMD / set_simd_path), the baseline build otherwise. Every build gives the same bits.
bool use_avx2() {
#if defined(__x86_64__) || defined(_M_X64)
  return active_simd_path() != simd_path::scalar;
#else
  return false;
#endif
}
chunk_fn pick_chunk() {
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx2()) return mc_avx2::mc_chunk;
#endif
  return mc_scalar::mc_chunk;
}
dot_chunk_fn pick_dot_chunk() {
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx2()) return mc_avx2::mc_dot_chunk;
#endif
  return mc_scalar::mc_dot_chunk;
}

int thread_count(int requested) {
#if defined(_OPENMP)
  return requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  return 1;
#endif
}
int thread_id() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Runs work(c) for every chunk c on `threads` threads (dynamic schedule: the chunk results do not
// depend on which thread ran them), reporting progress from thread 0; throws when cancelled.
template <class Work>
void for_chunks(std::uint64_t n_chunks, const mc_options& o, Work work) {
  std::atomic<bool> cancel{false};
  std::atomic<std::uint64_t> done{0};
  const std::int64_t nc = static_cast<std::int64_t>(n_chunks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(thread_count(o.threads))
  for (std::int64_t c = 0; c < nc; ++c) {
    if (cancel.load(std::memory_order_relaxed)) continue;
    work(static_cast<std::uint64_t>(c));
    const std::uint64_t d = done.fetch_add(1) + 1;
    if (o.progress && thread_id() == 0 && !o.progress(d, n_chunks)) cancel.store(true);
  }
  if (cancel.load()) throw error("interrupted");
}

}  // namespace

const char* to_string(mc_device d) { return d == mc_device::cuda ? "cuda" : "cpu"; }

mc_device parse_mc_device(const std::string& s) {
  if (s == "cpu") return mc_device::cpu;
  if (s == "cuda") return mc_device::cuda;
  throw error("unknown device '" + s + "': expected cpu or cuda");
}

double mc_result::sqnr_db() const { return 10.0 * std::log10(signal_power / mse); }
double mc_result::paper_db() const { return -10.0 * std::log10(mse); }

std::pair<double, double> mc_result::sqnr_db_ci() const {
  if (!ci_defined) return {k_nan, k_nan};
  const double up = ci95_lo > 0 ? 10.0 * std::log10(signal_power / ci95_lo) : INFINITY;
  return {10.0 * std::log10(signal_power / ci95_hi), up};
}

std::pair<double, double> mc_result::paper_db_ci() const {
  if (!ci_defined) return {k_nan, k_nan};
  const double up = ci95_lo > 0 ? -10.0 * std::log10(ci95_lo) : INFINITY;
  return {-10.0 * std::log10(ci95_hi), up};
}

bool finite_fourth_moment(const distribution& d, std::string* reason) {
  if (std::isfinite(d.lo()) && std::isfinite(d.hi())) return true;
  bool finite = true;
  if (const auto* t = std::get_if<student_t_law>(&d.law())) finite = t->nu() > 4;
  if (const auto* g = std::get_if<generic_law>(&d.law())) finite = g->finite_variance;
  if (!finite && reason)
    *reason = "E[(Q-X)^4] is infinite for " + to_string(d) +
              " (unbounded, no finite fourth moment): the squared error has no variance, so "
              "there is no confidence interval (clip or truncate the law for one)";
  return finite;
}

// Upper bound on the samples (dot products: elements) of one run.
constexpr std::uint64_t k_max_mc_samples = std::uint64_t{1} << 53;

mc_result monte_carlo_mse(const distribution& d, const quant_params& p, const mc_options& o) {
  if (o.samples == 0) throw error("Monte-Carlo: need at least one sample");
  // Issue 8: counts stay exact in double (the means divide by n) and chunk arithmetic cannot wrap.
  if (o.samples > k_max_mc_samples)
    throw error("Monte-Carlo: " + std::to_string(o.samples) + " samples: at most 2^53");
  mc_args a;
  a.sp = make_sampler_params(d);
  a.p = p;
  a.mode = o.mode;
  a.seed = o.seed;
  a.stream = stream_x;
  a.n = o.samples;
  const mc_geometry g = mc_geometry_of(a.n);
  std::vector<mc_sums> chunks(g.n_chunks);
  if (o.device == mc_device::cuda) {
    if (o.progress && !o.progress(0, g.n_chunks)) throw error("interrupted");
    mc_cuda_chunks(a, g, chunks.data(), o.cuda_device);
  } else {
    const chunk_fn fn = pick_chunk();
    for_chunks(g.n_chunks, o, [&](std::uint64_t c) {
      const std::uint64_t b0 = c * g.chunk_blocks;
      fn(a, b0, std::min(b0 + g.chunk_blocks, g.n_blocks), chunks[c]);
    });
  }
  mc_result r;
  r.samples = o.samples;
  r.seed = o.seed;
  for (const mc_sums& c : chunks) accumulate(r.sums, c);  // chunk order: fixed
  const mc_sums& s = r.sums;
  const double n = static_cast<double>(s.n);
  r.mse = s.ee / n;
  r.x_err = s.xe / n;
  r.mean_err = s.e / n;
  r.mean = s.x / n;
  r.second_moment = s.xx / n;
  r.signal_power = second_moment(d);
  // Fourth-moment standard error: Var(e²) = E[e⁴] − E[e²]², with the n/(n − 1) correction.
  const double var = std::max(0.0, s.e4 / n - r.mse * r.mse) * (n / std::max(n - 1.0, 1.0));
  r.se = std::sqrt(var / n);
  // The split at the grid's end points (inner by difference: the clipping part is a small share
  // wherever the split matters, so the subtraction loses nothing of note).
  const auto se_of = [n](double sum_e2, double sum_e4) {
    const double m = sum_e2 / n;
    return std::sqrt(std::max(0.0, sum_e4 / n - m * m) * (n / std::max(n - 1.0, 1.0)) / n);
  };
  r.clip_mse = s.ee_clip / n;
  r.clip_se = se_of(s.ee_clip, s.e4_clip);
  r.inner_mse = (s.ee - s.ee_clip) / n;
  r.inner_se = se_of(s.ee - s.ee_clip, s.e4 - s.e4_clip);
  // Samples are finite, so a NaN sum means a non-saturating fn/fnuz format overflowed to NaN: an
  // error of unbounded size, +inf as in the closed form (issue 8: the MSE used to be NaN).
  if (std::isnan(r.mse)) r.mse = INFINITY;
  if (std::isnan(r.clip_mse)) r.clip_mse = INFINITY;
  // Batch means: the chunks, weighted by their sample counts.
  r.batches = chunks.size();
  r.batch_se = k_nan;
  if (chunks.size() >= 2) {
    double acc = 0;
    for (const mc_sums& c : chunks) {
      const double m = c.ee / static_cast<double>(c.n);
      acc += static_cast<double>(c.n) * (m - r.mse) * (m - r.mse);
    }
    r.batch_se = std::sqrt(acc / (n * static_cast<double>(chunks.size() - 1)));
  }
  std::string why;
  const bool sums_finite = std::isfinite(s.ee) && std::isfinite(s.e4) && std::isfinite(s.xe);
  if (!finite_fourth_moment(d, &why)) {
    r.ci_reason = why;
  } else if (!sums_finite) {
    r.ci_reason = "the error sums are not finite (a non-saturating format overflowed to inf or "
                  "NaN, or E[(Q-X)^4] overflows a double)";
  } else if (s.n < 2) {
    r.ci_reason = "one sample gives no interval";
  } else {
    r.ci_defined = true;
  }
  if (r.ci_defined) {
    r.ci95_lo = r.mse - k_z975 * r.se;
    r.ci95_hi = r.mse + k_z975 * r.se;
  } else {
    r.se = r.clip_se = k_nan;  // inner_se stays: in-range errors are bounded
    r.ci95_lo = r.ci95_hi = k_nan;
  }
  return r;
}

double z_score(const mc_result& r, double analytic_mse) {
  if (!r.ci_defined) return k_nan;
  const double diff = r.mse - analytic_mse;
  if (r.se == 0) return diff == 0 ? 0.0 : std::copysign(INFINITY, diff);
  return diff / r.se;
}

mc_dot_result monte_carlo_dot(const distribution& dx, const quant_params& px,
                              const distribution& dy, const quant_params& py, std::uint64_t length,
                              const mc_options& o) {
  if (length < 1 || length > 65536)
    throw error("Monte-Carlo dot product: length " + std::to_string(length) + " outside 1…65536");
  if (o.samples == 0) throw error("Monte-Carlo dot product: need at least one trial");
  // Element k of trial t has the sample index t·K + k: it must not wrap (nor the counts in double).
  if (o.samples > k_max_mc_samples / length)
    throw error("Monte-Carlo dot product: " + std::to_string(o.samples) + " trials of length " +
                std::to_string(length) + ": at most 2^53 elements");
  if (o.device != mc_device::cpu)
    throw error("Monte-Carlo dot product: only --device cpu is implemented");
  mc_dot_args a;
  a.spx = make_sampler_params(dx);
  a.spy = make_sampler_params(dy);
  a.px = px;
  a.py = py;
  a.mode = o.mode;
  a.seed = o.seed;
  a.length = length;
  // Chunks of whole trials, about mc_block_len elements or more each, at most mc_max_batches.
  const std::uint64_t trials_per_unit = std::max<std::uint64_t>(1, mc_block_len / length);
  const mc_geometry g = mc_geometry_of(o.samples, trials_per_unit);
  const std::uint64_t per_chunk = g.chunk_blocks * trials_per_unit;
  const std::uint64_t n_chunks = (o.samples + per_chunk - 1) / per_chunk;
  std::vector<mc_dot_sums> chunks(n_chunks);
  const dot_chunk_fn fn = pick_dot_chunk();
  for_chunks(n_chunks, o, [&](std::uint64_t c) {
    const std::uint64_t t0 = c * per_chunk;
    fn(a, t0, std::min(t0 + per_chunk, o.samples), chunks[c]);
  });
  mc_dot_result r;
  r.trials = o.samples;
  r.length = length;
  r.seed = o.seed;
  for (const mc_dot_sums& c : chunks) {  // chunk order: fixed
    r.sum_d += c.d;
    r.sum_dd += c.dd;
    r.sum_d4 += c.d4;
  }
  const double n = static_cast<double>(r.trials);
  r.mse = r.sum_dd / n;
  const double var = std::max(0.0, r.sum_d4 / n - r.mse * r.mse) * (n / std::max(n - 1.0, 1.0));
  r.se = std::sqrt(var / n);
  std::string why;
  if (!finite_fourth_moment(dx, &why) || !finite_fourth_moment(dy, &why)) {
    r.ci_reason = why;
  } else if (!(std::isfinite(r.sum_dd) && std::isfinite(r.sum_d4))) {
    r.ci_reason = "the error sums are not finite";
  } else if (r.trials < 2) {
    r.ci_reason = "one trial gives no interval";
  } else {
    r.ci_defined = true;
  }
  if (r.ci_defined) {
    r.ci95_lo = r.mse - k_z975 * r.se;
    r.ci95_hi = r.mse + k_z975 * r.se;
  } else {
    r.se = r.ci95_lo = r.ci95_hi = k_nan;
  }
  return r;
}

double analytic_dot_mse(const error_moments& mx, double mean_x, const error_moments& my,
                        double mean_y, std::uint64_t length) {
  const double e2 = dot_product_mse(mx.second_moment, mx.mse, mx.x_err, my.second_moment, my.mse,
                                    my.x_err);
  // E[XY − Q(X)Q(Y)] for independent X, Y: E[Q(X)] = E[X] + E[Q − X].
  const double e1 = mean_x * mean_y - (mean_x + mx.mean_err) * (mean_y + my.mean_err);
  const double k = static_cast<double>(length);
  return k * e2 + k * (k - 1.0) * e1 * e1;
}

bool mc_cuda_available(std::string* why) { return mc_cuda_ready(why); }

#if !defined(EXMY_HAVE_CUDA)
void mc_cuda_chunks(const mc_args&, const mc_geometry&, mc_sums*, int) {
  throw error("Monte-Carlo --device cuda: exmy was built without CUDA (nvcc not found at "
              "configure time)");
}
bool mc_cuda_ready(std::string* why) {
  if (why) *why = "built without CUDA";
  return false;
}
#endif

}  // namespace exmy
