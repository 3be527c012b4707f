// exmy/ptq/codes.hpp — export of real codes (issue 5, "Tensor input/output": packed integer codes
// plus their scale / zero-point / block-scale tensors, with the format descriptor in the
// safetensors metadata, so that a deployment can use them).
//
// A code is the bit pattern of the native format: for floating formats sign | exponent field |
// mantissa field (the unit frame of quantize/params.hpp is the native value set with the native
// bias, so the fields follow from v = n·2^q directly); for integers the two's complement (signed
// ranges) or the unsigned integer. The decoder reads these bit fields and the stored scale on its
// own — it does not call the quantizer — and the round trip
//     encode_codes(quantize(x)) → decode_codes == quantize(x)   (bit for bit)
// is what the tests check.
//
// Value of a code c in group g:
//   exact mode:    RN_float(native(c) · scale[g])              (scale stored as float64, exact)
//   hardware mode: RN_float(native(c)) ·_float32 scale[g]      (scale = hw_div_f, float32)
//   affine ints:   native(c) = c − zero_point[g]
// which is what quantize() returns in the two scale modes (quantize/round.hpp).
//
// File layout (safetensors): for a tensor T
//   T.codes             U8 (bits ≤ 8) or U16, T's shape, one code per element (row-major)
//   T.scale             F64 (exact) or F32 (hardware), the group shape
//   T.zero_point        I32, the group shape (affine integer formats only)
//   T.block_scale_e8m0  U8, the group shape, when every scale is a power of two 2^k with
//                       −127 ≤ k ≤ 127 (OCP MX E8M0: byte k + 127)
//   __metadata__["exmy.codes.T"] = JSON {format, bits, exp_bits, man_bits, signed, encoding, bias,
//                       subnormals, int_range, scale_mode, axis, block, shape, schema_version}
//   __metadata__["exmy.schema_version"], ["exmy.content"] = "codes"
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/tensor.hpp"
#include "exmy/ptq/tensor_io.hpp"
#include "exmy/quantize/params.hpp"

namespace exmy {

/// How the elements of a tensor share quantization parameters.
/// axis < 0: one group (per tensor). block == 0: one group per index along `axis` (per channel;
/// group shape [shape[axis]]). block = k > 0: groups of k consecutive elements along `axis` (OCP MX
/// blocks, RTN weight groups; the last block may be shorter; group shape = the tensor's shape with
/// shape[axis] replaced by ceil(shape[axis] / k)). Group indices are row-major over the group shape.
struct group_layout {
  int axis = -1;
  std::int64_t block = 0;
};

/// Shape of the per-group parameter tensors of a tensor with shape `shape` (validates the layout:
/// axis inside the shape, block ≥ 0).
std::vector<std::int64_t> group_shape(const std::vector<std::int64_t>& shape, const group_layout& g);

/// Number of groups (product of group_shape).
std::int64_t group_count(const std::vector<std::int64_t>& shape, const group_layout& g);

/// Group index of every element, row-major (size = numel). For loops over huge tensors prefer
/// for_each_group.
std::vector<std::int64_t> group_index(const std::vector<std::int64_t>& shape, const group_layout& g);

/// Calls fn(group, first, count, stride) for runs of elements that share a group: elements
/// first, first + stride, …, first + (count − 1)·stride (stride 1 except per-channel and per-block
/// along a non-last axis). Every element is visited exactly once.
void for_each_group(const std::vector<std::int64_t>& shape, const group_layout& g,
                    const std::function<void(std::int64_t group, std::int64_t first,
                                             std::int64_t count, std::int64_t stride)>& fn);

/// The real codes of one tensor.
struct code_tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  format_spec format;
  group_layout groups;
  scale_mode mode = scale_mode::exact;
  std::vector<std::uint16_t> codes;      ///< one per element, row-major, in the low `bits` bits
  std::vector<double> scale;             ///< per group: s = alpha·2^k (exact) or hw_div_f (hardware)
  std::vector<std::int32_t> zero_point;  ///< per group for affine integer formats, else empty
};

/// Encodes fake-quantized values (the output of quantize() with params[g] for group g, in scale
/// mode `mode`) as codes. Throws exmy::error naming the tensor and the element when a value is
/// not a point of its group's grid — e.g. NaN (or an overflow to ±inf/NaN) in a format without
/// such a code — or when params.size() ≠ group_count.
code_tensor encode_codes(const tensor& quantized, const format_spec& f,
                         const std::vector<quant_params>& params, const group_layout& g,
                         scale_mode mode = scale_mode::exact);

/// The native (unscaled) value of one code, from its bit fields: ±inf / NaN for the special codes
/// of ieee/fn/fnuz encodings. Affine integer formats return the integer code itself (the zero
/// point is applied by decode_codes). Throws exmy::error for a code outside the format's bits.
double decode_native(const format_spec& f, std::uint32_t code);

/// Decodes codes back to float32 values (see the header for the rule per scale mode).
std::vector<float> decode_codes(const code_tensor& c);

/// Adds a code tensor (codes, scale, zero point, E8M0 block scales, metadata) to a writer.
void add_codes(safetensors_writer& w, const code_tensor& c);

/// Reads every code tensor of a file written with add_codes (the metadata says which).
std::vector<code_tensor> read_codes(const std::string& path);

}  // namespace exmy
