// fuzz/fuzz_onnx.cpp — libFuzzer target for the onnx reader (fuzz_common.hpp says what counts as a finding).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  exmy_fuzz::read_everything(exmy_fuzz::write_input(data, size, ".onnx"));
  return 0;
}
