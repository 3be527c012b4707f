// exmy/ptq/tensor_io.cpp — file-kind detection, the whole-file reading functions over
// tensor_source, and the `.npy` writer (tensor_io.hpp).
#include "exmy/ptq/tensor_io.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/atomic_file.hpp"
#include "exmy/ptq/mapped_file.hpp"
#include "exmy/ptq/tensor_source.hpp"

namespace exmy {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
  return true;
}

std::string unsupported_message(const tensor_info& info) {
  return "unsupported dtype '" + info.file_dtype +
         "' (exmy reads float16, bfloat16, float32 and float64 tensors)";
}

}  // namespace

const char* to_string(tensor_file_kind k) {
  switch (k) {
    case tensor_file_kind::npy: return "npy";
    case tensor_file_kind::npz: return "npz";
    case tensor_file_kind::safetensors: return "safetensors";
    case tensor_file_kind::onnx: return "onnx";
  }
  return "?";
}

std::string where_file(const std::string& path) { return "file '" + path + "'"; }
std::string where_tensor(const std::string& path, const std::string& name) {
  return "file '" + path + "': tensor '" + name + "'";
}

tensor_file_kind detect_tensor_file(const std::string& path) {
  unsigned char b[16] = {};
  std::size_t got = 0;
  {
    const mapped_file f(path);  // checks that it is a regular file without blocking on FIFOs
    got = std::min(f.size(), sizeof b);
    if (got) std::memcpy(b, f.data(), got);
  }
  // 1. Magic numbers: .npy, zip (a .npz), safetensors (length, then the JSON object's '{').
  if (got >= 6 && std::memcmp(b, "\x93NUMPY", 6) == 0) return tensor_file_kind::npy;
  if (got >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
    return tensor_file_kind::npz;
  if (got >= 9 && b[8] == '{') return tensor_file_kind::safetensors;
  // 2. ONNX is a protobuf message without a magic number: trust the extension. The other
  // extensions route damaged files to their reader, which says what is wrong.
  if (ends_with(path, ".onnx")) return tensor_file_kind::onnx;
  if (ends_with(path, ".npy")) return tensor_file_kind::npy;
  if (ends_with(path, ".npz")) return tensor_file_kind::npz;
  if (ends_with(path, ".safetensors")) return tensor_file_kind::safetensors;
  throw error(where_file(path) +
              ": not a recognised tensor file (expected .npy, .npz, .safetensors or .onnx)");
}

std::unique_ptr<tensor_source> open_tensor_file(const std::string& path) {
  switch (detect_tensor_file(path)) {
    case tensor_file_kind::npy: return open_npy(path);
    case tensor_file_kind::npz: return open_npz(path);
    case tensor_file_kind::safetensors: return open_safetensors(path);
    case tensor_file_kind::onnx: return open_onnx(path);
  }
  throw error(where_file(path) + ": unknown file kind");
}

std::vector<tensor_info> list_tensor_info(const std::string& path) {
  return open_tensor_file(path)->list();
}

std::vector<std::string> list_tensors(const std::string& path) {
  std::vector<std::string> names;
  const auto src = open_tensor_file(path);  // must outlive the loop over its list
  for (const tensor_info& i : src->list())
    if (i.supported) names.push_back(i.name);
  return names;
}

tensor read_tensor(const std::string& path, const std::string& name) {
  auto src = open_tensor_file(path);
  const auto& infos = src->list();
  for (std::size_t i = 0; i < infos.size(); ++i) {
    // An .npz member may be named with or without its ".npy".
    if (infos[i].name == name || infos[i].name + ".npy" == name) {
      if (!infos[i].supported)
        throw error(where_tensor(path, infos[i].name) + ": " + unsupported_message(infos[i]));
      return src->read(i);
    }
  }
  std::string known;
  for (std::size_t i = 0; i < infos.size() && i < 8; ++i) known += (i ? ", " : "") + infos[i].name;
  if (infos.size() > 8) known += ", …";
  throw error(where_file(path) + ": no tensor named '" + name + "' (the file holds " +
              std::to_string(infos.size()) + (infos.empty() ? "" : ": " + known) + ")");
}

void for_each_tensor(const std::string& path, const std::function<void(tensor&&)>& fn,
                     const read_options& opt) {
  auto src = open_tensor_file(path);
  const auto& infos = src->list();
  // One tensor object for the whole walk: a buffer the callback leaves behind is reused, which
  // saves a fresh allocation (page faults and kernel zeroing) per tensor.
  tensor t;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    if (!infos[i].supported) {
      if (opt.on_skip) opt.on_skip(infos[i], unsupported_message(infos[i]));
      continue;
    }
    src->read_into(i, t);
    fn(std::move(t));
  }
}

void for_each_tensor_view(const std::string& path, const std::function<void(const tensor_view&)>& fn,
                          const read_options& opt) {
  auto src = open_tensor_file(path);
  const auto& infos = src->list();
  tensor scratch;
  for (std::size_t i = 0; i < infos.size(); ++i) {
    if (!infos[i].supported) {
      if (opt.on_skip) opt.on_skip(infos[i], unsupported_message(infos[i]));
      continue;
    }
    tensor_view v;
    v.info = &infos[i];
    v.data = src->view(i, scratch);
    v.size = static_cast<std::size_t>(infos[i].numel());
    fn(v);
  }
}

std::vector<tensor> read_tensors(const std::string& path, const read_options& opt) {
  std::vector<tensor> out;
  for_each_tensor(path, [&](tensor&& t) { out.push_back(std::move(t)); }, opt);
  return out;
}

void write_npy(const std::string& path, const tensor& t) {
  if (static_cast<std::int64_t>(t.data.size()) != t.numel())
    throw error(where_tensor(path, t.name) + ": data size does not match the shape");
  // Header as numpy writes it: the dict, padded with spaces and a final newline so that the
  // data starts at a multiple of 64 bytes (NEP 1; numpy's format.ARRAY_ALIGN = 64, for memory-mapping).
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < t.shape.size(); ++i)
    dict += (i ? ", " : "") + std::to_string(t.shape[i]);
  if (t.shape.size() == 1) dict += ",";
  dict += "), }";
  std::size_t total = 10 + dict.size() + 1;
  const std::size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw error(where_tensor(path, t.name) + ": shape too long for .npy 1.0");
  std::string pre = "\x93NUMPY";
  pre += '\x01';
  pre += '\x00';
  pre += static_cast<char>(dict.size() & 0xff);
  pre += static_cast<char>(dict.size() >> 8);
  atomic_file out(path);
  out.write(pre.data(), pre.size());
  out.write(dict.data(), dict.size());
  out.write(t.data.data(), t.data.size() * sizeof(float));  // little-endian host (x86-64, arm64)
  out.commit();
}

}  // namespace exmy
