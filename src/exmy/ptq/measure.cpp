// exmy/ptq/measure.cpp — chunked, device-neutral fused error pass (see measure.hpp).
#include "exmy/ptq/measure.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "exmy/formats/format_spec.hpp"
#include "exmy/quantize/quantize_cuda.hpp"

namespace exmy {
namespace {

struct chunk_ref {
  std::int64_t offset, count;
  std::size_t group;
};

// Chunks in group order; produced a batch at a time so that memory stays bounded for models
// with millions of small groups.
class chunker {
 public:
  chunker(const std::vector<std::int64_t>& offsets, std::size_t chunk)
      : off_(offsets), chunk_(static_cast<std::int64_t>(std::max<std::size_t>(chunk, 1))) {}
  /// Fills `out` with up to `max` chunks; false when nothing is left.
  bool next(std::vector<chunk_ref>& out, std::size_t max) {
    out.clear();
    while (out.size() < max && g_ + 1 < off_.size()) {
      const std::int64_t end = off_[g_ + 1];
      if (pos_ < off_[g_]) pos_ = off_[g_];
      if (pos_ >= end) {
        ++g_;
        continue;
      }
      const std::int64_t len = std::min(chunk_, end - pos_);
      out.push_back({pos_, len, g_});
      pos_ += len;
    }
    return !out.empty();
  }

 private:
  const std::vector<std::int64_t>& off_;
  std::int64_t chunk_;
  std::size_t g_ = 0;
  std::int64_t pos_ = 0;
};

constexpr std::size_t k_batch = 4096;  // chunks evaluated between two folds
constexpr std::int64_t k_parallel_work = std::int64_t{1} << 18;  // element evaluations

}  // namespace

device_spec parse_device(const std::string& s) {
  device_spec d;
  if (s == "cpu") return d;
  if (s == "cuda") {
    d.kind = device_kind::cuda;
    return d;
  }
  if (s.rfind("cuda:", 0) == 0) {
    const std::string t = s.substr(5);
    const bool digits = !t.empty() && t.size() <= 4 &&
                        std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      d.kind = device_kind::cuda;
      d.index = std::stoi(t);
      return d;
    }
  }
  throw error("unknown device '" + s + "': expected cpu, cuda or cuda:N");
}

std::string to_string(const device_spec& d) {
  if (d.kind == device_kind::cpu) return "cpu";
  return d.index < 0 ? "cuda" : "cuda:" + std::to_string(d.index);
}

void require_device(const device_spec& d) {
  if (d.kind == device_kind::cpu) return;
  if (!cuda_available()) {
    const std::string why = cuda_status();
    throw error(why.rfind("no CUDA device", 0) == 0 ? why : "no CUDA device: " + why);
  }
}

void accumulate(error_stats& a, const error_stats& b) {
  a.sum_sq_err += b.sum_sq_err;
  a.sum_sq += b.sum_sq;
  a.sum_x_err += b.sum_x_err;
  a.sum_err += b.sum_err;
  a.sum_x += b.sum_x;
  a.max_abs_err = std::max(a.max_abs_err, b.max_abs_err);
  a.count += b.count;
  a.clipped += b.clipped;
  a.flushed += b.flushed;
  a.nan_count += b.nan_count;
  a.inf_count += b.inf_count;
}

std::vector<error_stats> measure_groups(const float* data, const std::vector<std::int64_t>& offsets,
                                        const std::vector<std::vector<quant_params>>& params,
                                        const quantize_options& opt, const device_spec& dev,
                                        std::size_t chunk) {
  const std::size_t F = params.size();
  const std::size_t G = offsets.empty() ? 0 : offsets.size() - 1;
  for (const auto& p : params)
    if (p.size() != G)
      throw error("measure: " + std::to_string(p.size()) + " parameter sets for " +
                  std::to_string(G) + " groups");
  if (dev.kind == device_kind::cuda) require_device(dev);
  const int cuda_index = dev.kind == device_kind::cuda ? cuda_select_device(dev.index) : -1;
  // Checked once here: inside the loops a throw would have to cross an OpenMP region.
  for (const auto& pf : params)
    for (const quant_params& p : pf) require_float32_range(p, "measure (float32 data)");

  std::vector<error_stats> total(F);
  std::vector<chunk_ref> batch;
  std::vector<error_stats> part;
  chunker ch(offsets, chunk);
  while (ch.next(batch, k_batch)) {
    part.assign(batch.size() * F, error_stats{});
    if (dev.kind == device_kind::cpu) {
      // Threads only pay off with enough work (idle OpenMP threads spin on a busy machine).
      std::int64_t work = 0;
      for (const chunk_ref& r : batch) work += r.count;
      const bool par = work * static_cast<std::int64_t>(F) >= k_parallel_work;
#pragma omp parallel for schedule(dynamic, 1) if (par)
      for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(batch.size()); ++c) {
        const chunk_ref& r = batch[static_cast<std::size_t>(c)];
        quantize_options o = opt;
        o.threads = 1;
        o.offset = static_cast<std::uint64_t>(r.offset);
        for (std::size_t f = 0; f < F; ++f)
          part[static_cast<std::size_t>(c) * F + f] =
              quantize_error(data + r.offset, static_cast<std::size_t>(r.count), params[f][r.group], o);
      }
    } else {
      for (std::size_t c = 0; c < batch.size(); ++c) {
        const chunk_ref& r = batch[c];
        quantize_options o = opt;
        o.offset = static_cast<std::uint64_t>(r.offset);
        for (std::size_t f = 0; f < F; ++f)
          part[c * F + f] = quantize_error_cuda(data + r.offset, static_cast<std::size_t>(r.count),
                                                params[f][r.group], o, cuda_index);
      }
    }
    for (std::size_t c = 0; c < batch.size(); ++c)
      for (std::size_t f = 0; f < F; ++f) accumulate(total[f], part[c * F + f]);
  }
  return total;
}

}  // namespace exmy
