// exmy/sqnr/mc_kernels_avx2.cpp — the Monte-Carlo loops built for AVX2 + FMA (flags in
// src/CMakeLists.txt; an empty translation unit elsewhere); see mc_kernels.inc.
#if defined(__x86_64__) || defined(_M_X64)
#define EXMY_MC_NS mc_avx2
#include "mc_kernels.inc"
#endif
