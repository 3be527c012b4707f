// exmy/quantize/cuda_support.cuh — what every CUDA driver of exmy shares (quantize_cuda.cu,
// monte_carlo_cuda.cu, arith/emulated_gemm_cuda.cu): error checks that throw exmy::error, the
// device selected for one call, and device memory owned by one call. Internal (not installed).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

#include "exmy/formats/format_spec.hpp"  // exmy::error

namespace exmy {
namespace cuda_support {

/// Throws exmy::error("<context>CUDA <what>: <reason>") when e is not cudaSuccess.
inline void check(cudaError_t e, const char* what, const char* context = "") {
  if (e != cudaSuccess)
    throw error(std::string(context) + "CUDA " + what + ": " + cudaGetErrorString(e));
}

/// Selects `device` for the lifetime of the guard (device < 0: keep the current one).
class device_guard {
 public:
  explicit device_guard(int device) {
    if (device < 0) return;
    check(cudaGetDevice(&prev_), "cudaGetDevice");
    if (prev_ == device) {
      prev_ = -1;
      return;
    }
    check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~device_guard() {
    if (prev_ >= 0) cudaSetDevice(prev_);
  }
  device_guard(const device_guard&) = delete;
  device_guard& operator=(const device_guard&) = delete;

 private:
  int prev_ = -1;
};

/// n elements of device memory, freed when the call that owns them returns (or throws).
template <class T>
class device_buffer {
 public:
  explicit device_buffer(std::size_t n, const char* context = "") {
    if (n) check(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)), "cudaMalloc", context);
  }
  ~device_buffer() {
    if (p_) cudaFree(p_);
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

}  // namespace cuda_support
}  // namespace exmy
