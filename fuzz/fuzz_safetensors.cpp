// fuzz/fuzz_safetensors.cpp — libFuzzer target for the safetensors reader and the code-file
// reader (fuzz_common.hpp says what counts as a finding).
#include "exmy/ptq/codes.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = exmy_fuzz::write_input(data, size, ".safetensors");
  exmy_fuzz::read_everything(path);
  try {  // the code-export layout (metadata-driven) on the same bytes
    for (const exmy::code_tensor& c : exmy::read_codes(path)) (void)exmy::decode_codes(c);
  } catch (const exmy::error&) {
  }
  return 0;
}
