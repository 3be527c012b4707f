// exmy/ptq/network.cpp — graph loading, the float32 forward pass and BatchNorm folding (network.hpp).
#include "exmy/ptq/network.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/tensor_io.hpp"

namespace exmy {
namespace {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// An exception must not leave an OpenMP region (std::terminate), and a gemm_hook can throw (a
// device error of cublas_gemm_hook): the first one thrown in the region is kept and rethrown by
// the calling thread after it.
class first_exception {
 public:
  template <class F>
  void run(F&& f) noexcept {
    try {
      f();
    } catch (...) {
#pragma omp critical(exmy_network_first_exception)
      if (!e_) e_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (e_) std::rethrow_exception(e_);
  }

 private:
  std::exception_ptr e_;
};

std::int64_t product(const std::vector<std::int64_t>& s) {
  std::int64_t n = 1;
  for (std::int64_t d : s) n *= d;
  return n;
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

// The input shape of slot `j` of node `n` (per image).
const std::vector<std::int64_t>& in_shape(const network& net, const net_node& n, std::size_t j) {
  return n.inputs[j] < 0 ? net.input_shape : net.nodes[n.inputs[j]].out_shape;
}

// Checks a node's parameters against its input shape and sets its output shape.
void infer_shape(const network& net, net_node& n) {
  const std::string where = "network '" + net.source + "', node '" + n.name + "'";
  const std::size_t arity = n.op == op_kind::add ? 2 : 1;
  if (n.inputs.size() != arity)
    throw error(where + ": expects " + std::to_string(arity) + " input(s)");
  const auto& s = in_shape(net, n, 0);
  switch (n.op) {
    case op_kind::conv2d: {
      const auto& w = n.weight.shape;
      if (s.size() != 3 || w.size() != 4 || w[1] != s[0] || w[2] != w[3] || n.stride < 1 || n.pad < 0)
        throw error(where + ": conv2d weight " + shape_text(w) + " does not fit input " + shape_text(s));
      if (!n.bias.empty() && std::int64_t(n.bias.size()) != w[0]) throw error(where + ": bias size");
      const std::int64_t k = w[2];
      const std::int64_t ho = (s[1] + 2 * n.pad - k) / n.stride + 1;
      const std::int64_t wo = (s[2] + 2 * n.pad - k) / n.stride + 1;
      if (ho < 1 || wo < 1) throw error(where + ": empty output");
      n.out_shape = {w[0], ho, wo};
      break;
    }
    case op_kind::batchnorm: {
      const std::size_t c = s.empty() ? 0 : std::size_t(s[0]);
      if (n.gamma.size() != c || n.beta.size() != c || n.mean.size() != c || n.var.size() != c)
        throw error(where + ": batchnorm parameters do not match " + std::to_string(c) + " channels");
      n.out_shape = s;
      break;
    }
    case op_kind::relu: n.out_shape = s; break;
    case op_kind::add:
      if (in_shape(net, n, 1) != s) throw error(where + ": add of different shapes");
      n.out_shape = s;
      break;
    case op_kind::global_avg_pool:
      if (s.size() != 3) throw error(where + ": global_avg_pool needs a [C, H, W] input");
      n.out_shape = {s[0]};
      break;
    case op_kind::linear: {
      const auto& w = n.weight.shape;
      if (w.size() != 2 || product(s) != w[1])
        throw error(where + ": linear weight " + shape_text(w) + " does not fit input " + shape_text(s));
      if (!n.bias.empty() && std::int64_t(n.bias.size()) != w[0]) throw error(where + ": bias size");
      n.out_shape = {w[0]};
      break;
    }
  }
}

// 1. im2col of one image ([C, H, W] → [C·k·k, Ho·Wo], zero padding); 2. one GEMM with the
// [Cout, C·k·k] weight; 3. bias. Per image, so the result is independent of the batch.
void conv2d(const net_node& n, const std::vector<std::int64_t>& s, const tensor& in, tensor& out,
            std::int64_t batch, const gemm_hook& gemm, int node) {
  const std::int64_t c = s[0], h = s[1], w = s[2];
  const std::int64_t co = n.out_shape[0], ho = n.out_shape[1], wo = n.out_shape[2];
  const std::int64_t k = n.weight.shape[2], kk = c * k * k, p = ho * wo;
  const Eigen::Map<const row_matrix> wm(n.weight.data.data(), co, kk);
  first_exception hook_error;
#pragma omp parallel
  {
    std::vector<float> col(std::size_t(kk * p));
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < batch; ++b) {
      const float* x = in.data.data() + b * c * h * w;
      for (std::int64_t ci = 0; ci < c; ++ci)
        for (std::int64_t ki = 0; ki < k; ++ki)
          for (std::int64_t kj = 0; kj < k; ++kj) {
            float* row = col.data() + ((ci * k + ki) * k + kj) * p;
            for (std::int64_t oh = 0; oh < ho; ++oh) {
              const std::int64_t ih = oh * n.stride - n.pad + ki;
              float* r = row + oh * wo;
              if (ih < 0 || ih >= h) {
                std::fill(r, r + wo, 0.0f);
                continue;
              }
              const float* xr = x + (ci * h + ih) * w;
              for (std::int64_t ow = 0; ow < wo; ++ow) {
                const std::int64_t iw = ow * n.stride - n.pad + kj;
                r[ow] = (iw >= 0 && iw < w) ? xr[iw] : 0.0f;
              }
            }
          }
      Eigen::Map<row_matrix> om(out.data.data() + b * co * p, co, p);
      if (gemm)
        hook_error.run(
            [&] { gemm(node, n.weight.data.data(), col.data(), out.data.data() + b * co * p, co, kk, p); });
      else
        om.noalias() = wm * Eigen::Map<const row_matrix>(col.data(), kk, p);
      if (!n.bias.empty())
        for (std::int64_t o = 0; o < co; ++o) om.row(o).array() += n.bias[std::size_t(o)];
    }
  }
  hook_error.rethrow();
}

// Eval mode: y = x·a + b with a = γ/√(var+ε), b = β − mean·a (a, b computed in double, applied
// in float32). Batch mode: the same with the batch's mean and population variance, recorded.
void batchnorm(const net_node& n, const tensor& in, tensor& out, std::int64_t batch,
               bn_batch_stats* stats, int node_index) {
  const std::int64_t c = n.out_shape[0], hw = product(n.out_shape) / c;
  std::vector<double> mean(n.mean.begin(), n.mean.end()), var(n.var.begin(), n.var.end());
  if (stats) {
    // Two passes in double per channel over the whole batch (fixed order: images, then pixels).
    for (std::int64_t ch = 0; ch < c; ++ch) {
      double sum = 0;
      for (std::int64_t b = 0; b < batch; ++b) {
        const float* x = in.data.data() + (b * c + ch) * hw;
        for (std::int64_t i = 0; i < hw; ++i) sum += x[i];
      }
      const double m = sum / double(batch * hw);
      double sq = 0;
      for (std::int64_t b = 0; b < batch; ++b) {
        const float* x = in.data.data() + (b * c + ch) * hw;
        for (std::int64_t i = 0; i < hw; ++i) sq += (x[i] - m) * (x[i] - m);
      }
      mean[std::size_t(ch)] = m;
      var[std::size_t(ch)] = sq / double(batch * hw);
    }
    stats->nodes.push_back(node_index);
    stats->mean.push_back(mean);
    stats->var.push_back(var);
    stats->count = batch * hw;
  }
  std::vector<float> a(static_cast<std::size_t>(c)), sh(static_cast<std::size_t>(c));
  for (std::size_t ch = 0; ch < std::size_t(c); ++ch) {
    const double inv = 1.0 / std::sqrt(var[ch] + n.eps);
    a[ch] = float(double(n.gamma[ch]) * inv);
    sh[ch] = float(double(n.beta[ch]) - mean[ch] * double(n.gamma[ch]) * inv);
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const float* x = in.data.data() + (b * c + ch) * hw;
      float* y = out.data.data() + (b * c + ch) * hw;
      for (std::int64_t i = 0; i < hw; ++i) y[i] = x[i] * a[std::size_t(ch)] + sh[std::size_t(ch)];
    }
}

}  // namespace

const char* to_string(op_kind k) {
  switch (k) {
    case op_kind::conv2d: return "conv2d";
    case op_kind::batchnorm: return "batchnorm";
    case op_kind::relu: return "relu";
    case op_kind::add: return "add";
    case op_kind::global_avg_pool: return "global_avg_pool";
    case op_kind::linear: return "linear";
  }
  return "?";
}

op_kind parse_op_kind(const std::string& s) {
  for (op_kind k : {op_kind::conv2d, op_kind::batchnorm, op_kind::relu, op_kind::add,
                    op_kind::global_avg_pool, op_kind::linear})
    if (s == to_string(k)) return k;
  throw error("unknown op '" + s + "' (conv2d, batchnorm, relu, add, global_avg_pool, linear)");
}

int network::find(const std::string& name) const {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return int(i);
  throw error("network '" + source + "' has no node '" + name + "'");
}

std::int64_t network::outputs() const { return nodes.empty() ? 0 : product(nodes.back().out_shape); }

network load_network(const std::string& path) {
  network net;
  net.source = path;
  const auto meta = read_safetensors_metadata(path);
  const auto g = meta.find("exmy_graph");
  const auto is = meta.find("input_shape");
  if (g == meta.end() || is == meta.end())
    throw error("network '" + path + "': no exmy_graph / input_shape in the safetensors metadata");
  std::map<std::string, tensor> weights;
  for (tensor& t : read_tensors(path)) weights[t.name] = std::move(t);
  const auto get = [&](const std::string& name) -> tensor& {
    auto it = weights.find(name);
    if (it == weights.end()) throw error("network '" + path + "': missing tensor '" + name + "'");
    return it->second;
  };
  nlohmann::json graph;
  try {
    graph = nlohmann::json::parse(g->second);
    net.input_shape = nlohmann::json::parse(is->second).get<std::vector<std::int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw error("network '" + path + "': bad graph metadata (" + e.what() + ")");
  }
  std::map<std::string, int> index{{"input", -1}};
  for (const auto& j : graph) {
    net_node n;
    try {
      n.name = j.at("name").get<std::string>();
      n.op = parse_op_kind(j.at("op").get<std::string>());
      for (const auto& in : j.at("inputs")) {
        const auto it = index.find(in.get<std::string>());
        if (it == index.end())
          throw error("network '" + path + "', node '" + n.name + "': unknown input '" +
                      in.get<std::string>() + "'");
        n.inputs.push_back(it->second);
      }
      if (n.op == op_kind::conv2d || n.op == op_kind::linear) {
        n.weight = get(j.at("weight").get<std::string>());
        if (j.contains("bias")) n.bias = get(j.at("bias").get<std::string>()).data;
        n.stride = j.value("stride", 1);
        n.pad = j.value("pad", 0);
      } else if (n.op == op_kind::batchnorm) {
        const std::string p = j.at("prefix").get<std::string>();
        n.gamma = get(p + ".weight").data;
        n.beta = get(p + ".bias").data;
        n.mean = get(p + ".running_mean").data;
        n.var = get(p + ".running_var").data;
        n.eps = j.value("eps", 1e-5);
      }
    } catch (const nlohmann::json::exception& e) {
      throw error("network '" + path + "': bad graph entry (" + e.what() + ")");
    }
    if (index.count(n.name)) throw error("network '" + path + "': duplicate node '" + n.name + "'");
    index[n.name] = int(net.nodes.size());
    net.nodes.push_back(std::move(n));
    infer_shape(net, net.nodes.back());
  }
  if (net.nodes.empty()) throw error("network '" + path + "': empty graph");
  return net;
}

tensor forward(const network& net, const float* images, std::int64_t count,
               const forward_options& opt) {
  const std::size_t nn = net.nodes.size();
  // Consumers left per node: a node's output is freed after its last reader.
  std::vector<int> readers(nn, 0);
  for (const auto& n : net.nodes)
    for (int s : n.inputs)
      if (s >= 0) ++readers[std::size_t(s)];
  tensor input;
  input.name = "input";
  input.shape = {count};
  input.shape.insert(input.shape.end(), net.input_shape.begin(), net.input_shape.end());
  input.data.assign(images, images + count * product(net.input_shape));

  std::vector<tensor> outs(nn);
  for (std::size_t i = 0; i < nn; ++i) {
    const net_node& n = net.nodes[i];
    // Inputs, possibly replaced by the hook (a private copy for this consumer).
    tensor repl[2];
    const tensor* in[2] = {nullptr, nullptr};
    for (std::size_t j = 0; j < n.inputs.size(); ++j) {
      const tensor& src = n.inputs[j] < 0 ? input : outs[std::size_t(n.inputs[j])];
      in[j] = (opt.on_input && opt.on_input(int(i), int(j), src, repl[j])) ? &repl[j] : &src;
    }
    tensor& out = outs[i];
    out.name = n.name;
    out.shape = {count};
    out.shape.insert(out.shape.end(), n.out_shape.begin(), n.out_shape.end());
    out.data.assign(std::size_t(count * product(n.out_shape)), 0.0f);
    const std::int64_t per = product(n.out_shape);
    switch (n.op) {
      case op_kind::conv2d: conv2d(n, in_shape(net, n, 0), *in[0], out, count, opt.gemm, int(i)); break;
      case op_kind::batchnorm: batchnorm(n, *in[0], out, count, opt.batch_stats, int(i)); break;
      case op_kind::relu: {
        const float* x = in[0]->data.data();
        float* y = out.data.data();
        const std::int64_t total = count * per;
#pragma omp parallel for schedule(static)
        for (std::int64_t e = 0; e < total; ++e) y[e] = x[e] > 0.0f ? x[e] : 0.0f;
        break;
      }
      case op_kind::add: {
        const float* a = in[0]->data.data();
        const float* b = in[1]->data.data();
        float* y = out.data.data();
        const std::int64_t total = count * per;
#pragma omp parallel for schedule(static)
        for (std::int64_t e = 0; e < total; ++e) y[e] = a[e] + b[e];
        break;
      }
      case op_kind::global_avg_pool: {
        const auto& s = in_shape(net, n, 0);
        const std::int64_t c = s[0], hw = s[1] * s[2];
#pragma omp parallel for schedule(static)
        for (std::int64_t b = 0; b < count; ++b)
          for (std::int64_t ch = 0; ch < c; ++ch) {
            const float* x = in[0]->data.data() + (b * c + ch) * hw;
            double sum = 0;
            for (std::int64_t e = 0; e < hw; ++e) sum += x[e];
            out.data[std::size_t(b * c + ch)] = float(sum / double(hw));
          }
        break;
      }
      case op_kind::linear: {
        const std::int64_t o = n.weight.shape[0], k = n.weight.shape[1];
        const Eigen::Map<const row_matrix> wm(n.weight.data.data(), o, k);
        // One matrix-vector product per image (batch-independent summation order).
        first_exception hook_error;
#pragma omp parallel for schedule(static)
        for (std::int64_t b = 0; b < count; ++b) {
          Eigen::Map<Eigen::VectorXf> y(out.data.data() + b * o, o);
          if (opt.gemm)
            hook_error.run([&] {
              opt.gemm(int(i), n.weight.data.data(), in[0]->data.data() + b * k, y.data(), o, k, 1);
            });
          else
            y.noalias() = wm * Eigen::Map<const Eigen::VectorXf>(in[0]->data.data() + b * k, k);
          if (!n.bias.empty())
            for (std::int64_t r = 0; r < o; ++r) y[r] += n.bias[std::size_t(r)];
        }
        hook_error.rethrow();
        break;
      }
    }
    if (opt.on_output) opt.on_output(int(i), out);
    for (int s : n.inputs)
      if (s >= 0 && --readers[std::size_t(s)] == 0 && std::size_t(s) + 1 != nn) {
        outs[std::size_t(s)].data.clear();
        outs[std::size_t(s)].data.shrink_to_fit();
      }
  }
  return std::move(outs.back());
}

std::vector<int> argmax_rows(const tensor& logits) {
  const std::int64_t rows = logits.shape.empty() ? 0 : logits.shape[0];
  const std::int64_t cols = rows ? logits.numel() / rows : 0;
  std::vector<int> r(std::size_t(rows), 0);
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* z = logits.data.data() + i * cols;
    int best = 0;
    for (std::int64_t c = 1; c < cols; ++c)
      if (z[c] > z[best]) best = int(c);
    r[std::size_t(i)] = best;
  }
  return r;
}

network fold_batchnorm(const network& net) {
  const std::size_t nn = net.nodes.size();
  std::vector<int> readers(nn, 0);
  for (const auto& n : net.nodes)
    for (int s : n.inputs)
      if (s >= 0) ++readers[std::size_t(s)];
  network out;
  out.input_shape = net.input_shape;
  out.source = net.source;
  std::vector<int> remap(nn, -1);  // old index → new index
  for (std::size_t i = 0; i < nn; ++i) {
    const net_node& n = net.nodes[i];
    const int src = n.inputs.empty() ? -1 : n.inputs[0];
    if (n.op == op_kind::batchnorm && src >= 0 && net.nodes[std::size_t(src)].op == op_kind::conv2d &&
        readers[std::size_t(src)] == 1) {
      net_node& conv = out.nodes[std::size_t(remap[std::size_t(src)])];
      const std::int64_t co = conv.weight.shape[0], per = conv.weight.numel() / co;
      if (conv.bias.empty()) conv.bias.assign(std::size_t(co), 0.0f);
      for (std::int64_t o = 0; o < co; ++o) {
        const std::size_t c = std::size_t(o);
        const double a = double(n.gamma[c]) / std::sqrt(double(n.var[c]) + n.eps);
        for (std::int64_t e = 0; e < per; ++e) {
          float& w = conv.weight.data[std::size_t(o * per + e)];
          w = float(double(w) * a);
        }
        conv.bias[c] = float((double(conv.bias[c]) - double(n.mean[c])) * a + double(n.beta[c]));
      }
      remap[i] = remap[std::size_t(src)];
      continue;
    }
    net_node m = n;
    for (int& s : m.inputs)
      if (s >= 0) s = remap[std::size_t(s)];
    remap[i] = int(out.nodes.size());
    out.nodes.push_back(std::move(m));
  }
  return out;
}

}  // namespace exmy
