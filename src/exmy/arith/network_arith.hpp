// exmy/arith/network_arith.hpp — the example network's convolutions and linear layers computed with
// emulated arithmetic (issue 6, "the network's accuracy under each arithmetic"; "the dot-product
// error of each network layer").
//
// A quantized unit's GEMM runs on its operands' native values, as an 8-bit GEMM does: the weight
// row of output channel o divided by its scale s_o and the input activation divided by its scale
// s_a (for an affine integer activation, minus its zero point) lie exactly on the formats' native
// grids (rounded there to remove the float rounding of the fake-quantized values); the emulated
// product of those is scaled back by s_o·s_a in double (the GEMM "epilogue") and rounded to
// float32. Units left in float32 multiply their float32 operands as they are (scale 1).
// Activations must have static ranges (dynamic ones have no single scale to divide by).
#pragma once

#include <cstdint>
#include <vector>

#include "exmy/arith/emulated_gemm.hpp"
#include "exmy/ptq/measure.hpp"
#include "exmy/ptq/quantized_network.hpp"

namespace exmy {

/// The native operands of one GEMM C[M×N] = A[M×K]·B[K×N] of the network and their scales:
/// A = diag(row_scale)·a_native, B = col_scale·b_native (up to the fake-quantized values' float
/// rounding).
struct native_gemm {
  std::vector<float> a, b;         ///< a_native [M×K], b_native [K×N] (row-major)
  std::vector<double> row_scale;   ///< M
  double col_scale = 1;
};

/// The native-frame view of a converted network's GEMMs.
class emulated_network {
 public:
  /// Throws exmy::error when a quantized unit's input has dynamic ranges.
  explicit emulated_network(const quantized_model& q);

  /// The native operands of node `node`'s GEMM (a conv2d or linear of q.net).
  native_gemm to_native(int node, const float* a, const float* b, std::int64_t m, std::int64_t k,
                        std::int64_t n) const;

  /// C = A·B of node `node` under `ar` on the CPU or a CUDA device, in the native frame.
  void gemm(const arithmetic& ar, const device_spec& dev, int node, const float* a, const float* b, float* c,
            std::int64_t m, std::int64_t k, std::int64_t n) const;

  /// A gemm_hook for forward() / predict() running every conv2d and linear as gemm(ar, dev, …)
  /// (`ar` and this object must outlive it).
  gemm_hook hook(const arithmetic& ar, const device_spec& dev) const;

 private:
  struct node_scaling {
    bool native = false;
    std::vector<quant_params> rows;  // weight quantizers (per channel or one)
    quant_params act;                // input activation quantizer
    bool act_affine = false, act_identity = true;
  };
  std::vector<node_scaling> nodes_;  // by node index
};

}  // namespace exmy
