// exmy/ptq/estimators.cpp — the range estimators of estimators.hpp. Parallel loops run over
// independent tasks (groups, candidates) and write to fixed slots, so no result depends on the
// thread count; exceptions raised inside a parallel region are carried out of it (task_errors).
#include "exmy/ptq/estimators.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include <boost/math/tools/minima.hpp>

#include "exmy/quantize/quantize_cpu.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/sqnr/range_optimal.hpp"
#include "exmy/sqnr/report.hpp"

namespace exmy {
namespace {

constexpr std::size_t k_moment_chunk = std::size_t{1} << 16;
constexpr int k_mse_points = 111;  // reference-spec §5.2
// Below this many element operations a loop runs on the calling thread: idle OpenMP threads spin,
// which on a busy machine costs more than the work itself.
constexpr std::int64_t k_parallel_work = std::int64_t{1} << 18;

// First exception thrown by any task of a parallel loop, rethrown after the loop.
class task_errors {
 public:
  template <class F>
  void run(F&& f) {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (const error& e) {
      record(e.what());
    } catch (const std::exception& e) {
      record(std::string("internal: ") + e.what());
    }
  }
  void rethrow() const {
    if (failed_) throw error(message_);
  }

 private:
  void record(const std::string& m) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failed_) message_ = m;
    failed_ = true;
  }
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::string message_;
};

std::size_t group_count(const std::vector<std::int64_t>& offsets) {
  return offsets.empty() ? 0 : offsets.size() - 1;
}

// Σ(x − Q(x))² over one span with the fused driver on the calling thread.
double span_loss(const float* x, std::size_t n, const quant_params& p, rounding r) {
  quantize_options qo;
  qo.mode = r;
  qo.threads = 1;
  return quantize_error(x, n, p, qo).sum_sq_err;
}

// loss[(f·G + g)·111 + i] for every format f, group g and candidate i (inf where a group has no
// candidates); candidates per group from its own max|x|.
struct loss_table {
  std::vector<std::vector<double>> cand;  // per group (empty: no finite non-zero value)
  std::vector<double> loss;
};

loss_table mse_losses(const float* data, const std::vector<std::int64_t>& offsets,
                      const std::vector<format_spec>& formats, const estimator_options& o) {
  const std::size_t G = group_count(offsets), F = formats.size();
  loss_table t;
  t.cand.resize(G);
  task_errors errs;
  const std::int64_t n_all = G ? offsets[G] - offsets[0] : 0;
#pragma omp parallel for schedule(dynamic, 16) if (n_all >= k_parallel_work)
  for (std::ptrdiff_t g = 0; g < static_cast<std::ptrdiff_t>(G); ++g) {
    errs.run([&] {
      const std::size_t b = static_cast<std::size_t>(offsets[g]);
      const std::size_t n = static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
      const double a = symmetric_maxval(finite_range(data + b, n));
      if (a > 0.0 && std::isfinite(a)) t.cand[static_cast<std::size_t>(g)] = mse_candidates(a);
    });
  }
  errs.rethrow();
  t.loss.assign(F * G * k_mse_points, INFINITY);
  const std::size_t tasks = F * G * k_mse_points;
#pragma omp parallel for schedule(dynamic, 8) if (n_all * k_mse_points * std::int64_t(F) >= k_parallel_work)
  for (std::ptrdiff_t k = 0; k < static_cast<std::ptrdiff_t>(tasks); ++k) {
    errs.run([&] {
      const std::size_t i = static_cast<std::size_t>(k) % k_mse_points;
      const std::size_t fg = static_cast<std::size_t>(k) / k_mse_points;
      const std::size_t g = fg % G, f = fg / G;
      if (t.cand[g].empty()) return;
      const std::size_t b = static_cast<std::size_t>(offsets[g]);
      const std::size_t n = static_cast<std::size_t>(offsets[g + 1] - offsets[g]);
      t.loss[static_cast<std::size_t>(k)] =
          span_loss(data + b, n, make_params(formats[f], t.cand[g][i]), o.mode);
    });
  }
  errs.rethrow();
  return t;
}

// Index of the first minimum of loss[0 … 111).
std::size_t first_argmin(const double* loss) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < static_cast<std::size_t>(k_mse_points); ++i)
    if (loss[i] < loss[best]) best = i;
  return best;
}

void check_symmetric_format(const format_spec& f, const char* who) {
  if (f.is_affine())
    throw error(std::string(who) + " estimator: format '" + f.name +
                "' is affine (asymmetric); the search is over a symmetric maxval");
}

// numpy's _lerp(a, b, t): a + (b − a)·t, evaluated from b when t ≥ 0.5.
double numpy_lerp(double a, double b, double t) {
  const double d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

// Finite values (absolute when asked) of x at stride s, as doubles.
std::vector<double> finite_values(const float* x, std::size_t n, bool absolute,
                                  std::size_t stride = 1) {
  std::vector<double> v;
  v.reserve(n / stride + 1);
  for (std::size_t i = 0; i < n; i += stride) {
    const double d = x[i];
    if (std::isfinite(d)) v.push_back(absolute ? std::fabs(d) : d);
  }
  return v;
}

// The profile log-likelihood (per point) of a Student-t with ν fixed: (μ, σ²) by EM to
// convergence, warm-started from (mu, s2), which are updated.
double t_profile(const std::vector<double>& v, double nu, double& mu, double& s2) {
  const double N = static_cast<double>(v.size());
  for (int it = 0; it < 500; ++it) {
    double sw = 0, swx = 0;
    for (double x : v) {
      const double d = x - mu;
      const double w = (nu + 1.0) / (nu + d * d / s2);
      sw += w;
      swx += w * x;
    }
    const double mu1 = swx / sw;
    double ss = 0;
    for (double x : v) {
      const double d0 = x - mu, d = x - mu1;
      ss += (nu + 1.0) / (nu + d0 * d0 / s2) * d * d;
    }
    const double s21 = ss / N;
    const bool done = std::fabs(mu1 - mu) <= 1e-12 * std::sqrt(s2) && std::fabs(s21 - s2) <= 1e-11 * s2;
    mu = mu1;
    s2 = s21 > 0 ? s21 : s2;
    if (done) break;
  }
  double sl = 0;
  for (double x : v) {
    const double d = x - mu;
    sl += std::log1p(d * d / (nu * s2));
  }
  return std::lgamma(0.5 * (nu + 1.0)) - std::lgamma(0.5 * nu) - 0.5 * std::log(nu * M_PI) -
         0.5 * std::log(s2) - 0.5 * (nu + 1.0) * sl / N;
}

// The format_cells key of every bin centre below the threshold: the quantized centre.
void cell_keys(const std::vector<double>& centres, std::size_t i, const format_spec& f, double T,
               rounding r, std::vector<double>& key) {
  quantize_options qo;
  qo.mode = r;
  qo.threads = 1;
  key.resize(i);
  quantize(centres.data(), key.data(), i, make_params(f, T), qo);
}

}  // namespace

const char* to_string(estimator_kind k) {
  switch (k) {
    case estimator_kind::current_minmax: return "current_minmax";
    case estimator_kind::allminmax: return "allminmax";
    case estimator_kind::running_minmax: return "running_minmax";
    case estimator_kind::mse: return "mse";
    case estimator_kind::kl: return "kl";
    case estimator_kind::percentile: return "percentile";
    case estimator_kind::analytic: return "analytic";
  }
  return "?";
}

estimator_kind parse_estimator(const std::string& s) {
  for (estimator_kind k :
       {estimator_kind::current_minmax, estimator_kind::allminmax, estimator_kind::running_minmax,
        estimator_kind::mse, estimator_kind::kl, estimator_kind::percentile,
        estimator_kind::analytic})
    if (s == to_string(k)) return k;
  if (s == "MSE") return estimator_kind::mse;
  throw error("unknown estimator '" + s +
              "': expected current_minmax, allminmax, running_minmax, mse, kl, percentile or analytic");
}

const char* to_string(kl_grouping g) {
  return g == kl_grouping::format_cells ? "format_cells" : "uniform_levels";
}

value_range finite_range(const float* x, std::size_t n) {
  value_range r;
  float lo = INFINITY, hi = -INFINITY;
  std::uint64_t fin = 0, nan = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const bool f = (v - v) == 0.0f;  // false for NaN and ±inf
    fin += f;
    nan += (v != v);
    lo = (f && v < lo) ? v : lo;
    hi = (f && v > hi) ? v : hi;
  }
  r.finite = fin;
  r.nan = nan;
  r.inf = n - fin - nan;
  if (fin) {
    r.lo = lo;
    r.hi = hi;
  }
  return r;
}

double symmetric_maxval(const value_range& r) {
  return r.finite ? std::max(std::fabs(r.lo), std::fabs(r.hi)) : 0.0;
}

range_tracker::range_tracker(estimator_kind kind, double momentum)
    : kind_(kind), momentum_(momentum) {
  if (!(momentum >= 0.0 && momentum <= 1.0))
    throw error("running_minmax: momentum must lie in [0, 1]");
}

const std::vector<value_range>& range_tracker::update(const std::vector<value_range>& batch) {
  if (state_.empty() || kind_ == estimator_kind::current_minmax) {
    state_ = batch;
    return state_;
  }
  if (batch.size() != state_.size())
    throw error("range tracker: a batch has " + std::to_string(batch.size()) + " groups, " +
                "the state " + std::to_string(state_.size()));
  for (std::size_t g = 0; g < batch.size(); ++g) {
    value_range& s = state_[g];
    const value_range& b = batch[g];
    if (b.finite == 0) continue;  // a batch without finite values leaves the estimate alone
    if (s.finite == 0) {
      s.lo = b.lo;
      s.hi = b.hi;
    } else if (kind_ == estimator_kind::allminmax) {
      s.lo = std::min(s.lo, b.lo);
      s.hi = std::max(s.hi, b.hi);
    } else {  // running_minmax: v ← (1 − μ)·v_batch + μ·v
      s.lo = (1.0 - momentum_) * b.lo + momentum_ * s.lo;
      s.hi = (1.0 - momentum_) * b.hi + momentum_ * s.hi;
    }
    s.finite += b.finite;
    s.nan += b.nan;
    s.inf += b.inf;
  }
  return state_;
}

std::vector<double> mse_candidates(double a) {
  std::vector<double> c(k_mse_points);
  const double start = 0.1 * a, end = 1.2 * a, step = (end - start) / (k_mse_points - 1);
  for (int i = 0; i < k_mse_points; ++i)
    c[static_cast<std::size_t>(i)] =
        static_cast<float>(i == k_mse_points - 1 ? end : start + i * step);
  return c;
}

mse_result mse_search(const float* data, const std::vector<std::int64_t>& offsets,
                      const format_spec& f, const estimator_options& o) {
  check_symmetric_format(f, "mse");
  const loss_table t = mse_losses(data, offsets, {f}, o);
  const std::size_t G = group_count(offsets);
  mse_result r;
  r.format = f;
  r.maxval.resize(G);
  r.loss.resize(G);
  for (std::size_t g = 0; g < G; ++g) {
    if (t.cand[g].empty()) {
      r.maxval[g] = 1.0;
      r.loss[g] = 0.0;
      continue;
    }
    const double* l = &t.loss[g * k_mse_points];
    const std::size_t i = first_argmin(l);
    r.maxval[g] = t.cand[g][i];
    r.loss[g] = l[i];
  }
  return r;
}

mse_result mse_vote_search(const float* data, const std::vector<std::int64_t>& offsets, int bits,
                           const estimator_options& o) {
  if (bits < 3) throw error("mse vote: needs at least 3 bits (M = 1 … bits−2)");
  std::vector<format_spec> fs;
  for (int m = 1; m <= bits - 2; ++m)
    fs.push_back(parse_format("e" + std::to_string(bits - 1 - m) + "m" + std::to_string(m)));
  const loss_table t = mse_losses(data, offsets, fs, o);
  const std::size_t G = group_count(offsets), F = fs.size();
  mse_result r;
  r.votes.assign(G, -1);
  std::vector<int> tally(F, 0);
  for (std::size_t g = 0; g < G; ++g) {
    if (t.cand[g].empty()) continue;  // an all-zero group has no preference and does not vote
    std::size_t best_f = 0;
    double best = INFINITY;
    for (std::size_t f = 0; f < F; ++f) {
      const double* l = &t.loss[(f * G + g) * k_mse_points];
      const double m = l[first_argmin(l)];
      if (m < best) {
        best = m;
        best_f = f;
      }
    }
    r.votes[g] = static_cast<int>(best_f) + 1;
    ++tally[best_f];
  }
  std::size_t win = 0;
  for (std::size_t f = 1; f < F; ++f)
    if (tally[f] > tally[win]) win = f;  // ties keep the smaller M
  r.voted_man_bits = static_cast<int>(win) + 1;
  r.format = fs[win];
  r.maxval.resize(G);
  r.loss.resize(G);
  for (std::size_t g = 0; g < G; ++g) {
    if (t.cand[g].empty()) {
      r.maxval[g] = 1.0;
      r.loss[g] = 0.0;
      continue;
    }
    const double* l = &t.loss[(win * G + g) * k_mse_points];
    const std::size_t i = first_argmin(l);
    r.maxval[g] = t.cand[g][i];
    r.loss[g] = l[i];
  }
  return r;
}

double kl_threshold(const float* x, std::size_t n, const format_spec& f,
                    const estimator_options& o) {
  check_symmetric_format(f, "kl");
  const int B = o.kl_bins;
  if (B < 2) throw error("kl: needs at least 2 histogram bins");
  const int start = std::clamp(o.kl_start_bin, 1, B);
  const std::vector<double> v = finite_values(x, n, true);
  double amax = 0;
  for (double a : v) amax = std::max(amax, a);
  if (!(amax > 0.0)) return 0.0;
  // 1. numpy.histogram(|x|, B, range=(0, amax)): linspace edges, index from (v − 0)·B/amax,
  //    then numpy's one-step corrections against the edges.
  std::vector<double> edge(static_cast<std::size_t>(B) + 1);
  const double step = amax / B;
  for (int i = 0; i < B; ++i) edge[static_cast<std::size_t>(i)] = i * step;
  edge[static_cast<std::size_t>(B)] = amax;
  const double norm = B / amax;
  std::vector<double> bins(static_cast<std::size_t>(B), 0.0);
  for (double a : v) {
    std::int64_t k = static_cast<std::int64_t>(a * norm);
    if (k >= B) k = B - 1;
    if (a < edge[static_cast<std::size_t>(k)]) --k;
    else if (k != B - 1 && a >= edge[static_cast<std::size_t>(k) + 1]) ++k;
    bins[static_cast<std::size_t>(k)] += 1.0;
  }
  bins[0] = bins[1];  // ModelOpt: exact zeros would otherwise dominate the first bin
  std::vector<double> tail(static_cast<std::size_t>(B) + 1, 0.0);
  for (int i = B - 1; i >= 0; --i)
    tail[static_cast<std::size_t>(i)] = tail[static_cast<std::size_t>(i) + 1] + bins[static_cast<std::size_t>(i)];
  std::vector<double> centre(static_cast<std::size_t>(B));
  for (int i = 0; i < B; ++i)
    centre[static_cast<std::size_t>(i)] = 0.5 * (edge[static_cast<std::size_t>(i)] + edge[static_cast<std::size_t>(i) + 1]);
  const int levels = 1 << (f.bits - 1 + (f.is_signed ? 0 : 1));

  std::vector<double> key, q;
  double best_div = INFINITY;
  int best_i = B;
  for (int i = start; i <= B; ++i) {
    const std::size_t ui = static_cast<std::size_t>(i);
    // 2. group key of each bin below the candidate threshold.
    if (o.kl_mode == kl_grouping::format_cells) {
      cell_keys(centre, ui, f, edge[ui], o.mode, key);
    } else {
      key.resize(ui);
      const double sp = static_cast<double>(i) / levels;  // linspace(0, i, levels + 1)
      int k = 0;  // np.digitize(idx, space) − 1: the last k with space[k] ≤ idx
      for (std::size_t idx = 0; idx < ui; ++idx) {
        while (k + 1 < levels && (k + 1) * sp <= static_cast<double>(idx)) ++k;
        key[idx] = k;
      }
    }
    // Q: each run of equal keys spreads its total evenly over its non-empty bins.
    q.assign(ui, 0.0);
    for (std::size_t a = 0; a < ui;) {
      std::size_t b = a;
      double sum = 0, nonzero = 0;
      while (b < ui && key[b] == key[a]) {
        if (bins[b] != 0.0) {
          sum += bins[b];
          nonzero += 1.0;
        }
        ++b;
      }
      if (nonzero > 0)
        for (std::size_t j = a; j < b; ++j)
          if (bins[j] != 0.0) q[j] = sum / nonzero;
      a = b;
    }
    // 3. KL(P ‖ Q) of the normalised histograms; P's last bin takes the clipped tail.
    double sp_ = tail[0], sq = 0;
    for (std::size_t j = 0; j < ui; ++j) sq += q[j];
    double div = 0;
    for (std::size_t j = 0; j < ui; ++j) {
      const double pj = (j + 1 == ui ? bins[j] + tail[ui] : bins[j]) / sp_;
      if (pj == 0.0) continue;
      const double qj = q[j] / sq;
      if (qj == 0.0) {
        div = INFINITY;
        break;
      }
      div += pj * std::log(pj / qj);
    }
    // 4. the last minimum.
    if (div <= best_div) {
      best_div = div;
      best_i = i;
    }
  }
  return edge[static_cast<std::size_t>(best_i)];
}

double percentile_of(const float* x, std::size_t n, double p, bool absolute) {
  if (!(p >= 0.0 && p <= 100.0)) throw error("percentile must lie in [0, 100]");
  std::vector<double> v = finite_values(x, n, absolute);
  if (v.empty()) return 0.0;
  const double vi = static_cast<double>(v.size() - 1) * (p / 100.0);
  const std::size_t lo = static_cast<std::size_t>(std::floor(vi));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  const double b = hi == lo ? a : *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return numpy_lerp(a, b, vi - std::floor(vi));
}

tensor_moments moments(const float* x, std::size_t n) {
  tensor_moments m;
  const std::size_t C = (n + k_moment_chunk - 1) / k_moment_chunk;
  std::vector<double> s1(C), s2(C), s4(C);
  std::vector<value_range> rg(C);
#pragma omp parallel for schedule(static) if (C > 1)
  for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(C); ++c) {
    const std::size_t b = static_cast<std::size_t>(c) * k_moment_chunk;
    const std::size_t len = std::min(k_moment_chunk, n - b);
    rg[static_cast<std::size_t>(c)] = finite_range(x + b, len);
    double s = 0;
    for (std::size_t i = 0; i < len; ++i) {
      const double v = x[b + i];
      s += std::isfinite(v) ? v : 0.0;
    }
    s1[static_cast<std::size_t>(c)] = s;
  }
  double sum = 0;
  bool any = false;
  for (std::size_t c = 0; c < C; ++c) {
    sum += s1[c];
    m.finite += rg[c].finite;
    m.nan += rg[c].nan;
    m.inf += rg[c].inf;
    if (rg[c].finite) {
      m.lo = any ? std::min(m.lo, rg[c].lo) : rg[c].lo;
      m.hi = any ? std::max(m.hi, rg[c].hi) : rg[c].hi;
      any = true;
    }
  }
  if (m.finite == 0) return m;
  m.mean = sum / static_cast<double>(m.finite);
  const double mu = m.mean;
#pragma omp parallel for schedule(static) if (C > 1)
  for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(C); ++c) {
    const std::size_t b = static_cast<std::size_t>(c) * k_moment_chunk;
    const std::size_t len = std::min(k_moment_chunk, n - b);
    double a2 = 0, a4 = 0;
    for (std::size_t i = 0; i < len; ++i) {
      const double v = x[b + i];
      if (!std::isfinite(v)) continue;
      const double d2 = (v - mu) * (v - mu);
      a2 += d2;
      a4 += d2 * d2;
    }
    s2[static_cast<std::size_t>(c)] = a2;
    s4[static_cast<std::size_t>(c)] = a4;
  }
  double m2 = 0, m4 = 0;
  for (std::size_t c = 0; c < C; ++c) {
    m2 += s2[c];
    m4 += s4[c];
  }
  m2 /= static_cast<double>(m.finite);
  m4 /= static_cast<double>(m.finite);
  m.std = std::sqrt(m2);
  m.excess_kurtosis = m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0;
  return m;
}

law_fit fit_law(const float* x, std::size_t n, std::size_t max_points) {
  law_fit r;
  const value_range all = finite_range(x, n);
  r.lo = all.lo;
  r.hi = all.hi;
  if (max_points < 2) max_points = 2;
  const std::size_t stride = all.finite > max_points ? (all.finite + max_points - 1) / max_points : 1;
  // The stride runs over all elements; with few non-finite values it keeps ≈ max_points.
  const std::vector<double> v = finite_values(x, n, false, stride);
  r.points = v.size();
  if (v.size() < 2 || !(all.lo < all.hi)) return r;
  const double N = static_cast<double>(v.size());
  double s = 0;
  for (double a : v) s += a;
  const double mu = s / N;
  double ss = 0;
  for (double a : v) ss += (a - mu) * (a - mu);
  const double var = ss / N;
  if (!(var > 0)) return r;
  r.normal_mu = mu;
  r.normal_sigma = std::sqrt(var);
  r.normal_loglik = -0.5 * std::log(2.0 * M_PI * var) - 0.5;
  // Profile likelihood over u = log ν, warm-started EM inside; Brent to ~1e-5 in log ν.
  double wmu = mu, ws2 = var;
  auto neg = [&](double u) { return -t_profile(v, std::exp(u), wmu, ws2); };
  const double ulo = std::log(0.5), uhi = std::log(1000.0);
  std::uintmax_t iters = 100;
  const auto best = boost::math::tools::brent_find_minima(neg, ulo, uhi, 18, iters);
  r.t_nu = std::exp(best.first);
  r.t_mu = wmu;
  r.t_scale = std::sqrt(ws2);
  // Re-evaluate at the optimum so (μ, scale, loglik) belong to the reported ν.
  r.t_loglik = t_profile(v, r.t_nu, r.t_mu, ws2);
  r.t_scale = std::sqrt(ws2);
  r.use_t = r.t_nu < 999.0 && 2.0 * N * (r.t_loglik - r.normal_loglik) > 2.0;
  return r;
}

bool fit_usable(const law_fit& f) { return f.normal_sigma > 0 && f.lo < f.hi; }

distribution fitted_distribution(const law_fit& f) {
  if (!fit_usable(f)) throw error("fitted law: the tensor has fewer than two distinct finite values");
  const bounds b = clipped(f.lo, f.hi);
  if (f.use_t) return distribution(student_t_law(f.t_nu, f.t_scale, f.t_mu), b);
  return normal(f.normal_mu, f.normal_sigma, b);
}

analytic_range analytic_maxval(const distribution& law, const format_spec& f, rounding r) {
  check_symmetric_format(f, "analytic");
  const law_view view = view_of(law);
  const optimal_range_result o = optimal_maxval(view, f, r);
  return {o.maxval, o.moments.sqnr_db()};
}

std::vector<value_range> estimate_ranges(const float* data, const std::vector<std::int64_t>& offsets,
                                         const format_spec& f, const estimator_options& o,
                                         bool symmetric) {
  const std::size_t G = group_count(offsets);
  std::vector<value_range> out(G);
  auto span = [&](std::size_t g) {
    return std::make_pair(data + offsets[g], static_cast<std::size_t>(offsets[g + 1] - offsets[g]));
  };
  // Census and min/max of every group (all estimators report it).
  const std::int64_t n_all = G ? offsets[G] - offsets[0] : 0;
#pragma omp parallel for schedule(dynamic, 64) if (n_all >= k_parallel_work)
  for (std::ptrdiff_t g = 0; g < static_cast<std::ptrdiff_t>(G); ++g) {
    const auto s = span(static_cast<std::size_t>(g));
    out[static_cast<std::size_t>(g)] = finite_range(s.first, s.second);
  }
  const bool needs_symmetric = o.kind == estimator_kind::mse || o.kind == estimator_kind::kl ||
                               o.kind == estimator_kind::analytic;
  if (needs_symmetric && !symmetric)
    throw error(std::string(to_string(o.kind)) +
                " estimator: searches a symmetric range; use a min-max or percentile estimator "
                "for asymmetric quantization");
  auto set_sym = [](value_range& r, double m) {
    r.lo = -m;
    r.hi = m;
  };
  task_errors errs;
  switch (o.kind) {
    case estimator_kind::current_minmax:
    case estimator_kind::allminmax:
    case estimator_kind::running_minmax:
      break;  // one batch: every min-max estimator gives the batch's range
    case estimator_kind::mse: {
      const mse_result m = mse_search(data, offsets, f, o);
      for (std::size_t g = 0; g < G; ++g) set_sym(out[g], m.maxval[g]);
      break;
    }
    case estimator_kind::kl:
    case estimator_kind::percentile:
    case estimator_kind::analytic:
#pragma omp parallel for schedule(dynamic, 1) if (G > 1)
      for (std::ptrdiff_t g = 0; g < static_cast<std::ptrdiff_t>(G); ++g) {
        errs.run([&] {
          value_range& r = out[static_cast<std::size_t>(g)];
          const auto s = span(static_cast<std::size_t>(g));
          if (o.kind == estimator_kind::kl) {
            set_sym(r, kl_threshold(s.first, s.second, f, o));
          } else if (o.kind == estimator_kind::percentile) {
            if (symmetric) {
              set_sym(r, percentile_of(s.first, s.second, o.percentile, true));
            } else {
              r.lo = percentile_of(s.first, s.second, 100.0 - o.percentile, false);
              r.hi = percentile_of(s.first, s.second, o.percentile, false);
            }
          } else {
            const law_fit fit = fit_law(s.first, s.second);
            if (fit_usable(fit))
              set_sym(r, analytic_maxval(fitted_distribution(fit), f, o.mode).maxval);
          }
        });
      }
      errs.rethrow();
      break;
  }
  return out;
}

}  // namespace exmy
