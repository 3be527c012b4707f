// exmy/quantize/quantize_cuda.cu — the CUDA drivers (issue 2 of exmy, design.md §2): grid-stride
// kernels around the scalar rule of round.hpp, and a fused error pass whose statistics are
// bit-identical to quantize_error on the host.
//
// Bit-identity of the error pass: the host splits the data into 4096-element blocks, adds element
// i of a block to lane i % 8 in element order, and sums the lanes block by block, lane 0…7
// (quantize_cpu.cpp, stats_impl). Here one thread owns one (block, lane) pair and adds its 512
// elements in the same order with the same function (stats_lanes.hpp); the five floating-point
// lane sums go back to the host, which folds them in the host's order. Counters and maxima are
// order-free (integer sums, max of non-negative non-NaN doubles), so they are reduced per thread
// block on the device. Built with --fmad=false -ftz=false, so device arithmetic equals the host's.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "exmy/quantize/cuda_support.cuh"
#include "exmy/quantize/quantize_cuda.hpp"
#include "exmy/quantize/round.hpp"
#include "exmy/quantize/stats_lanes.hpp"
#include "exmy/random/philox.hpp"

namespace exmy {
namespace {

using cuda_support::check;
using cuda_support::device_buffer;
using cuda_support::device_guard;

constexpr int k_threads = 256;                          // threads per CUDA block
constexpr std::size_t k_stats_block = stats_block_len;  // the host's blocks (quantize_cpu.cpp)
constexpr int k_sum_fields = 5;                         // ee, xx, xe, e, x


// The scalar rule for global element index i: exactly the call of quantize_kernels.inc.
template <rounding R, bool HW, class T>
EXMY_FORCEINLINE EXMY_HOST_DEVICE T one(T x, const quant_params& p, const quant_params& nat,
                                        std::uint64_t seed, std::uint64_t i) {
  const std::uint32_t u = (R == rounding::stochastic) ? sr_word(seed, i) : 0u;
  if constexpr (HW)
    return quantize_value_hw<R>(x, p, nat, u);
  else
    return quantize_value<R>(x, p, u);
}

// No __restrict__: in == out (in-place) is allowed; each element is read and written by one thread.
template <rounding R, bool HW, class T>
__global__ void __launch_bounds__(k_threads)
    quantize_kernel(const T* in, T* out, std::size_t n, const quant_params p,
                    const quant_params nat, std::uint64_t seed, std::uint64_t index0) {
  const std::size_t stride = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = one<R, HW>(in[i], p, nat, seed, index0 + i);
}

// Order-free results of one CUDA block.
struct block_counts {
  double maxe;
  unsigned long long count, clipped, flushed, nan, inf;
};

template <class V>
__device__ __forceinline__ V warp_sum(V v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_max(double v) {
  for (int o = 16; o > 0; o >>= 1) {
    const double w = __shfl_down_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

// The work of stats thread t = 8·block + lane: elements lane, lane + 8, … of its 4096-element
// block, in that order (the order of loop_stats in quantize_kernels.inc).
template <rounding R, bool HW, class T>
EXMY_FORCEINLINE EXMY_HOST_DEVICE lane_sums<1> lane_pass(const T* in, std::size_t n, std::size_t t,
                                                         const quant_params& p,
                                                         const quant_params& nat,
                                                         std::uint64_t seed, std::uint64_t index0) {
  lane_sums<1> s;
  const double hi = p.maxval, lo = p.minval;
  const std::size_t base = (t / kernel_lanes) * k_stats_block;
  const std::size_t len = n - base < k_stats_block ? n - base : k_stats_block;
#pragma unroll 2
  for (std::size_t i = t % kernel_lanes; i < len; i += kernel_lanes) {
    const T x = in[base + i];
    accumulate_lane(s, 0, x, one<R, HW>(x, p, nat, seed, index0 + base + i), hi, lo);
  }
  return s;
}

// Thread t runs lane_pass and writes its five sums to sums[f·lanes_total + t].
// At most 64 registers (4 blocks per SM): a 64 Mi-element pass has only 131072 threads, which
// then all fit on the device at once.
template <rounding R, bool HW, class T>
__global__ void __launch_bounds__(k_threads, 4)
    stats_kernel(const T* in, std::size_t n, const quant_params p, const quant_params nat,
                 std::uint64_t seed, std::uint64_t index0, std::size_t lanes_total, double* sums,
                 block_counts* counts) {
  const std::size_t t = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x;
  lane_sums<1> s;
  if (t < lanes_total) {
    s = lane_pass<R, HW>(in, n, t, p, nat, seed, index0);
    sums[0 * lanes_total + t] = s.ee[0];
    sums[1 * lanes_total + t] = s.xx[0];
    sums[2 * lanes_total + t] = s.xe[0];
    sums[3 * lanes_total + t] = s.e[0];
    sums[4 * lanes_total + t] = s.x[0];
  }
  // Every thread takes part in the reductions (idle ones with zeros).
  __shared__ block_counts warps[k_threads / 32];
  block_counts c{warp_max(s.maxe[0]),
                 warp_sum<unsigned long long>(s.count[0]),
                 warp_sum<unsigned long long>(s.clipped[0]),
                 warp_sum<unsigned long long>(s.flushed[0]),
                 warp_sum<unsigned long long>(s.nan[0]),
                 warp_sum<unsigned long long>(s.inf[0])};
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0) warps[warp] = c;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < k_threads / 32; ++w) {
      c.maxe = warps[w].maxe > c.maxe ? warps[w].maxe : c.maxe;
      c.count += warps[w].count;
      c.clipped += warps[w].clipped;
      c.flushed += warps[w].flushed;
      c.nan += warps[w].nan;
      c.inf += warps[w].inf;
    }
    counts[blockIdx.x] = c;
  }
}

unsigned grid_size(std::size_t work_items) {
  int dev = 0, sms = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev),
        "cudaDeviceGetAttribute");
  // Enough resident blocks to fill every SM several times; the kernels stride over the rest.
  const std::size_t cap = std::size_t(std::max(sms, 1)) * 32;
  const std::size_t want = (work_items + k_threads - 1) / k_threads;
  return static_cast<unsigned>(std::max<std::size_t>(1, std::min(want, cap)));
}

void finish(const char* what) {
  check(cudaGetLastError(), what);
  check(cudaStreamSynchronize(nullptr), what);
}

// One switch on the host: each (rounding, scale mode) pair is its own kernel.
template <class F>
void dispatch(const quantize_options& opt, F&& f) {
  const bool hw = opt.scale == scale_mode::hardware;
  switch (opt.mode) {
    case rounding::rne:
      hw ? f.template go<rounding::rne, true>() : f.template go<rounding::rne, false>();
      break;
    case rounding::rna:
      hw ? f.template go<rounding::rna, true>() : f.template go<rounding::rna, false>();
      break;
    case rounding::rtz:
      hw ? f.template go<rounding::rtz, true>() : f.template go<rounding::rtz, false>();
      break;
    case rounding::stochastic:
      hw ? f.template go<rounding::stochastic, true>()
         : f.template go<rounding::stochastic, false>();
      break;
  }
}

template <class T>
struct launch_quantize {
  const T* in;
  T* out;
  std::size_t n;
  const quant_params& p;
  const quant_params& nat;
  const quantize_options& opt;
  template <rounding R, bool HW>
  void go() const {
    quantize_kernel<R, HW, T>
        <<<grid_size(n), k_threads>>>(in, out, n, p, nat, opt.seed, opt.offset);
  }
};

template <class T>
struct launch_stats {
  const T* in;
  std::size_t n;
  const quant_params& p;
  const quant_params& nat;
  const quantize_options& opt;
  std::size_t lanes_total;
  unsigned blocks;
  double* sums;
  block_counts* counts;
  template <rounding R, bool HW>
  void go() const {
    stats_kernel<R, HW, T>
        <<<blocks, k_threads>>>(in, n, p, nat, opt.seed, opt.offset, lanes_total, sums, counts);
  }
};

template <class T>
void check_call(const T* in, const T* out, std::size_t n, const quant_params& p, const char* who) {
  if (n && (!in || !out)) throw error(std::string(who) + ": null data pointer");
  if constexpr (sizeof(T) == 4)
    require_float32_range(p, (std::string(who) + " (float32 data)").c_str());
}

template <class T>
void quantize_device_impl(const T* d_in, T* d_out, std::size_t n, const quant_params& p,
                          const quantize_options& opt, int device) {
  check_call(d_in, d_out, n, p, "quantize_cuda_device");
  if (n == 0) return;
  device_guard guard(device);
  const quant_params nat = native_of(p);
  dispatch(opt, launch_quantize<T>{d_in, d_out, n, p, nat, opt});
  finish("quantize kernel");
}

template <class T>
void quantize_host_impl(const T* in, T* out, std::size_t n, const quant_params& p,
                        const quantize_options& opt, int device) {
  check_call(in, out, n, p, "quantize_cuda");
  if (n == 0) return;
  device_guard guard(device);
  device_buffer<T> d(n);
  check(cudaMemcpy(d.get(), in, n * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  quantize_device_impl(d.get(), d.get(), n, p, opt, -1);
  check(cudaMemcpy(out, d.get(), n * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
}

// Combines the lane sums (sums[f·lanes_total + t]) and the block counts into the host's result.
// Index t = 8·block + lane, so one pass over t adds block by block, lane 0…7: the order of
// stats_impl in quantize_cpu.cpp. The five fields are independent sums, each in that order.
error_stats fold_stats(const std::vector<double>& sums, std::size_t lanes_total,
                       const std::vector<block_counts>& counts) {
  error_stats r;
  const double* ee = sums.data();
  const double* xx = ee + lanes_total;
  const double* xe = xx + lanes_total;
  const double* e = xe + lanes_total;
  const double* x = e + lanes_total;
  for (std::size_t t = 0; t < lanes_total; ++t) {
    r.sum_sq_err += ee[t];
    r.sum_sq += xx[t];
    r.sum_x_err += xe[t];
    r.sum_err += e[t];
    r.sum_x += x[t];
  }
  for (const block_counts& c : counts) {
    r.max_abs_err = std::max(r.max_abs_err, c.maxe);
    r.count += c.count;
    r.clipped += c.clipped;
    r.flushed += c.flushed;
    r.nan_count += c.nan;
    r.inf_count += c.inf;
  }
  return r;
}

template <class T>
error_stats stats_device_impl(const T* d_in, std::size_t n, const quant_params& p,
                              const quantize_options& opt, int device) {
  check_call(d_in, d_in, n, p, "quantize_error_cuda_device");
  if (n == 0) return {};
  device_guard guard(device);
  const quant_params nat = native_of(p);
  const std::size_t lanes_total = (n + k_stats_block - 1) / k_stats_block * kernel_lanes;
  const unsigned blocks = static_cast<unsigned>((lanes_total + k_threads - 1) / k_threads);
  device_buffer<double> d_sums(k_sum_fields * lanes_total);
  device_buffer<block_counts> d_counts(blocks);
  dispatch(opt, launch_stats<T>{d_in, n, p, nat, opt, lanes_total, blocks, d_sums.get(),
                                d_counts.get()});
  finish("error-statistics kernel");
  std::vector<double> sums(k_sum_fields * lanes_total);
  std::vector<block_counts> counts(blocks);
  check(cudaMemcpy(sums.data(), d_sums.get(), sums.size() * sizeof(double), cudaMemcpyDeviceToHost),
        "copy statistics to host");
  check(cudaMemcpy(counts.data(), d_counts.get(), counts.size() * sizeof(block_counts),
                   cudaMemcpyDeviceToHost),
        "copy statistics to host");
  return fold_stats(sums, lanes_total, counts);
}

}  // namespace

bool cuda_available() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) cudaGetLastError();  // clear the (non-sticky) error
  return e == cudaSuccess && count > 0;
}

std::string cuda_status() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorString(e);
  }
  if (count == 0) return "no CUDA device: cudaGetDeviceCount found none";
  int dev = 0;
  cudaDeviceProp prop{};
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
    const cudaError_t le = cudaGetLastError();
    return std::string("CUDA device unusable: ") + cudaGetErrorString(le);
  }
  return "CUDA device " + std::to_string(dev) + ": " + prop.name + ", cc " +
         std::to_string(prop.major) + "." + std::to_string(prop.minor) + " (" +
         std::to_string(count) + (count == 1 ? " device)" : " devices)");
}

int cuda_select_device(int requested) {
  if (!cuda_available()) throw error(cuda_status());
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (requested >= count)
    throw error("cuda:" + std::to_string(requested) + ": this machine has " +
                std::to_string(count) + (count == 1 ? " CUDA device (cuda:0)" : " CUDA devices"));
  if (requested >= 0) return requested;
  if (count == 1) return 0;
  int prev = 0;
  check(cudaGetDevice(&prev), "cudaGetDevice");
  int best = 0;
  std::size_t best_free = 0;
  for (int d = 0; d < count; ++d) {
    std::size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(d) != cudaSuccess || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
      cudaGetLastError();  // an unusable device is skipped
      continue;
    }
    if (free_b > best_free) {
      best_free = free_b;
      best = d;
    }
  }
  cudaSetDevice(prev);
  return best;
}

void quantize_cuda_device(const float* d_in, float* d_out, std::size_t n, const quant_params& p,
                          const quantize_options& opt, int device) {
  quantize_device_impl(d_in, d_out, n, p, opt, device);
}
void quantize_cuda_device(const double* d_in, double* d_out, std::size_t n, const quant_params& p,
                          const quantize_options& opt, int device) {
  quantize_device_impl(d_in, d_out, n, p, opt, device);
}
void quantize_cuda(const float* in, float* out, std::size_t n, const quant_params& p,
                   const quantize_options& opt, int device) {
  quantize_host_impl(in, out, n, p, opt, device);
}
void quantize_cuda(const double* in, double* out, std::size_t n, const quant_params& p,
                   const quantize_options& opt, int device) {
  quantize_host_impl(in, out, n, p, opt, device);
}
error_stats quantize_error_cuda_device(const float* d_in, std::size_t n, const quant_params& p,
                                       const quantize_options& opt, int device) {
  return stats_device_impl(d_in, n, p, opt, device);
}
error_stats quantize_error_cuda(const float* in, std::size_t n, const quant_params& p,
                                const quantize_options& opt, int device) {
  check_call(in, in, n, p, "quantize_error_cuda");
  if (n == 0) return {};
  device_guard guard(device);
  device_buffer<float> d(n);
  check(cudaMemcpy(d.get(), in, n * sizeof(float), cudaMemcpyHostToDevice), "copy to device");
  return stats_device_impl(d.get(), n, p, opt, -1);
}

}  // namespace exmy
