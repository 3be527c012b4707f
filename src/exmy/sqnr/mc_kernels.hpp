// exmy/sqnr/mc_kernels.hpp — internal interface between monte_carlo.cpp (threads, chunks,
// statistics) and the per-ISA builds of mc_kernels.inc, plus the lane arithmetic that the CPU
// loops and the CUDA kernel (monte_carlo_cuda.cu) share, so both add the same numbers in the same
// order. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "exmy/config.hpp"
#include "exmy/distributions/sampler.hpp"
#include "exmy/quantize/params.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/random/uniform_bits.hpp"
#include "exmy/sqnr/monte_carlo.hpp"

namespace exmy {

constexpr int mc_lanes = 8;  ///< sample i of a block goes to lane i mod 8

/// One Monte-Carlo pass: n samples of stream `stream` through the quantizer p.
struct mc_args {
  sampler_params sp;
  quant_params p;
  rounding mode;
  std::uint64_t seed;
  std::uint32_t stream;
  std::uint64_t n;
};

/// Dot-product trials: x from stream 0 with spx/px, y from stream 1 with spy/py, length K.
struct mc_dot_args {
  sampler_params spx, spy;
  quant_params px, py;
  rounding mode;
  std::uint64_t seed;
  std::uint64_t length;
};

/// ΣD, ΣD², ΣD⁴ over trials.
struct mc_dot_sums {
  double d = 0, dd = 0, d4 = 0;
};

/// Per-lane partial sums of one block (L = 8 on the CPU, 2 per CUDA thread).
template <int L>
struct mc_lane_sums {
  double e[L] = {}, ee[L] = {}, xe[L] = {}, xx[L] = {}, e4[L] = {}, x[L] = {};
  double nc[L] = {}, eec[L] = {}, e4c[L] = {};  ///< clipping region (counts as exact doubles)
};

/// Adds the pair (x, q) to lane l; lo/hi are the grid's end points (minval, maxval).
template <int L>
EXMY_FORCEINLINE EXMY_HOST_DEVICE void mc_add(mc_lane_sums<L>& s, int l, double x, double q,
                                              double lo, double hi) {
  const double e = q - x;
  const double ee = e * e;
  const double e4 = ee * ee;
  // 1.0 beyond the grid's ends, else 0.0, as arithmetic (a select here is not if-converted and
  // stops GCC vectorizing the loop). In range e is finite, so 0·e² never meets an infinity.
  const double clip = static_cast<double>((x > hi) | (x < lo));
  s.e[l] += e;
  s.ee[l] += ee;
  s.xe[l] += x * e;
  s.xx[l] += x * x;
  s.e4[l] += e4;
  s.x[l] += x;
  s.nc[l] += clip;
  s.eec[l] += clip * ee;
  s.e4c[l] += clip * e4;
}

/// Adds lane l of s to out (blocks fold lanes 0…7 in this order, starting from zero).
template <int L>
EXMY_FORCEINLINE EXMY_HOST_DEVICE void mc_fold_lane(mc_sums& out, const mc_lane_sums<L>& s, int l) {
  out.e += s.e[l];
  out.ee += s.ee[l];
  out.xe += s.xe[l];
  out.xx += s.xx[l];
  out.e4 += s.e4[l];
  out.x += s.x[l];
  out.n_clip += static_cast<std::uint64_t>(s.nc[l]);
  out.ee_clip += s.eec[l];
  out.e4_clip += s.e4c[l];
}

/// The quantized value of sample i of a stream (stochastic rounding draws its word from the
/// stream's stochastic-rounding counter, uniform_bits.hpp).
template <rounding R>
EXMY_FORCEINLINE EXMY_HOST_DEVICE double mc_quantize(double x, const quant_params& p,
                                                     std::uint64_t seed, std::uint32_t stream,
                                                     std::uint64_t i) {
  const std::uint32_t u = R == rounding::stochastic ? mc_sr_word(seed, stream, i) : 0u;
  return quantize_value<R>(x, p, u);
}

/// How n samples are cut: blocks of mc_block_len, folded into n_chunks chunks of chunk_blocks
/// blocks (the last one shorter), n_chunks ≤ mc_max_batches; a function of n alone.
struct mc_geometry {
  std::uint64_t n_blocks, chunk_blocks, n_chunks;
};
inline mc_geometry mc_geometry_of(std::uint64_t n, std::uint64_t unit = mc_block_len) {
  mc_geometry g;
  g.n_blocks = (n + unit - 1) / unit;
  g.chunk_blocks = (g.n_blocks + mc_max_batches - 1) / mc_max_batches;
  if (g.chunk_blocks == 0) g.chunk_blocks = 1;
  g.n_chunks = (g.n_blocks + g.chunk_blocks - 1) / g.chunk_blocks;
  return g;
}

/// The CUDA driver (monte_carlo_cuda.cu; without CUDA, monte_carlo.cpp throws): the chunk sums
/// of a pass, bit-identical to the CPU's.
void mc_cuda_chunks(const mc_args& a, const mc_geometry& g, mc_sums* chunks, int device);
/// True when a CUDA device can run the kernel; else the reason in *why.
bool mc_cuda_ready(std::string* why);

#define EXMY_DECLARE_MC_KERNELS(NS)                                                            \
  namespace NS {                                                                               \
  /* Sums of blocks [b0, b1) (samples [b0·B, min(b1·B, n))), folded in block order. */         \
  void mc_chunk(const mc_args& a, std::uint64_t b0, std::uint64_t b1, mc_sums& out);           \
  /* Sums over trials [t0, t1), folded in trial order. */                                      \
  void mc_dot_chunk(const mc_dot_args& a, std::uint64_t t0, std::uint64_t t1, mc_dot_sums& out); \
  }
EXMY_DECLARE_MC_KERNELS(mc_scalar)
EXMY_DECLARE_MC_KERNELS(mc_avx2)
#undef EXMY_DECLARE_MC_KERNELS

}  // namespace exmy
