// exmy/ptq/network.hpp — the example network of the end-to-end PTQ experiment (issue 6, "The
// network and data"): a small graph of float32 ops over NCHW batches, read from a safetensors file
// whose `__metadata__["exmy_graph"]` lists the ops in topological order (written by
// analysis/train_fashion_cnn.py), and its forward pass (im2col + Eigen GEMM, OpenMP over images).
//
// Ops: conv2d (square kernel, stride, zero padding, optional bias), batchnorm (eval: running
// statistics; or batch statistics for BN re-estimation), relu, add, global_avg_pool, linear. The
// computation of one image never depends on the batch it is in or on the thread count, so results
// are reproducible bit for bit on one machine.
//
// Hooks let the PTQ pipeline (fake_quant.hpp) observe or replace the tensor an op consumes and the
// tensor it produces; that is how observers and activation fake-quantization are inserted without
// changing the graph.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "exmy/ptq/tensor.hpp"

namespace exmy {

enum class op_kind : std::uint8_t { conv2d, batchnorm, relu, add, global_avg_pool, linear };
const char* to_string(op_kind k);
/// Parses the graph's op names ("conv2d", "batchnorm", …); throws exmy::error otherwise.
op_kind parse_op_kind(const std::string& s);

/// One op. Inputs are node indices; −1 is the network input.
struct net_node {
  std::string name;
  op_kind op = op_kind::relu;
  std::vector<int> inputs;
  int stride = 1, pad = 0;      ///< conv2d
  tensor weight;                ///< conv2d [out, in, k, k]; linear [out, in]
  std::vector<float> bias;      ///< conv2d / linear (empty: none)
  std::vector<float> gamma, beta, mean, var;  ///< batchnorm (per channel)
  double eps = 1e-5;            ///< batchnorm
  std::vector<std::int64_t> out_shape;  ///< per image: {C, H, W} or {F}
};

/// A feed-forward graph; the output is the last node's.
struct network {
  std::vector<net_node> nodes;
  std::vector<std::int64_t> input_shape;  ///< per image {C, H, W}
  std::string source;                     ///< file it was read from
  /// Index of the node called `name`; throws exmy::error when there is none.
  int find(const std::string& name) const;
  /// Number of classes (the last node's output size).
  std::int64_t outputs() const;
};

/// Reads weights and graph from a safetensors file (see the file header). Shapes are checked and
/// every node's output shape is computed; inconsistencies throw exmy::error naming the node.
network load_network(const std::string& path);

/// Per-consumer activation hook: called with the tensor node `node` is about to read as input
/// `slot` ([B, …]); returns true after writing a replacement into `out` (e.g. a fake-quantized
/// copy; the producer's tensor, which other consumers may read, is left alone).
using input_hook = std::function<bool(int node, int slot, const tensor& in, tensor& out)>;
/// Output hook: called with the tensor node `node` produced; may modify it in place (all
/// consumers then see the modification).
using output_hook = std::function<void(int node, tensor& out)>;

/// Batch statistics of every batchnorm node, gathered when forward_options::batch_stats is set.
struct bn_batch_stats {
  std::vector<int> nodes;                       ///< batchnorm node indices
  std::vector<std::vector<double>> mean, var;   ///< per node, per channel (population variance)
  std::int64_t count = 0;                       ///< values per channel (B·H·W)
};

/// A replacement matrix product C[M×N] = A[M×K]·B[K×N] (row-major float32) for node `node`, e.g.
/// an emulated low-precision GEMM (arith/emulated_gemm.hpp). Called from several threads at once.
using gemm_hook = std::function<void(int node, const float* a, const float* b, float* c,
                                     std::int64_t m, std::int64_t k, std::int64_t n)>;

struct forward_options {
  input_hook on_input;    ///< may be empty
  output_hook on_output;  ///< may be empty
  /// When set, conv2d (weight × im2col columns) and linear (weight × input) use it instead of
  /// Eigen; biases are added afterwards in float32.
  gemm_hook gemm;
  /// When set, batchnorm normalises with the batch's own mean and (population) variance, as
  /// torch's train mode does, and records them here (BN re-estimation).
  bn_batch_stats* batch_stats = nullptr;
};

/// Runs the network on `count` images (float32, row-major [count, C, H, W]) and returns the
/// logits [count, classes]. Parallel over images (OpenMP); results do not depend on the threads.
tensor forward(const network& net, const float* images, std::int64_t count,
               const forward_options& opt = {});

/// Class index with the largest logit of every row (the first on ties, as torch.argmax).
std::vector<int> argmax_rows(const tensor& logits);

/// Folds every batchnorm that directly follows a conv2d whose only consumer it is into that conv
/// (w ← w·γ/√(var+ε) per output channel, b ← (b − mean)·γ/√(var+ε) + β; computed in double,
/// stored as float32) and removes it; consumers of the batchnorm read the conv instead.
network fold_batchnorm(const network& net);

}  // namespace exmy
