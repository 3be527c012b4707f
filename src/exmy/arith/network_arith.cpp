// exmy/arith/network_arith.cpp — native-frame emulated GEMMs of a converted network
// (network_arith.hpp).
#include "exmy/arith/network_arith.hpp"

#include <cmath>

#include "exmy/quantize/round.hpp"

namespace exmy {
namespace {

// The native value of a fake-quantized float x under params p: x/scale rounded onto the native
// grid (float formats) or to the integer code minus the zero point (affine integers). The
// division is inexact only at the level of float32 rounding, far below half a grid step.
float native_value(float x, const quant_params& p, bool affine) {
  const double u = double(x) / p.scale;
  if (affine || !p.is_float) return float(std::nearbyint(u));
  return float(quantize_value<rounding::rne>(u, native_of(p)));
}

}  // namespace

emulated_network::emulated_network(const quantized_model& q) : nodes_(q.net.nodes.size()) {
  for (std::size_t u = 0; u < q.units.size(); ++u) {
    const quant_unit& unit = q.units[u];
    if (!unit.has_weight || !q.state[u].quantized) continue;
    node_scaling& s = nodes_[std::size_t(unit.node)];
    s.native = true;
    s.rows = q.state[u].weight_params;
    for (const act_quantizer& a : q.acts) {
      if (a.unit != int(u) || a.slot != 0) continue;
      if (a.dynamic)
        throw error("emulated arithmetic: unit '" + unit.name +
                    "' has dynamic activation ranges; use static ranges (one scale per tensor)");
      s.act = a.params;
      s.act_affine = a.affine;
      s.act_identity = a.identity;
    }
  }
}

native_gemm emulated_network::to_native(int node, const float* a, const float* b, std::int64_t m,
                                        std::int64_t k, std::int64_t n) const {
  const node_scaling& s = nodes_.at(std::size_t(node));
  native_gemm g;
  g.a.assign(a, a + m * k);
  g.b.assign(b, b + k * n);
  g.row_scale.assign(std::size_t(m), 1.0);
  if (!s.native) return g;
  for (std::int64_t i = 0; i < m; ++i) {
    const quant_params& p = s.rows.size() == 1 ? s.rows[0] : s.rows.at(std::size_t(i));
    g.row_scale[std::size_t(i)] = p.scale;
    for (std::int64_t r = 0; r < k; ++r)
      g.a[std::size_t(i * k + r)] = native_value(a[i * k + r], p, false);
  }
  if (!s.act_identity) {
    g.col_scale = s.act.scale;
    for (float& x : g.b) x = native_value(x, s.act, s.act_affine);
  }
  return g;
}

void emulated_network::gemm(const arithmetic& ar, const device_spec& dev, int node, const float* a,
                            const float* b, float* c, std::int64_t m, std::int64_t k,
                            std::int64_t n) const {
  const native_gemm g = to_native(node, a, b, m, k, n);
  if (dev.kind == device_kind::cuda)
    emulated_gemm_cuda(ar, g.a.data(), g.b.data(), c, m, k, n, dev.index);
  else
    emulated_gemm(ar, g.a.data(), g.b.data(), c, m, k, n);
  // The epilogue: scale back in double, one rounding to float32.
  for (std::int64_t i = 0; i < m; ++i) {
    const double sc = g.row_scale[std::size_t(i)] * g.col_scale;
    if (sc == 1.0) continue;
    for (std::int64_t j = 0; j < n; ++j) c[i * n + j] = float(double(c[i * n + j]) * sc);
  }
}

gemm_hook emulated_network::hook(const arithmetic& ar, const device_spec& dev) const {
  return [this, &ar, dev](int node, const float* a, const float* b, float* c, std::int64_t m,
                          std::int64_t k, std::int64_t n) { gemm(ar, dev, node, a, b, c, m, k, n); };
}

}  // namespace exmy
