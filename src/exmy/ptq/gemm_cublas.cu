// exmy/ptq/gemm_cublas.cu — the network's float32 GEMMs through cuBLAS (gemm_cublas.hpp; issue 6,
// "CPU and GPU").
//
// Row-major to cuBLAS's column-major: a row-major [r×c] array is the column-major [c×r] array of
// its transpose, so the row-major C = A·B is computed as the column-major Cᵀ = Bᵀ·Aᵀ — one
// cublasSgemm with no transposition flags, the operands swapped and m and n exchanged.
//
// Threads: forward() calls the hook from every OpenMP thread at once (one GEMM per image). Each
// calling thread gets its own cuBLAS handle, its own non-blocking stream and its own device
// buffers (grown to the largest GEMM seen), created on its first call; a mutex guards only the
// lookup of that state. One shared handle behind a mutex would serialise the threads' copies and
// kernels on the device, and these GEMMs are small (one image's im2col columns), so the device is
// busy only when several of them overlap; separate streams let them. A handle bound to one stream
// also keeps cuBLAS's results reproducible run to run (no workspace shared between streams).
// The state of a thread lives until the hook's last copy is destroyed, so a hook used from many
// short-lived threads holds one buffer set per thread that ever called it.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "exmy/ptq/gemm_cublas.hpp"
#include "exmy/quantize/cuda_support.cuh"
#include "exmy/quantize/quantize_cuda.hpp"

namespace exmy {
namespace {

using cuda_support::device_buffer;
using cuda_support::device_guard;
constexpr const char* k_context = "cuBLAS GEMM, ";

void check(cudaError_t e, const char* what) { cuda_support::check(e, what, k_context); }

/// Throws exmy::error("cuBLAS GEMM, <what>: CUBLAS_STATUS_…") unless s is a success.
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw error(std::string(k_context) + what + ": " + cublasGetStatusName(s));
}

/// Device memory for at least n floats, reallocated only when a call needs more.
class growing_buffer {
 public:
  float* reserve(std::size_t n) {
    if (n > capacity_) {
      buf_.reset();  // free the old block first: the peak is the new size, not the sum
      capacity_ = 0;
      buf_ = std::make_unique<device_buffer<float>>(n, k_context);
      capacity_ = n;
    }
    return buf_ ? buf_->get() : nullptr;
  }

 private:
  std::unique_ptr<device_buffer<float>> buf_;
  std::size_t capacity_ = 0;
};

/// One calling thread's device state (see the file header). Created and destroyed with its device
/// current.
class thread_state {
 public:
  thread_state() {
    try {
      check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      check(cublasCreate(&handle_), "cublasCreate");
      check(cublasSetStream(handle_, stream_), "cublasSetStream");
      // FP32 products and sums only: no TF32 tensor-core path and no other reduced-precision
      // shortcut, so the error of a dot product of length K stays within the FP32 bound γ_K.
      check(cublasSetMathMode(handle_, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
    } catch (...) {
      release();
      throw;
    }
  }
  ~thread_state() { release(); }
  thread_state(const thread_state&) = delete;
  thread_state& operator=(const thread_state&) = delete;

  /// Row-major C[m×n] = A[m×k]·B[k×n] from and to host memory; returns when C is written.
  void gemm(const float* a, const float* b, float* c, int m, int k, int n) {
    const std::size_t sa = std::size_t(m) * std::size_t(k), sb = std::size_t(k) * std::size_t(n),
                      sc = std::size_t(m) * std::size_t(n);
    float* da = a_.reserve(sa);
    float* db = b_.reserve(sb);
    float* dc = c_.reserve(sc);
    check(cudaMemcpyAsync(da, a, sa * sizeof(float), cudaMemcpyHostToDevice, stream_), "copy A");
    check(cudaMemcpyAsync(db, b, sb * sizeof(float), cudaMemcpyHostToDevice, stream_), "copy B");
    const float one = 1.0f, zero = 0.0f;
    // Column-major Cᵀ[n×m] = Bᵀ[n×k]·Aᵀ[k×m] (file header); leading dimensions are the row-major
    // row lengths.
    check(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, db, n, da, k, &zero, dc, n),
          "cublasSgemm");
    check(cudaMemcpyAsync(c, dc, sc * sizeof(float), cudaMemcpyDeviceToHost, stream_), "copy C");
    check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

 private:
  void release() {
    if (handle_) cublasDestroy(handle_);
    if (stream_) cudaStreamDestroy(stream_);
    handle_ = nullptr;
    stream_ = nullptr;
  }
  cudaStream_t stream_ = nullptr;
  cublasHandle_t handle_ = nullptr;
  growing_buffer a_, b_, c_;
};

/// The state behind one hook and its copies: the device and one thread_state per calling thread.
class cublas_pool {
 public:
  explicit cublas_pool(int device) : device_(device) {
    // The creating thread's state now: an unusable device or cuBLAS fails here, outside OpenMP.
    state();
  }
  ~cublas_pool() {
    // Destructors must not throw: device errors are ignored here (the process may be exiting).
    int prev = -1;
    if (cudaGetDevice(&prev) != cudaSuccess) prev = -1;
    cudaSetDevice(device_);
    states_.clear();
    if (prev >= 0) cudaSetDevice(prev);
    cudaGetLastError();
  }
  cublas_pool(const cublas_pool&) = delete;
  cublas_pool& operator=(const cublas_pool&) = delete;

  void gemm(const float* a, const float* b, float* c, std::int64_t m, std::int64_t k,
            std::int64_t n) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {  // an empty sum; cuBLAS would only scale C by beta
      std::fill(c, c + m * n, 0.0f);
      return;
    }
    if (m > INT_MAX || k > INT_MAX || n > INT_MAX)
      throw error(std::string(k_context) + "dimensions " + std::to_string(m) + "x" +
                  std::to_string(k) + "x" + std::to_string(n) + " exceed cuBLAS's int range");
    const device_guard on(device_);
    state().gemm(a, b, c, int(m), int(k), int(n));
  }

 private:
  thread_state& state() {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::unique_ptr<thread_state>& s = states_[std::this_thread::get_id()];
    if (!s) {
      const device_guard on(device_);
      s = std::make_unique<thread_state>();
    }
    return *s;  // the object is never moved: the map holds a pointer to it
  }

  int device_;
  std::mutex mutex_;
  std::unordered_map<std::thread::id, std::unique_ptr<thread_state>> states_;
};

}  // namespace

gemm_hook cublas_gemm_hook(int device) {
  auto pool = std::make_shared<cublas_pool>(cuda_select_device(device));
  return [pool](int, const float* a, const float* b, float* c, std::int64_t m, std::int64_t k,
                std::int64_t n) { pool->gemm(a, b, c, m, k, n); };
}

}  // namespace exmy
