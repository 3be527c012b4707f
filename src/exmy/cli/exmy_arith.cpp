// exmy-arith — low-precision and approximate arithmetic (issue 6, "Low-precision and approximate
// arithmetic"): (1) each multiplier's relative error exhaustively over all operand pairs of an
// 8-bit format; (2) Monte-Carlo dot products of synthetic vectors against the error model
// (arith/dot_error.hpp); (3) the same per layer of the example network on its real operands;
// (4) the network's test accuracy under each multiplier × accumulator pair, on the CPU or a CUDA
// device. JSON output with provenance.
//
//   exmy-arith --operand-format e4m3 --arith exact/fp32,lmul:3/fp32,mitchell:3/bf16 -o arith.json
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "exmy/arith/dot_monte_carlo.hpp"
#include "exmy/arith/network_arith.hpp"
#include "exmy/cli/cli_common.hpp"

namespace {

constexpr int k_schema_version = 1;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> r;
  for (std::size_t a = 0; a <= s.size();) {
    const std::size_t b = std::min(s.find(',', a), s.size());
    if (b > a) r.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return r;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// An SQNR in dB for JSON ("inf" for an exact result).
nlohmann::json db_json(double signal, double noise) {
  if (noise > 0) return 10 * std::log10(signal / noise);
  return "inf";
}

// Measured against predicted squared error of a layer's dot products (data frame).
struct layer_tally {
  double err_sq = 0, predicted = 0, signal = 0;
  exmy::dot_error_terms terms;
  std::int64_t count = 0, overflow_dots = 0;
  void merge(const layer_tally& o) {
    err_sq += o.err_sq;
    predicted += o.predicted;
    signal += o.signal;
    terms.multiplier += o.terms.multiplier;
    terms.product_rounding += o.terms.product_rounding;
    terms.sum_rounding += o.terms.sum_rounding;
    count += o.count;
    overflow_dots += o.overflow_dots;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"exmy-arith: approximate multipliers and low-precision accumulators"};
  std::string multipliers = "exact,round:bf16,round:e5m2,trunc:2,trunc:1,mitchell:3,lmul:3,lmul:2";
  std::string arith =
      "exact/fp32,exact/bf16,exact/fp16,exact/bf16:pairwise,exact/bf16:block32,exact/e5m7,"
      "round:e5m2/fp32,trunc:2/fp32,mitchell:3/fp32,lmul:3/fp32,lmul:3/bf16";
  std::string operand_format = "e4m3", model = "results/models/fashion_cnn.safetensors";
  std::string data = exmy::fashion_mnist_dir, lengths = "64,432,1024", output = "-";
  std::string device = "cpu";
  std::int64_t images = 10000, calib = 300, layer_images = 8, mc_trials = 2000, layer_stride = 7;
  int threads = 0;
  bool keep_first = false;
  app.add_option("--multipliers", multipliers, "multipliers of the exhaustive error table")->capture_default_str();
  app.add_option("--arith", arith, "MULTIPLIER/ACCUMULATOR pairs")->capture_default_str();
  app.add_option("--operand-format", operand_format, "operand format (table, Monte-Carlo, network)")->capture_default_str();
  app.add_option("--model", model, "safetensors model")->capture_default_str();
  app.add_option("--data", data, "Fashion-MNIST IDX directory")->capture_default_str();
  app.add_option("--images", images, "test images for the accuracy (the first N; 0: skip)")->capture_default_str();
  app.add_option("--calib", calib, "calibration images (the first N training images)")->capture_default_str();
  app.add_option("--layer-images", layer_images, "calibration images for the per-layer error (0: skip)")->capture_default_str();
  app.add_option("--layer-stride", layer_stride, "per-layer error: every n-th output entry")->capture_default_str();
  app.add_option("--mc-lengths", lengths, "Monte-Carlo dot-product lengths")->capture_default_str();
  app.add_option("--mc-trials", mc_trials, "Monte-Carlo dot products per length (0: skip)")->capture_default_str();
  app.add_flag("--keep-first-conv", keep_first, "network: the first conv in fp32");
  app.add_option("--device", device, "cpu | cuda[:N] (emulated GEMMs of the network)")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0: OpenMP default)");
  app.add_option("-o,--output", output, "JSON output ('-': stdout)")->capture_default_str();

  return exmy::cli::run_tool("exmy-arith", app, argc, argv, [&]() {
    using namespace exmy;
    if (threads < 0) throw error("--threads must be ≥ 0");
    if (threads > 0) omp_set_num_threads(threads);
    if (layer_stride < 1) throw error("--layer-stride must be ≥ 1");
    const device_spec dev = parse_device(device);
    if (dev.kind == device_kind::cuda) require_device(dev);
    const auto t_start = std::chrono::steady_clock::now();
    const format_spec opf = parse_format(operand_format);
    std::vector<arithmetic> ars;
    for (const std::string& s : split_list(arith)) ars.push_back(parse_arithmetic(s));
    nlohmann::json out = cli::provenance(k_schema_version, argc, argv);
    out["tool"] = "exmy-arith";
    out["operand_format"] = opf.name;
    out["device"] = to_string(dev);
    out["threads"] = omp_get_max_threads();

    // 1. Exhaustive multiplier error (also the μ, σ² of the error model).
    std::map<std::string, multiplier_error> stats;
    nlohmann::json mt = nlohmann::json::array();
    std::vector<std::string> mnames = split_list(multipliers);
    for (const arithmetic& a : ars) mnames.push_back(a.mul.name);
    for (const std::string& name : mnames) {
      if (stats.count(name)) continue;
      const multiplier_error e = exhaustive_multiplier_error(parse_multiplier(name), opf);
      stats[name] = e;
      mt.push_back({{"multiplier", name}, {"pairs", e.pairs}, {"mean", e.mean},
                    {"mean_abs", e.mean_abs}, {"rms", e.rms}, {"std", std::sqrt(e.variance())},
                    {"min", e.min}, {"max", e.max}, {"max_abs", e.max_abs}, {"p01", e.p01},
                    {"p50", e.p50}, {"p99", e.p99}});
      std::fprintf(stderr, "%-12s on %s: bias %+.5f  mean|e| %.5f  rms %.5f  max|e| %.5f\n",
                   name.c_str(), opf.name.c_str(), e.mean, e.mean_abs, e.rms, e.max_abs);
    }
    out["multipliers"] = mt;

    // 2. Monte-Carlo on synthetic vectors: a, b ~ N(0, σ²) on the native grid, max = 4σ.
    nlohmann::json mc = nlohmann::json::array();
    if (mc_trials > 0) {
      for (const std::string& ls : split_list(lengths)) {
        dot_mc_options o;
        o.length = std::stoll(ls);
        o.trials = mc_trials;
        for (const arithmetic& ar : ars) {
          const dot_mc_result r = dot_monte_carlo(ar, stats[ar.mul.name], opf, o);
          mc.push_back({{"arithmetic", ar.name}, {"length", r.length}, {"trials", r.trials},
                        {"measured_mse", r.measured_mse}, {"measured_se", r.measured_se},
                        {"predicted_mse", r.predicted_mse},
                        {"predicted_multiplier", r.predicted_terms.multiplier},
                        {"predicted_product_rounding", r.predicted_terms.product_rounding},
                        {"predicted_sum_rounding", r.predicted_terms.sum_rounding},
                        {"ratio", r.predicted_mse > 0 ? nlohmann::json(r.measured_mse / r.predicted_mse)
                                                      : nlohmann::json(nullptr)},
                        {"overflow_dots", r.overflow_dots},
                        {"z", std::isfinite(r.z()) ? nlohmann::json(r.z()) : nlohmann::json(nullptr)},
                        {"measured_sqnr_db", db_json(r.signal, r.measured_mse)},
                        {"predicted_sqnr_db", db_json(r.signal, r.predicted_mse)}});
          std::fprintf(stderr, "MC K=%-5lld %-22s measured %.4g ± %.2g  predicted %.4g  z %+.2f\n",
                       static_cast<long long>(o.length), ar.name.c_str(), r.measured_mse,
                       r.measured_se, r.predicted_mse, r.z());
        }
      }
    }
    out["monte_carlo"] = mc;

    // 3 and 4. The network, weights per channel and activations per tensor in the operand format
    // (BatchNorm folded, static min-max ranges): its GEMMs on native values (network_arith.hpp).
    nlohmann::json layers = nlohmann::json::array(), acc = nlohmann::json::array();
    if (images > 0 || layer_images > 0) {
      const network net = load_network(model);
      prepared_model pm = prepare(net, bn_mode::fold);
      calibrate(pm, load_fashion_mnist("train", data, calib));
      quant_config qc;
      qc.weight_format = qc.act_format = opf;
      qc.keep_first_conv = keep_first;
      const quantized_model q = convert(pm, qc);
      const emulated_network en(q);
      if (layer_images > 0) {
        const image_set li = slice(pm.calibration, 0, std::min(layer_images, pm.calibration.count));
        for (const arithmetic& ar : ars) {
          std::map<int, layer_tally> per;
          std::map<int, std::int64_t> depth;
          std::mutex mu;
          const multiplier_error& ms = stats[ar.mul.name];
          const gemm_hook hook = [&](int node, const float* a, const float* b, float* c,
                                     std::int64_t m, std::int64_t k, std::int64_t n) {
            en.gemm(ar, dev, node, a, b, c, m, k, n);
            // Every layer_stride-th entry: the emulated dot on the native operands vs the exact
            // one, and the model's prediction; both scaled back to the data frame.
            const native_gemm g = en.to_native(node, a, b, m, k, n);
            layer_tally t;
            std::vector<float> col(static_cast<std::size_t>(k));
            for (std::int64_t e = 0; e < m * n; e += layer_stride) {
              const std::int64_t i = e / n, j = e % n;
              for (std::int64_t r = 0; r < k; ++r) col[std::size_t(r)] = g.b[std::size_t(r * n + j)];
              const float* row = g.a.data() + i * k;
              double exact = 0;
              for (std::int64_t r = 0; r < k; ++r) exact += double(row[r]) * double(col[std::size_t(r)]);
              const double s = g.row_scale[std::size_t(i)] * g.col_scale, s2 = s * s;
              const double err = emulated_dot(ar, row, col.data(), col.size()) - exact;
              const dot_error_terms p = predicted_dot_error(ar, ms, row, col.data(), k);
              t.err_sq += err * err * s2;
              t.predicted += p.total() * s2;
              t.terms.multiplier += p.multiplier * s2;
              t.terms.product_rounding += p.product_rounding * s2;
              t.terms.sum_rounding += p.sum_rounding * s2;
              t.signal += exact * exact * s2;
              ++t.count;
              if (p.overflows > 0) ++t.overflow_dots;
            }
            std::lock_guard<std::mutex> lock(mu);
            per[node].merge(t);
            depth[node] = k;
          };
          run(q, li.pixels.data(), li.count, hook);
          for (const auto& kv : per) {
            const layer_tally& t = kv.second;
            const double n = double(std::max<std::int64_t>(t.count, 1));
            layers.push_back({{"arithmetic", ar.name},
                              {"layer", q.net.nodes[std::size_t(kv.first)].name},
                              {"k", depth[kv.first]},
                              {"dots", t.count},
                              {"overflow_dots", t.overflow_dots},
                              {"measured_mse", t.err_sq / n},
                              {"predicted_mse", t.predicted / n},
                              {"predicted_multiplier", t.terms.multiplier / n},
                              {"predicted_product_rounding", t.terms.product_rounding / n},
                              {"predicted_sum_rounding", t.terms.sum_rounding / n},
                              {"ratio", t.predicted > 0 ? nlohmann::json(t.err_sq / t.predicted)
                                                        : nlohmann::json(nullptr)},
                              {"measured_sqnr_db", db_json(t.signal, t.err_sq)},
                              {"predicted_sqnr_db", db_json(t.signal, t.predicted)}});
          }
          std::fprintf(stderr, "layers %-22s done\n", ar.name.c_str());
        }
      }
      if (images > 0) {
        const image_set test = load_fashion_mnist("test", data, images);
        auto t0 = std::chrono::steady_clock::now();
        const double fp32 = accuracy(predict(net, test), test.labels);
        const double fq = accuracy(predict(q, test), test.labels);
        out["network"] = {{"images", test.count}, {"fp32_accuracy", fp32},
                          {"fake_quant_accuracy", fq}, {"keep_first_conv", keep_first},
                          {"bn", "fold"}, {"acts", "static"}, {"seconds", seconds_since(t0)}};
        std::fprintf(stderr, "network: fp32 %.4f, %s fake-quant (float32 Eigen GEMM) %.4f\n", fp32,
                     opf.name.c_str(), fq);
        for (const arithmetic& ar : ars) {
          t0 = std::chrono::steady_clock::now();
          const double a = accuracy(predict(q, test, 250, en.hook(ar, dev)), test.labels);
          const double s = seconds_since(t0);
          acc.push_back({{"arithmetic", ar.name}, {"accuracy", a},
                         {"delta_vs_fake_quant", a - fq}, {"delta_vs_fp32", a - fp32},
                         {"seconds", s}, {"images_per_second", double(test.count) / s}});
          std::fprintf(stderr, "network %-22s accuracy %.4f (%+.4f vs fake-quant) %.1f images/s\n",
                       ar.name.c_str(), a, a - fq, double(test.count) / s);
        }
      }
    }
    out["layers"] = layers;
    out["accuracy"] = acc;
    out["total_seconds"] = seconds_since(t_start);
    cli::write_atomic(output, out.dump(1) + "\n");
    return 0;
  });
}
