// fuzz/fuzz_common.hpp — shared body of the libFuzzer targets (issue 5, "Bad input": a libFuzzer
// target per reader). Each input is written to a file in a private temporary directory (the
// readers work on paths and memory maps) and read completely; exmy::error is the expected outcome
// for damaged input, anything else — a crash, a sanitizer report, another exception, an
// allocation beyond -malloc_limit_mb — is a finding.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/tensor_io.hpp"

namespace exmy_fuzz {

/// A directory of this process (mkdtemp under $TMPDIR, which run_fuzz.sh points into the build
/// directory), so that ONNX external-data locations resolve inside it.
inline const std::string& work_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/exmy-fuzz-XXXXXX";
    const char* d = mkdtemp(&tmpl[0]);
    return std::string(d ? d : "/tmp");
  }();
  return dir;
}

/// Writes the input to work_dir()/input<ext> and returns the path.
inline std::string write_input(const std::uint8_t* data, std::size_t size, const char* ext) {
  const std::string path = work_dir() + "/input" + ext;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) abort();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

/// Lists and converts every tensor of the file; exmy::error is the accepted failure.
inline void read_everything(const std::string& path) {
  try {
    (void)exmy::list_tensor_info(path);
    exmy::for_each_tensor(path, [](exmy::tensor&& t) {
      if (static_cast<std::int64_t>(t.data.size()) != t.numel()) abort();  // reader contract
    });
    // The zero-copy path: touch the first and last value of every view.
    volatile float sink = 0;
    exmy::for_each_tensor_view(path, [&](const exmy::tensor_view& v) {
      if (v.size) sink = v.data[0] + v.data[v.size - 1];
    });
  } catch (const exmy::error&) {
  }
}

}  // namespace exmy_fuzz
