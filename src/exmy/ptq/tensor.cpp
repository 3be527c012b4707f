// exmy/ptq/tensor.cpp — names of the tensor element types (tensor.hpp).
#include "exmy/ptq/tensor.hpp"

namespace exmy {

const char* to_string(dtype t) {
  switch (t) {
    case dtype::f16: return "float16";
    case dtype::bf16: return "bfloat16";
    case dtype::f32: return "float32";
    case dtype::f64: return "float64";
  }
  return "?";
}

}  // namespace exmy
