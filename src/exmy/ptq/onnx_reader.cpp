// exmy/ptq/onnx_reader.cpp — the ONNX reader (issue 5: "ONNX initializers, including weights held
// in Constant nodes and inside subgraphs (If/Loop bodies)", "ONNX external-data files").
//
// The model is parsed with the generated protobuf classes of Debian libonnx-dev (onnx.proto:
// ModelProto → GraphProto → initializer / node / attribute). Tensors are collected depth first:
// a graph's initializers, then its nodes in order — a Constant node contributes its `value`
// (or `value_float(s)`) under its output name, and any node with GRAPH/GRAPHS attributes (If
// then/else, Loop/Scan body) is descended into at that point. Element data come from raw_data
// (little-endian), the typed fields (float_data, double_data, int32_data holding float16/bfloat16
// bit patterns) or an external-data file (data_location = EXTERNAL; keys location, offset, length;
// the location is resolved relative to the model's directory and may not leave it).
// Without EXMY_HAVE_ONNX (EXMY_ENABLE_ONNX=OFF) only a stub that says so is compiled.
#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/tensor_source.hpp"

#if EXMY_HAVE_ONNX

#include <onnx/onnx_pb.h>

#include <climits>
#include <cstring>
#include <set>

#include "exmy/ptq/mapped_file.hpp"
#include "exmy/ptq/npy_format.hpp"

namespace exmy {
namespace {

struct onnx_entry {
  tensor_info info;
  const onnx::TensorProto* proto = nullptr;  // null for value_float(s) constants
  std::vector<float> inline_values;          // value_float / value_floats
};

bool supported_type(int dt, dtype& t) {
  switch (dt) {
    case onnx::TensorProto::FLOAT: t = dtype::f32; return true;
    case onnx::TensorProto::FLOAT16: t = dtype::f16; return true;
    case onnx::TensorProto::BFLOAT16: t = dtype::bf16; return true;
    case onnx::TensorProto::DOUBLE: t = dtype::f64; return true;
    default: return false;
  }
}

std::string type_name(int dt) {
  if (onnx::TensorProto_DataType_IsValid(dt)) return onnx::TensorProto_DataType_Name(dt);
  return "data_type " + std::to_string(dt);
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

class onnx_source final : public tensor_source {
 public:
  explicit onnx_source(const std::string& path) : path_(path) {
    const std::string where = where_file(path);
    mapped_file file(path);
    // protobuf parses messages of at most 2 GB (int sizes); larger models keep their weights in
    // external-data files.
    if (file.size() > static_cast<std::size_t>(INT_MAX))
      throw error(where + ": ONNX protobuf files are limited to 2 GB; store large weights as external data");
    if (!model_.ParseFromArray(file.data(), static_cast<int>(file.size())))
      throw error(where + ": not a valid ONNX model (protobuf parsing failed: truncated or corrupt)");
    if (!model_.has_graph()) throw error(where + ": ONNX model without a graph (not an ONNX file?)");
    walk(model_.graph(), "", 0);
    for (const onnx_entry& e : entries_) infos_.push_back(e.info);
  }

  const std::vector<tensor_info>& list() const override { return infos_; }

  void read_into(std::size_t index, tensor& t) override {
    const onnx_entry& e = entries_[index];
    const std::string w = where_tensor(path_, e.info.name);
    t.name = e.info.name;
    t.shape = e.info.shape;
    t.source = e.info.source;
    const std::size_t n = static_cast<std::size_t>(e.info.numel());
    if (!e.proto) {
      t.data = e.inline_values;
      return;
    }
    const onnx::TensorProto& p = *e.proto;
    const std::size_t item = dtype_size(t.source);
    // Every size is checked against the data actually present before the output is allocated
    // (a few bytes of protobuf can declare dims of billions).
    auto require_count = [&](std::size_t have, const char* field) {
      if (have != n)
        throw error(w + ": " + field + " holds " + std::to_string(have) + " values, the shape needs " +
                    std::to_string(n));
    };
    if (p.data_location() == onnx::TensorProto::EXTERNAL) {
      read_external(p, w, n, item, t);
    } else if (p.has_raw_data()) {
      if (p.raw_data().size() != n * item)
        throw error(w + ": raw_data holds " + std::to_string(p.raw_data().size()) +
                    " bytes, the shape needs " + std::to_string(n * item));
      t.data.resize(n);
      convert_to_float(reinterpret_cast<const unsigned char*>(p.raw_data().data()), n, t.source,
                       false, t.data.data());
    } else if (t.source == dtype::f32) {
      require_count(static_cast<std::size_t>(p.float_data_size()), "float_data");
      t.data.assign(p.float_data().begin(), p.float_data().end());
    } else if (t.source == dtype::f64) {
      require_count(static_cast<std::size_t>(p.double_data_size()), "double_data");
      t.data.resize(n);
      for (std::size_t i = 0; i < n; ++i) t.data[i] = static_cast<float>(p.double_data(static_cast<int>(i)));
    } else {
      // float16 / bfloat16: one 16-bit pattern in the low half of each int32_data entry.
      require_count(static_cast<std::size_t>(p.int32_data_size()), "int32_data");
      t.data.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint16_t bits = static_cast<std::uint16_t>(p.int32_data(static_cast<int>(i)));
        const unsigned char b[2] = {static_cast<unsigned char>(bits & 0xff), static_cast<unsigned char>(bits >> 8)};
        convert_to_float(b, 1, t.source, false, &t.data[i]);
      }
    }
  }

 private:
  // A subgraph's path segment: the node's name (or op_type#index), then the attribute name.
  static std::string node_label(const onnx::NodeProto& node, int index) {
    return node.name().empty() ? node.op_type() + "#" + std::to_string(index) : node.name();
  }

  void add(onnx_entry e, const std::string& graph_path) {
    // Names stay as ONNX spells them; a repeat (two branches of an If defining the same output)
    // is qualified with its graph path, then numbered if that is still not unique.
    std::string name = e.info.name;
    if (names_.count(name) && !graph_path.empty()) name = graph_path + "/" + name;
    for (int k = 2; names_.count(name); ++k) name = e.info.name + "#" + std::to_string(k);
    names_.insert(name);
    e.info.name = name;
    entries_.push_back(std::move(e));
  }

  void add_proto(const onnx::TensorProto& p, std::string name, const std::string& graph_path) {
    onnx_entry e;
    e.info.name = name.empty() ? "initializer#" + std::to_string(entries_.size()) : std::move(name);
    const std::string w = where_tensor(path_, e.info.name);
    for (std::int64_t d : p.dims()) e.info.shape.push_back(d);
    e.info.file_dtype = type_name(p.data_type());
    dtype t = dtype::f32;
    e.info.supported = supported_type(p.data_type(), t);
    e.info.source = t;
    checked_numel(e.info.shape, e.info.supported ? dtype_size(t) : 1, w);
    if (p.has_segment()) {
      e.info.supported = false;
      e.info.file_dtype += " (segmented)";
    }
    e.proto = &p;
    add(std::move(e), graph_path);
  }

  void walk(const onnx::GraphProto& g, const std::string& graph_path, int depth) {
    // protobuf already bounds message nesting (100 levels); this keeps our recursion bounded too.
    if (depth > 64) throw error(where_file(path_) + ": subgraphs nested too deeply");
    for (const onnx::TensorProto& init : g.initializer()) add_proto(init, init.name(), graph_path);
    for (const onnx::SparseTensorProto& sp : g.sparse_initializer()) {
      onnx_entry e;
      e.info.name = sp.values().name();
      e.info.file_dtype = "SPARSE " + type_name(sp.values().data_type());
      for (std::int64_t d : sp.dims()) e.info.shape.push_back(d);
      add(std::move(e), graph_path);
    }
    for (int i = 0; i < g.node_size(); ++i) {
      const onnx::NodeProto& node = g.node(i);
      if (node.op_type() == "Constant" && node.domain().empty()) {
        const std::string out = node.output_size() > 0 ? node.output(0) : node_label(node, i);
        for (const onnx::AttributeProto& a : node.attribute()) {
          if (a.name() == "value" && a.has_t()) {
            add_proto(a.t(), out, graph_path);
          } else if (a.name() == "value_float" || a.name() == "value_floats") {
            onnx_entry e;
            e.info.name = out;
            e.info.file_dtype = "FLOAT";
            e.info.supported = true;
            if (a.name() == "value_float") {
              e.inline_values.push_back(a.f());
            } else {
              e.inline_values.assign(a.floats().begin(), a.floats().end());
              e.info.shape.push_back(a.floats_size());
            }
            add(std::move(e), graph_path);
          } else if (a.name().rfind("value", 0) == 0 || a.name() == "sparse_value") {
            onnx_entry e;  // value_int(s), value_string(s), sparse_value: listed, not read
            e.info.name = out;
            e.info.file_dtype = onnx::AttributeProto_AttributeType_IsValid(a.type())
                                    ? onnx::AttributeProto_AttributeType_Name(a.type())
                                    : "attribute";
            add(std::move(e), graph_path);
          }
        }
      }
      for (const onnx::AttributeProto& a : node.attribute()) {
        const std::string sub = (graph_path.empty() ? "" : graph_path + "/") + node_label(node, i) + "." + a.name();
        if (a.has_g()) walk(a.g(), sub, depth + 1);
        for (int k = 0; k < a.graphs_size(); ++k) walk(a.graphs(k), sub + "[" + std::to_string(k) + "]", depth + 1);
      }
    }
  }

  void read_external(const onnx::TensorProto& p, const std::string& w, std::size_t n, std::size_t item,
                     tensor& t) {
    const std::size_t bytes = n * item;
    std::string location;
    std::uint64_t offset = 0, length = bytes;
    bool has_length = false;
    for (const onnx::StringStringEntryProto& kv : p.external_data()) {
      try {
        if (kv.key() == "location") location = kv.value();
        else if (kv.key() == "offset") offset = std::stoull(kv.value());
        else if (kv.key() == "length") { length = std::stoull(kv.value()); has_length = true; }
      } catch (const std::exception&) {
        throw error(w + ": external data key '" + kv.key() + "' has a non-numeric value '" + kv.value() + "'");
      }
    }
    if (location.empty()) throw error(w + ": external data without a 'location'");
    // The ONNX checker's rule: a relative path that stays inside the model's directory.
    if (location[0] == '/' || location == ".." || location.rfind("../", 0) == 0 ||
        location.find("/../") != std::string::npos ||
        (location.size() >= 3 && location.compare(location.size() - 3, 3, "/..") == 0))
      throw error(w + ": external data location '" + location + "' leaves the model's directory");
    if (has_length && length != bytes)
      throw error(w + ": external data length " + std::to_string(length) + " differs from the " +
                  std::to_string(bytes) + " bytes the shape needs");
    const std::string file_path = directory_of(path_) + "/" + location;
    mapped_file f(file_path);
    if (offset > f.size() || bytes > f.size() - offset)
      throw error(w + ": external data [" + std::to_string(offset) + ", +" + std::to_string(bytes) +
                  ") lies beyond the end of '" + file_path + "' (" + std::to_string(f.size()) + " bytes)");
    f.will_need(static_cast<std::size_t>(offset), bytes);
    t.data.resize(n);
    convert_to_float(f.data() + offset, t.data.size(), t.source, false, t.data.data());
  }

  std::string path_;
  onnx::ModelProto model_;
  std::vector<onnx_entry> entries_;
  std::vector<tensor_info> infos_;
  std::set<std::string> names_;
};

}  // namespace

std::unique_ptr<tensor_source> open_onnx(const std::string& path) {
  return std::make_unique<onnx_source>(path);
}

bool onnx_supported() { return true; }

}  // namespace exmy

#else  // !EXMY_HAVE_ONNX

namespace exmy {

std::unique_ptr<tensor_source> open_onnx(const std::string& path) {
  throw error(where_file(path) +
              ": exmy was built without ONNX support (install libonnx-dev and libprotobuf-dev, "
              "then reconfigure with EXMY_ENABLE_ONNX=ON)");
}

bool onnx_supported() { return false; }

}  // namespace exmy

#endif
