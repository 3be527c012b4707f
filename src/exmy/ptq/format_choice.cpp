// exmy/ptq/format_choice.cpp — analyze_tensor and the model summary (see format_choice.hpp).
#include "exmy/ptq/format_choice.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "exmy/sqnr/analytic.hpp"
#include "exmy/sqnr/report.hpp"

namespace exmy {
namespace {

double usable_maxval(double m) { return (m > 0.0 && std::isfinite(m)) ? m : 1.0; }

// Per-group parameters of one format from its estimated ranges.
std::vector<quant_params> group_params(const format_spec& f, const std::vector<value_range>& ranges,
                                       const granularity& g) {
  std::vector<quant_params> p;
  p.reserve(ranges.size());
  for (const value_range& r : ranges) {
    if (g.kind == granularity_kind::block)
      p.push_back(block_params(f, shared_exponent(symmetric_maxval(r), f, g.rule)));
    else if (f.is_affine())
      p.push_back(make_affine_params(f, r.lo, r.hi));
    else
      p.push_back(make_params(f, usable_maxval(symmetric_maxval(r))));
  }
  return p;
}

// MX blocks: blocks with the same shared exponent share their parameters, so they are gathered
// into one run per exponent (stable, ascending) and measured as few large groups: the same
// statistics on CPU and CUDA without one driver call per 32-element block.
error_stats measure_blocks(const float* buf, const std::vector<std::int64_t>& off,
                           const std::vector<quant_params>& params, const ptq_options& o) {
  const std::size_t G = off.size() - 1;
  std::vector<int> e(G);
  // block_params gives scale 2^e exactly (alpha = 1), so scale_exp is the shared exponent.
  for (std::size_t g = 0; g < G; ++g) e[g] = params[g].scale_exp;
  std::vector<std::int64_t> run_start(257, 0);
  // Element offset of each exponent's run.
  std::vector<std::int64_t> elems(256, 0);
  for (std::size_t g = 0; g < G; ++g) elems[static_cast<std::size_t>(e[g] + 128)] += off[g + 1] - off[g];
  for (std::size_t k = 0; k < 256; ++k) run_start[k + 1] = run_start[k] + elems[k];
  std::vector<float> gathered(static_cast<std::size_t>(off.back()));
  std::vector<std::int64_t> pos(run_start.begin(), run_start.end() - 1);
  for (std::size_t g = 0; g < G; ++g) {
    const std::size_t k = static_cast<std::size_t>(e[g] + 128);
    const std::int64_t len = off[g + 1] - off[g];
    std::memcpy(gathered.data() + pos[k], buf + off[g], static_cast<std::size_t>(len) * sizeof(float));
    pos[k] += len;
  }
  // Any block of an exponent carries its run's parameters: take the first.
  std::vector<std::size_t> first(256, G);
  for (std::size_t g = G; g-- > 0;) first[static_cast<std::size_t>(e[g] + 128)] = g;
  std::vector<std::int64_t> run_off{0};
  std::vector<quant_params> run_params;
  for (std::size_t k = 0; k < 256; ++k) {
    if (elems[k] == 0) continue;
    run_off.push_back(run_start[k + 1]);
    run_params.push_back(params[first[k]]);
  }
  quantize_options qo;
  qo.mode = o.mode;
  qo.scale = o.scale;
  return measure_groups(gathered.data(), run_off, {run_params}, qo, o.device, o.chunk)[0];
}

}  // namespace

const char* to_string(optimal_prediction p) {
  switch (p) {
    case optimal_prediction::none: return "none";
    case optimal_prediction::best: return "best";
    case optimal_prediction::all: return "all";
  }
  return "?";
}

optimal_prediction parse_optimal_prediction(const std::string& s) {
  if (s == "none") return optimal_prediction::none;
  if (s == "best") return optimal_prediction::best;
  if (s == "all") return optimal_prediction::all;
  throw error("unknown optimal prediction '" + s + "': expected none, best or all");
}

std::vector<format_spec> effective_formats(const ptq_options& o) {
  std::vector<format_spec> fs = o.formats.empty() ? parse_format_list("all") : o.formats;
  for (format_spec& f : fs) {
    if (f.is_float()) continue;
    if (o.reduce_range) f = reduce_range(f);
    if (!(o.symmetric && o.gran.symmetric) && !f.is_affine()) f = asymmetric_variant(f);
  }
  return fs;
}

void validate(const ptq_options& o) {
  const estimator_options& e = o.est;
  if (!(e.percentile > 0.0 && e.percentile <= 100.0))
    throw error("percentile estimator: p must lie in (0, 100]");
  if (!(e.momentum >= 0.0 && e.momentum <= 1.0))
    throw error("running_minmax: momentum must lie in [0, 1]");
  if (e.kl_bins < 2 || e.kl_start_bin < 1) throw error("kl: needs ≥ 2 bins and a start bin ≥ 1");
  if (e.mantissa_vote && e.kind != estimator_kind::mse)
    throw error("the mantissa vote belongs to the mse estimator");
  const std::vector<format_spec> fs = effective_formats(o);
  if (fs.empty()) throw error("no candidate formats");
  const bool symmetric_search = e.kind == estimator_kind::mse || e.kind == estimator_kind::kl ||
                                e.kind == estimator_kind::analytic;
  for (const format_spec& f : fs) {
    if (!f.is_affine()) continue;
    if (symmetric_search)
      throw error(std::string(to_string(e.kind)) + " estimator: searches a symmetric range; '" +
                  f.name + "' is asymmetric (use a min-max or percentile estimator)");
    if (o.gran.kind == granularity_kind::block)
      throw error("block granularity: '" + f.name + "' is affine and has no power-of-two block scale");
  }
}

tensor_report analyze_tensor(const tensor& t, const ptq_options& o, bool keep_params) {
  validate(o);
  tensor_report r;
  r.name = t.name;
  r.shape = t.shape;
  r.source = t.source;
  const std::int64_t n = t.numel();
  if (static_cast<std::int64_t>(t.data.size()) != n)
    throw error("tensor '" + t.name + "': " + std::to_string(t.data.size()) +
                " values for a shape of " + std::to_string(n) + " elements");
  granularity g = o.gran;
  g.symmetric = o.symmetric && o.gran.symmetric;
  r.applied = resolve(g, t.shape);
  const std::vector<std::int64_t> off = group_offsets(t.shape, r.applied);
  r.groups = static_cast<std::int64_t>(off.size()) - 1;

  // Group order: a copy unless the row-major order already is it.
  std::vector<float> ordered;
  const float* buf = t.data.data();
  if (!is_row_major_order(t.shape, r.applied)) {
    ordered.resize(static_cast<std::size_t>(n));
    to_group_order(t.data.data(), t.shape, r.applied, ordered.data());
    buf = ordered.data();
  }

  r.stats = moments(t.data.data(), static_cast<std::size_t>(n));
  std::vector<distribution> law;  // zero or one element: the fitted law
  if (o.analysis) {
    r.fit = fit_law(t.data.data(), static_cast<std::size_t>(n), o.fit_points);
    r.fitted = fit_usable(r.fit);
    if (r.fitted) law.push_back(fitted_distribution(r.fit));
  }

  const std::vector<format_spec> fs = effective_formats(o);
  // Min-max and percentile ranges do not depend on the format: computed once per symmetry.
  const bool format_free = o.est.kind == estimator_kind::current_minmax ||
                           o.est.kind == estimator_kind::allminmax ||
                           o.est.kind == estimator_kind::running_minmax ||
                           o.est.kind == estimator_kind::percentile;
  std::vector<value_range> cached[2];
  bool have[2] = {false, false};
  auto ranges_for = [&](const format_spec& f) {
    const bool symmetric = !f.is_affine();  // asymmetric quantization = an affine format
    if (!format_free) return estimate_ranges(buf, off, f, o.est, symmetric);
    if (!have[symmetric]) {
      cached[symmetric] = estimate_ranges(buf, off, f, o.est, symmetric);
      have[symmetric] = true;
    }
    return cached[symmetric];
  };
  if (o.est.kind == estimator_kind::mse && o.est.mantissa_vote) {
    int bits = 8;
    for (const format_spec& f : fs)
      if (f.is_float()) {
        bits = f.bits;
        break;
      }
    r.vote = mse_vote_search(buf, off, bits, o.est).format.name;
  }

  r.formats.resize(fs.size());
  std::vector<std::vector<quant_params>> params(fs.size());
  for (std::size_t k = 0; k < fs.size(); ++k) {
    format_result& fr = r.formats[k];
    fr.format = fs[k].name;
    try {
      const std::vector<value_range> ranges = ranges_for(fs[k]);
      params[k] = group_params(fs[k], ranges, r.applied);
      for (const quant_params& p : params[k]) require_float32_range(p, "float32 tensor");
      double lo = INFINITY, hi = -INFINITY;
      for (const quant_params& p : params[k]) {
        lo = std::min(lo, p.maxval);
        hi = std::max(hi, p.maxval);
      }
      fr.maxval_min = lo;
      fr.maxval_max = hi;
    } catch (const error& e) {
      fr.error = e.what();
      params[k].clear();
    }
  }

  // Measurement: one pass over the data for all formats (blocks: one pass per format).
  quantize_options qo;
  qo.mode = o.mode;
  qo.scale = o.scale;
  std::vector<std::size_t> ok;
  for (std::size_t k = 0; k < fs.size(); ++k)
    if (r.formats[k].error.empty()) ok.push_back(k);
  if (r.applied.kind == granularity_kind::block) {
    for (std::size_t k : ok) r.formats[k].stats = measure_blocks(buf, off, params[k], o);
  } else if (!ok.empty()) {
    std::vector<std::vector<quant_params>> pl;
    for (std::size_t k : ok) pl.push_back(params[k]);
    const std::vector<error_stats> st = measure_groups(buf, off, pl, qo, o.device, o.chunk);
    for (std::size_t i = 0; i < ok.size(); ++i) r.formats[ok[i]].stats = st[i];
  }

  for (std::size_t k : ok) {
    format_result& fr = r.formats[k];
    // No finite value (an empty or all-NaN tensor): the SQNR is undefined, and nothing wins.
    fr.sqnr_db = fr.stats.count ? fr.stats.sqnr_db() : not_a_number;
    if (std::isnan(fr.sqnr_db)) continue;
    if (r.best < 0 || fr.sqnr_db > r.formats[static_cast<std::size_t>(r.best)].sqnr_db)
      r.best = static_cast<int>(k);
  }
  // Predictions of the fitted law. A law outside what the engine integrates (a grid beyond the
  // double range) leaves them NaN; the measurement stands.
  if (!law.empty()) {
    const law_view view = view_of(law[0]);
    for (std::size_t k : ok) {
      format_result& fr = r.formats[k];
      try {
        if (r.applied.kind == granularity_kind::tensor)
          fr.predicted_db = analytic_moments(view, params[k][0], o.mode).sqnr_db();
        const bool want = o.predict_optimal == optimal_prediction::all ||
                          (o.predict_optimal == optimal_prediction::best && r.best == static_cast<int>(k));
        if (want && !fs[k].is_affine()) {
          const analytic_range a = analytic_maxval(law[0], fs[k], o.mode);
          fr.predicted_opt_db = a.predicted_db;
          fr.predicted_opt_maxval = a.maxval;
        }
      } catch (const error&) {
      }
    }
  }
  if (keep_params)
    for (std::size_t k : ok) r.formats[k].params = std::move(params[k]);
  return r;
}

ptq_summary summarize(const std::vector<tensor_report>& reports) {
  ptq_summary s;
  std::vector<double> wsum, xx, ee;
  std::vector<double> sq;
  for (const tensor_report& r : reports) {
    ++s.tensors;
    s.parameters += r.numel();
    s.nan += r.stats.nan;
    s.inf += r.stats.inf;
    if (s.formats.empty()) {
      for (const format_result& f : r.formats) s.formats.push_back({f.format});
      wsum.assign(s.formats.size(), 0.0);
      xx.assign(s.formats.size(), 0.0);
      ee.assign(s.formats.size(), 0.0);
    }
    if (r.formats.size() != s.formats.size())
      throw error("summary: tensors were measured with different candidate sets");
    for (std::size_t k = 0; k < r.formats.size(); ++k) {
      const format_result& f = r.formats[k];
      format_summary& fs = s.formats[k];
      if (!f.error.empty()) {
        ++fs.failed;
        continue;
      }
      if (std::isinf(f.sqnr_db) && f.sqnr_db > 0) {
        ++fs.exact;
      } else if (std::isfinite(f.sqnr_db)) {
        wsum[k] += static_cast<double>(r.numel()) * f.sqnr_db;
        fs.parameters += r.numel();
        xx[k] += f.stats.sum_sq;
        ee[k] += f.stats.sum_sq_err;
      }
    }
    if (r.best < 0) continue;
    const double top = r.formats[static_cast<std::size_t>(r.best)].sqnr_db;
    if (!std::isfinite(top)) continue;  // exact for the best: every exact format ties
    int tied = 0;
    for (const format_result& f : r.formats) tied += (f.error.empty() && f.sqnr_db == top);
    for (std::size_t k = 0; k < r.formats.size(); ++k)
      if (r.formats[k].error.empty() && r.formats[k].sqnr_db == top) {
        ++s.formats[k].wins;
        if (tied == 1) ++s.formats[k].sole_wins;
      }
  }
  for (std::size_t k = 0; k < s.formats.size(); ++k) {
    format_summary& fs = s.formats[k];
    if (fs.parameters > 0) fs.weighted_sqnr_db = wsum[k] / static_cast<double>(fs.parameters);
    if (ee[k] > 0) fs.pooled_sqnr_db = 10.0 * std::log10(xx[k] / ee[k]);
  }
  return s;
}

tensor fake_quantize(const tensor& t, const tensor_report& r, std::size_t k, const ptq_options& o) {
  if (k >= r.formats.size() || !r.formats[k].error.empty())
    throw error("tensor '" + t.name + "': candidate " + std::to_string(k) + " has no result");
  const format_result& fr = r.formats[k];
  const std::vector<std::int64_t> off = group_offsets(t.shape, r.applied);
  if (fr.params.size() + 1 != off.size())
    throw error("tensor '" + t.name + "': the report kept no parameters (analyze with keep_params)");
  const std::size_t n = t.data.size();
  std::vector<float> ordered(n);
  to_group_order(t.data.data(), t.shape, r.applied, ordered.data());
  quantize_options qo;
  qo.mode = o.mode;
  qo.scale = o.scale;
  qo.threads = 1;
  const std::size_t G = off.size() - 1;
#pragma omp parallel for schedule(dynamic, 64) if (n >= (std::size_t{1} << 18))
  for (std::ptrdiff_t g = 0; g < static_cast<std::ptrdiff_t>(G); ++g) {
    quantize_options q = qo;
    q.offset = static_cast<std::uint64_t>(off[g]);
    float* p = ordered.data() + off[g];
    quantize(p, p, static_cast<std::size_t>(off[g + 1] - off[g]), fr.params[static_cast<std::size_t>(g)], q);
  }
  tensor out;
  out.name = t.name;
  out.shape = t.shape;
  out.source = t.source;
  out.data.resize(n);
  from_group_order(ordered.data(), t.shape, r.applied, out.data.data());
  return out;
}

code_tensor export_codes(const tensor& t, const tensor_report& r, std::size_t k,
                         const ptq_options& o) {
  const tensor q = fake_quantize(t, r, k, o);
  const std::vector<format_spec> fs = effective_formats(o);
  return encode_codes(q, fs.at(k), r.formats[k].params, to_group_layout(r.applied), o.scale);
}

}  // namespace exmy
