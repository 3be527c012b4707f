// exmy/ptq/granularity.hpp — how the elements of a tensor share quantization parameters (issue 5,
// "Range estimation and granularity"; reference-spec §8 `--per-channel`; anchors.md a2 and c4).
//
//   tensor           one scale for the whole tensor
//   channel[:axis]   one scale per index along `axis` (the paper: per output channel, axis 0)
//   block:k[:axis][:rule]  OCP MX blocks: k consecutive elements along `axis` share a power-of-two
//                    scale X = 2^e, e ∈ [−127, 127] (E8M0). The rule turns the block's maxval m
//                    (amax for the min-max estimators) into e:
//                      floor    e = floor(log2 m) − emax_elem           (OCP MX v1.0 §6.3; may
//                               saturate the block maximum: 957 → 896 for E4M3, microxcaling#4)
//                      ceil     the smallest e with m ≤ max_elem · 2^e   (TE / torchao RCEIL)
//                      nearest  e = round(log2(m / max_elem)), in the log domain (mlx)
//   group:g[:axis][:sym|asym]  weight-only RTN as Intel Neural Compressor does it: g consecutive
//                    elements along the input axis share a float scale (symmetric) or a scale and
//                    an integer zero point (asymmetric, integer formats).
//
// Group order is the one of codes.hpp (`group_layout`): groups row-major over the group shape.
// The harness works on a *group-ordered* copy of the tensor in which every group is one contiguous
// run, so that each group (and each chunk of it) is a plain span for the quantizer drivers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/codes.hpp"
#include "exmy/quantize/params.hpp"

namespace exmy {

enum class granularity_kind : std::uint8_t { tensor, channel, block, group };

/// Rounding rule of a shared power-of-two block scale (see the header).
enum class block_rule : std::uint8_t { floor, ceil, nearest };

/// A granularity as the user gives it; resolve() fits it to a tensor's shape.
struct granularity {
  granularity_kind kind = granularity_kind::tensor;
  int axis = 0;               ///< channel axis, or the axis blocks/groups run along (< 0: from the end)
  std::int64_t size = 0;      ///< block / group length k, g
  block_rule rule = block_rule::floor;  ///< block only
  bool symmetric = true;      ///< group: false = asymmetric (zero point); integer formats only
};

/// Parses "tensor", "channel[:AXIS]", "block:K[:AXIS][:floor|ceil|nearest]",
/// "group:G[:AXIS][:sym|asym]". Defaults: channel axis 0, block/group axis −1 (the last: the input
/// axis of a [out, in] weight), rule floor, sym. Throws exmy::error naming the bad token.
granularity parse_granularity(const std::string& s);
/// Canonical text (parse_granularity(to_string(g)) == g).
std::string to_string(const granularity& g);
const char* to_string(granularity_kind k);
const char* to_string(block_rule r);
/// Parses "floor" | "ceil" | "nearest".
block_rule parse_block_rule(const std::string& s);

/// The granularity applied to a tensor of this shape: the axis made non-negative; channel on a
/// tensor of rank < 2 (biases, scalars) and block/group on a scalar become per tensor. Throws
/// exmy::error when the axis is outside the shape.
granularity resolve(const granularity& g, const std::vector<std::int64_t>& shape);

/// codes.hpp's description of the same grouping (for code export), from a resolved granularity.
group_layout to_group_layout(const granularity& resolved);

/// Offsets of the groups in the group-ordered buffer: group i holds [offsets[i], offsets[i+1]).
std::vector<std::int64_t> group_offsets(const std::vector<std::int64_t>& shape,
                                        const granularity& resolved);

/// True when the group order is the row-major order itself (no copy needed): per tensor, per
/// channel along a leading axis, blocks/groups along the last axis.
bool is_row_major_order(const std::vector<std::int64_t>& shape, const granularity& resolved);

/// Copies row-major data into group order (out has numel elements).
void to_group_order(const float* in, const std::vector<std::int64_t>& shape,
                    const granularity& resolved, float* out);
/// The inverse copy: group order back to row-major.
void from_group_order(const float* in, const std::vector<std::int64_t>& shape,
                      const granularity& resolved, float* out);

/// The E8M0 shared exponent of a block whose maxval is m under `rule` for the element format
/// (floor/ceil/nearest as in the header), clamped to [−127, 127]. m ≤ 0 or not finite: −127
/// (every finite element is then zero or the block holds no finite value). Exact: frexp and
/// integer comparisons, no log2.
int shared_exponent(double m, const format_spec& element, block_rule rule);

/// The element grid scaled by 2^e: make_params(element, max_elem · 2^e) (an exact scale).
quant_params block_params(const format_spec& element, int e);

/// INT8 `reduce_range` (7-bit INT8, as ONNX Runtime / INC offer it): intN → int(N−1),
/// uintN → uint(N−1) (same range kind); floating formats are returned unchanged.
format_spec reduce_range(const format_spec& f);

/// The asymmetric variant of an integer format: the unsigned affine range {0 … 2^n − 1} with a zero
/// point (INC RTN `asym`). Throws exmy::error for floating formats.
format_spec asymmetric_variant(const format_spec& f);

}  // namespace exmy
