#include "data/patch_dataset.hpp"

#include <torch/torch.h>

#include "core/util/seeds.hpp"

namespace wsd {

PatchDataset::PatchDataset(std::shared_ptr<const Dataset> base, int64_t patch_size,
                           int64_t per_image, uint64_t seed)
    : base_(std::move(base)), patch_size_(patch_size), per_image_(per_image), seed_(seed) {
  TORCH_CHECK(patch_size_ > 0 && per_image_ > 0, "patch size and count must be positive");
}

Sample PatchDataset::get(int64_t index) const {
  Sample sample = base_->get(index / per_image_);
  const int64_t h = sample.image.size(1), w = sample.image.size(2);
  if (h < patch_size_ || w < patch_size_) {
    throw BadSampleError(base_->sample_name(index / per_image_) + " is " + std::to_string(h) + "x" +
                         std::to_string(w) + ", smaller than data.patch_size " +
                         std::to_string(patch_size_));
  }
  const uint64_t bits = keyed_seed(seed_, static_cast<uint64_t>(index));
  const int64_t top = pick(mix64(bits ^ 0x1ULL), h - patch_size_ + 1);
  const int64_t left = pick(mix64(bits ^ 0x2ULL), w - patch_size_ + 1);
  sample.image = sample.image.narrow(1, top, patch_size_).narrow(2, left, patch_size_).contiguous();
  return sample;
}

std::string PatchDataset::describe() const {
  return base_->describe() + ", " + std::to_string(per_image_) + " patch(es) of " +
         std::to_string(patch_size_) + "x" + std::to_string(patch_size_) + " per image";
}

std::string PatchDataset::sample_name(int64_t index) const {
  return base_->sample_name(index / per_image_) + " patch " + std::to_string(index % per_image_);
}

}  // namespace wsd
