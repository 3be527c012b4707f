// exmy/ptq/safetensors.cpp — the safetensors format (huggingface/safetensors, "Format": an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin,
// end]}, "__metadata__": {string: string}}, then the byte buffer; offsets are relative to the
// buffer, little-endian data, no holes). Reader (memory-mapped, one tensor at a time) and the
// streaming atomic writer of tensor_io.hpp.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/atomic_file.hpp"
#include "exmy/ptq/mapped_file.hpp"
#include "exmy/ptq/npy_format.hpp"
#include "exmy/ptq/tensor_source.hpp"

namespace exmy {
namespace {

// The reference implementation refuses headers above 100 MB (safetensors MAX_HEADER_SIZE); a
// larger length field is corrupt data, not a model.
constexpr std::uint64_t k_max_header = 100000000;

// Element sizes of the safetensors dtype names (safetensors Dtype enum); 0 for unknown names.
std::size_t st_item_size(const std::string& t) {
  static const std::pair<const char*, std::size_t> table[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},
      {"I64", 8},  {"U64", 8}, {"F64", 8}};
  for (const auto& [name, size] : table)
    if (t == name) return size;
  return 0;
}

struct st_entry {
  tensor_info info;
  std::uint64_t begin = 0, end = 0;  // within the data buffer
};

class safetensors_source final : public tensor_source {
 public:
  explicit safetensors_source(const std::string& path) : file_(path) {
    const std::string where = where_file(path);
    const std::size_t n = file_.size();
    if (n < 8) throw error(where + ": truncated safetensors file (no 8-byte header length)");
    std::uint64_t hlen = 0;
    for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | file_.data()[i];
    if (hlen > k_max_header)
      throw error(where + ": safetensors header length " + std::to_string(hlen) +
                  " is absurd (limit 100000000 bytes)");
    if (hlen > n - 8)
      throw error(where + ": safetensors header length " + std::to_string(hlen) +
                  " exceeds the file size " + std::to_string(n));
    data_offset_ = 8 + hlen;
    const std::uint64_t data_size = n - data_offset_;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(file_.data() + 8, file_.data() + 8 + hlen);
    } catch (const nlohmann::json::exception& e) {
      throw error(where + ": safetensors header is not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw error(where + ": safetensors header is not a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "__metadata__") {
        if (!it.value().is_object()) throw error(where + ": __metadata__ is not an object");
        for (auto m = it.value().begin(); m != it.value().end(); ++m)
          metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
        continue;
      }
      const std::string w = where_tensor(path, it.key());
      const nlohmann::json& v = it.value();
      if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
          !v.contains("data_offsets") || !v["dtype"].is_string() || !v["shape"].is_array() ||
          !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
        throw error(w + ": entry needs 'dtype' (string), 'shape' (array) and 'data_offsets' ([begin, end])");
      st_entry e;
      e.info.name = it.key();
      e.info.file_dtype = v["dtype"].get<std::string>();
      for (const auto& d : v["shape"]) {
        if (!d.is_number_integer() || (d.is_number_unsigned() &&
                                       d.get<std::uint64_t>() > std::uint64_t(INT64_MAX)))
          throw error(w + ": shape holds a value that is not a dimension");
        e.info.shape.push_back(d.get<std::int64_t>());
      }
      for (int k = 0; k < 2; ++k)
        if (!v["data_offsets"][k].is_number_unsigned())
          throw error(w + ": data_offsets must be non-negative integers");
      e.begin = v["data_offsets"][0].get<std::uint64_t>();
      e.end = v["data_offsets"][1].get<std::uint64_t>();
      const std::size_t item = st_item_size(e.info.file_dtype);
      const std::int64_t numel = checked_numel(e.info.shape, item, w);
      if (e.begin > e.end || e.end > data_size)
        throw error(w + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                    "] lie outside the " + std::to_string(data_size) + "-byte data buffer (truncated file?)");
      if (item > 0 && e.end - e.begin != static_cast<std::uint64_t>(numel) * item)
        throw error(w + ": data_offsets span " + std::to_string(e.end - e.begin) +
                    " bytes, the shape needs " + std::to_string(std::uint64_t(numel) * item));
      const std::string& t = e.info.file_dtype;
      e.info.supported = t == "F16" || t == "BF16" || t == "F32" || t == "F64";
      e.info.source = t == "F16" ? dtype::f16 : t == "BF16" ? dtype::bf16 : t == "F64" ? dtype::f64 : dtype::f32;
      entries_.push_back(std::move(e));
    }
    // File order is the order of the data (the JSON object's key order carries no meaning).
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const st_entry& a, const st_entry& b) { return a.begin < b.begin; });
    for (const st_entry& e : entries_) infos_.push_back(e.info);
  }

  const std::vector<tensor_info>& list() const override { return infos_; }

  void read_into(std::size_t index, tensor& t) override {
    const st_entry& e = entries_[index];
    t.name = e.info.name;
    t.shape = e.info.shape;
    t.source = e.info.source;
    t.data.resize(static_cast<std::size_t>(e.info.numel()));
    const std::size_t off = static_cast<std::size_t>(data_offset_ + e.begin);
    file_.will_need(off, static_cast<std::size_t>(e.end - e.begin));
    convert_to_float(file_.data() + off, t.data.size(), t.source, false, t.data.data());
  }

  const float* view(std::size_t index, tensor& scratch) override {
    const st_entry& e = entries_[index];
    const unsigned char* src = file_.data() + data_offset_ + e.begin;
    if (e.info.source == dtype::f32 && reinterpret_cast<std::uintptr_t>(src) % alignof(float) == 0) {
      file_.will_need(static_cast<std::size_t>(data_offset_ + e.begin), static_cast<std::size_t>(e.end - e.begin));
      return reinterpret_cast<const float*>(src);
    }
    return tensor_source::view(index, scratch);
  }

  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  raw_tensor raw(std::size_t index) const {
    const st_entry& e = entries_[index];
    raw_tensor r;
    r.info = e.info;
    if (st_item_size(e.info.file_dtype) == 0)
      throw error(where_tensor(file_.path(), e.info.name) + ": unknown dtype '" + e.info.file_dtype + "'");
    const unsigned char* p = file_.data() + data_offset_ + e.begin;
    r.bytes.assign(p, p + (e.end - e.begin));
    return r;
  }

 private:
  mapped_file file_;
  std::uint64_t data_offset_ = 0;
  std::vector<st_entry> entries_;
  std::vector<tensor_info> infos_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace

std::unique_ptr<tensor_source> open_safetensors(const std::string& path) {
  return std::make_unique<safetensors_source>(path);
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  return safetensors_source(path).metadata();
}

std::vector<raw_tensor> read_safetensors_raw(const std::string& path) {
  safetensors_source src(path);
  std::vector<raw_tensor> out;
  for (std::size_t i = 0; i < src.list().size(); ++i) out.push_back(src.raw(i));
  return out;
}

const char* to_string(safetensors_dtype t) {
  switch (t) {
    case safetensors_dtype::u8: return "U8";
    case safetensors_dtype::i8: return "I8";
    case safetensors_dtype::u16: return "U16";
    case safetensors_dtype::i16: return "I16";
    case safetensors_dtype::i32: return "I32";
    case safetensors_dtype::i64: return "I64";
    case safetensors_dtype::f16: return "F16";
    case safetensors_dtype::bf16: return "BF16";
    case safetensors_dtype::f32: return "F32";
    case safetensors_dtype::f64: return "F64";
  }
  return "?";
}

std::size_t size_of(safetensors_dtype t) { return st_item_size(to_string(t)); }

// Tensors are staged in an anonymous temporary file as they arrive (the header, which must come
// first, is only known at the end); commit() writes header + staged data into the atomic output.
struct safetensors_writer::impl {
  std::string path;
  std::FILE* staged = nullptr;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::map<std::string, std::string> metadata;
  std::uint64_t offset = 0;
  bool done = false;
};

safetensors_writer::safetensors_writer(const std::string& path) : impl_(std::make_unique<impl>()) {
  impl_->path = path;
  // Staged next to the output (same file system, not a RAM-backed /tmp) and unlinked at once, so
  // it disappears with the process whatever happens.
  // Signals are held back between creating and unlinking it, so an interrupted run cannot leave
  // it behind (issue 8, atomic outputs).
  const std::string staged = temp_name_for(path) + ".staged";
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  impl_->staged = std::fopen(staged.c_str(), "w+b");
  if (impl_->staged) std::remove(staged.c_str());
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!impl_->staged) throw error("file '" + path + "': cannot create a staging file next to it");
}

safetensors_writer::~safetensors_writer() {
  if (impl_ && impl_->staged) std::fclose(impl_->staged);  // already unlinked: closing frees it
}

void safetensors_writer::add(const std::string& name, safetensors_dtype type,
                             const std::vector<std::int64_t>& shape, const void* data,
                             std::size_t bytes) {
  const std::string w = where_tensor(impl_->path, name);
  if (impl_->done) throw error(w + ": the writer is already committed");
  if (name.empty() || name == "__metadata__") throw error(w + ": invalid tensor name");
  if (impl_->header.contains(name)) throw error(w + ": duplicate tensor name");
  const std::int64_t numel = checked_numel(shape, size_of(type), w);
  if (static_cast<std::uint64_t>(numel) * size_of(type) != bytes)
    throw error(w + ": " + std::to_string(bytes) + " bytes given, the shape needs " +
                std::to_string(std::uint64_t(numel) * size_of(type)));
  if (bytes > 0 && std::fwrite(data, 1, bytes, impl_->staged) != bytes)
    throw error(w + ": staging write failed (disk full?)");
  impl_->header[name] = {{"dtype", to_string(type)},
                         {"shape", shape},
                         {"data_offsets", {impl_->offset, impl_->offset + bytes}}};
  impl_->offset += bytes;
}

void safetensors_writer::add(const tensor& t) {
  if (static_cast<std::int64_t>(t.data.size()) != t.numel())
    throw error(where_tensor(impl_->path, t.name) + ": data size does not match the shape");
  add(t.name, safetensors_dtype::f32, t.shape, t.data.data(), t.data.size() * sizeof(float));
}

void safetensors_writer::set_metadata(const std::string& key, const std::string& value) {
  impl_->metadata[key] = value;
}

void safetensors_writer::commit() {
  if (impl_->done) throw error("file '" + impl_->path + "': the writer is already committed");
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!impl_->metadata.empty()) h["__metadata__"] = impl_->metadata;
  for (auto it = impl_->header.begin(); it != impl_->header.end(); ++it) h[it.key()] = it.value();
  std::string text = h.dump();
  // Pad with spaces so that the data buffer starts 8-byte aligned (what the reference writer does).
  while ((8 + text.size()) % 8 != 0) text += ' ';
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(std::uint64_t(text.size()) >> (8 * i));
  atomic_file out(impl_->path);
  out.write(len, 8);
  out.write(text.data(), text.size());
  out.append_file(impl_->staged);
  out.commit();
  impl_->done = true;
}

void write_safetensors(const std::string& path, const std::vector<tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  safetensors_writer w(path);
  for (const auto& [k, v] : metadata) w.set_metadata(k, v);
  for (const tensor& t : tensors) w.add(t);
  w.commit();
}

}  // namespace exmy
