// exmy/ptq/atomic_file.hpp — an output file that appears under its final name only when complete:
// written to a temporary file in the same directory, flushed, fsync'ed and renamed (rename(2) is
// atomic within a file system). Used by every tensor writer (issue 5: "atomic write: temp file +
// rename"). A run killed by SIGINT/SIGTERM/SIGHUP leaves no temporary file behind once
// remove_temp_files_on_signal() is installed (issue 8, "atomic outputs"): the handler deletes the
// temporary file of every live atomic_file and then dies of the signal.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace exmy {

/// A file being written atomically. Destroying it before commit() removes the temporary file.
class atomic_file {
 public:
  /// Creates "<path>.tmp-<pid>-<n>" next to `path`; throws exmy::error when it cannot.
  explicit atomic_file(const std::string& path);
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  /// Appends bytes; throws exmy::error on a write failure (disk full …).
  void write(const void* data, std::size_t n);
  /// Appends the whole content of another open file (read from its start).
  void append_file(std::FILE* src);
  /// Flushes, syncs and renames the file into place.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  int slot_ = -1;  ///< its entry in the signal handler's list of temporary files
};

/// A unique temporary name next to `path` ("<path>.tmp-<pid>-<n>").
std::string temp_name_for(const std::string& path);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that unlink the temporary file of every live
/// atomic_file and re-raise the signal with its default action (so the exit status still says
/// which signal ended the run). The command-line tools call it first thing.
void remove_temp_files_on_signal();

}  // namespace exmy
