// exmy/arith/emulated_gemm.hpp — GEMM (and through im2col, convolution) with any multiplier ×
// accumulator pair, on the CPU and on a CUDA device (issue 6, "An emulated GEMM / convolution with
// any multiplier × accumulator pair, on CPU and GPU"). cuBLAS cannot model these products, so the
// device runs exmy's own kernel (emulated_gemm_cuda.cu) around the same scalar rules
// (arith_core.hpp) in the same order: the device result equals the host's bit for bit.
//
// This header is plain C++ (no CUDA types); without CUDA the device entry points throw exmy::error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "exmy/arith/accumulator.hpp"
#include "exmy/arith/multiplier.hpp"

namespace exmy {

/// A multiplier × accumulator pair.
struct arithmetic {
  multiplier mul;
  accumulator acc;
  std::string name;  ///< "MUL/ACC"
};
/// Parses "MUL/ACC" ("lmul:3/fp32", "exact/bf16:pairwise", "round:fp16/fp16:block32"); throws
/// exmy::error.
arithmetic parse_arithmetic(const std::string& s);

/// C[M×N] = A[M×K]·B[K×N] (row-major float32), every product and sum modelled; each C entry is
/// the model's sum rounded to float32. Serial: callers parallelise across images or rows.
void emulated_gemm(const arithmetic& ar, const float* a, const float* b, float* c, std::int64_t m,
                   std::int64_t k, std::int64_t n);

/// One dot product Σ a[i]·b[i] under the model, before the final rounding to float32.
double emulated_dot(const arithmetic& ar, const float* a, const float* b, std::size_t n);

/// True when exmy was built with CUDA and a device is usable; otherwise why not in *why.
bool emulated_gemm_cuda_available(std::string* why = nullptr);

/// emulated_gemm on a CUDA device (`device` < 0: the current one) from host arrays: copies A and
/// B over, runs the kernel, copies C back. Thread-safe (each call has its own buffers and stream).
void emulated_gemm_cuda(const arithmetic& ar, const float* a, const float* b, float* c,
                        std::int64_t m, std::int64_t k, std::int64_t n, int device = -1);

}  // namespace exmy
