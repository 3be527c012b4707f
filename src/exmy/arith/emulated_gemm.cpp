// exmy/arith/emulated_gemm.cpp — the CPU emulated GEMM and dot product (emulated_gemm.hpp), and the
// CUDA entry points when exmy is built without CUDA.
#include "exmy/arith/emulated_gemm.hpp"

#include <vector>

namespace exmy {

arithmetic parse_arithmetic(const std::string& s) {
  const std::size_t slash = s.find('/');
  if (slash == std::string::npos || s.find('/', slash + 1) != std::string::npos)
    throw error("arithmetic '" + s + "': expected MULTIPLIER/ACCUMULATOR (e.g. lmul:3/fp32)");
  arithmetic ar;
  ar.mul = parse_multiplier(s.substr(0, slash));
  ar.acc = parse_accumulator(s.substr(slash + 1));
  ar.name = s;
  return ar;
}

void emulated_gemm(const arithmetic& ar, const float* a, const float* b, float* c, std::int64_t m,
                   std::int64_t k, std::int64_t n) {
  // 1. Split every operand once (B transposed to N×K so each dot reads two contiguous rows).
  const multiplier_model& mm = ar.mul.model;
  std::vector<split_operand> sa(std::size_t(m * k)), sb(std::size_t(k * n));
  for (std::int64_t i = 0; i < m * k; ++i) sa[std::size_t(i)] = split_of(mm, a[i]);
  for (std::int64_t r = 0; r < k; ++r)
    for (std::int64_t j = 0; j < n; ++j) sb[std::size_t(j * k + r)] = split_of(mm, b[r * n + j]);
  // 2. One modelled dot product per entry, rounded to float32.
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const split_operand* x = sa.data() + i * k;
      const split_operand* y = sb.data() + j * k;
      c[i * n + j] = static_cast<float>(accumulate_model(
          ar.acc.model, k, [&](std::int64_t r) { return multiply_split(mm, x[r], y[r]); }));
    }
}

double emulated_dot(const arithmetic& ar, const float* a, const float* b, std::size_t n) {
  const multiplier_model& mm = ar.mul.model;
  return accumulate_model(ar.acc.model, std::int64_t(n), [&](std::int64_t r) {
    return multiply_split(mm, split_of(mm, a[r]), split_of(mm, b[r]));
  });
}

#if !defined(EXMY_HAVE_CUDA)
bool emulated_gemm_cuda_available(std::string* why) {
  if (why) *why = "built without CUDA";
  return false;
}
void emulated_gemm_cuda(const arithmetic&, const float*, const float*, float*, std::int64_t,
                        std::int64_t, std::int64_t, int) {
  throw error("emulated GEMM on CUDA: exmy was built without CUDA (nvcc not found at configure time)");
}
#endif

}  // namespace exmy
