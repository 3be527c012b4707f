// exmy/ptq/npy_format.hpp — the NumPy `.npy` stream format (NEP 1, "A simple file format for NumPy
// arrays": magic \x93NUMPY, version 1.0 / 2.0 / 3.0, a little-endian header length, a Python-literal
// dict {'descr', 'fortran_order', 'shape'}, then the raw data), and the conversion of raw float16 /
// bfloat16 / float32 / float64 data of either byte order to float32. Shared by the `.npy`, `.npz`
// and safetensors readers (tensor_io.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exmy/ptq/tensor.hpp"
#include "exmy/ptq/tensor_io.hpp"

namespace exmy {

/// The parsed header of one `.npy` stream.
struct npy_header {
  tensor_info info;            ///< shape, file_dtype, supported, source (name left empty)
  bool fortran_order = false;
  bool big_endian = false;
  std::size_t item_size = 0;   ///< bytes per element (0 when the dtype is structured / unknown)
  std::size_t data_offset = 0; ///< bytes from the start of the stream to the data
  std::uint64_t data_bytes = 0;  ///< numel · item_size (overflow-checked)
};

/// Parses the header held in the first `n` bytes of a stream. Every problem (wrong magic,
/// unknown version, header length beyond `n`, malformed dict, negative or overflowing shape)
/// throws exmy::error prefixed with `where` ("file 'a.npy'"). An unsupported dtype is not an
/// error here (info.supported = false) so that listings can show it.
npy_header parse_npy_header(const unsigned char* p, std::size_t n, const std::string& where);

/// Bytes a header needs at most before parse_npy_header can decide (preamble + the declared
/// length), given the first 12 bytes; 0 when the magic is wrong. Lets streaming readers (deflated
/// .npz members) read just the header first.
std::size_t npy_header_extent(const unsigned char* p, std::size_t n);

/// Converts `count` contiguous elements of type t (byte order as given) to float32; float64 is
/// rounded to nearest (values beyond the float32 range become ±inf), the others convert exactly.
void convert_to_float(const unsigned char* src, std::size_t count, dtype t, bool big_endian,
                      float* dst);

/// Converts Fortran-ordered (first axis fastest) data of the given shape to row-major float32.
void convert_fortran_to_c(const unsigned char* src, const std::vector<std::int64_t>& shape,
                          dtype t, bool big_endian, float* dst);

/// Bytes per element of a supported dtype.
std::size_t dtype_size(dtype t);

/// Product of a shape with overflow checks: throws exmy::error (prefixed with `where`) when a
/// dimension is negative or the product (or product · item_size) exceeds int64.
std::int64_t checked_numel(const std::vector<std::int64_t>& shape, std::size_t item_size,
                           const std::string& where);

}  // namespace exmy
