// exmy/quantize/quantize_cuda_stub.cpp — the CUDA API when exmy is built without CUDA: reports
// unavailability and throws a clear error from every driver.
#include "exmy/quantize/quantize_cuda.hpp"

namespace exmy {
namespace {
[[noreturn]] void no_cuda() {
  throw error("exmy was built without CUDA (nvcc not found at configure time)");
}
}  // namespace

bool cuda_available() { return false; }
std::string cuda_status() { return "built without CUDA"; }
int cuda_select_device(int) { throw error("no CUDA device: exmy was built without CUDA"); }
void quantize_cuda_device(const float*, float*, std::size_t, const quant_params&,
                          const quantize_options&, int) { no_cuda(); }
void quantize_cuda_device(const double*, double*, std::size_t, const quant_params&,
                          const quantize_options&, int) { no_cuda(); }
void quantize_cuda(const float*, float*, std::size_t, const quant_params&, const quantize_options&,
                   int) { no_cuda(); }
void quantize_cuda(const double*, double*, std::size_t, const quant_params&,
                   const quantize_options&, int) { no_cuda(); }
error_stats quantize_error_cuda_device(const float*, std::size_t, const quant_params&,
                                       const quantize_options&, int) { no_cuda(); }
error_stats quantize_error_cuda(const float*, std::size_t, const quant_params&,
                                const quantize_options&, int) { no_cuda(); }

}  // namespace exmy
