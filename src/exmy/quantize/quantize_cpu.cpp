// exmy/quantize/quantize_cpu.cpp — threads, runtime SIMD dispatch and FTZ/DAZ protection around the
// per-ISA loops of quantize_kernels.inc.
#include "exmy/quantize/quantize_cpu.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define EXMY_X86 1
#endif

#include "exmy/quantize/kernels.hpp"
#include "exmy/quantize/round_fast.hpp"
#include "exmy/random/philox.hpp"

namespace exmy {
namespace {

// Clears flush-to-zero and denormals-are-zero for the current thread and restores them on exit:
// a library loaded into the same process (a -ffast-math build in a Jupyter kernel) may have set
// them, and they would change results involving subnormal floats.
struct fp_mode_guard {
#if defined(EXMY_X86)
  unsigned saved;
  fp_mode_guard() : saved(_mm_getcsr()) { _mm_setcsr(saved & ~0x8040u); }  // FTZ bit 15, DAZ bit 6
  ~fp_mode_guard() { _mm_setcsr(saved); }
#endif
};

bool cpu_has(simd_path p) {
#if defined(EXMY_X86) && defined(__GNUC__)
  __builtin_cpu_init();
  switch (p) {
    case simd_path::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("fma");
    case simd_path::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
#else
  return p == simd_path::scalar || p == simd_path::automatic;
#endif
}

simd_path best_path() {
  // EXMY_SIMD=scalar|avx2|avx512 caps the choice (handy for comparisons without recompiling).
  const char* env = std::getenv("EXMY_SIMD");
  if (env) {
    const std::string s(env);
    if (s == "scalar") return simd_path::scalar;
    if (s == "avx2" && cpu_has(simd_path::avx2)) return simd_path::avx2;
  }
  if (cpu_has(simd_path::avx512)) return simd_path::avx512;
  if (cpu_has(simd_path::avx2)) return simd_path::avx2;
  return simd_path::scalar;
}

std::atomic<int> g_forced{static_cast<int>(simd_path::automatic)};

simd_path current() {
  const auto f = static_cast<simd_path>(g_forced.load(std::memory_order_relaxed));
  if (f != simd_path::automatic) return f;
  static const simd_path best = best_path();
  return best;
}

template <class T>
void run_kernel(const kernel_args<T>& a);
template <>
void run_kernel<float>(const kernel_args<float>& a) {
  switch (current()) {
    case simd_path::avx512: k_avx512::quantize_f32(a); break;
    case simd_path::avx2: k_avx2::quantize_f32(a); break;
    default: k_scalar::quantize_f32(a); break;
  }
}
template <>
void run_kernel<double>(const kernel_args<double>& a) {
  switch (current()) {
    case simd_path::avx512: k_avx512::quantize_f64(a); break;
    case simd_path::avx2: k_avx2::quantize_f64(a); break;
    default: k_scalar::quantize_f64(a); break;
  }
}
void run_stats(const kernel_args<float>& a, stats_lanes& s) {
  switch (current()) {
    case simd_path::avx512: k_avx512::stats_f32(a, s); break;
    case simd_path::avx2: k_avx2::stats_f32(a, s); break;
    default: k_scalar::stats_f32(a, s); break;
  }
}
void run_stats(const kernel_args<double>& a, stats_lanes& s) {
  switch (current()) {
    case simd_path::avx512: k_avx512::stats_f64(a, s); break;
    case simd_path::avx2: k_avx2::stats_f64(a, s); break;
    default: k_scalar::stats_f64(a, s); break;
  }
}

int thread_count(const quantize_options& opt) {
#if defined(_OPENMP)
  return opt.threads > 0 ? opt.threads : omp_get_max_threads();
#else
  (void)opt;
  return 1;
#endif
}

constexpr std::size_t k_chunk = 1 << 16;        // elements per scheduling unit (quantize)
constexpr std::size_t k_stats_block = stats_block_len;  // shared with quantize_cuda.cu

template <class T>
void check_call(const T* in, const T* out, std::size_t n, const quant_params& p) {
  if (n && (!in || !out)) throw error("quantize: null data pointer");
  if constexpr (sizeof(T) == 4) require_float32_range(p, "quantize (float32 data)");
  (void)p;
}

template <class T>
void quantize_impl(const T* in, T* out, std::size_t n, const quant_params& p,
                   const quantize_options& opt) {
  check_call(in, out, n, p);
  if (n == 0) return;
  const quant_params nat = native_of(p);
  std::vector<float> table;
  const fast_params fast = make_fast_params(opt.scale == scale_mode::hardware ? nat : p, &table);
  const std::size_t chunks = (n + k_chunk - 1) / k_chunk;
  const int threads = static_cast<int>(std::min<std::size_t>(thread_count(opt), chunks));
  // Non-temporal stores once the output is well beyond the last-level cache share of a core
  // (glibc's memcpy makes the same switch); results are the same either way.
  const bool stream = in != out && n * sizeof(T) >= (std::size_t{16} << 20);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    fp_mode_guard guard;
#pragma omp for schedule(static)
    for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(chunks); ++c) {
      const std::size_t b = static_cast<std::size_t>(c) * k_chunk;
      const std::size_t len = std::min(k_chunk, n - b);
      const kernel_args<T> a{in + b, out + b, len, &p, &nat, opt.mode, opt.scale, opt.seed,
                             opt.offset + b, &fast, stream};
      run_kernel<T>(a);
    }
  }
}

template <class T>
error_stats stats_impl(const T* in, std::size_t n, const quant_params& p,
                       const quantize_options& opt) {
  check_call(in, in, n, p);
  error_stats r;
  if (n == 0) return r;
  const quant_params nat = native_of(p);
  std::vector<float> table;
  const fast_params fast = make_fast_params(opt.scale == scale_mode::hardware ? nat : p, &table);
  const std::size_t blocks = (n + k_stats_block - 1) / k_stats_block;
  std::vector<stats_lanes> part(blocks);
  const int threads = static_cast<int>(std::min<std::size_t>(thread_count(opt), blocks));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    fp_mode_guard guard;
#pragma omp for schedule(static)
    for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(blocks); ++c) {
      const std::size_t b = static_cast<std::size_t>(c) * k_stats_block;
      const std::size_t len = std::min(k_stats_block, n - b);
      const kernel_args<T> a{in + b, nullptr, len, &p, &nat, opt.mode, opt.scale, opt.seed,
                             opt.offset + b, &fast};
      run_stats(a, part[static_cast<std::size_t>(c)]);
    }
  }
  // Fixed combination order: block by block, lane 0…7 within a block.
  for (const stats_lanes& s : part)
    for (int l = 0; l < kernel_lanes; ++l) {
      r.sum_sq_err += s.ee[l];
      r.sum_sq += s.xx[l];
      r.sum_x_err += s.xe[l];
      r.sum_err += s.e[l];
      r.sum_x += s.x[l];
      r.max_abs_err = std::max(r.max_abs_err, s.maxe[l]);
      r.count += s.count[l];
      r.clipped += s.clipped[l];
      r.flushed += s.flushed[l];
      r.nan_count += s.nan[l];
      r.inf_count += s.inf[l];
    }
  return r;
}

}  // namespace

double error_stats::sqnr_db() const {
  if (sum_sq_err == 0.0) return INFINITY;
  return 10.0 * std::log10(sum_sq / sum_sq_err);
}

void quantize(const float* in, float* out, std::size_t n, const quant_params& p,
              const quantize_options& opt) {
  quantize_impl(in, out, n, p, opt);
}
void quantize(const double* in, double* out, std::size_t n, const quant_params& p,
              const quantize_options& opt) {
  quantize_impl(in, out, n, p, opt);
}
error_stats quantize_error(const float* in, std::size_t n, const quant_params& p,
                           const quantize_options& opt) {
  return stats_impl(in, n, p, opt);
}
error_stats quantize_error(const double* in, std::size_t n, const quant_params& p,
                           const quantize_options& opt) {
  return stats_impl(in, n, p, opt);
}

std::uint32_t sr_uniform(std::uint64_t seed, std::uint64_t i) {
  return sr_word(seed, i);
}

void set_simd_path(simd_path p) {
  if (!cpu_has(p))
    throw error(std::string("SIMD path '") + to_string(p) + "' is not supported by this CPU");
  g_forced.store(static_cast<int>(p), std::memory_order_relaxed);
}
simd_path active_simd_path() { return current(); }
bool simd_path_supported(simd_path p) { return cpu_has(p); }
const char* to_string(simd_path p) {
  switch (p) {
    case simd_path::automatic: return "automatic";
    case simd_path::scalar: return "scalar";
    case simd_path::avx2: return "avx2";
    case simd_path::avx512: return "avx512";
  }
  return "?";
}

}  // namespace exmy
