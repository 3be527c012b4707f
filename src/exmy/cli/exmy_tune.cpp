// exmy-tune — end-to-end PTQ of the example network with accuracy-driven tuning (issue 6): load the
// model (results/models/fashion_cnn.safetensors) and Fashion-MNIST, calibrate on N training images,
// then either evaluate each format as one config (--evaluate) or tune (strategies of ptq/tuning.hpp)
// and write every trial — config, accuracy, evaluations used, units in float32 — as JSON.
//
//   exmy-tune --formats e4m3,e3m4,int8 --tolerable-loss 0.01 --strategy sensitivity
//             --max-trials 50 --timeout 600 --device cpu -o tuning.json
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "exmy/cli/cli_common.hpp"
#include "exmy/cli/exmy_tune_args.hpp"
#include "exmy/ptq/gemm_cublas.hpp"
#include "exmy/ptq/measure.hpp"
#include "exmy/ptq/tuning.hpp"
#include "exmy/quantize/quantize_cuda.hpp"

namespace {

constexpr int k_schema_version = 1;

nlohmann::json config_json(const exmy::quant_config& c) {
  nlohmann::json j{{"weight_format", c.weight_format.name},
                   {"act_format", c.act_format.name},
                   {"weight_per_channel", c.weight_per_channel},
                   {"weight_estimator", exmy::to_string(c.weight_est.kind)},
                   {"act_estimator", exmy::to_string(c.act_est.kind)},
                   {"acts", exmy::to_string(c.acts)},
                   {"act_int_affine", c.act_int_affine},
                   {"keep_first_conv", c.keep_first_conv},
                   {"keep_last_linear", c.keep_last_linear},
                   {"rounding", exmy::to_string(c.mode)},
                   {"scale", exmy::to_string(c.scale)}};
  nlohmann::json types = nlohmann::json::array();
  for (exmy::unit_type t : c.op_types) types.push_back(exmy::to_string(t));
  j["op_types"] = types;
  j["fp32_units"] = std::vector<std::string>(c.fp32_units.begin(), c.fp32_units.end());
  nlohmann::json uf = nlohmann::json::object();
  for (const auto& kv : c.unit_formats) uf[kv.first] = kv.second.name;
  j["unit_formats"] = uf;
  return j;
}

// An SQNR for JSON: +inf (an exact result) as the string "inf" (JSON has no infinity).
nlohmann::json db_json(double db) {
  if (std::isfinite(db)) return db;
  return db > 0 ? "inf" : "-inf";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"exmy-tune: end-to-end PTQ of the example network with accuracy-driven tuning"};
  exmy::cli::tune_args args;
  exmy::cli::declare_options(app, args);

  return exmy::cli::run_tool("exmy-tune", app, argc, argv, [&]() {
    using namespace exmy;
    // Every option parsed and checked before the model and data are read (exmy_tune_args.hpp).
    const cli::tune_plan plan = cli::check_options(args);
    const device_spec& dev = plan.dev;
    // --device cuda[:N]: every conv / linear GEMM (baseline, evaluations, output sensitivity) through
    // cuBLAS on one device, chosen once; im2col, fake quantization and calibration stay on the CPU.
    gemm_hook gemm;
    std::string device_name = to_string(dev);
    if (dev.kind == device_kind::cuda) {
      require_device(dev);
      const int index = cuda_select_device(dev.index);
      gemm = cublas_gemm_hook(index);
      device_name = "cuda:" + std::to_string(index);
    }
    if (args.threads > 0) omp_set_num_threads(args.threads);
    const auto t_start = std::chrono::steady_clock::now();
    const std::vector<quant_config>& set = plan.set;
    const tuning_options& topt = plan.topt;
    const std::string &model = args.model, &data = args.data, &bn = args.bn,
                      &strategy = args.strategy, &measure = args.measure, &widen = args.widen,
                      &output = args.output;
    const double tolerable_loss = args.tolerable_loss, timeout = args.timeout;
    const int max_trials = args.max_trials;

    // 1. Model, data, the float32 baseline.
    const network net = load_network(model);
    const image_set train = load_fashion_mnist("train", data, args.calib);
    const image_set test = load_fashion_mnist("test", data, args.eval_images);
    // forward() reads product(input_shape) floats per image: a model for other images must not
    // read past the end of these (issue 8: found by reading the code next to the fuzz target).
    std::int64_t per_image = 1;
    for (std::int64_t d : net.input_shape) per_image *= d;
    if (per_image != train.image_size())
      throw error("--model '" + model + "' takes inputs of " + std::to_string(per_image) +
                  " values, the Fashion-MNIST images have " + std::to_string(train.image_size()));
    auto t0 = std::chrono::steady_clock::now();
    const double baseline = accuracy(predict(net, test, 250, gemm), test.labels);
    const double fp32_seconds = seconds_since(t0);
    // 2. prepare + calibrate (INC), once for every trial.
    t0 = std::chrono::steady_clock::now();
    prepared_model pm = prepare(net, plan.bn);
    calibrate(pm, train);
    const double calib_seconds = seconds_since(t0);

    nlohmann::json out = cli::provenance(k_schema_version, argc, argv);
    out["tool"] = "exmy-tune";
    out["model"] = model;
    out["dataset"] = {{"name", "fashion-mnist"}, {"dir", data}, {"calibration", "train[0:" + std::to_string(train.count) + ")"},
                      {"evaluation", "test[0:" + std::to_string(test.count) + ")"}};
    out["device"] = device_name;
    out["threads"] = omp_get_max_threads();
    out["baseline"] = {{"accuracy", baseline}, {"seconds", fp32_seconds},
                       {"images_per_second", double(test.count) / fp32_seconds}};
    out["settings"] = {{"bn", bn}, {"strategy", strategy}, {"measure", measure},
                       {"widen", widen}, {"tolerable_loss", tolerable_loss},
                       {"max_trials", max_trials}, {"timeout", timeout},
                       {"calibration_seconds", calib_seconds}};
    nlohmann::json units = nlohmann::json::array();
    for (const quant_unit& u : pm.units) units.push_back({{"name", u.name}, {"type", to_string(u.type)}});
    out["units"] = units;
    std::fprintf(stderr, "fp32 accuracy %.4f on %lld test images (%.1f images/s)\n", baseline,
                 (long long)test.count, double(test.count) / fp32_seconds);

    if (args.evaluate_only) {
      // One evaluation per format: accuracy, per-unit SQNRs and the images/s of the fake-quant pass.
      nlohmann::json rows = nlohmann::json::array();
      for (const quant_config& c : set) {
        t0 = std::chrono::steady_clock::now();
        const quantized_model q = convert(pm, c);
        const double tc = seconds_since(t0);
        t0 = std::chrono::steady_clock::now();
        const double acc = accuracy(predict(q, test, 250, gemm), test.labels);
        const double te = seconds_since(t0);
        nlohmann::json us = nlohmann::json::array();
        for (std::size_t u = 0; u < q.units.size(); ++u) {
          const unit_state& s = q.state[u];
          nlohmann::json uj{{"unit", q.units[u].name}, {"quantized", s.quantized}, {"reason", s.reason}};
          if (s.quantized) {
            if (q.units[u].has_weight) uj["weight_sqnr_db"] = db_json(s.weight_sqnr_db);
            if (c.acts == act_mode::static_range) uj["act_sqnr_db"] = db_json(s.act_sqnr_db);
          }
          us.push_back(uj);
        }
        rows.push_back({{"format", c.name}, {"config", config_json(c)}, {"accuracy", acc},
                        {"relative_loss", (baseline - acc) / baseline},
                        {"convert_seconds", tc}, {"eval_seconds", te},
                        {"images_per_second", double(test.count) / te}, {"units", us}});
        std::fprintf(stderr, "%-8s accuracy %.4f (loss %+.4f) %.1f images/s\n", c.name.c_str(), acc,
                     (baseline - acc) / baseline, double(test.count) / te);
      }
      out["evaluations"] = rows;
    } else {
      // Tuning: one run over the whole set, or one per format (--independent).
      std::vector<std::vector<quant_config>> runs;
      if (args.independent)
        for (const quant_config& c : set) runs.push_back({c});
      else
        runs.push_back(set);
      const tuning_space space = make_tuning_space(pm, test, topt.measure, gemm);
      nlohmann::json rj = nlohmann::json::array(), trials = nlohmann::json::array();
      for (std::size_t r = 0; r < runs.size(); ++r) {
        tuning_config tc;
        tc.config_set = runs[r];
        tc.tolerable_loss = tolerable_loss;
        tc.max_trials = max_trials;
        tc.timeout_s = timeout;
        const tuning_result res = autotune(space, tc, topt, baseline);
        std::string names;
        for (const quant_config& c : runs[r]) names += (names.empty() ? "" : ",") + c.name;
        for (const trial_record& t : res.trials) {
          trials.push_back({{"run", r}, {"formats", names}, {"trial", t.trial},
                            {"base", runs[r][std::size_t(t.base)].name}, {"step", t.step},
                            {"accuracy", t.accuracy}, {"relative_loss", t.relative_loss},
                            {"passed", t.passed}, {"evaluations", t.trial},
                            {"fp32_units", t.fp32_units}, {"widened_units", t.widened_units},
                            {"seconds", t.seconds}, {"config", config_json(t.config)}});
          std::fprintf(stderr, "[%s] trial %2d  %-60s acc %.4f loss %+.5f %s\n", names.c_str(), t.trial,
                       t.step.c_str(), t.accuracy, t.relative_loss, t.passed ? "PASS" : "");
        }
        nlohmann::json sens = nlohmann::json::array();
        for (const auto& rank : res.sensitivity) {
          nlohmann::json one = nlohmann::json::array();
          for (const sensitivity_entry& e : rank) one.push_back({{"unit", e.unit}, {"sqnr_db", db_json(e.sqnr_db)}});
          sens.push_back(one);
        }
        const trial_record* best = res.best >= 0 ? &res.trials[std::size_t(res.best)] : nullptr;
        rj.push_back({{"run", r}, {"formats", names}, {"strategy", to_string(topt.strategy)},
                      {"evaluations", res.evaluations()}, {"met", res.met}, {"stop", res.stop},
                      {"best_trial", best ? best->trial : 0},
                      {"best_accuracy", best ? best->accuracy : 0.0},
                      {"best_relative_loss", best ? best->relative_loss : 0.0},
                      {"best_fp32_units", best ? best->fp32_units : std::vector<std::string>{}},
                      {"best_widened_units", best ? best->widened_units : std::vector<std::string>{}},
                      {"best_config", best ? config_json(best->config) : nlohmann::json()},
                      {"sensitivity", sens}, {"sensitivity_seconds", res.sensitivity_seconds},
                      {"seconds", res.seconds}});
        std::fprintf(stderr, "[%s] %s: %d evaluations, %s, best %.4f\n", names.c_str(),
                     to_string(topt.strategy), res.evaluations(), res.stop.c_str(),
                     best ? best->accuracy : 0.0);
      }
      out["runs"] = rj;
      out["trials"] = trials;
    }
    out["total_seconds"] = seconds_since(t_start);
    cli::write_atomic(output, out.dump(1) + "\n");
    return 0;
  });
}
