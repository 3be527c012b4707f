// exmy/quantize/quantize_cuda.hpp — the CUDA drivers: the same API as quantize_cpu.hpp on device
// memory (grid-stride kernels around the same scalar rule), plus host convenience overloads that
// copy. This header is plain C++ (no CUDA types), so host code and notebooks can include it; when
// exmy is built without CUDA, cuda_available() is false and every call throws exmy::error.
#pragma once

#include <cstddef>
#include <string>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

namespace exmy {

/// True when exmy was built with CUDA and at least one device is usable.
bool cuda_available();
/// One line saying why CUDA is or is not usable ("built without CUDA", "no CUDA device", …).
std::string cuda_status();
/// The device a request names: `requested` itself when ≥ 0 (exmy::error when there is no such
/// device), else the least-loaded device — the one with the most free memory (cudaMemGetInfo), the
/// lowest index on ties. Throws exmy::error without a usable device.
int cuda_select_device(int requested);

/// Quantizes n values in device memory (d_in == d_out allowed). device < 0: the current device.
void quantize_cuda_device(const float* d_in, float* d_out, std::size_t n, const quant_params& p,
                          const quantize_options& opt = {}, int device = -1);
void quantize_cuda_device(const double* d_in, double* d_out, std::size_t n, const quant_params& p,
                          const quantize_options& opt = {}, int device = -1);
/// Host convenience: copies to the device, quantizes, copies back.
void quantize_cuda(const float* in, float* out, std::size_t n, const quant_params& p,
                   const quantize_options& opt = {}, int device = -1);
void quantize_cuda(const double* in, double* out, std::size_t n, const quant_params& p,
                   const quantize_options& opt = {}, int device = -1);
/// Fused error statistics on device data; bit-identical to quantize_error on the host (the same
/// 4096-element blocks and lane order, combined on the host in block order).
error_stats quantize_error_cuda_device(const float* d_in, std::size_t n, const quant_params& p,
                                       const quantize_options& opt = {}, int device = -1);
error_stats quantize_error_cuda(const float* in, std::size_t n, const quant_params& p,
                                const quantize_options& opt = {}, int device = -1);

}  // namespace exmy
