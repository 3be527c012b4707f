// exmy/ptq/tuning.cpp — the tuning strategies and the sensitivity ranking (tuning.hpp).
#include "exmy/ptq/tuning.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "exmy/ptq/estimators.hpp"
#include "exmy/sqnr/report.hpp"

namespace exmy {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Noise-to-signal ratio of an SQNR in dB (0 for an exact +inf).
double nsr(double db) { return std::isfinite(db) ? std::pow(10.0, -db / 10.0) : 0.0; }
double db_of_nsr(double n) {
  return n > 0 ? -10.0 * std::log10(n) : std::numeric_limits<double>::infinity();
}

// Runs trials, enforcing max_trials and the timeout; remembers when to stop.
class trial_runner {
 public:
  trial_runner(const tuning_space& s, const tuning_config& c, tuning_result& r)
      : space_(s), cfg_(c), r_(r), t0_(clock_type::now()) {}

  bool done() const { return done_; }
  double elapsed() const { return seconds_since(t0_); }

  /// One evaluation; returns false when tuning must stop (passed, or out of trials / time).
  bool run(int base, const std::string& step, const quant_config& c,
           const std::vector<std::string>& widened = {}) {
    if (done_) return false;
    if (int(r_.trials.size()) >= cfg_.max_trials) return stop("max trials");
    if (cfg_.timeout_s > 0 && elapsed() >= cfg_.timeout_s) return stop("timeout");
    trial_record t;
    t.trial = int(r_.trials.size()) + 1;
    t.base = base;
    t.step = step;
    t.config = c;
    t.accuracy = space_.evaluate(c);
    t.relative_loss = r_.baseline > 0 ? (r_.baseline - t.accuracy) / r_.baseline : 0.0;
    t.passed = t.relative_loss <= cfg_.tolerable_loss;
    if (space_.fp32_units) t.fp32_units = space_.fp32_units(c);
    t.widened_units = widened;
    t.seconds = elapsed();
    r_.trials.push_back(t);
    if (t.passed) return stop("within tolerable loss");
    return true;
  }

  /// The last trial's accuracy.
  double last_accuracy() const { return r_.trials.back().accuracy; }

 private:
  bool stop(const char* why) {
    done_ = true;
    r_.stop = why;
    return false;
  }
  const tuning_space& space_;
  const tuning_config& cfg_;
  tuning_result& r_;
  clock_type::time_point t0_;
  bool done_ = false;
};

// Units that config c quantizes, in graph order.
std::vector<std::string> quantized_units(const tuning_space& s, const quant_config& c) {
  const std::vector<std::string> fp = s.fp32_units(c);
  std::vector<std::string> r;
  for (const quant_unit& u : s.units)
    if (std::find(fp.begin(), fp.end(), u.name) == fp.end()) r.push_back(u.name);
  return r;
}

bool has_type(const std::vector<unit_type>& v, unit_type t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

// INC fp8_v1 next_tune_cfg_fp8, then the basic strategy's op-wise fallback (header).
void run_inc_fp8(const tuning_space& s, int b, const quant_config& base, trial_runner& tr) {
  if (!tr.run(b, "all op types", base)) return;
  quant_config c2 = base;
  c2.op_types.clear();
  for (unit_type t : base.op_types)
    if (t == unit_type::conv2d || t == unit_type::linear) c2.op_types.push_back(t);
  if (c2.op_types.size() != base.op_types.size() && !tr.run(b, "conv2d+linear", c2)) return;
  quant_config c3 = c2;
  c3.keep_first_conv = has_type(c2.op_types, unit_type::conv2d) && s.first_conv >= 0;
  c3.keep_last_linear = has_type(c2.op_types, unit_type::linear) && s.last_linear >= 0;
  if ((c3.keep_first_conv || c3.keep_last_linear) &&
      !tr.run(b, "conv2d+linear, first conv and last linear in fp32", c3))
    return;
  // Op-wise fallback: each remaining unit alone, then accumulated by the accuracy each gave.
  std::vector<std::pair<double, std::string>> single;
  for (const std::string& u : quantized_units(s, c3)) {
    quant_config c = c3;
    c.fp32_units.insert(u);
    if (!tr.run(b, "fallback " + u, c)) return;
    single.emplace_back(tr.last_accuracy(), u);
  }
  std::stable_sort(single.begin(), single.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  quant_config acc = c3;
  for (std::size_t k = 0; k < single.size(); ++k) {
    acc.fp32_units.insert(single[k].second);
    if (k == 0) continue;  // the first one alone was already evaluated
    if (!tr.run(b, "accumulated fallback " + std::to_string(k + 1) + " (+" + single[k].second + ")",
                acc))
      return;
  }
}

// exmy: rank once, then fall back / widen the k most sensitive units.
void run_sensitivity(const tuning_space& s, int b, const quant_config& base,
                     const tuning_options& opt, trial_runner& tr, tuning_result& r) {
  if (!tr.run(b, "all op types", base)) return;
  const auto t0 = clock_type::now();
  std::vector<sensitivity_entry> rank = s.sensitivity(base);
  std::stable_sort(rank.begin(), rank.end(),
                   [](const auto& x, const auto& y) { return x.sqnr_db < y.sqnr_db; });
  r.sensitivity_seconds += seconds_since(t0);
  r.sensitivity.push_back(rank);
  quant_config c = base;
  std::vector<std::string> widened;
  int k = 0;
  for (const sensitivity_entry& e : rank) {
    std::string step;
    if (opt.widen) {
      c.unit_formats[e.unit] = *opt.widen;
      widened.push_back(e.unit);
      step = "widen " + e.unit + " to " + opt.widen->name;
    } else {
      c.fp32_units.insert(e.unit);
      step = "fallback " + e.unit;
    }
    ++k;
    if (!tr.run(b, step + " (" + std::to_string(k) + " most sensitive)", c, widened)) return;
  }
}

}  // namespace

const char* to_string(tuning_strategy s) {
  switch (s) {
    case tuning_strategy::in_order: return "order";
    case tuning_strategy::inc_fp8: return "inc-fp8";
    case tuning_strategy::sensitivity: return "sensitivity";
  }
  return "?";
}

tuning_strategy parse_tuning_strategy(const std::string& s) {
  if (s == "order" || s == "in_order") return tuning_strategy::in_order;
  if (s == "inc-fp8" || s == "inc_fp8") return tuning_strategy::inc_fp8;
  if (s == "sensitivity") return tuning_strategy::sensitivity;
  throw error("unknown tuning strategy '" + s + "' (order, inc-fp8, sensitivity)");
}

const char* to_string(sensitivity_measure m) {
  switch (m) {
    case sensitivity_measure::output: return "output";
    case sensitivity_measure::tensor: return "tensor";
    case sensitivity_measure::analytic: return "analytic";
  }
  return "?";
}

sensitivity_measure parse_sensitivity_measure(const std::string& s) {
  for (sensitivity_measure m :
       {sensitivity_measure::output, sensitivity_measure::tensor, sensitivity_measure::analytic})
    if (s == to_string(m)) return m;
  throw error("unknown sensitivity measure '" + s + "' (output, tensor, analytic)");
}

tuning_result autotune(const tuning_space& space, const tuning_config& cfg,
                       const tuning_options& opt, double baseline) {
  if (cfg.config_set.empty()) throw error("autotune: empty config_set");
  if (cfg.max_trials < 1) throw error("autotune: max_trials must be at least 1");
  tuning_result r;
  r.baseline = baseline;
  trial_runner tr(space, cfg, r);
  for (std::size_t b = 0; b < cfg.config_set.size() && !tr.done(); ++b) {
    const quant_config& base = cfg.config_set[b];
    switch (opt.strategy) {
      case tuning_strategy::in_order: tr.run(int(b), "config " + std::to_string(b + 1), base); break;
      case tuning_strategy::inc_fp8: run_inc_fp8(space, int(b), base, tr); break;
      case tuning_strategy::sensitivity: run_sensitivity(space, int(b), base, opt, tr, r); break;
    }
  }
  if (!tr.done()) r.stop = "exhausted";
  // The best: the passing trial, else the highest accuracy (the first on ties).
  for (std::size_t i = 0; i < r.trials.size(); ++i)
    if (r.best < 0 || r.trials[i].accuracy > r.trials[std::size_t(r.best)].accuracy ||
        (r.trials[i].passed && !r.trials[std::size_t(r.best)].passed))
      r.best = int(i);
  r.met = r.best >= 0 && r.trials[std::size_t(r.best)].passed;
  r.seconds = tr.elapsed();
  return r;
}

std::vector<sensitivity_entry> unit_sensitivity(const prepared_model& m, const quant_config& base,
                                                sensitivity_measure measure,
                                                const gemm_hook& gemm) {
  const std::vector<unit_state> plan = plan_units(m, base);
  std::vector<sensitivity_entry> r;
  if (measure == sensitivity_measure::output) {
    if (m.calibration.count < 1) throw error("sensitivity: calibrate() first");
    // The reference on the same GEMMs as the quantized runs: only quantization separates them.
    forward_options fo;
    fo.gemm = gemm;
    const tensor ref = forward(m.net, m.calibration.pixels.data(), m.calibration.count, fo);
    double sig = 0;
    for (float z : ref.data) sig += double(z) * z;
    for (std::size_t u = 0; u < m.units.size(); ++u) {
      if (!plan[u].quantized) continue;
      quant_config c = base;
      for (std::size_t v = 0; v < m.units.size(); ++v)
        if (v != u) c.fp32_units.insert(m.units[v].name);
      const tensor z = run(convert(m, c), m.calibration.pixels.data(), m.calibration.count, gemm);
      double err = 0;
      for (std::size_t i = 0; i < z.data.size(); ++i) {
        const double d = double(z.data[i]) - double(ref.data[i]);
        err += d * d;
      }
      r.push_back({m.units[u].name, err > 0 ? 10.0 * std::log10(sig / err)
                                            : std::numeric_limits<double>::infinity()});
    }
    return r;
  }
  // Tensor measures: static ranges (dynamic ones have no single range to measure).
  quant_config c = base;
  c.acts = act_mode::static_range;
  const quantized_model q = convert(m, c);
  for (std::size_t u = 0; u < m.units.size(); ++u) {
    if (!plan[u].quantized) continue;
    double n = 0;
    if (measure == sensitivity_measure::tensor) {
      if (m.units[u].has_weight) n += nsr(q.state[u].weight_sqnr_db);
      if (!m.units[u].act_slots.empty()) n += nsr(q.state[u].act_sqnr_db);
    } else {
      // Analytic: a normal / Student-t fit of each tensor, its SQNR at the range in use
      // (weights: the whole tensor's max |w| — a per-tensor approximation of per-channel ranges).
      const auto predict = [&](const float* x, std::size_t len, const format_spec& f, double maxval) {
        const law_fit fit = fit_law(x, len, std::size_t{1} << 14);
        if (!fit_usable(fit) || !(maxval > 0)) return 0.0;
        evaluate_options eo;
        eo.method = range_method::fixed;
        eo.maxval = maxval;
        eo.mode = base.mode;
        return nsr(evaluate(fitted_distribution(fit), f, eo).moments.sqnr_db());
      };
      if (m.units[u].has_weight) {
        const tensor& w = m.net.nodes[std::size_t(m.units[u].node)].weight;
        n += predict(w.data.data(), w.data.size(), plan[u].weight_format,
                     symmetric_maxval(finite_range(w.data.data(), w.data.size())));
      }
      for (const act_quantizer& a : q.acts) {
        if (a.unit != int(u) || a.identity) continue;
        for (const act_observer& o : m.observers)
          if (o.node == a.node && o.slot == a.slot && o.unit == a.unit)
            n += predict(o.samples.data(), o.samples.size(), a.format,
                         std::max(std::fabs(a.params.maxval), std::fabs(a.params.minval)));
      }
    }
    r.push_back({m.units[u].name, db_of_nsr(n)});
  }
  return r;
}

tuning_space make_tuning_space(const prepared_model& m, const image_set& eval,
                               sensitivity_measure measure, const gemm_hook& gemm) {
  tuning_space s;
  s.units = m.units;
  s.first_conv = m.first_conv;
  s.last_linear = m.last_linear;
  s.evaluate = [&m, &eval, gemm](const quant_config& c) {
    return accuracy(predict(convert(m, c), eval, 250, gemm), eval.labels);
  };
  s.sensitivity = [&m, measure, gemm](const quant_config& c) {
    return unit_sensitivity(m, c, measure, gemm);
  };
  s.fp32_units = [&m](const quant_config& c) {
    const std::vector<unit_state> plan = plan_units(m, c);
    std::vector<std::string> r;
    for (std::size_t u = 0; u < plan.size(); ++u)
      if (!plan[u].quantized) r.push_back(m.units[u].name);
    return r;
  };
  return s;
}

}  // namespace exmy
