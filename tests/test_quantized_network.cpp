// Tests of the PTQ pipeline on the committed example network (ptq/quantized_network.hpp, ptq/
// tuning.hpp; issue 6 "PTQ pipeline", "Tests and performance"). Nothing is retrained: the model is
// results/models/fashion_cnn.safetensors. Evaluations use the first 2000 test images (a full
// 10k-image evaluation per config is what exmy-tune does for results/tuning/; too slow here), the
// calibration the first 300 training images (the pipeline's default).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "exmy/ptq/image_set.hpp"
#include "exmy/ptq/quantized_network.hpp"
#include "exmy/ptq/tuning.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

using namespace exmy;

namespace {

const std::string k_model = std::string(EXMY_SOURCE_DIR) + "/results/models/fashion_cnn.safetensors";

struct fixture {
  network net = load_network(k_model);
  image_set calib = load_fashion_mnist("train", fashion_mnist_dir, 300);
  image_set test = load_fashion_mnist("test", fashion_mnist_dir, 2000);
  double fp32 = accuracy(predict(net, test), test.labels);
};

const fixture& data() {
  static const fixture f;
  return f;
}

prepared_model calibrated(bn_mode bn) {
  prepared_model m = prepare(data().net, bn);
  calibrate(m, data().calib);
  return m;
}

quant_config config_for(const char* format) {
  quant_config c;
  c.name = format;
  c.weight_format = c.act_format = parse_format(format);
  return c;
}

}  // namespace

TEST_CASE("prepare: the quantizable units and their observers") {
  const prepared_model m = prepare(data().net, bn_mode::fold);
  std::vector<std::string> names;
  for (const quant_unit& u : m.units) names.push_back(u.name);
  CHECK(names == std::vector<std::string>{"conv1", "conv2", "conv3", "conv4", "conv5", "add1", "pool",
                                          "fc", "logits"});
  CHECK(m.first_conv == 0);
  CHECK(m.last_linear == 7);
  CHECK(m.observers.size() == 10);  // 5 conv inputs, 2 add inputs, pool output, fc input, logits
  // Folding removed the five batchnorm nodes.
  CHECK(m.net.nodes.size() == data().net.nodes.size() - 5);
  CHECK(prepare(data().net, bn_mode::keep).net.nodes.size() == data().net.nodes.size());
}

TEST_CASE("convert: nothing quantized is the float32 network, bit for bit") {
  for (bn_mode bn : {bn_mode::fold, bn_mode::keep}) {
    const prepared_model m = calibrated(bn);
    quant_config c;
    c.op_types.clear();
    const quantized_model q = convert(m, c);
    CHECK(q.fp32_units().size() == m.units.size());
    const image_set s = slice(data().test, 0, 64);
    const tensor a = run(q, s.pixels.data(), s.count);
    const tensor b = forward(m.net, s.pixels.data(), s.count);
    CHECK(a.data == b.data);
  }
}

TEST_CASE("convert: weights on each channel's grid, activations at the calibrated ranges") {
  const prepared_model m = calibrated(bn_mode::fold);
  for (const char* f : {"e4m3", "e2m5", "int8"}) {
    CAPTURE(f);
    const format_spec fmt = parse_format(f);
    const quantized_model q = convert(m, config_for(f));
    CHECK(q.fp32_units().empty());
    for (std::size_t u = 0; u < q.units.size(); ++u) {
      if (!q.units[u].has_weight) continue;
      const tensor& w = q.net.nodes[std::size_t(q.units[u].node)].weight;
      const tensor& w0 = m.net.nodes[std::size_t(q.units[u].node)].weight;
      const std::int64_t per = w.numel() / w.shape[0];
      for (std::int64_t o = 0; o < w.shape[0]; ++o) {
        // min-max per channel: the largest |w| is the grid's maxval, so it is kept exactly, and
        // quantizing again with the same parameters changes nothing (values are grid points).
        const float* x = w.data.data() + o * per;
        const float* x0 = w0.data.data() + o * per;
        double amax = 0;
        for (std::int64_t e = 0; e < per; ++e) amax = std::max(amax, std::fabs(double(x0[e])));
        const quant_params p = make_params(fmt, amax);
        std::vector<float> again(x, x + per);
        quantize_inplace(again.data(), again.size(), p);
        REQUIRE(std::equal(again.begin(), again.end(), x));
        std::set<float> distinct(x, x + per);
        REQUIRE(distinct.size() <= 256);
      }
      CHECK(q.state[u].weight_sqnr_db > 20);
    }
  }
  // The first conv's input is the image: calibrated range [0, 1] (255/255 occurs in 300 images).
  const quantized_model q = convert(m, config_for("e4m3"));
  REQUIRE(q.acts.front().node == 0);
  CHECK(q.acts.front().params.maxval == 1.0);
  // int8 activations after ReLU: unsigned affine range starting at 0 (zero point 0).
  const quantized_model qi = convert(m, config_for("int8"));
  CHECK(qi.acts[1].affine);
  CHECK(qi.acts[1].params.minval == 0.0);
  CHECK(qi.acts[1].params.zero_point == 0.0);
}

TEST_CASE("convert: unit selection (allow-list, first conv, last linear, fallback, mixed formats)") {
  const prepared_model m = calibrated(bn_mode::fold);
  quant_config c = config_for("e4m3");
  c.op_types = {unit_type::conv2d, unit_type::linear};
  c.keep_first_conv = c.keep_last_linear = true;
  c.fp32_units = {"conv3"};
  c.unit_formats["conv4"] = parse_format("int8");
  const quantized_model q = convert(m, c);
  CHECK(q.fp32_units() == std::vector<std::string>{"conv1", "conv3", "add1", "pool", "fc", "logits"});
  CHECK(q.state[0].reason == "first conv kept in fp32");
  CHECK(q.state[5].reason == "op type not allowed");
  CHECK(q.state[3].weight_format.name == "int8");
  CHECK(q.state[4].weight_format.name == "e4m3");
  c.fp32_units = {"conv9"};
  CHECK_THROWS_AS(convert(m, c), exmy::error);
}

TEST_CASE("dynamic activations: per image, independent of the evaluation batch") {
  const prepared_model m = calibrated(bn_mode::fold);
  quant_config c = config_for("e3m4");
  c.acts = act_mode::dynamic_range;
  const quantized_model q = convert(m, c);
  const image_set s = slice(data().test, 0, 12);
  const tensor all = run(q, s.pixels.data(), s.count);
  for (std::int64_t i = 0; i < s.count; ++i) {
    const tensor one = run(q, s.image(i), 1);
    for (std::size_t k = 0; k < 10; ++k) REQUIRE(one.data[k] == all.data[std::size_t(i * 10) + k]);
  }
}

TEST_CASE("accuracy: int8 within one point of float32, e4m3 within two (2000 images)") {
  // Measured on the full test set (results/tuning/): int8 −0.01 points, e4m3 −1.16 (fold, static);
  // e4m3 misses the one-point expectation because of the quantized input image (conv1).
  const double fp32 = data().fp32;
  MESSAGE("float32 accuracy on test[0:2000): " << fp32);
  CHECK(fp32 >= 0.90);
  for (bn_mode bn : {bn_mode::fold, bn_mode::keep, bn_mode::reestimate}) {
    const prepared_model m = calibrated(bn);
    for (const char* f : {"int8", "e4m3"}) {
      for (act_mode a : {act_mode::static_range, act_mode::dynamic_range}) {
        quant_config c = config_for(f);
        c.acts = a;
        const double acc = accuracy(predict(convert(m, c), data().test), data().test.labels);
        const std::string what = std::string(f) + " bn " + to_string(bn) + " acts " + to_string(a);
        MESSAGE(what << ": " << acc);
        CHECK(acc >= fp32 - (std::string(f) == "int8" ? 0.01 : 0.02));
      }
    }
  }
}

TEST_CASE("accuracy: e4m3 with the first conv in float32 is within one point") {
  const prepared_model m = calibrated(bn_mode::fold);
  quant_config c = config_for("e4m3");
  c.keep_first_conv = true;
  const double acc = accuracy(predict(convert(m, c), data().test), data().test.labels);
  MESSAGE("e4m3, conv1 in fp32: " << acc);
  CHECK(acc >= data().fp32 - 0.01);
}

TEST_CASE("BN re-estimation with nothing quantized stays close to the trained statistics") {
  const prepared_model m = calibrated(bn_mode::reestimate);
  quant_config c;
  c.op_types.clear();
  const quantized_model q = convert(m, c);
  // 300 training images re-estimate the running statistics: same accuracy within a point.
  const double acc = accuracy(predict(q, data().test), data().test.labels);
  CHECK(acc >= data().fp32 - 0.01);
  // And the statistics moved (they are re-estimated, not copied).
  const net_node& bn1 = q.net.nodes[1];
  REQUIRE(bn1.op == op_kind::batchnorm);
  CHECK(bn1.mean != m.net.nodes[1].mean);
}

TEST_CASE("tuning the real network: sensitivity needs no more evaluations than INC's fp8 strategy") {
  // e4m3 everywhere loses ~1.3 points (the quantized input image through conv1 is the cause: its
  // logits SQNR is the lowest); a 0.5 % tolerable loss makes the first trial fail.
  const prepared_model m = calibrated(bn_mode::fold);
  const tuning_space space = make_tuning_space(m, data().test, sensitivity_measure::output);
  tuning_config cfg;
  cfg.config_set = {config_for("e4m3")};
  cfg.tolerable_loss = 0.005;
  tuning_options sens, inc;
  sens.strategy = tuning_strategy::sensitivity;
  inc.strategy = tuning_strategy::inc_fp8;
  const tuning_result a = autotune(space, cfg, sens, data().fp32);
  const tuning_result b = autotune(space, cfg, inc, data().fp32);
  MESSAGE("evaluations: sensitivity " << a.evaluations() << ", inc-fp8 " << b.evaluations());
  REQUIRE(a.trials.size() >= 2);
  CHECK_FALSE(a.trials[0].passed);
  CHECK(a.met);
  CHECK(b.met);
  CHECK(a.evaluations() <= b.evaluations());
  CHECK(a.sensitivity.at(0).at(0).unit == "conv1");
  // Every passing trial is within the tolerable loss; the reported best is a passing one.
  for (const tuning_result* r : {&a, &b})
    CHECK(r->trials[std::size_t(r->best)].relative_loss <= cfg.tolerable_loss);
  // max_trials = 1: one evaluation, the loss not met, the best is that trial.
  cfg.max_trials = 1;
  const tuning_result c = autotune(space, cfg, sens, data().fp32);
  CHECK(c.evaluations() == 1);
  CHECK_FALSE(c.met);
  CHECK(c.stop == "max trials");
}
