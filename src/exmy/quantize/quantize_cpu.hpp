// exmy/quantize/quantize_cpu.hpp — the CPU drivers: loops (OpenMP threads × SIMD) around the scalar
// rule of round.hpp. Out-of-place and in-place quantization of a span, and a fused error-statistics
// pass that writes nothing. Runtime dispatch picks an AVX-512, AVX2 or baseline x86-64 build of the
// same loops (the binary is portable; no -march=native). All paths give identical bits: outputs
// because they run the same rule, statistics because they accumulate in a fixed lane order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "exmy/quantize/params.hpp"

namespace exmy {

/// Options of one driver call; every field is recorded in the outputs that use it.
struct quantize_options {
  rounding mode = rounding::rne;
  scale_mode scale = scale_mode::exact;
  std::uint64_t seed = 0;    ///< stochastic rounding: key of the counter-based generator
  std::uint64_t offset = 0;  ///< global index of element 0 (the SR counter), for chunked data
  int threads = 0;           ///< 0: the OpenMP default; 1: run on the calling thread
};

/// Result of the fused error pass over finite inputs (NaN and ±inf are only counted).
struct error_stats {
  double sum_sq_err = 0;   ///< Σ(q − x)²
  double sum_sq = 0;       ///< Σx²
  double sum_x_err = 0;    ///< Σx(q − x)
  double sum_err = 0;      ///< Σ(q − x)
  double sum_x = 0;        ///< Σx
  double max_abs_err = 0;  ///< max |q − x|
  std::uint64_t count = 0;    ///< finite inputs
  std::uint64_t clipped = 0;  ///< finite inputs beyond the grid's end points
  std::uint64_t flushed = 0;  ///< non-zero finite inputs that became zero
  std::uint64_t nan_count = 0;
  std::uint64_t inf_count = 0;
  /// Mean squared error over finite inputs.
  double mse() const { return count ? sum_sq_err / double(count) : 0.0; }
  /// 10·log10(Σx² / Σ(q−x)²) in dB (+inf for an exact result).
  double sqnr_db() const;
};

/// Quantizes n values from `in` to `out` (in == out is allowed: in-place).
void quantize(const float* in, float* out, std::size_t n, const quant_params& p,
              const quantize_options& opt = {});
void quantize(const double* in, double* out, std::size_t n, const quant_params& p,
              const quantize_options& opt = {});
/// In-place convenience forms.
inline void quantize_inplace(float* data, std::size_t n, const quant_params& p,
                             const quantize_options& opt = {}) {
  quantize(data, data, n, p, opt);
}
inline void quantize_inplace(double* data, std::size_t n, const quant_params& p,
                             const quantize_options& opt = {}) {
  quantize(data, data, n, p, opt);
}

/// Fused pass: quantizes and accumulates statistics without writing any output. The result does
/// not depend on the thread count or the SIMD path (fixed-size blocks, fixed combination order).
error_stats quantize_error(const float* in, std::size_t n, const quant_params& p,
                           const quantize_options& opt = {});
error_stats quantize_error(const double* in, std::size_t n, const quant_params& p,
                           const quantize_options& opt = {});

/// The 32-bit uniform that stochastic rounding uses for global element index i: word 0 of
/// Philox4x32-10 with key (seed) and counter (i, "SR"). Exposed for tests and the CUDA driver.
std::uint32_t sr_uniform(std::uint64_t seed, std::uint64_t i);

/// SIMD builds of the driver loops.
enum class simd_path { automatic, scalar, avx2, avx512 };
/// Forces a path (tests, benchmarks); throws exmy::error when this CPU cannot run it.
void set_simd_path(simd_path p);
/// The path the drivers use now (automatic resolved to the best supported one).
simd_path active_simd_path();
const char* to_string(simd_path p);
/// True when this CPU can run the path.
bool simd_path_supported(simd_path p);

}  // namespace exmy
