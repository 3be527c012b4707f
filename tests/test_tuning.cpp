// Tests of the accuracy-driven tuner (ptq/tuning.hpp; issue 6 "Accuracy-driven tuning"): the
// strategies' trial sequences, stop rules, max_trials, timeout and the best-trial choice, on a
// synthetic tuning space whose accuracy is a known function of the config (unit tests); the real
// network's strategies are compared in test_quantized_network.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "exmy/ptq/tuning.hpp"

using namespace exmy;

namespace {

// Six units; quantizing unit u costs penalty[u] accuracy (additive), from a 0.9 baseline.
struct mock {
  std::vector<quant_unit> units;
  std::map<std::string, double> penalty{{"c1", 0.002}, {"c2", 0.0005}, {"a1", 0.001},
                                        {"p", 0.0001}, {"f", 0.003},   {"logits", 0.0002}};
  int evaluations = 0;

  mock() {
    const std::pair<const char*, unit_type> u[] = {{"c1", unit_type::conv2d}, {"c2", unit_type::conv2d},
                                                   {"a1", unit_type::add},    {"p", unit_type::pool},
                                                   {"f", unit_type::linear},  {"logits", unit_type::logits}};
    for (const auto& x : u) {
      quant_unit q;
      q.name = x.first;
      q.type = x.second;
      units.push_back(q);
    }
  }
  // convert()'s rules (plan_units) for this space.
  std::vector<std::string> fp32(const quant_config& c) const {
    std::vector<std::string> r;
    for (std::size_t i = 0; i < units.size(); ++i) {
      const bool allowed = std::find(c.op_types.begin(), c.op_types.end(), units[i].type) != c.op_types.end();
      if (!allowed || (c.keep_first_conv && i == 0) || (c.keep_last_linear && i == 4) ||
          c.fp32_units.count(units[i].name))
        r.push_back(units[i].name);
    }
    return r;
  }
  tuning_space space() {
    tuning_space s;
    s.units = units;
    s.first_conv = 0;
    s.last_linear = 4;
    s.fp32_units = [this](const quant_config& c) { return fp32(c); };
    s.evaluate = [this](const quant_config& c) {
      ++evaluations;
      const auto f = fp32(c);
      double acc = 0.9;
      for (const auto& kv : penalty) {
        if (std::find(f.begin(), f.end(), kv.first) != f.end()) continue;
        // A widened unit (16-bit) keeps a tenth of its penalty.
        acc -= c.unit_formats.count(kv.first) ? kv.second / 10 : kv.second;
      }
      return acc;
    };
    s.sensitivity = [this](const quant_config& c) {
      std::vector<sensitivity_entry> r;
      const auto f = fp32(c);
      for (const auto& kv : penalty)
        if (std::find(f.begin(), f.end(), kv.first) == f.end())
          r.push_back({kv.first, -10 * std::log10(kv.second)});
      return r;
    };
    return s;
  }
};

std::vector<std::string> steps(const tuning_result& r) {
  std::vector<std::string> s;
  for (const auto& t : r.trials) s.push_back(t.step);
  return s;
}

}  // namespace

TEST_CASE("in_order: the configs in order, stop at the first within the loss") {
  mock m;
  tuning_config cfg;
  quant_config all, conv_only;
  conv_only.op_types = {unit_type::conv2d};
  cfg.config_set = {all, conv_only, all};
  // All quantized: 0.9 − 0.0068 → relative loss 0.00756; conv only: 0.0025/0.9 = 0.00278.
  cfg.tolerable_loss = 0.003;
  tuning_options o;
  o.strategy = tuning_strategy::in_order;
  const tuning_result r = autotune(m.space(), cfg, o, 0.9);
  REQUIRE(r.evaluations() == 2);
  CHECK(r.met);
  CHECK(r.best == 1);
  CHECK(r.stop == "within tolerable loss");
  CHECK(r.trials[0].relative_loss == doctest::Approx(0.0068 / 0.9));
  CHECK_FALSE(r.trials[0].passed);
  CHECK(r.trials[1].fp32_units == std::vector<std::string>{"a1", "p", "f", "logits"});
}

TEST_CASE("inc_fp8: all op types, conv+linear, first/last fallback, then op-wise fallback") {
  mock m;
  tuning_config cfg;
  cfg.config_set = {quant_config{}};
  // conv2d+linear with c1 and f in fp32 leaves c2: loss 0.0005/0.9 = 0.000556 > 0.0005 (fails);
  // falling back c2 alone gives loss 0 (passes).
  cfg.tolerable_loss = 0.0005;
  tuning_options o;
  o.strategy = tuning_strategy::inc_fp8;
  const tuning_result r = autotune(m.space(), cfg, o, 0.9);
  CHECK(steps(r) == std::vector<std::string>{"all op types", "conv2d+linear",
                                             "conv2d+linear, first conv and last linear in fp32",
                                             "fallback c2"});
  CHECK(r.met);
  CHECK(r.evaluations() == 4);
  CHECK(m.evaluations == 4);
}

TEST_CASE("inc_fp8: accumulated fallback in the order of single-fallback accuracy") {
  mock m;
  m.penalty["c2"] = 0.004;  // with c1 and f in fp32, c2 now costs 0.004 and a1…logits nothing
  tuning_config cfg;
  cfg.config_set = {quant_config{}};
  cfg.tolerable_loss = -1;  // nothing passes: the strategy runs to exhaustion
  tuning_options o;
  o.strategy = tuning_strategy::inc_fp8;
  const tuning_result r = autotune(m.space(), cfg, o, 0.9);
  CHECK(r.stop == "exhausted");
  CHECK_FALSE(r.met);
  // 3 type steps + 1 single fallback (only c2 is quantized after step 3) + no accumulation.
  CHECK(r.evaluations() == 4);
  // The best is the highest accuracy: c2 in fp32, nothing quantized, accuracy 0.9.
  CHECK(r.trials[std::size_t(r.best)].accuracy == doctest::Approx(0.9));
}

TEST_CASE("sensitivity: fall back the most sensitive units first") {
  mock m;
  tuning_config cfg;
  cfg.config_set = {quant_config{}};
  // After f (0.003) and c1 (0.002) fall back, 0.0018 remains: 0.002 relative ≤ 0.0021 passes.
  cfg.tolerable_loss = 0.0021;
  tuning_options o;
  o.strategy = tuning_strategy::sensitivity;
  const tuning_result r = autotune(m.space(), cfg, o, 0.9);
  REQUIRE(r.evaluations() == 3);
  CHECK(r.met);
  REQUIRE(r.sensitivity.size() == 1);
  CHECK(r.sensitivity[0][0].unit == "f");
  CHECK(r.sensitivity[0][1].unit == "c1");
  CHECK(r.trials[2].fp32_units == std::vector<std::string>{"c1", "f"});
}

TEST_CASE("sensitivity: widening instead of fallback") {
  mock m;
  tuning_config cfg;
  cfg.config_set = {quant_config{}};
  cfg.tolerable_loss = 0.0050;  // 0.0068 − 0.0027 (f widened) = 0.0041 → 0.00456 passes
  tuning_options o;
  o.strategy = tuning_strategy::sensitivity;
  o.widen = parse_format("bf16");
  const tuning_result r = autotune(m.space(), cfg, o, 0.9);
  REQUIRE(r.evaluations() == 2);
  CHECK(r.met);
  CHECK(r.trials[1].widened_units == std::vector<std::string>{"f"});
  CHECK(r.trials[1].fp32_units.empty());
  CHECK(r.trials[1].config.unit_formats.at("f").name == "bf16");
}

TEST_CASE("max_trials and timeout bound the evaluations") {
  tuning_config cfg;
  cfg.config_set = {quant_config{}};
  cfg.tolerable_loss = -1;  // never met
  for (tuning_strategy s : {tuning_strategy::inc_fp8, tuning_strategy::sensitivity}) {
    mock m;
    tuning_options o;
    o.strategy = s;
    cfg.max_trials = 2;
    const tuning_result r = autotune(m.space(), cfg, o, 0.9);
    CHECK(r.evaluations() == 2);
    CHECK(m.evaluations == 2);
    CHECK(r.stop == "max trials");
    CHECK_FALSE(r.met);
  }
  mock m;
  cfg.max_trials = 100;
  cfg.timeout_s = 1e-12;  // spent before the first trial ends (no wall-clock assumption beyond > 0)
  tuning_options o;
  o.strategy = tuning_strategy::inc_fp8;
  const tuning_result r = autotune(m.space(), cfg, o, 0.9);
  CHECK(r.stop == "timeout");
  CHECK(r.evaluations() <= 1);
  CHECK_THROWS_AS(autotune(m.space(), tuning_config{}, o, 0.9), exmy::error);
}

TEST_CASE("strategy and measure names") {
  CHECK(parse_tuning_strategy("inc-fp8") == tuning_strategy::inc_fp8);
  CHECK(parse_tuning_strategy("order") == tuning_strategy::in_order);
  CHECK(std::string(to_string(parse_tuning_strategy("sensitivity"))) == "sensitivity");
  CHECK(parse_sensitivity_measure("analytic") == sensitivity_measure::analytic);
  CHECK_THROWS_AS(parse_tuning_strategy("basic"), exmy::error);
  CHECK_THROWS_AS(parse_sensitivity_measure("hessian"), exmy::error);
}
