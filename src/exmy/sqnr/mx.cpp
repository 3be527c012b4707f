// exmy/sqnr/mx.cpp — block-scaled (MX) formats in the analytic and Monte-Carlo engines (issue 4);
// the derivation is in mx.hpp and the README section "Block-scaled (MX) formats".
#include "exmy/sqnr/mx.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "exmy/distributions/sampler.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/sqnr/cells.hpp"
#include "exmy/sqnr/mc_kernels.hpp"
#include "exmy/sqnr/report.hpp"

namespace exmy {
namespace {

constexpr int k_emin = -127, k_emax = 127;  // E8M0 exponents (shared_exponent clamps to them)
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_z975 = 1.959963984540054;  // Φ⁻¹(0.975)

double from_bits_d(std::uint64_t b) {
  double x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// a_e: the smallest m > 0 with shared_exponent(m) ≥ e, by bisection over the ordered bit patterns
// of positive doubles (shared_exponent is non-decreasing in m).
double threshold(int e, const mx_spec& mx) {
  std::uint64_t lo = 1, hi = 0x7fefffffffffffffull;  // smallest subnormal … largest double
  if (shared_exponent(from_bits_d(lo), mx.element, mx.rule) >= e) return 0.0;
  if (shared_exponent(from_bits_d(hi), mx.element, mx.rule) < e) return INFINITY;
  while (hi - lo > 1) {  // invariant: se(lo) < e ≤ se(hi)
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (shared_exponent(from_bits_d(mid), mx.element, mx.rule) >= e)
      hi = mid;
    else
      lo = mid;
  }
  return from_bits_d(hi);
}

// log F(m), F(m) = P(|X| ≤ m), accurate both where F is tiny and where 1 − F is.
double log_f(const distribution& d, double m) {
  if (!(m > 0)) return -INFINITY;
  if (m == INFINITY) return 0.0;
  const double tail = ccdf(d, m) + cdf(d, -m);
  if (tail < 0.5) return std::log1p(-tail);
  const double f = cdf(d, m) - cdf(d, -m);
  return f > 0 ? std::log(f) : -INFINITY;
}

// Moments of the continuous part of `law` restricted to [lo, hi] (no point masses there).
error_moments window(const law_view& law, const std::vector<cell>& cells, const quant_params& p,
                     rounding r, double lo, double hi) {
  law_view v = law;
  v.lo = std::max(law.lo, lo);
  v.hi = std::min(law.hi, hi);
  v.masses.clear();
  if (!(v.hi > v.lo)) return {};
  return analytic_moments(v, cells, p, r);
}

void add_scaled(error_moments& a, const error_moments& b, double w) {
  if (w == 0) return;  // 0·inf would poison the sum with NaN
  a.mse += w * b.mse;
  a.x_err += w * b.x_err;
  a.mean_err += w * b.mean_err;
  a.clip_mse += w * b.clip_mse;
  a.round_mse += w * b.round_mse;
  a.subnormal_mse += w * b.subnormal_mse;
}

}  // namespace

mx_spec parse_mx(const format_spec& element, const std::string& block) {
  mx_spec mx;
  mx.element = element;
  const std::size_t colon = block.find(':');
  const std::string k = block.substr(0, colon);
  const bool digits = !k.empty() && k.size() <= 6 &&
                      std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stol(k) < 1 || std::stol(k) > 65536)
    throw error("--block '" + block + "': expected K[:floor|ceil|nearest] with K in 1…65536");
  mx.block = std::stol(k);
  if (colon != std::string::npos) mx.rule = parse_block_rule(block.substr(colon + 1));
  return mx;
}

std::string to_string(const mx_spec& mx) {
  return mx.element.name + "/" + std::to_string(mx.block) + ":" + to_string(mx.rule);
}

error_moments mx_analytic_moments(const distribution& d, const mx_spec& mx, rounding r) {
  if (d.mass_lo() > 0 || d.mass_hi() > 0 || std::holds_alternative<empirical_law>(d.law()))
    throw error("MX analytic: '" + to_string(d) +
                "' has point masses (clipped or empirical); use --method mc");
  const law_view law = view_of(d);
  const double km1 = static_cast<double>(mx.block - 1);
  // G(a_e) = P(max of the other k − 1 draws < a_e), as log for the differences below.
  std::vector<double> a(k_emax - k_emin + 2), log_g(a.size());
  for (int e = k_emin; e <= k_emax + 1; ++e) {
    const std::size_t i = static_cast<std::size_t>(e - k_emin);
    a[i] = e == k_emin ? 0.0 : (e == k_emax + 1 ? INFINITY : threshold(e, mx));
    log_g[i] = km1 == 0 ? 0.0 : km1 * log_f(d, a[i]);
  }
  error_moments m;
  for (int e = k_emin; e <= k_emax; ++e) {
    const std::size_t i = static_cast<std::size_t>(e - k_emin);
    const double lo = a[i], hi = a[i + 1];
    if (!(hi > lo)) continue;  // an exponent no maximum selects
    const double g_hi = std::exp(log_g[i + 1]);
    if (g_hi == 0) continue;  // G(a_e) ≤ G(a_{e+1}) = 0: exponent e never used
    const double dg = g_hi * -std::expm1(log_g[i] - log_g[i + 1]);  // G(a_{e+1}) − G(a_e)
    const quant_params p = block_params(mx.element, e);
    const std::vector<cell> cells = quantization_cells(p, r);
    error_moments ring = window(law, cells, p, r, lo, hi);
    const error_moments neg = window(law, cells, p, r, -hi, -lo);
    add_scaled(ring, neg, 1.0);
    add_scaled(m, ring, g_hi);
    if (dg > 0 && lo > 0) add_scaled(m, window(law, cells, p, r, -lo, lo), dg);
  }
  m.second_moment = second_moment(d);
  return m;
}

mc_result monte_carlo_mx(const distribution& d, const mx_spec& mx, const mc_options& o) {
  if (o.samples == 0) throw error("Monte-Carlo: need at least one sample");
  if (o.device != mc_device::cpu) throw error("Monte-Carlo MX: only --device cpu is implemented");
  const std::uint64_t k = static_cast<std::uint64_t>(mx.block);
  const std::uint64_t n_blocks = (o.samples + k - 1) / k;
  if (n_blocks > (std::uint64_t{1} << 53) / k)
    throw error("Monte-Carlo: " + std::to_string(o.samples) + " samples: at most 2^53");
  const sampler_params sp = make_sampler_params(d);
  std::vector<quant_params> params;
  for (int e = k_emin; e <= k_emax; ++e) params.push_back(block_params(mx.element, e));
  const mc_geometry g = mc_geometry_of(n_blocks, 1);
  std::vector<mc_sums> chunks(g.n_chunks);
#if defined(_OPENMP)
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
#else
  const int threads = 1;
#endif
  // One chunk of consecutive MX blocks; e4 holds Σ_b S_b², S_b = Σ over block b of e².
  auto run_chunk = [&](std::uint64_t c, std::vector<double>& x) {
    mc_sums s;
    const std::uint64_t b1 = std::min((c + 1) * g.chunk_blocks, n_blocks);
    for (std::uint64_t b = c * g.chunk_blocks; b < b1; ++b) {
      double big = 0;
      for (std::uint64_t j = 0; j < k; ++j) {
        x[j] = draw(sp, o.seed, b * k + j, stream_x);
        big = std::max(big, std::fabs(x[j]));
      }
      const quant_params& p = params[static_cast<std::size_t>(
          shared_exponent(big, mx.element, mx.rule) - k_emin)];
      double sb = 0;
      for (std::uint64_t j = 0; j < k; ++j) {
        const std::uint64_t i = b * k + j;
        const std::uint32_t u =
            o.mode == rounding::stochastic ? mc_sr_word(o.seed, stream_x, i) : 0u;
        const double err = quantize_value(x[j], p, o.mode, u) - x[j];
        s.e += err;
        s.ee += err * err;
        s.xe += x[j] * err;
        s.xx += x[j] * x[j];
        s.x += x[j];
        sb += err * err;
      }
      s.e4 += sb * sb;
      s.n += k;
    }
    return s;
  };
#pragma omp parallel num_threads(threads)
  {
    std::vector<double> x(k);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < static_cast<std::int64_t>(g.n_chunks); ++c)
      chunks[static_cast<std::size_t>(c)] = run_chunk(static_cast<std::uint64_t>(c), x);
  }
  mc_result r;
  r.seed = o.seed;
  for (const mc_sums& c : chunks) accumulate(r.sums, c);  // fixed chunk order
  const mc_sums& s = r.sums;
  r.samples = s.n;
  const double n = static_cast<double>(s.n), nb = static_cast<double>(n_blocks);
  r.mse = s.ee / n;
  r.x_err = s.xe / n;
  r.mean_err = s.e / n;
  r.mean = s.x / n;
  r.second_moment = s.xx / n;
  r.signal_power = second_moment(d);
  r.inner_mse = r.mse;
  // Blocks are i.i.d.: Var(mse) = Var(S_b)/(n_blocks·k²).
  const double mean_sb = s.ee / nb;
  const double var_sb = std::max(0.0, s.e4 / nb - mean_sb * mean_sb) * (nb / std::max(nb - 1, 1.0));
  r.se = std::sqrt(var_sb / nb) / static_cast<double>(k);
  r.batches = chunks.size();
  r.batch_se = k_nan;
  std::string why;
  if (!finite_fourth_moment(d, &why))
    r.ci_reason = why;
  else if (!std::isfinite(s.ee) || !std::isfinite(s.e4))
    r.ci_reason = "the error sums are not finite";
  else if (n_blocks < 2)
    r.ci_reason = "one block gives no interval";
  else
    r.ci_defined = true;
  if (r.ci_defined) {
    r.ci95_lo = r.mse - k_z975 * r.se;
    r.ci95_hi = r.mse + k_z975 * r.se;
  } else {
    r.se = r.ci95_lo = r.ci95_hi = k_nan;
  }
  r.inner_se = r.se;
  return r;
}

}  // namespace exmy
