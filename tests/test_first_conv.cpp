// Why e4m3 loses 1.2 points on the example network (README "Accuracy-driven tuning"): per-channel
// e4m3 keeps conv1's weights at an ordinary 33 dB SQNR, but conv1 (after BatchNorm folding) has
// near-zero-sum edge filters, and on the uncentred input (pixels in [0, 1]) a filter's response to
// a flat region is its DC gain Σw — which e4m3 moves by several times its value; restoring conv1's
// weight (not its input) recovers the accuracy. Golden numbers:
// the committed model (results/models/fashion_cnn.safetensors) and Debian's Fashion-MNIST.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "exmy/ptq/quantized_network.hpp"

using namespace exmy;

TEST_CASE("golden: e4m3 moves the DC gain of conv1's near-zero-sum filters") {
  const network net = load_network(std::string(EXMY_SOURCE_DIR) + "/results/models/fashion_cnn.safetensors");
  prepared_model pm = prepare(net, bn_mode::fold);
  calibrate(pm, load_fashion_mnist("train", fashion_mnist_dir, 300));
  const int u = pm.first_conv;
  const int node = pm.units[std::size_t(u)].node;
  const tensor& w = pm.net.nodes[std::size_t(node)].weight;  // [16, 1, 3, 3]
  REQUIRE(w.shape[0] == 16);
  struct expect {
    const char* format;
    double dc_lo, dc_hi;  // SQNR of the 16 DC gains (dB)
  };
  // Measured 26.9, 33.8 and 42.1 dB (README); the bands leave ±1 dB.
  for (const expect& e : {expect{"e4m3", 25.9, 27.9}, expect{"e3m4", 32.8, 34.8}, expect{"int8", 41.1, 43.1}}) {
    CAPTURE(std::string(e.format));
    quant_config c;
    c.weight_format = c.act_format = parse_format(e.format);
    const quantized_model q = convert(pm, c);
    const tensor& wq = q.net.nodes[std::size_t(node)].weight;
    double sig = 0, err = 0, worst = 0;
    int flips = 0;
    for (int o = 0; o < 16; ++o) {
      double s = 0, sq = 0;
      for (int i = 0; i < 9; ++i) {
        s += w.data[std::size_t(o * 9 + i)];
        sq += wq.data[std::size_t(o * 9 + i)];
      }
      sig += s * s;
      err += (sq - s) * (sq - s);
      worst = std::max(worst, std::fabs(sq - s) / std::fabs(s));
      if ((s > 0) != (sq > 0)) ++flips;
    }
    const double dc_db = 10 * std::log10(sig / err);
    CHECK(dc_db > e.dc_lo);
    CHECK(dc_db < e.dc_hi);
    if (std::string(e.format) == "e4m3") {
      // The weights themselves look ordinary: 33.3 dB (the other layers: 31.6–31.8 dB).
      CHECK(q.state[std::size_t(u)].weight_sqnr_db > 32.5);
      CHECK(worst > 3.5);   // channel 5: 0.047 → 0.226
      CHECK(flips == 2);    // channels 1 and 10 change sign
      // Test accuracy (README): all e4m3 0.9023; conv1's weight back in float32 0.9120; conv1's
      // input unquantized instead 0.9042 — the weight is the cause. ±0.001: Eigen's summation
      // order may differ on another CPU and move a few borderline images.
      const image_set test = load_fashion_mnist("test", fashion_mnist_dir, 10000);
      CHECK(accuracy(predict(q, test), test.labels) == doctest::Approx(0.9023).epsilon(0.0011));
      quantized_model qw = q;
      qw.net.nodes[std::size_t(node)].weight = w;
      CHECK(accuracy(predict(qw, test), test.labels) == doctest::Approx(0.9120).epsilon(0.0011));
      quantized_model qa = q;
      for (act_quantizer& a : qa.acts)
        if (a.unit == u) a.identity = true;
      CHECK(accuracy(predict(qa, test), test.labels) == doctest::Approx(0.9042).epsilon(0.0011));
    }
  }
}
