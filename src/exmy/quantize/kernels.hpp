// exmy/quantize/kernels.hpp — internal interface between quantize_cpu.cpp (threads, dispatch) and
// the per-ISA builds of quantize_kernels.inc. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/stats_lanes.hpp"

namespace exmy {

struct fast_params;

template <class T>
struct kernel_args {
  const T* in;
  T* out;
  std::size_t n;
  const quant_params* p;
  const quant_params* nat;
  rounding mode;
  scale_mode scale;
  std::uint64_t seed;
  std::uint64_t index0;
  /// float32 data: the fast-path constants (round_fast.hpp), built once per call by the driver
  /// (its output table would cost as much as a block); null: built by the kernel.
  const fast_params* fast = nullptr;
  /// Out-of-place float32 output far larger than the caches: non-temporal stores (no
  /// read-for-ownership of the output lines, 8 instead of 12 bytes of DRAM traffic per element).
  bool stream = false;
};

#define EXMY_DECLARE_KERNELS(NS)                                        \
  namespace NS {                                                        \
  void quantize_f32(const kernel_args<float>& a);                       \
  void quantize_f64(const kernel_args<double>& a);                      \
  void stats_f32(const kernel_args<float>& a, stats_lanes& s);          \
  void stats_f64(const kernel_args<double>& a, stats_lanes& s);         \
  }
EXMY_DECLARE_KERNELS(k_scalar)
EXMY_DECLARE_KERNELS(k_avx2)
EXMY_DECLARE_KERNELS(k_avx512)
#undef EXMY_DECLARE_KERNELS

}  // namespace exmy
