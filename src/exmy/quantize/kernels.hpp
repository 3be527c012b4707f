// exmy/quantize/kernels.hpp — internal interface between quantize_cpu.cpp (threads, dispatch) and
// the per-ISA builds of quantize_kernels.inc. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "exmy/quantize/params.hpp"

namespace exmy {

constexpr int kernel_lanes = 8;  ///< fixed accumulator lanes of the statistics loops

/// Per-lane partial sums of one block; combined lane 0…7 in order.
struct stats_lanes {
  double ee[kernel_lanes] = {}, xx[kernel_lanes] = {}, xe[kernel_lanes] = {}, e[kernel_lanes] = {},
         x[kernel_lanes] = {}, maxe[kernel_lanes] = {};
  std::uint64_t count[kernel_lanes] = {}, clipped[kernel_lanes] = {}, flushed[kernel_lanes] = {},
                nan[kernel_lanes] = {}, inf[kernel_lanes] = {};
};

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
