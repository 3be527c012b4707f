// exmy/ptq/npy.cpp — the `.npy` file reader: one memory-mapped tensor named after the file's stem.
#include <cstdint>
#include <cstring>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/mapped_file.hpp"
#include "exmy/ptq/npy_format.hpp"
#include "exmy/ptq/tensor_source.hpp"

namespace exmy {
namespace {

std::string stem_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::size_t dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base.resize(dot);
  return base;
}

class npy_source final : public tensor_source {
 public:
  explicit npy_source(const std::string& path) : file_(path) {
    header_ = parse_npy_header(file_.data(), file_.size(), where_file(path));
    header_.info.name = stem_of(path);
    // The data must be present in full: a header that promises more than the file holds is a
    // truncated file (checked before any allocation).
    const std::uint64_t avail = file_.size() - header_.data_offset;
    if (header_.info.supported && header_.data_bytes > avail)
      throw error(where_file(path) + ": truncated: the header's shape needs " +
                  std::to_string(header_.data_bytes) + " data bytes, the file holds " +
                  std::to_string(avail));
    infos_.push_back(header_.info);
  }
  const std::vector<tensor_info>& list() const override { return infos_; }
  void read_into(std::size_t, tensor& t) override {
    t.name = header_.info.name;
    t.shape = header_.info.shape;
    t.source = header_.info.source;
    const std::size_t n = static_cast<std::size_t>(header_.info.numel());
    t.data.resize(n);
    const unsigned char* src = file_.data() + header_.data_offset;
    file_.will_need(header_.data_offset, header_.data_bytes);
    if (header_.fortran_order)
      convert_fortran_to_c(src, t.shape, t.source, header_.big_endian, t.data.data());
    else
      convert_to_float(src, n, t.source, header_.big_endian, t.data.data());
  }

  const float* view(std::size_t index, tensor& scratch) override {
    const unsigned char* src = file_.data() + header_.data_offset;
    if (header_.info.source == dtype::f32 && !header_.big_endian && !header_.fortran_order &&
        reinterpret_cast<std::uintptr_t>(src) % alignof(float) == 0) {
      file_.will_need(header_.data_offset, header_.data_bytes);
      return reinterpret_cast<const float*>(src);
    }
    return tensor_source::view(index, scratch);
  }

 private:
  mapped_file file_;
  npy_header header_;
  std::vector<tensor_info> infos_;
};

}  // namespace

std::unique_ptr<tensor_source> open_npy(const std::string& path) {
  return std::make_unique<npy_source>(path);
}

}  // namespace exmy
