// fuzz/fuzz_idx.cpp — libFuzzer target for the IDX reader (plain and gzip input).
#include "exmy/ptq/idx.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const exmy::idx_array a = exmy::read_idx(exmy_fuzz::write_input(data, size, ".idx"));
    std::int64_t n = 1;
    for (std::int64_t d : a.shape) n *= d;
    if (static_cast<std::int64_t>(a.data.size()) != n) abort();
  } catch (const exmy::error&) {
  }
  return 0;
}
