// exmy/ptq/idx.hpp — reader for IDX files (the MNIST / Fashion-MNIST container: big-endian magic
// 0x0000 TT NN with element type TT = 0x08 unsigned byte and NN dimensions, then NN big-endian
// uint32 sizes, then the data), plain or gzip-compressed (.gz, through zlib). Used for calibration
// images (issue 5, "Real data"; shared/notes/real-data-and-libraries.md §2: Debian
// dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/*-ubyte.gz).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace exmy {

/// An unsigned-byte IDX array: images (magic 0x803: count × rows × cols) or labels (0x801: count).
struct idx_array {
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;  ///< product(shape) bytes, row-major
};

/// Reads an IDX file (gzip-compressed when it starts with the gzip magic 1f 8b, whatever its
/// name). Only the unsigned-byte element type (0x08) is supported; a wrong magic, another element
/// type, a truncated file or trailing garbage throws exmy::error naming the file and the problem.
idx_array read_idx(const std::string& path);

}  // namespace exmy
