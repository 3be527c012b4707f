// exmy/ptq/mapped_file.hpp — a read-only memory map of a whole file (POSIX mmap), the way the
// tensor readers reach `.npy`, `.npz` and safetensors data without reading a model into memory
// (issue 5, "Models larger than memory"). Pages are loaded on first touch and can be dropped by
// the kernel again, so only the tensor being converted occupies memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace exmy {

/// A read-only mapping of one regular file. Move-only; unmaps on destruction.
class mapped_file {
 public:
  mapped_file() = default;
  /// Maps `path`; throws exmy::error ("file 'p': cannot open …") when it is missing, not a regular
  /// file or cannot be mapped. An empty file gives size() == 0 and data() == nullptr.
  explicit mapped_file(const std::string& path);
  ~mapped_file();
  mapped_file(mapped_file&& o) noexcept;
  mapped_file& operator=(mapped_file&& o) noexcept;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  /// Hints that [offset, offset + n) is about to be read sequentially (madvise).
  void will_need(std::size_t offset, std::size_t n) const;

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace exmy
