// exmy/ptq/image_set.cpp — IDX images and labels as float32 NCHW batches (image_set.hpp).
#include "exmy/ptq/image_set.hpp"

#include <algorithm>

#include "exmy/formats/format_spec.hpp"
#include "exmy/ptq/idx.hpp"

namespace exmy {

image_set load_idx_images(const std::string& images_path, const std::string& labels_path,
                          std::int64_t limit) {
  const idx_array im = read_idx(images_path);
  const idx_array lb = read_idx(labels_path);
  if (im.shape.size() != 3) throw error("file '" + images_path + "': not an IDX image file (rank 3)");
  if (lb.shape.size() != 1) throw error("file '" + labels_path + "': not an IDX label file (rank 1)");
  if (im.shape[0] != lb.shape[0])
    throw error("files '" + images_path + "' and '" + labels_path + "': " +
                std::to_string(im.shape[0]) + " images but " + std::to_string(lb.shape[0]) + " labels");
  image_set s;
  s.count = limit > 0 ? std::min(limit, im.shape[0]) : im.shape[0];
  s.height = im.shape[1];
  s.width = im.shape[2];
  const std::size_t n = std::size_t(s.count * s.image_size());
  s.pixels.resize(n);
  // float(p) / 255.0f: the same single float32 division as torch's tensor.float() / 255.
  for (std::size_t i = 0; i < n; ++i) s.pixels[i] = float(im.data[i]) / 255.0f;
  s.labels.assign(lb.data.begin(), lb.data.begin() + s.count);
  return s;
}

image_set load_fashion_mnist(const std::string& split, const std::string& dir, std::int64_t limit) {
  std::string stem;
  if (split == "train") stem = "train";
  else if (split == "test" || split == "t10k") stem = "t10k";
  else throw error("unknown Fashion-MNIST split '" + split + "' (train, test)");
  return load_idx_images(dir + "/" + stem + "-images-idx3-ubyte.gz",
                         dir + "/" + stem + "-labels-idx1-ubyte.gz", limit);
}

image_set slice(const image_set& s, std::int64_t first, std::int64_t count) {
  if (first < 0 || count < 0 || first + count > s.count)
    throw error("image slice [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") outside a set of " + std::to_string(s.count));
  image_set r;
  r.count = count;
  r.channels = s.channels;
  r.height = s.height;
  r.width = s.width;
  r.pixels.assign(s.image(first), s.image(first) + count * s.image_size());
  r.labels.assign(s.labels.begin() + first, s.labels.begin() + first + count);
  return r;
}

double accuracy(const std::vector<int>& predictions, const std::vector<std::uint8_t>& labels) {
  if (predictions.size() != labels.size())
    throw error("accuracy: " + std::to_string(predictions.size()) + " predictions for " +
                std::to_string(labels.size()) + " labels");
  if (labels.empty()) return 0.0;
  std::size_t ok = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) ok += predictions[i] == int(labels[i]);
  return double(ok) / double(labels.size());
}

}  // namespace exmy
