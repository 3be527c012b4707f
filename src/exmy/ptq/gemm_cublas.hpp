// exmy/ptq/gemm_cublas.hpp — the network's fake-quantized GEMMs on a CUDA device through cuBLAS
// (issue 6, "CPU and GPU": "Fake-quantized GEMMs on the GPU through cuBLAS").
//
// Fake quantization already put every weight and activation on its grid as float32 values (convert,
// the activation hooks), so what is left for the device is a plain float32 product: cublasSgemm in
// pedantic math mode (FP32 products and sums, no TF32 or other reduced-precision shortcut). cuBLAS
// sums in its own order, not Eigen's, so a logit can differ from the CPU's in the last bits and an
// activation can then land on the other side of a rounding boundary: predictions agree with the
// CPU's on all but a few images, not bit for bit (tests/test_network_gpu.cpp counts them).
//
// This header is plain C++ (no CUDA types); when exmy is built without CUDA, cublas_gemm_hook throws
// exmy::error.
#pragma once

#include "exmy/ptq/network.hpp"

namespace exmy {

/// A gemm_hook (forward_options::gemm, predict, make_tuning_space) computing each conv2d / linear
/// GEMM with cublasSgemm on CUDA device `device` (< 0: the least-loaded one, cuda_select_device).
/// The device is chosen and cuBLAS initialised here, so a missing device or library fails now with
/// exmy::error, not inside the network's OpenMP loops. Safe to call from several threads at once;
/// copies of the hook share its device state, which lives as long as the last copy.
gemm_hook cublas_gemm_hook(int device = -1);

}  // namespace exmy
