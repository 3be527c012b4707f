// exmy/quantize/quantize_kernels_avx2.cpp — the driver loops built for the avx2 target (flags in
// src/CMakeLists.txt); see quantize_kernels.inc.
#define EXMY_KERNEL_NS k_avx2
#include "quantize_kernels.inc"
