// exmy/ptq/image_set.hpp — labelled image sets for the end-to-end PTQ experiment (issue 6, "The
// network and data"): IDX image and label files (idx.hpp) turned into float32 NCHW images scaled
// by 1/255, exactly as analysis/train_fashion_cnn.py feeds them to the network (float(p) / 255 in
// float32, one correctly rounded division).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace exmy {

/// Where Debian's dataset-fashion-mnist installs the IDX files.
inline constexpr const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// Images [count, channels, height, width] in float32 with their class labels.
struct image_set {
  std::int64_t count = 0, channels = 1, height = 0, width = 0;
  std::vector<float> pixels;          ///< count·channels·height·width values in [0, 1]
  std::vector<std::uint8_t> labels;   ///< count labels
  /// Values per image.
  std::int64_t image_size() const { return channels * height * width; }
  /// Pointer to image i.
  const float* image(std::int64_t i) const { return pixels.data() + i * image_size(); }
};

/// Reads an IDX image file (count × rows × cols, unsigned bytes) and its label file; keeps the
/// first `limit` images when limit > 0. Throws exmy::error when the counts disagree.
image_set load_idx_images(const std::string& images_path, const std::string& labels_path,
                          std::int64_t limit = 0);

/// Fashion-MNIST split "train" (60000 images) or "test" (10000, files t10k-*) from `dir`.
image_set load_fashion_mnist(const std::string& split, const std::string& dir = fashion_mnist_dir,
                             std::int64_t limit = 0);

/// Images [first, first + count) of a set (labels included).
image_set slice(const image_set& s, std::int64_t first, std::int64_t count);

/// Fraction of rows whose prediction equals the label.
double accuracy(const std::vector<int>& predictions, const std::vector<std::uint8_t>& labels);

}  // namespace exmy
