// exmy/ptq/gemm_cublas_stub.cpp — cublas_gemm_hook when exmy is built without CUDA
// (gemm_cublas.hpp): the call fails with a clear exmy::error (src/CMakeLists.txt builds this file
// instead of gemm_cublas.cu).
#include "exmy/ptq/gemm_cublas.hpp"

#include "exmy/formats/format_spec.hpp"

namespace exmy {

gemm_hook cublas_gemm_hook(int) {
  throw error("cuBLAS GEMM: exmy was built without CUDA (nvcc not found at configure time)");
}

}  // namespace exmy
