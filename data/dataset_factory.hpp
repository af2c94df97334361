#pragma once

#include <memory>
#include <string>

#include "core/config/config_types.hpp"
#include "data/dataset.hpp"

namespace wsd {

// The dataset a data config names, for the given split, with data.patch_size and data.limit
// applied. The train split leaves out its last data.validation_images images (the validation
// split). Throws InputError naming the path or file when it cannot be opened.
std::shared_ptr<const Dataset> open_dataset(const DataConfig& config, DataSplit split);

// The validation split: the last data.validation_images images of the train split, which
// open_dataset's train split never contains (whole images: no patches, no limit). Throws
// InputError when data.validation_images is 0 or not below the train split's size.
std::shared_ptr<const Dataset> open_validation_dataset(const DataConfig& config);

// Image `index` of `dataset` shaped as the loader shapes it (data.channels, data.image_size,
// data.fit) but without random transforms: what evaluation and statistics see.
torch::Tensor evaluation_image(const Dataset& dataset, const DataConfig& config, int64_t index);

// `count` consecutive samples of another dataset from `first` on.
class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, int64_t count, int64_t first = 0);
  int64_t size() const override { return count_; }
  Sample get(int64_t index) const override { return base_->get(first_ + index); }
  std::string describe() const override;
  std::string sample_name(int64_t index) const override {
    return base_->sample_name(first_ + index);
  }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t count_;
  int64_t first_;
};

}  // namespace wsd
