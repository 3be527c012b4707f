// exmy/ptq/atomic_file.cpp — temp file + fsync + rename.
#include "exmy/ptq/atomic_file.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "exmy/formats/format_spec.hpp"

namespace exmy {

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

atomic_file::atomic_file(const std::string& path) : path_(path), tmp_(temp_name_for(path)) {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_)
    throw error("file '" + path + "': cannot create a temporary file for writing (" +
                std::strerror(errno) + ")");
}

atomic_file::~atomic_file() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void atomic_file::write(const void* data, std::size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, f_) != n)
    throw error("file '" + path_ + "': write failed (" + std::strerror(errno) + ")");
}

void atomic_file::append_file(std::FILE* src) {
  std::fflush(src);
  std::rewind(src);
  std::vector<char> buf(std::size_t{1} << 22);
  std::size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), src)) > 0) write(buf.data(), got);
  if (std::ferror(src)) throw error("file '" + path_ + "': reading the staged data failed");
}

void atomic_file::commit() {
  const bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
  const int e = errno;
  std::fclose(f_);
  f_ = nullptr;
  if (!ok || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    throw error("file '" + path_ + "': cannot complete the write (" + std::strerror(ok ? errno : e) + ")");
  }
}

}  // namespace exmy
