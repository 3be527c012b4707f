// fuzz/fuzz_network.cpp — libFuzzer target for the example network's graph reader (issue 8):
// load_network on arbitrary safetensors bytes (the graph is JSON in the metadata, the weights are
// tensors; see ptq/network.hpp). exmy::error is the accepted failure. A network that loads must run:
// forward() on two zero images gives [2, outputs] logits without a sanitizer report, when its
// activations are small enough for a fuzzing run (≤ 2^20 floats per image in all).
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "exmy/ptq/network.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = exmy_fuzz::write_input(data, size, ".safetensors");
  exmy::network net;
  try {
    net = exmy::load_network(path);
  } catch (const exmy::error&) {
    return 0;
  }
  // Sizes as load_network computed them (it guarantees positive dimensions that multiply
  // without overflow).
  std::int64_t in = 1, total = 0;
  for (std::int64_t d : net.input_shape) in *= d;
  for (const exmy::net_node& n : net.nodes) {
    std::int64_t p = 1;
    for (std::int64_t d : n.out_shape) p *= d;
    total += p;
  }
  if (in > (1 << 20) || total > (1 << 20)) return 0;
  const std::vector<float> images(std::size_t(2 * in), 0.0f);
  const exmy::tensor logits = exmy::forward(net, images.data(), 2);
  if (logits.shape.size() != 2 || logits.shape[0] != 2 || logits.shape[1] != net.outputs()) std::abort();
  return 0;
}
