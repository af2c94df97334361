#include "data/batch_loader.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/util/errors.hpp"
#include "data/transforms.hpp"

namespace wsd {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: decorrelates nearby seeds
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  auto gen =
      at::make_generator<at::CPUGeneratorImpl>(mix(seed ^ mix(static_cast<uint64_t>(epoch))));
  const auto perm = torch::randperm(n, gen, torch::kInt64);
  const int64_t* p = perm.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + n);
}

}  // namespace

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  const int64_t global_batch = options_.batch_size * options_.world_size;
  batches_per_epoch_ = dataset_->size() / global_batch;
  if (batches_per_epoch_ == 0) {
    throw InputError(dataset_->describe() + " has " + std::to_string(dataset_->size()) +
                     " images, fewer than one global batch of " + std::to_string(global_batch));
  }
  start_epoch(0);
}

void BatchLoader::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  position_ = 0;
  const auto perm = epoch_permutation(dataset_->size(), options_.seed, epoch);
  const int64_t used = batches_per_epoch_ * options_.batch_size * options_.world_size;
  order_.clear();
  for (int64_t i = options_.rank; i < used; i += options_.world_size) order_.push_back(perm[i]);
}

void BatchLoader::seek(int64_t epoch, int64_t position) {
  TORCH_CHECK(position >= 0 && position <= batches_per_epoch_, "loader position out of range");
  start_epoch(epoch);
  position_ = position;
}

std::vector<int64_t> BatchLoader::batch_indices(int64_t epoch, int64_t position) const {
  std::vector<int64_t> order = order_;
  if (epoch != epoch_) {
    BatchLoader other(*this);
    other.start_epoch(epoch);
    order = other.order_;
  }
  const auto begin = order.begin() + position * options_.batch_size;
  return std::vector<int64_t>(begin, begin + options_.batch_size);
}

torch::Tensor BatchLoader::next() {
  if (position_ == batches_per_epoch_) start_epoch(epoch_ + 1);
  std::vector<torch::Tensor> images;
  images.reserve(static_cast<size_t>(options_.batch_size));
  for (int64_t b = 0; b < options_.batch_size; ++b) {
    const int64_t index = order_[static_cast<size_t>(position_ * options_.batch_size + b)];
    auto image = to_channels(fit_to_size(dataset_->get(index).image, options_.image_size),
                             options_.channels);
    // The flip is a function of (seed, epoch, index): reproducible after a resume.
    if (options_.random_flip &&
        (mix(options_.seed ^
             mix(static_cast<uint64_t>(epoch_) * 1000003ULL + static_cast<uint64_t>(index))) &
         1ULL)) {
      image = image.flip({2});
    }
    images.push_back(image);
  }
  ++position_;
  return torch::stack(images);
}

}  // namespace wsd
