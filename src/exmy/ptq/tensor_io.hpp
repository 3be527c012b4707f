// exmy/ptq/tensor_io.hpp — reading and writing tensor files for the PTQ harness (issue 5, "Tensor
// input/output"; reference-spec §8: the harness quantizes the weights a model file holds).
//
// Readers: NumPy `.npy` (format versions 1.0/2.0/3.0, float16/32/64 in either byte order, C or
// Fortran order), `.npz` (zip archives of .npy members, stored or deflated, zip64), safetensors
// (F16, BF16, F32, F64) and ONNX (initializers, `Constant` nodes, subgraphs of If/Loop/Scan, external
// data files). Every float tensor is converted to the row-major float32 `tensor` of tensor.hpp.
// `.npy` and safetensors files are memory-mapped and read one tensor at a time, so a model larger
// than memory can be processed tensor by tensor. ONNX support is optional at build time
// (EXMY_ENABLE_ONNX); without it, ONNX files raise an exmy::error saying so.
//
// Bad input (truncated files, wrong magic, header lengths beyond the file, shapes whose product
// overflows or exceeds the data, unsupported element types) raises one exmy::error whose message
// names the file, the tensor where there is one, and the problem. NaN and ±inf values are read
// as they are; reporting them is the harness's job.
//
// Writers are atomic: they write a temporary file next to the target and rename it into place, so
// an interrupted run never leaves a half-written file under the final name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exmy/ptq/tensor.hpp"

namespace exmy {

/// True when this build reads ONNX files (EXMY_ENABLE_ONNX; Debian libonnx-dev + protobuf).
bool onnx_supported();

/// Container formats the readers understand.
enum class tensor_file_kind : std::uint8_t { npy, npz, safetensors, onnx };
const char* to_string(tensor_file_kind k);

/// The kind of a tensor file, from its first bytes (npy/npz/safetensors magic), else from its
/// extension (.onnx). Throws exmy::error when the file cannot be opened or is not recognised.
tensor_file_kind detect_tensor_file(const std::string& path);

/// What a file says about one tensor, without reading its values.
struct tensor_info {
  std::string name;
  std::vector<std::int64_t> shape;  ///< row-major; empty for a scalar
  std::string file_dtype;           ///< the element type as the file spells it ("<f4", "BF16", "FLOAT16", "<i2" …)
  bool supported = false;           ///< true when the type is float16, bfloat16, float32 or float64
  dtype source = dtype::f32;        ///< the element type (meaningful when supported)

  /// Number of elements (1 for a scalar).
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
};

/// Options of the whole-file readers.
struct read_options {
  /// Called for every tensor that is skipped because its element type is not a supported float
  /// type (int64 shape constants in ONNX models, integer members of an .npz …); `why` says which
  /// type. When empty, such tensors are skipped silently.
  std::function<void(const tensor_info& info, const std::string& why)> on_skip;
};

/// Every tensor of a file, in file order (data offset for safetensors, member order for .npz, graph
/// order — initializers, then Constant nodes, depth first into subgraphs — for ONNX), including the
/// ones with unsupported element types (supported = false). A `.npy` file holds one tensor named
/// after the file's stem. ONNX tensors inside subgraphs whose name repeats an earlier one get the
/// graph path as a prefix ("If_0.then_branch/name") so that every name is unique.
std::vector<tensor_info> list_tensor_info(const std::string& path);

/// Names of the readable (supported float) tensors, in file order.
std::vector<std::string> list_tensors(const std::string& path);

/// Reads one tensor (an .npz member name with or without ".npy", a safetensors key, an ONNX
/// initializer / Constant output name as list_tensors gives it). Throws exmy::error for an unknown
/// name, an unsupported element type or a damaged file.
tensor read_tensor(const std::string& path, const std::string& name);

/// Calls `fn` once per readable tensor, in file order, holding one tensor in memory at a time.
/// Unsupported element types are skipped (reported through opt.on_skip); damaged data throws.
/// When `fn` leaves the tensor's data in place (does not move it away), its allocation is reused
/// for the next tensor.
void for_each_tensor(const std::string& path, const std::function<void(tensor&&)>& fn,
                     const read_options& opt = {});

/// A read-only view of one tensor's values: float32, row-major, valid only during the callback.
struct tensor_view {
  const tensor_info* info = nullptr;  ///< name, shape, file dtype
  const float* data = nullptr;        ///< info->numel() values
  std::size_t size = 0;               ///< number of values
};

/// The zero-copy form of for_each_tensor for large models: float32 little-endian C-order data of
/// `.npy` and safetensors files are handed out straight from the memory map (no allocation, no
/// copy: the pages are read once, by the caller); everything else is converted into one reused
/// buffer.
void for_each_tensor_view(const std::string& path, const std::function<void(const tensor_view&)>& fn,
                          const read_options& opt = {});

/// All readable tensors of a file (convenience for small files).
std::vector<tensor> read_tensors(const std::string& path, const read_options& opt = {});

/// The `__metadata__` map of a safetensors file (empty when it has none).
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

/// Writes one tensor as a version 1.0 `.npy` file, '<f4', C order (atomic).
void write_npy(const std::string& path, const tensor& t);

/// Element types the safetensors writer can store (the names are safetensors' "U8", "F32" …).
enum class safetensors_dtype : std::uint8_t { u8, i8, u16, i16, i32, i64, f16, bf16, f32, f64 };
const char* to_string(safetensors_dtype t);
/// Bytes per element.
std::size_t size_of(safetensors_dtype t);

/// Streaming, atomic safetensors writer: tensors are appended one at a time (so a model need not
/// fit in memory), metadata may be set at any point, and commit() writes the final file (header,
/// then the data in the order added) under a temporary name and renames it into place. Destroying
/// an uncommitted writer removes its temporary files.
class safetensors_writer {
 public:
  explicit safetensors_writer(const std::string& path);
  ~safetensors_writer();
  safetensors_writer(const safetensors_writer&) = delete;
  safetensors_writer& operator=(const safetensors_writer&) = delete;

  /// Appends a tensor given as little-endian bytes (bytes == numel·size_of(type), checked).
  void add(const std::string& name, safetensors_dtype type, const std::vector<std::int64_t>& shape,
           const void* data, std::size_t bytes);
  /// Appends a float32 tensor under its own name.
  void add(const tensor& t);
  /// Sets one `__metadata__` entry (string to string, as the format requires).
  void set_metadata(const std::string& key, const std::string& value);
  /// Writes the file and renames it into place; the writer is finished afterwards.
  void commit();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Writes float32 tensors as one safetensors file with the given metadata (atomic).
void write_safetensors(const std::string& path, const std::vector<tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace exmy
