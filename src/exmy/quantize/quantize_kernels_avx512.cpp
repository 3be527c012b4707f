// exmy/quantize/quantize_kernels_avx512.cpp — the driver loops built for the avx512 target (flags in
// src/CMakeLists.txt); see quantize_kernels.inc.
#define EXMY_KERNEL_NS k_avx512
#include "quantize_kernels.inc"
