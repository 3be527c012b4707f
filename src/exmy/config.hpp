// exmy/config.hpp — build configuration shared by host and device code.
//
// EXMY_HOST_DEVICE marks the functions of the scalar rule (quantize/round.hpp) that are compiled
// both for the CPU drivers and, under nvcc, for the CUDA kernels: one rule, bit-identical results.
#pragma once

#if defined(__CUDACC__)
#define EXMY_HOST_DEVICE __host__ __device__
#define EXMY_FORCEINLINE __forceinline__
#else
#define EXMY_HOST_DEVICE
#if defined(__GNUC__) || defined(__clang__)
// Force-inlined so that kernel translation units compiled for different ISAs (AVX2, AVX-512,
// baseline x86-64) never emit an out-of-line copy that the linker could share between them.
#define EXMY_FORCEINLINE inline __attribute__((always_inline))
#else
#define EXMY_FORCEINLINE inline
#endif
#endif

#define EXMY_VERSION_MAJOR 0
#define EXMY_VERSION_MINOR 1
#define EXMY_VERSION_PATCH 0
#define EXMY_VERSION_STRING "0.1.0"

namespace exmy {
/// Library version as "major.minor.patch".
inline const char* version() { return EXMY_VERSION_STRING; }
}  // namespace exmy
