// exmy/arith/emulated_gemm_cuda.cu — the emulated multiplier × accumulator GEMM on a CUDA device
// (issue 6, "the emulated multiplier × accumulator GEMMs need exmy's own kernels").
//
// Why the bits equal the CPU's (emulated_gemm.cpp): one thread computes one C entry with the same
// scalar rules (arith_core.hpp: split_of, multiply_split, accumulate_model) in the same order over
// k; those use only correctly rounded IEEE operations and integer bit manipulation, and the
// library's CUDA objects are built with --fmad=false -ftz=false, so no product is contracted into
// an FMA and no subnormal is flushed. The host and the device therefore compute identical doubles
// and round them to float32 the same way.
#include <cuda_runtime.h>

#include <string>

#include "exmy/arith/emulated_gemm.hpp"
#include "exmy/quantize/cuda_support.cuh"
#include "exmy/quantize/quantize_cuda.hpp"

namespace exmy {
namespace {

using cuda_support::device_buffer;
constexpr const char* k_context = "emulated GEMM on CUDA, ";
void check(cudaError_t e, const char* what) { cuda_support::check(e, what, k_context); }

constexpr int k_tile = 16;  // 16×16 threads per CUDA block, one C entry each


// The product of row i of A and column j of B under the multiplier (operands split on the fly:
// split_of is a pure function of the value, so this equals the host's pre-split arrays).
struct dot_product_term {
  multiplier_model mul;
  const float* a;  // row i of A
  const float* b;  // column j of B (stride n)
  std::int64_t n;
  __device__ double operator()(std::int64_t r) const {
    return multiply_split(mul, split_of(mul, a[r]), split_of(mul, b[r * n]));
  }
};

__global__ void emulated_gemm_kernel(multiplier_model mul, accumulator_model acc, const float* a,
                                     const float* b, float* c, std::int64_t m, std::int64_t k,
                                     std::int64_t n) {
  const std::int64_t i = std::int64_t(blockIdx.y) * k_tile + threadIdx.y;
  const std::int64_t j = std::int64_t(blockIdx.x) * k_tile + threadIdx.x;
  if (i >= m || j >= n) return;
  const dot_product_term term{mul, a + i * k, b + j, n};
  c[i * n + j] = static_cast<float>(accumulate_model(acc, k, term));
}

}  // namespace

bool emulated_gemm_cuda_available(std::string* why) {
  const bool ok = cuda_available();
  if (!ok && why) *why = cuda_status();
  return ok;
}

void emulated_gemm_cuda(const arithmetic& ar, const float* a, const float* b, float* c,
                        std::int64_t m, std::int64_t k, std::int64_t n, int device) {
  std::string why;
  if (!emulated_gemm_cuda_available(&why)) throw error("emulated GEMM on CUDA: " + why);
  if (m <= 0 || n <= 0) return;
  int prev = -1;
  if (device >= 0) {
    check(cudaGetDevice(&prev), "cudaGetDevice");
    check(cudaSetDevice(device), "cudaSetDevice");
  }
  struct restore {
    int dev;
    ~restore() {
      if (dev >= 0) cudaSetDevice(dev);
    }
  } restore_device{prev};
  // A per-call stream: concurrent callers (the network's OpenMP threads) do not serialise on the
  // legacy default stream.
  cudaStream_t s = nullptr;
  check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
  struct destroy {
    cudaStream_t s;
    ~destroy() { cudaStreamDestroy(s); }
  } destroy_stream{s};
  device_buffer<float> da(std::size_t(m * k), k_context), db(std::size_t(k * n), k_context),
      dc(std::size_t(m * n), k_context);
  if (m * k) check(cudaMemcpyAsync(da.get(), a, sizeof(float) * std::size_t(m * k), cudaMemcpyHostToDevice, s), "copy A");
  if (k * n) check(cudaMemcpyAsync(db.get(), b, sizeof(float) * std::size_t(k * n), cudaMemcpyHostToDevice, s), "copy B");
  const dim3 threads(k_tile, k_tile);
  const dim3 blocks(unsigned((n + k_tile - 1) / k_tile), unsigned((m + k_tile - 1) / k_tile));
  emulated_gemm_kernel<<<blocks, threads, 0, s>>>(ar.mul.model, ar.acc.model, da.get(), db.get(),
                                                  dc.get(), m, k, n);
  check(cudaGetLastError(), "kernel launch");
  check(cudaMemcpyAsync(c, dc.get(), sizeof(float) * std::size_t(m * n), cudaMemcpyDeviceToHost, s), "copy C");
  check(cudaStreamSynchronize(s), "kernel");
}

}  // namespace exmy
