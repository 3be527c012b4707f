// exmy/quantize/quantize_kernels_scalar.cpp — the driver loops built for the scalar target (flags in
// src/CMakeLists.txt); see quantize_kernels.inc.
#define EXMY_KERNEL_NS k_scalar
#include "quantize_kernels.inc"
