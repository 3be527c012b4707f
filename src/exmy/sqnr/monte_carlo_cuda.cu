// exmy/sqnr/monte_carlo_cuda.cu — the Monte-Carlo pass on a CUDA device (issue 4 of exmy), with
// chunk sums bit-identical to the CPU's (mc_kernels.inc).
//
// Why the bits agree: sample i is draw(sp, seed, i) of sampler.hpp on both sides (Philox, the
// 53-bit uniforms and elementary.hpp use only correctly rounded IEEE operations; the library's CUDA
// objects are built with --fmad=false -ftz=false), the quantizer is the same scalar rule, and the
// sums are formed in the host's order: four threads own one block of mc_block_len samples, thread
// t the lanes 2t and 2t + 1 (samples start + 2t + 8m and start + 2t + 1 + 8m, the pair of one
// Box–Muller call), adding with the shared mc_add in sample order; one thread folds the block's
// lanes 0…7 from zero; a second kernel folds each chunk's blocks in order. The host folds the
// chunks, as for the CPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/cuda_support.cuh"
#include "exmy/quantize/quantize_cuda.hpp"
#include "exmy/sqnr/mc_kernels.hpp"

namespace exmy {
namespace {

using cuda_support::check;
using cuda_support::device_buffer;
using cuda_support::device_guard;

constexpr int k_threads = 256;                           // CUDA threads per CUDA block
constexpr int k_threads_per_sample_block = mc_lanes / 2;  // two lanes per thread
constexpr std::uint64_t k_blocks_per_launch = std::uint64_t{1} << 18;  // 2^30 samples


// Sample i from an attempt-0 candidate v: v itself when accepted, else draw() from the start
// (which repeats attempt 0, rejects it again and goes on) — the value of draw(sp, seed, i).
template <sampler_kind K>
__device__ double settle(const sampler_params& sp, std::uint64_t seed, std::uint32_t stream,
                         std::uint64_t i, double v) {
  return sampler_accepts(sp, v) ? sampler_clip(sp, v) : draw<K>(sp, seed, i, stream);
}

// Block sums of sample blocks [b0, b0 + count): out[b − b0].
template <sampler_kind K, rounding R>
__global__ void block_sums_kernel(const mc_args a, std::uint64_t b0, std::uint64_t count,
                                  mc_sums* out) {
  __shared__ double sh[9][k_threads * 2];
  const std::uint64_t gid = std::uint64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  const std::uint64_t blk = gid / k_threads_per_sample_block;
  const int t = static_cast<int>(gid % k_threads_per_sample_block);
  mc_lane_sums<2> s;
  std::uint64_t start = 0, end = 0;
  if (blk < count) {
    start = (b0 + blk) * mc_block_len;
    end = start + mc_block_len < a.n ? start + mc_block_len : a.n;
    for (std::uint64_t i = start + 2 * t; i < end; i += mc_lanes) {
      double x0, x1;
      if constexpr (K == sampler_kind::student_t || K == sampler_kind::laplace) {
        x0 = draw<K>(a.sp, a.seed, i, a.stream);
        x1 = i + 1 < end ? draw<K>(a.sp, a.seed, i + 1, a.stream) : 0.0;
      } else {  // i is even: samples i and i + 1 are the two halves of call i/2
        double v0 = 0, v1 = 0;
        sampler_call<K>(a.sp, a.seed, a.stream, i >> 1, 0, v0, v1);
        x0 = settle<K>(a.sp, a.seed, a.stream, i, v0);
        x1 = settle<K>(a.sp, a.seed, a.stream, i + 1, v1);
      }
      const double lo = a.p.minval, hi = a.p.maxval;
      mc_add(s, 0, x0, mc_quantize<R>(x0, a.p, a.seed, a.stream, i), lo, hi);
      if (i + 1 < end) mc_add(s, 1, x1, mc_quantize<R>(x1, a.p, a.seed, a.stream, i + 1), lo, hi);
    }
  }
  for (int l = 0; l < 2; ++l) {
    const int k = 2 * static_cast<int>(threadIdx.x) + l;  // = 8·(block in CUDA block) + lane
    sh[0][k] = s.e[l];
    sh[1][k] = s.ee[l];
    sh[2][k] = s.xe[l];
    sh[3][k] = s.xx[l];
    sh[4][k] = s.e4[l];
    sh[5][k] = s.x[l];
    sh[6][k] = s.nc[l];
    sh[7][k] = s.eec[l];
    sh[8][k] = s.e4c[l];
  }
  __syncthreads();
  if (t == 0 && blk < count) {
    const int base = 2 * static_cast<int>(threadIdx.x);  // lane 0 of this sample block
    mc_lane_sums<mc_lanes> lanes;  // the block's lanes gathered, then folded as on the host
    for (int l = 0; l < mc_lanes; ++l) {
      lanes.e[l] = sh[0][base + l];
      lanes.ee[l] = sh[1][base + l];
      lanes.xe[l] = sh[2][base + l];
      lanes.xx[l] = sh[3][base + l];
      lanes.e4[l] = sh[4][base + l];
      lanes.x[l] = sh[5][base + l];
      lanes.nc[l] = sh[6][base + l];
      lanes.eec[l] = sh[7][base + l];
      lanes.e4c[l] = sh[8][base + l];
    }
    mc_sums r;
    r.n = end - start;
    for (int l = 0; l < mc_lanes; ++l) mc_fold_lane(r, lanes, l);
    out[blk] = r;
  }
}

// Chunk c (of this launch) = the fold of its blocks in order, from zero.
__global__ void chunk_fold_kernel(const mc_sums* blocks, std::uint64_t n_blocks,
                                  std::uint64_t chunk_blocks, std::uint64_t n_chunks,
                                  mc_sums* chunks) {
  const std::uint64_t c = std::uint64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (c >= n_chunks) return;
  mc_sums r;
  const std::uint64_t b1 = (c + 1) * chunk_blocks < n_blocks ? (c + 1) * chunk_blocks : n_blocks;
  for (std::uint64_t b = c * chunk_blocks; b < b1; ++b) accumulate(r, blocks[b]);
  chunks[c] = r;
}

template <sampler_kind K, rounding R>
void launch_blocks(const mc_args& a, std::uint64_t b0, std::uint64_t count, mc_sums* out) {
  const std::uint64_t threads = count * k_threads_per_sample_block;
  const unsigned grid = static_cast<unsigned>((threads + k_threads - 1) / k_threads);
  block_sums_kernel<K, R><<<grid, k_threads>>>(a, b0, count, out);
}

template <sampler_kind K>
void launch_blocks_r(const mc_args& a, std::uint64_t b0, std::uint64_t count, mc_sums* out) {
  switch (a.mode) {
    case rounding::rna: launch_blocks<K, rounding::rna>(a, b0, count, out); break;
    case rounding::rtz: launch_blocks<K, rounding::rtz>(a, b0, count, out); break;
    case rounding::stochastic: launch_blocks<K, rounding::stochastic>(a, b0, count, out); break;
    case rounding::rne:
    default: launch_blocks<K, rounding::rne>(a, b0, count, out); break;
  }
}

void launch_any(const mc_args& a, std::uint64_t b0, std::uint64_t count, mc_sums* out) {
  switch (a.sp.kind) {
    case sampler_kind::uniform: launch_blocks_r<sampler_kind::uniform>(a, b0, count, out); break;
    case sampler_kind::student_t: launch_blocks_r<sampler_kind::student_t>(a, b0, count, out); break;
    case sampler_kind::laplace: launch_blocks_r<sampler_kind::laplace>(a, b0, count, out); break;
    case sampler_kind::empirical: launch_blocks_r<sampler_kind::empirical>(a, b0, count, out); break;
    case sampler_kind::normal:
    default: launch_blocks_r<sampler_kind::normal>(a, b0, count, out); break;
  }
}

}  // namespace

bool mc_cuda_ready(std::string* why) {
  const bool ok = cuda_available();
  if (!ok && why) *why = cuda_status();
  return ok;
}

void mc_cuda_chunks(const mc_args& args, const mc_geometry& g, mc_sums* chunks, int device) {
  std::string why;
  if (!mc_cuda_ready(&why)) throw error("Monte-Carlo --device cuda: " + why);
  device = cuda_select_device(device);  // < 0: the least-loaded device
  const device_guard on_device(device);
  mc_args a = args;
  // The empirical sampler reads its values from device memory (same values, same bits).
  device_buffer<double> values(a.sp.kind == sampler_kind::empirical ? a.sp.count : 0);
  if (a.sp.kind == sampler_kind::empirical) {
    check(cudaMemcpy(values.get(), a.sp.values + a.sp.first, a.sp.count * sizeof(double),
                     cudaMemcpyHostToDevice),
          "cudaMemcpy (empirical values)");
    a.sp.values = values.get();
    a.sp.first = 0;
  }
  // Launch groups of whole chunks, at most k_blocks_per_launch blocks each.
  const std::uint64_t chunks_per_launch =
      std::max<std::uint64_t>(1, k_blocks_per_launch / g.chunk_blocks);
  const std::uint64_t max_blocks = chunks_per_launch * g.chunk_blocks;
  device_buffer<mc_sums> d_blocks(std::min(max_blocks, g.n_blocks));
  device_buffer<mc_sums> d_chunks(std::min(chunks_per_launch, g.n_chunks));
  for (std::uint64_t c0 = 0; c0 < g.n_chunks; c0 += chunks_per_launch) {
    const std::uint64_t nc = std::min(chunks_per_launch, g.n_chunks - c0);
    const std::uint64_t b0 = c0 * g.chunk_blocks;
    const std::uint64_t nb = std::min(nc * g.chunk_blocks, g.n_blocks - b0);
    launch_any(a, b0, nb, d_blocks.get());
    check(cudaGetLastError(), "block_sums_kernel launch");
    chunk_fold_kernel<<<static_cast<unsigned>((nc + 127) / 128), 128>>>(
        d_blocks.get(), nb, g.chunk_blocks, nc, d_chunks.get());
    check(cudaGetLastError(), "chunk_fold_kernel launch");
    check(cudaMemcpy(chunks + c0, d_chunks.get(), nc * sizeof(mc_sums), cudaMemcpyDeviceToHost),
          "cudaMemcpy (chunk sums)");
  }
}

}  // namespace exmy
