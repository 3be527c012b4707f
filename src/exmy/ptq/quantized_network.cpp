// exmy/ptq/quantized_network.cpp — prepare / calibrate / convert / run (quantized_network.hpp).
#include "exmy/ptq/quantized_network.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "exmy/ptq/granularity.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

namespace exmy {
namespace {

std::int64_t product(const std::vector<std::int64_t>& s) {
  std::int64_t n = 1;
  for (std::int64_t d : s) n *= d;
  return n;
}

// Per-image size of what observer/quantizer (node, slot) sees.
std::int64_t slot_size(const network& net, int node, int slot) {
  const net_node& n = net.nodes[std::size_t(node)];
  if (slot < 0) return product(n.out_shape);
  const int src = n.inputs[std::size_t(slot)];
  return product(src < 0 ? net.input_shape : net.nodes[std::size_t(src)].out_shape);
}

double db(double signal, double noise) {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

// The hooks of a converted network: (node, slot) → quantizers, applied in order.
struct act_hooks {
  std::map<std::pair<int, int>, std::vector<const act_quantizer*>> at;
  quantize_options opt;

  void apply(const act_quantizer& a, tensor& t) const {
    if (a.identity) return;
    if (!a.dynamic) {
      quantize(t.data.data(), t.data.data(), t.data.size(), a.params, opt);
      return;
    }
    // Dynamic: each image's own range (per image, so batching does not change the result).
    const std::int64_t b = t.shape[0], per = std::int64_t(t.data.size()) / std::max<std::int64_t>(b, 1);
    quantize_options one = opt;
    one.threads = 1;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < b; ++i) {
      float* x = t.data.data() + i * per;
      bool identity = false;
      const quant_params p = activation_params(a.format, finite_range(x, std::size_t(per)), a.affine, identity);
      if (!identity) quantize(x, x, std::size_t(per), p, one);
    }
  }

  forward_options options() const {
    forward_options f;
    f.on_input = [this](int node, int slot, const tensor& in, tensor& out) {
      const auto it = at.find({node, slot});
      if (it == at.end()) return false;
      out = in;
      for (const act_quantizer* a : it->second) apply(*a, out);
      return true;
    };
    f.on_output = [this](int node, tensor& out) {
      const auto it = at.find({node, -1});
      if (it != at.end())
        for (const act_quantizer* a : it->second) apply(*a, out);
    };
    return f;
  }
};

act_hooks hooks_of(const quantized_model& q) {
  act_hooks h;
  h.opt.mode = q.config.mode;
  h.opt.scale = q.config.scale;
  for (const act_quantizer& a : q.acts) h.at[{a.node, a.slot}].push_back(&a);
  return h;
}

// The static range of an observer under estimator e for format f.
value_range static_range(const act_observer& o, const format_spec& f, const estimator_options& e,
                         bool affine) {
  if (o.batches.empty()) throw error("convert: static activation ranges need calibrate() first");
  value_range all = o.batches.front();
  for (const value_range& r : o.batches) {
    all.lo = std::min(all.lo, r.lo);
    all.hi = std::max(all.hi, r.hi);
  }
  switch (e.kind) {
    case estimator_kind::current_minmax: return o.batches.back();
    case estimator_kind::allminmax: return all;
    case estimator_kind::running_minmax: {
      range_tracker t(estimator_kind::running_minmax, e.momentum);
      for (const value_range& r : o.batches) t.update({r});
      return t.current().front();
    }
    default: break;
  }
  // mse / kl / percentile / analytic on the recorded values: a symmetric [−m, m]; for an affine
  // integer quantizer it is intersected with the observed range (ReLU outputs stay one-sided).
  const std::vector<std::int64_t> offsets{0, std::int64_t(o.samples.size())};
  value_range r = estimate_ranges(o.samples.data(), offsets, f, e, true).front();
  if (affine) {
    r.lo = std::max(r.lo, all.lo);
    r.hi = std::min(r.hi, all.hi);
  }
  return r;
}

// Fake-quantizes one weight in place (per output channel or per tensor); returns (Σw², Σerr²) and
// the parameters of each group in `params` (a default quant_params for an all-zero group).
std::pair<double, double> quantize_weight(tensor& w, const quant_config& c, const format_spec& f,
                                          std::vector<quant_params>& params) {
  const std::int64_t groups = c.weight_per_channel ? w.shape[0] : 1;
  const std::int64_t per = w.numel() / groups;
  std::vector<std::int64_t> offsets(std::size_t(groups + 1));
  for (std::int64_t g = 0; g <= groups; ++g) offsets[std::size_t(g)] = g * per;
  const std::vector<value_range> ranges = estimate_ranges(w.data.data(), offsets, f, c.weight_est, true);
  quantize_options opt;
  opt.mode = c.mode;
  opt.scale = c.scale;
  double sig = 0, err = 0;
  params.assign(std::size_t(groups), quant_params{});
  for (std::int64_t g = 0; g < groups; ++g) {
    float* x = w.data.data() + g * per;
    const double m = symmetric_maxval(ranges[std::size_t(g)]);
    if (!(m > 0) || !std::isfinite(m)) continue;  // an all-zero channel is exact
    std::vector<float> orig(x, x + per);
    params[std::size_t(g)] = make_params(f, m);
    quantize(x, x, std::size_t(per), params[std::size_t(g)], opt);
    for (std::int64_t e = 0; e < per; ++e) {
      sig += double(orig[std::size_t(e)]) * orig[std::size_t(e)];
      const double d = double(x[e]) - double(orig[std::size_t(e)]);
      err += d * d;
    }
  }
  return {sig, err};
}

}  // namespace

const char* to_string(unit_type t) {
  switch (t) {
    case unit_type::conv2d: return "conv2d";
    case unit_type::linear: return "linear";
    case unit_type::add: return "add";
    case unit_type::pool: return "pool";
    case unit_type::logits: return "logits";
  }
  return "?";
}

unit_type parse_unit_type(const std::string& s) {
  if (s == "conv") return unit_type::conv2d;
  for (unit_type t : all_unit_types())
    if (s == to_string(t)) return t;
  throw error("unknown op type '" + s + "' (conv2d, linear, add, pool, logits)");
}

std::vector<unit_type> all_unit_types() {
  return {unit_type::conv2d, unit_type::linear, unit_type::add, unit_type::pool, unit_type::logits};
}

const char* to_string(bn_mode m) {
  switch (m) {
    case bn_mode::fold: return "fold";
    case bn_mode::keep: return "keep";
    case bn_mode::reestimate: return "reestimate";
  }
  return "?";
}

bn_mode parse_bn_mode(const std::string& s) {
  for (bn_mode m : {bn_mode::fold, bn_mode::keep, bn_mode::reestimate})
    if (s == to_string(m)) return m;
  throw error("unknown BatchNorm mode '" + s + "' (fold, keep, reestimate)");
}

const char* to_string(act_mode m) { return m == act_mode::static_range ? "static" : "dynamic"; }

act_mode parse_act_mode(const std::string& s) {
  if (s == "static") return act_mode::static_range;
  if (s == "dynamic") return act_mode::dynamic_range;
  throw error("unknown activation mode '" + s + "' (static, dynamic)");
}

int prepared_model::unit_index(const std::string& name) const {
  for (std::size_t i = 0; i < units.size(); ++i)
    if (units[i].name == name) return int(i);
  throw error("the network has no quantizable unit '" + name + "'");
}

std::vector<std::string> quantized_model::fp32_units() const {
  std::vector<std::string> r;
  for (std::size_t i = 0; i < units.size(); ++i)
    if (!state[i].quantized) r.push_back(units[i].name);
  return r;
}

quant_params activation_params(const format_spec& f, const value_range& r, bool affine,
                               bool& identity) {
  identity = false;
  if (f.is_float()) affine = false;  // floating formats are symmetric
  if (affine) {
    const double lo = std::min(r.lo, 0.0), hi = std::max(r.hi, 0.0);
    if (!(hi - lo > 0) || !std::isfinite(hi - lo)) {
      identity = true;
      return {};
    }
    return make_affine_params(f.is_affine() ? f : asymmetric_variant(f), lo, hi);
  }
  const double m = symmetric_maxval(r);
  if (!(m > 0) || !std::isfinite(m)) {
    identity = true;
    return {};
  }
  return make_params(f, m);
}

prepared_model prepare(const network& net, bn_mode bn) {
  prepared_model m;
  m.original = net;
  m.bn = bn;
  m.net = bn == bn_mode::fold ? fold_batchnorm(net) : net;
  for (std::size_t i = 0; i < m.net.nodes.size(); ++i) {
    const net_node& n = m.net.nodes[i];
    quant_unit u;
    u.name = n.name;
    u.node = int(i);
    switch (n.op) {
      case op_kind::conv2d: u.type = unit_type::conv2d; u.has_weight = true; u.act_slots = {0}; break;
      case op_kind::linear: u.type = unit_type::linear; u.has_weight = true; u.act_slots = {0}; break;
      case op_kind::add: u.type = unit_type::add; u.act_slots = {0, 1}; break;
      case op_kind::global_avg_pool: u.type = unit_type::pool; u.act_slots = {-1}; break;
      default: continue;
    }
    if (u.type == unit_type::conv2d && m.first_conv < 0) m.first_conv = int(m.units.size());
    if (u.type == unit_type::linear) m.last_linear = int(m.units.size());
    m.units.push_back(u);
  }
  quant_unit logits;
  logits.name = "logits";
  logits.type = unit_type::logits;
  logits.node = int(m.net.nodes.size()) - 1;
  logits.act_slots = {-1};
  m.units.push_back(logits);
  for (std::size_t u = 0; u < m.units.size(); ++u)
    for (int s : m.units[u].act_slots) {
      act_observer o;
      o.unit = int(u);
      o.node = m.units[u].node;
      o.slot = s;
      m.observers.push_back(o);
    }
  return m;
}

void calibrate(prepared_model& m, const image_set& images, std::int64_t batch) {
  if (images.count < 1) throw error("calibrate: no calibration images");
  if (batch < 1) batch = images.count;
  m.calibration = images;
  std::map<std::pair<int, int>, std::vector<std::size_t>> at;
  std::vector<std::int64_t> stride(m.observers.size()), seen(m.observers.size(), 0);
  for (std::size_t i = 0; i < m.observers.size(); ++i) {
    act_observer& o = m.observers[i];
    o.batches.clear();
    o.samples.clear();
    o.signal = 0;
    at[{o.node, o.slot}].push_back(i);
    // Keep every stride-th value so that at most max_samples are stored.
    const std::int64_t total = images.count * slot_size(m.net, o.node, o.slot);
    stride[i] = std::max<std::int64_t>(1, (total + std::int64_t(m.max_samples) - 1) /
                                              std::int64_t(m.max_samples));
  }
  const auto record = [&](int node, int slot, const tensor& t) {
    const auto it = at.find({node, slot});
    if (it == at.end()) return;
    for (std::size_t i : it->second) {
      act_observer& o = m.observers[i];
      o.batches.push_back(finite_range(t.data.data(), t.data.size()));
      for (std::size_t e = 0; e < t.data.size(); ++e, ++seen[i])
        if (seen[i] % stride[i] == 0 && std::isfinite(t.data[e])) {
          o.samples.push_back(t.data[e]);
          o.signal += double(t.data[e]) * t.data[e];
        }
    }
  };
  forward_options f;
  f.on_input = [&](int node, int slot, const tensor& in, tensor&) {
    record(node, slot, in);
    return false;
  };
  f.on_output = [&](int node, tensor& out) { record(node, -1, out); };
  for (std::int64_t b = 0; b < images.count; b += batch)
    forward(m.net, images.image(b), std::min(batch, images.count - b), f);
}

std::vector<unit_state> plan_units(const prepared_model& m, const quant_config& c) {
  std::vector<unit_state> state(m.units.size());
  for (const auto& kv : c.unit_formats) m.unit_index(kv.first);
  for (const std::string& s : c.fp32_units) m.unit_index(s);
  for (std::size_t u = 0; u < m.units.size(); ++u) {
    unit_state& s = state[u];
    const quant_unit& un = m.units[u];
    if (std::find(c.op_types.begin(), c.op_types.end(), un.type) == c.op_types.end())
      s.reason = "op type not allowed";
    else if (c.keep_first_conv && int(u) == m.first_conv)
      s.reason = "first conv kept in fp32";
    else if (c.keep_last_linear && int(u) == m.last_linear)
      s.reason = "last linear kept in fp32";
    else if (c.fp32_units.count(un.name))
      s.reason = "fp32 fallback";
    else
      s.quantized = true;
    const auto it = c.unit_formats.find(un.name);
    s.weight_format = it != c.unit_formats.end() ? it->second : c.weight_format;
    s.act_format = it != c.unit_formats.end() ? it->second : c.act_format;
  }
  return state;
}

quantized_model convert(const prepared_model& m, const quant_config& c) {
  quantized_model q;
  q.net = m.net;
  q.units = m.units;
  q.config = c;
  q.bn = m.bn;
  // 1. Which units are quantized, and with which formats.
  q.state = plan_units(m, c);

  // 2. Weights, per output channel.
  for (std::size_t u = 0; u < m.units.size(); ++u) {
    if (!q.state[u].quantized || !m.units[u].has_weight) continue;
    const auto se = quantize_weight(q.net.nodes[std::size_t(m.units[u].node)].weight, c,
                                    q.state[u].weight_format, q.state[u].weight_params);
    q.state[u].weight_sqnr_db = db(se.first, se.second);
  }

  // 3. Activation quantizers; static ones measured on the calibration values.
  std::vector<double> sig(m.units.size(), 0), err(m.units.size(), 0);
  quantize_options opt;
  opt.mode = c.mode;
  opt.scale = c.scale;
  for (const act_observer& o : m.observers) {
    const unit_state& s = q.state[std::size_t(o.unit)];
    if (!s.quantized) continue;
    act_quantizer a;
    a.unit = o.unit;
    a.node = o.node;
    a.slot = o.slot;
    a.format = s.act_format;
    a.affine = c.act_int_affine && !s.act_format.is_float();
    a.dynamic = c.acts == act_mode::dynamic_range;
    if (!a.dynamic) {
      a.params = activation_params(a.format, static_range(o, a.format, c.act_est, a.affine),
                                   a.affine, a.identity);
      if (!a.identity && !o.samples.empty()) {
        const error_stats st = quantize_error(o.samples.data(), o.samples.size(), a.params, opt);
        a.sqnr_db = st.sqnr_db();
        sig[std::size_t(o.unit)] += st.sum_sq;
        err[std::size_t(o.unit)] += st.sum_sq_err;
      }
    }
    q.acts.push_back(a);
  }
  for (std::size_t u = 0; u < m.units.size(); ++u)
    if (q.state[u].quantized && !m.units[u].act_slots.empty() && c.acts == act_mode::static_range)
      q.state[u].act_sqnr_db = db(sig[u], err[u]);

  // 4. BN re-estimation: batch statistics of the quantized network on the calibration images.
  if (m.bn == bn_mode::reestimate) {
    if (m.calibration.count < 2) throw error("convert: BN re-estimation needs calibrate() first");
    const act_hooks h = hooks_of(q);
    forward_options f = h.options();
    bn_batch_stats st;
    f.batch_stats = &st;
    forward(q.net, m.calibration.pixels.data(), m.calibration.count, f);
    const double n = double(st.count);
    for (std::size_t k = 0; k < st.nodes.size(); ++k) {
      net_node& bn = q.net.nodes[std::size_t(st.nodes[k])];
      for (std::size_t ch = 0; ch < bn.mean.size(); ++ch) {
        bn.mean[ch] = float(st.mean[k][ch]);
        bn.var[ch] = float(st.var[k][ch] * n / (n - 1.0));  // torch keeps the unbiased variance
      }
    }
  }
  return q;
}

tensor run(const quantized_model& q, const float* images, std::int64_t count,
           const gemm_hook& gemm) {
  const act_hooks h = hooks_of(q);
  forward_options f = h.options();
  f.gemm = gemm;
  return forward(q.net, images, count, f);
}

std::vector<int> predict(const quantized_model& q, const image_set& s, std::int64_t batch,
                         const gemm_hook& gemm) {
  const act_hooks h = hooks_of(q);
  forward_options f = h.options();
  f.gemm = gemm;
  std::vector<int> r;
  r.reserve(std::size_t(s.count));
  for (std::int64_t b = 0; b < s.count; b += batch) {
    const std::vector<int> p = argmax_rows(forward(q.net, s.image(b), std::min(batch, s.count - b), f));
    r.insert(r.end(), p.begin(), p.end());
  }
  return r;
}

std::vector<int> predict(const network& net, const image_set& s, std::int64_t batch,
                         const gemm_hook& gemm) {
  forward_options f;
  f.gemm = gemm;
  std::vector<int> r;
  r.reserve(std::size_t(s.count));
  for (std::int64_t b = 0; b < s.count; b += batch) {
    const std::vector<int> p = argmax_rows(forward(net, s.image(b), std::min(batch, s.count - b), f));
    r.insert(r.end(), p.begin(), p.end());
  }
  return r;
}

}  // namespace exmy
