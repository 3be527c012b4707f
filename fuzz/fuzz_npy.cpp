// fuzz/fuzz_npy.cpp — libFuzzer target for the npy reader (fuzz_common.hpp says what counts as a finding).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  exmy_fuzz::read_everything(exmy_fuzz::write_input(data, size, ".npy"));
  return 0;
}
