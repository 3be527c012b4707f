// The emulated multiplier × accumulator GEMM on a CUDA device against the CPU (label gpu; issue 6,
// "an emulated GEMM / convolution with any multiplier × accumulator pair, on CPU and GPU"): equal
// bit for bit. Without a usable device the comparison is skipped with "SKIPPED: <reason>" and the
// error path is checked instead.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "exmy/arith/emulated_gemm.hpp"

using namespace exmy;

TEST_CASE("gpu: emulated GEMM on the device equals the host's bit for bit") {
  const std::int64_t m = 19, k = 300, n = 45;
  std::vector<float> a(std::size_t(m * k)), b(std::size_t(k * n));
  // Values with varied exponents and fractions, some zeros and subnormal-range floats.
  for (std::size_t i = 0; i < a.size(); ++i)
    a[i] = i % 23 == 0 ? 0.0f : float(std::sin(0.37 * double(i)) * std::ldexp(1.0, int(i % 13) - 6));
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = i % 97 == 0 ? 1e-40f : float(std::cos(0.11 * double(i)) * std::ldexp(1.0, int(i % 9) - 4));
  std::string why;
  if (!emulated_gemm_cuda_available(&why)) {
    MESSAGE("SKIPPED: " << why);
    std::vector<float> c(std::size_t(m * n));
    CHECK_THROWS_AS(emulated_gemm_cuda(parse_arithmetic("exact/fp32"), a.data(), b.data(), c.data(),
                                       m, k, n),
                    error);
    return;
  }
  for (const char* s : {"exact/fp64", "exact/fp32", "exact/bf16:pairwise", "round:e5m2/fp16:block32",
                        "trunc:2/e5m7", "mitchell:3/fp32", "lmul:3/bf16", "lmul:7/fp32:pairwise"}) {
    CAPTURE(std::string(s));
    const arithmetic ar = parse_arithmetic(s);
    std::vector<float> host(std::size_t(m * n)), dev(host.size(), -1.0f);
    emulated_gemm(ar, a.data(), b.data(), host.data(), m, k, n);
    emulated_gemm_cuda(ar, a.data(), b.data(), dev.data(), m, k, n);
    CHECK(std::memcmp(host.data(), dev.data(), host.size() * sizeof(float)) == 0);
  }
}
