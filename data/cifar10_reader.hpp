#pragma once

#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace wsd {

// CIFAR-10 in its binary release: records of 1 label byte + 3072 pixel bytes (32x32, channel
// planar: all of R, then G, then B). `path` is the cifar-10-batches-bin directory (split train:
// data_batch_*.bin in numeric order; test: test_batch.bin) or one .bin file of records.
class Cifar10Dataset final : public Dataset {
 public:
  // Throws InputError naming the file for a missing file, a size that is not a whole number of
  // records (truncated, or another format such as CIFAR-100) or a label outside 0-9.
  Cifar10Dataset(const std::string& path, const std::string& split);

  int64_t size() const override { return images_.size(0); }
  Sample get(int64_t index) const override;
  std::string describe() const override;
  std::string sample_name(int64_t index) const override;

  static constexpr int64_t kRecordBytes = 1 + 3 * 32 * 32;

 private:
  struct Part {
    std::string path;
    int64_t first = 0;  // index of its first record in the dataset
  };
  std::vector<Part> parts_;
  torch::Tensor images_;  // uint8 [N, 3, 32, 32]
  torch::Tensor labels_;  // int64 [N]
};

}  // namespace wsd
