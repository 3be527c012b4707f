// fuzz/fuzz_npz.cpp — libFuzzer target for the npz reader (fuzz_common.hpp says what counts as a finding).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  exmy_fuzz::read_everything(exmy_fuzz::write_input(data, size, ".npz"));
  return 0;
}
