// exmy/ptq/tensor_source.hpp — the one interface every tensor-file reader implements (.npy, .npz,
// safetensors, ONNX), behind the free functions of tensor_io.hpp. An opened source lists its
// tensors once and converts one tensor at a time on request, so callers hold a single tensor.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "exmy/ptq/tensor.hpp"
#include "exmy/ptq/tensor_io.hpp"

namespace exmy {

/// An opened tensor file.
class tensor_source {
 public:
  virtual ~tensor_source() = default;
  /// Every tensor of the file, in file order (names unique).
  virtual const std::vector<tensor_info>& list() const = 0;
  /// Converts tensor `index` of list() (which must be supported) to float32 into `t`, reusing
  /// t.data's allocation (resize only; values are overwritten).
  virtual void read_into(std::size_t index, tensor& t) = 0;
  /// The same, as a new tensor.
  tensor read(std::size_t index) {
    tensor t;
    read_into(index, t);
    return t;
  }
  /// Tensor `index` as float32 values: a pointer into the file's memory map when the file holds
  /// aligned little-endian float32 in C order (no copy), else converted into `scratch`.
  virtual const float* view(std::size_t index, tensor& scratch) {
    read_into(index, scratch);
    return scratch.data.data();
  }
};

/// Opens a file of a known kind; throws exmy::error for damaged headers / directories.
std::unique_ptr<tensor_source> open_npy(const std::string& path);
std::unique_ptr<tensor_source> open_npz(const std::string& path);
std::unique_ptr<tensor_source> open_safetensors(const std::string& path);
/// Throws exmy::error when exmy was built without ONNX support (EXMY_ENABLE_ONNX=OFF).
std::unique_ptr<tensor_source> open_onnx(const std::string& path);

/// One safetensors entry with its bytes as stored, whatever its dtype (for code files: U8, I32 …).
struct raw_tensor {
  tensor_info info;
  std::vector<unsigned char> bytes;
};
/// Every entry of a safetensors file, raw, in file order.
std::vector<raw_tensor> read_safetensors_raw(const std::string& path);

/// Opens any supported file (detect_tensor_file decides the kind).
std::unique_ptr<tensor_source> open_tensor_file(const std::string& path);

/// "file 'p'" / "file 'p': tensor 'n'": the prefix of every reader error message.
std::string where_file(const std::string& path);
std::string where_tensor(const std::string& path, const std::string& name);

}  // namespace exmy
