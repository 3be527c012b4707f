// bench/network_bench — throughput of the example network (issue 6, "Benchmark: images/s of the
// FP32 and the fake-quant forward pass; one full tuning run's wall time"): the float32 forward
// pass, the fake-quantized one (e4m3 and int8, static ranges; e4m3 with dynamic ranges), the
// emulated-arithmetic one (arith/network_arith.hpp) on a subset, and one autotune run (exmy
// sensitivity strategy, e4m3, 1 % tolerable loss, the whole test set per evaluation). Wall and CPU
// seconds are both reported: on a shared machine wall time includes waiting for a core, CPU time
// divided by the threads is what the same run takes on idle cores.
//
// Usage: network_bench [--images N] [--emulated-images M] [--no-tune] [-o out.json]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include <sys/resource.h>

#include <nlohmann/json.hpp>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "exmy/arith/network_arith.hpp"
#include "exmy/ptq/tuning.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Wall and CPU seconds of f(), and images per second on both clocks.
template <class F>
nlohmann::json timed(const char* what, std::int64_t images, F&& f) {
  const double c0 = cpu_seconds();
  const auto t0 = clock_type::now();
  const double acc = f();
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double cpu = cpu_seconds() - c0;
  std::fprintf(stderr, "%-40s %7.1f images/s wall, %7.1f images/s per core (accuracy %.4f)\n", what,
               double(images) / wall, double(images) / cpu, acc);
  return {{"pass", what}, {"images", images}, {"wall_seconds", wall}, {"cpu_seconds", cpu},
          {"images_per_second", double(images) / wall},
          {"images_per_cpu_second", double(images) / cpu}, {"accuracy", acc}};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace exmy;
  std::int64_t images = 10000, emulated_images = 200;
  bool tune = true;
  std::string out = "-";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--images" && i + 1 < argc) images = std::stoll(argv[++i]);
    else if (a == "--emulated-images" && i + 1 < argc) emulated_images = std::stoll(argv[++i]);
    else if (a == "--no-tune") tune = false;
    else if (a == "-o" && i + 1 < argc) out = argv[++i];
    else {
      std::cerr << "usage: network_bench [--images N] [--emulated-images M] [--no-tune] [-o out.json]\n";
      return 2;
    }
  }
  try {
    int threads = 1;
#if defined(_OPENMP)
    threads = omp_get_max_threads();
#endif
    nlohmann::json j{{"benchmark", "network_bench"}, {"threads", threads}, {"images", images}};
    const network net = load_network(std::string(EXMY_SOURCE_DIR) + "/results/models/fashion_cnn.safetensors");
    prepared_model pm = prepare(net, bn_mode::fold);
    calibrate(pm, load_fashion_mnist("train", fashion_mnist_dir, 300));
    const image_set test = load_fashion_mnist("test", fashion_mnist_dir, images);
    nlohmann::json passes = nlohmann::json::array();
    passes.push_back(timed("fp32 forward", test.count, [&] {
      return accuracy(predict(net, test), test.labels);
    }));
    for (const char* f : {"e4m3", "int8"}) {
      quant_config c;
      c.weight_format = c.act_format = parse_format(f);
      const quantized_model q = convert(pm, c);
      passes.push_back(timed((std::string(f) + " fake-quant forward (static)").c_str(), test.count,
                             [&] { return accuracy(predict(q, test), test.labels); }));
    }
    {
      quant_config c;
      c.acts = act_mode::dynamic_range;
      const quantized_model q = convert(pm, c);
      passes.push_back(timed("e4m3 fake-quant forward (dynamic)", test.count,
                             [&] { return accuracy(predict(q, test), test.labels); }));
    }
    // Emulated arithmetic: every product and sum modelled in scalar code (≈ 3.7 M MACs/image).
    {
      quant_config c;
      const quantized_model q = convert(pm, c);
      const emulated_network en(q);
      const image_set sub = slice(test, 0, std::min(emulated_images, test.count));
      for (const char* s : {"exact/fp32", "lmul:3/fp32", "exact/bf16"}) {
        const arithmetic ar = parse_arithmetic(s);
        passes.push_back(timed((std::string("e4m3 emulated ") + s).c_str(), sub.count, [&] {
          return accuracy(predict(q, sub, 250, en.hook(ar, device_spec{})), sub.labels);
        }));
      }
    }
    j["passes"] = passes;
    if (tune) {
      const double c0 = cpu_seconds();
      const auto t0 = clock_type::now();
      const double base = accuracy(predict(net, test), test.labels);
      tuning_config tc;
      tc.config_set.push_back(quant_config{});
      tc.tolerable_loss = 0.01;
      tc.max_trials = 50;
      const tuning_result r =
          autotune(make_tuning_space(pm, test, sensitivity_measure::output), tc, tuning_options{}, base);
      const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
      j["tuning"] = {{"strategy", "sensitivity (logits SQNR)"}, {"format", "e4m3"},
                     {"tolerable_loss", 0.01}, {"evaluations", r.evaluations()}, {"met", r.met},
                     {"wall_seconds", wall}, {"cpu_seconds", cpu_seconds() - c0},
                     {"note", "baseline evaluation + ranking + trials, 10 000-image evaluations"}};
      std::fprintf(stderr, "tuning (sensitivity, e4m3, 1 %%): %d evaluations, %.1f s wall, %.1f s CPU\n",
                   r.evaluations(), wall, cpu_seconds() - c0);
    }
    const std::string text = j.dump(1) + "\n";
    if (out == "-") {
      std::cout << text;
    } else {
      std::ofstream(out) << text;
    }
  } catch (const std::exception& e) {
    std::cerr << "network_bench: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
