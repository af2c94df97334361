#pragma once

#include <memory>
#include <string>

#include "data/dataset.hpp"

namespace wsd {

// A fixed set of square patches cut from the images of another dataset: sample i is patch
// i % per_image of image i / per_image, at a position drawn from (seed, i) alone, so the set is
// the same in every run, epoch and loader thread (e.g. natural-image patches from a folder of
// photos, or tiles of large microscopy images).
class PatchDataset final : public Dataset {
 public:
  PatchDataset(std::shared_ptr<const Dataset> base, int64_t patch_size, int64_t per_image,
               uint64_t seed);

  int64_t size() const override { return base_->size() * per_image_; }
  // BadSampleError when the image is smaller than a patch.
  Sample get(int64_t index) const override;
  std::string describe() const override;
  std::string sample_name(int64_t index) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t patch_size_, per_image_;
  uint64_t seed_;
};

}  // namespace wsd
