// exmy/sqnr/mc_kernels_scalar.cpp — the Monte-Carlo loops built for the baseline x86-64 (or any
// other) target; see mc_kernels.inc.
#define EXMY_MC_NS mc_scalar
#include "mc_kernels.inc"
