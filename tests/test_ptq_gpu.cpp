// tests/test_ptq_gpu.cpp — the PTQ measurement on a CUDA device gives the same bits as on the CPU
// (measure.hpp: the same chunks, each measured by quantize_error / quantize_error_cuda, which are
// bit-identical, folded in the same order), for per-tensor, per-channel and MX-block granularity
// and a tensor with NaN/inf. Skipped, with a message, when no CUDA device is usable.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "exmy/ptq/format_choice.hpp"
#include "exmy/quantize/quantize_cuda.hpp"

using namespace exmy;

namespace {

bool same(const error_stats& a, const error_stats& b) {
  return std::memcmp(&a.sum_sq_err, &b.sum_sq_err, sizeof(double)) == 0 &&
         std::memcmp(&a.sum_sq, &b.sum_sq, sizeof(double)) == 0 &&
         std::memcmp(&a.sum_x_err, &b.sum_x_err, sizeof(double)) == 0 &&
         std::memcmp(&a.sum_err, &b.sum_err, sizeof(double)) == 0 &&
         std::memcmp(&a.sum_x, &b.sum_x, sizeof(double)) == 0 && a.max_abs_err == b.max_abs_err &&
         a.count == b.count && a.clipped == b.clipped && a.flushed == b.flushed &&
         a.nan_count == b.nan_count && a.inf_count == b.inf_count;
}

}  // namespace

TEST_CASE("PTQ measurement: CUDA == CPU bit for bit") {
  if (!cuda_available()) {
    MESSAGE("SKIPPED: " << cuda_status());
    return;
  }
  tensor t;
  t.name = "w";
  t.shape = {96, 3000};  // chunks of 2^16 cut the per-tensor group into several pieces
  std::mt19937_64 rng(1);
  std::student_t_distribution<double> d(4.0);
  t.data.resize(static_cast<std::size_t>(t.numel()));
  for (auto& x : t.data) x = static_cast<float>(0.02 * d(rng));
  t.data[11] = NAN;
  t.data[12] = -INFINITY;
  for (const char* g : {"tensor", "channel:0", "channel:1", "block:32:ceil", "group:128"}) {
    ptq_options o;
    o.gran = parse_granularity(g);
    o.analysis = false;
    const tensor_report cpu = analyze_tensor(t, o);
    o.device = parse_device("cuda");
    const tensor_report gpu = analyze_tensor(t, o);
    REQUIRE(cpu.formats.size() == gpu.formats.size());
    for (std::size_t k = 0; k < cpu.formats.size(); ++k) {
      INFO(g << " " << cpu.formats[k].format);
      CHECK(same(cpu.formats[k].stats, gpu.formats[k].stats));
    }
    CHECK(cpu.best == gpu.best);
  }
}
