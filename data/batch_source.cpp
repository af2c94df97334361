#include "data/batch_source.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "core/util/seeds.hpp"
#include "data/transforms.hpp"

namespace wsd {
namespace {

// A run of this many bad samples in a row means the data, not a sample, is broken.
constexpr int64_t kMaxReplacements = 1000;

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  auto gen =
      at::make_generator<at::CPUGeneratorImpl>(keyed_seed(seed, static_cast<uint64_t>(epoch)));
  const auto perm = torch::randperm(n, gen, torch::kInt64);
  const int64_t* p = perm.data_ptr<int64_t>();
  return std::vector<int64_t>(p, p + n);
}

}  // namespace

BatchSource::BatchSource(std::shared_ptr<const Dataset> dataset, const DataConfig& data,
                         const LoaderRuntime& runtime, int64_t batches_per_epoch)
    : dataset_(std::move(dataset)),
      data_(data),
      runtime_(runtime),
      batches_per_epoch_(batches_per_epoch) {}

std::shared_ptr<const std::vector<int64_t>> BatchSource::shard(int64_t epoch) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto found = shards_.find(epoch);
  if (found != shards_.end()) return found->second;
  const auto perm = epoch_permutation(dataset_->size(), runtime_.seed, epoch);
  const int64_t used = batches_per_epoch_ * runtime_.batch_size * runtime_.world_size;
  auto order = std::make_shared<std::vector<int64_t>>();
  order->reserve(static_cast<size_t>(used / runtime_.world_size));
  for (int64_t i = runtime_.rank; i < used; i += runtime_.world_size) {
    order->push_back(perm[static_cast<size_t>(i)]);
  }
  // Workers run at most a few batches ahead: two epochs cover an epoch boundary.
  while (shards_.size() >= 2) shards_.erase(shards_.begin());
  shards_.emplace(epoch, order);
  return order;
}

std::vector<int64_t> BatchSource::batch_indices(int64_t epoch, int64_t position) const {
  TORCH_CHECK(position >= 0 && position < batches_per_epoch_, "batch ", position,
              " out of range [0, ", batches_per_epoch_, ")");
  const auto order = shard(epoch);
  const auto begin = order->begin() + position * runtime_.batch_size;
  return std::vector<int64_t>(begin, begin + runtime_.batch_size);
}

void BatchSource::record_skip(const std::string& message) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (skipped_.insert(message).second) {
    spdlog::warn("skipping bad sample {} ({} skipped so far; data.on_bad_sample: skip)", message,
                 skipped_.size());
  }
}

int64_t BatchSource::skipped() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(skipped_.size());
}

torch::Tensor BatchSource::make_sample(int64_t epoch, int64_t index) const {
  TransformOptions transform;
  transform.size = data_.image_size;
  transform.channels = data_.channels;
  transform.fit = data_.fit;
  transform.random_flip = data_.random_flip;
  // Augmentation follows the slot's index, also when a replacement fills it.
  const uint64_t key = sample_key(runtime_.seed, epoch, index);
  const int64_t n = dataset_->size();
  const int64_t attempts = std::min(n, kMaxReplacements);
  for (int64_t a = 0; a < attempts; ++a) {
    const int64_t candidate = (index + a) % n;
    try {
      const Sample sample = dataset_->get(candidate);
      try {
        return transform_sample(sample.image, transform, key);
      } catch (const BadSampleError& e) {
        throw BadSampleError(dataset_->sample_name(candidate) + " " + e.what());
      }
    } catch (const BadSampleError& e) {
      if (data_.on_bad_sample == BadSamplePolicy::kError) throw;
      record_skip(e.what());
    }
  }
  throw InputError("no usable sample among " + std::to_string(attempts) + " in a row from " +
                   dataset_->sample_name(index) + " (data.on_bad_sample: skip)");
}

torch::Tensor BatchSource::make_batch(int64_t epoch, int64_t position) const {
  const auto indices = batch_indices(epoch, position);
  const int64_t s = data_.image_size;
  auto batch = torch::empty({runtime_.batch_size, data_.channels, s, s},
                            torch::TensorOptions()
                                .dtype(torch::kFloat32)
                                .pinned_memory(data_.pin_memory && runtime_.pin_device >= 0));
  for (size_t b = 0; b < indices.size(); ++b) {
    batch[static_cast<int64_t>(b)].copy_(make_sample(epoch, indices[b]));
  }
  return batch;
}

}  // namespace wsd
