#pragma once

#include <string>

#include "data/dataset.hpp"

namespace wsd {

// MNIST / Fashion-MNIST in the IDX format, gzipped or not: `<prefix>-images-idx3-ubyte[.gz]`
// with its `<prefix>-labels-idx1-ubyte[.gz]` beside it when present (prefix "train" or "t10k").
class IdxDataset final : public Dataset {
 public:
  // `directory` holds the files; `split` is "train" or "test". Throws InputError naming the
  // file on a missing file, a wrong magic number or a truncated file.
  IdxDataset(const std::string& directory, const std::string& split);

  int64_t size() const override { return images_.size(0); }
  Sample get(int64_t index) const override;
  std::string describe() const override;
  std::string sample_name(int64_t index) const override;

 private:
  std::string images_path_;
  torch::Tensor images_;  // uint8 [N, H, W]
  torch::Tensor labels_;  // int64 [N] or undefined
};

}  // namespace wsd
