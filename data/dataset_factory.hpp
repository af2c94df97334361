#pragma once

#include <memory>
#include <string>

#include "core/config/config_types.hpp"
#include "data/dataset.hpp"

namespace wsd {

// The dataset a data config names, for the given split, with data.patch_size and data.limit
// applied. Throws InputError naming the path or file when it cannot be opened.
std::shared_ptr<const Dataset> open_dataset(const DataConfig& config, DataSplit split);

// Image `index` of `dataset` shaped as the loader shapes it (data.channels, data.image_size,
// data.fit) but without random transforms: what evaluation and statistics see.
torch::Tensor evaluation_image(const Dataset& dataset, const DataConfig& config, int64_t index);

// The first `count` samples of another dataset.
class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, int64_t count);
  int64_t size() const override { return count_; }
  Sample get(int64_t index) const override { return base_->get(index); }
  std::string describe() const override;
  std::string sample_name(int64_t index) const override { return base_->sample_name(index); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t count_;
};

}  // namespace wsd
