// exmy/ptq/tensor.hpp — the tensor value type of the PTQ harness: a name, a shape (row-major, the
// last axis fastest) and float32 values. Readers (tensor_io.hpp) convert every supported dtype
// (float16, bfloat16, float32, float64, either byte order, C or Fortran order) into this layout;
// the source dtype is kept so writers and reports can say what the file held.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace exmy {

/// Element types a tensor file may hold.
enum class dtype : std::uint8_t { f16, bf16, f32, f64 };
const char* to_string(dtype t);

/// A named float32 tensor in row-major (C) order.
struct tensor {
  std::string name;
  std::vector<std::int64_t> shape;  ///< empty for a scalar
  dtype source = dtype::f32;        ///< element type in the file it came from
  std::vector<float> data;          ///< product(shape) values, row-major

  /// Number of elements (product of the shape; 1 for a scalar).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
};

}  // namespace exmy
