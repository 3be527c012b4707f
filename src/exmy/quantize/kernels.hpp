// exmy/quantize/kernels.hpp — internal interface between quantize_cpu.cpp (threads, dispatch) and
// the per-ISA builds of quantize_kernels.inc. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/stats_lanes.hpp"

namespace exmy {

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
