// exmy/ptq/measure.hpp — the measurement pass of the PTQ harness (issue 5, "Format choice" and
// "Performance"): error statistics of group-ordered data under per-group parameters for several
// formats at once, on the CPU or a CUDA device, with the same bits on both.
//
// Every group is cut into chunks of at most `chunk` elements. On the CPU one thread takes a chunk
// and runs the fused pass (quantize_error) for every format while the chunk is in cache, so the
// tensor is read from memory once for all formats. On CUDA each (chunk, format) is one
// quantize_error_cuda call. Either way the per-chunk statistics are folded in chunk order, and the
// drivers guarantee that a chunk's statistics are bit-identical on both (quantize_cuda.hpp), so the
// totals — and every SQNR derived from them — are too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exmy/quantize/params.hpp"
#include "exmy/quantize/quantize_cpu.hpp"

namespace exmy {

enum class device_kind : std::uint8_t { cpu, cuda };

/// Where the measurement runs. index < 0 with cuda: the least-loaded CUDA device
/// (cuda_select_device: the most free memory).
struct device_spec {
  device_kind kind = device_kind::cpu;
  int index = -1;
};

/// Parses "cpu", "cuda" or "cuda:N"; throws exmy::error otherwise.
device_spec parse_device(const std::string& s);
std::string to_string(const device_spec& d);
/// Throws exmy::error "no CUDA device: …" when a CUDA device is asked for and none is usable.
void require_device(const device_spec& d);

/// Adds b's sums and counts to a (max for max_abs_err): the fold of the harness.
void accumulate(error_stats& a, const error_stats& b);

/// Default chunk length: 64 Ki floats = 256 KiB, resident in a 1 MiB L2 cache.
constexpr std::size_t default_chunk = std::size_t{1} << 16;

/// Statistics per format of data[0 … offsets.back()): group g ([offsets[g], offsets[g+1])) is
/// quantized with params[f][g] for format f (params[f].size() == groups). opt.threads and
/// opt.offset are ignored (each chunk passes its own offset: its position in `data`, the counter
/// of stochastic rounding). Results do not depend on threads or device.
std::vector<error_stats> measure_groups(const float* data, const std::vector<std::int64_t>& offsets,
                                        const std::vector<std::vector<quant_params>>& params,
                                        const quantize_options& opt, const device_spec& dev,
                                        std::size_t chunk = default_chunk);

}  // namespace exmy
