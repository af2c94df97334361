#include "data/batch_loader.hpp"

#include <torch/torch.h>

#ifdef WSD_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "core/util/errors.hpp"
#include "data/batch_source.hpp"
#include "data/prefetch_queue.hpp"

namespace wsd {

LoaderOptions LoaderOptions::from_config(const DataConfig& data) {
  LoaderOptions o;
  o.image_size = data.image_size;
  o.channels = data.channels;
  o.fit = data.fit;
  o.random_flip = data.random_flip;
  o.on_bad_sample = data.on_bad_sample;
  o.workers = data.workers;
  o.prefetch = data.prefetch;
  return o;
}

LoaderOptions LoaderOptions::for_training(const Config& config, int rank, int world_size,
                                          torch::Device device) {
  LoaderOptions o = from_config(config.data);
  o.batch_size = config.train.batch_size;
  o.seed = config.train.seed;
  o.rank = rank;
  o.world_size = world_size;
  o.pin_memory = config.data.pin_memory && device.is_cuda();
  o.pin_device = device.is_cuda() ? (device.has_index() ? device.index() : 0) : -1;
  return o;
}

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : options_(options) {
  TORCH_CHECK(options_.batch_size > 0 && options_.world_size > 0 && options_.rank >= 0 &&
                  options_.rank < options_.world_size,
              "loader: invalid batch size or rank");
  const int64_t global_batch = options_.batch_size * options_.world_size;
  batches_per_epoch_ = dataset->size() / global_batch;
  if (batches_per_epoch_ == 0) {
    throw InputError(dataset->describe() + " has " + std::to_string(dataset->size()) +
                     " images, fewer than one global batch of " + std::to_string(global_batch));
  }
  source_ = std::make_shared<const BatchSource>(std::move(dataset), options_, batches_per_epoch_);
  // One sample read and transformed now turns a dataset the transforms cannot take (e.g. the
  // wrong size under fit none) into a start-up error rather than one at the first step.
  (void)source_->make_sample(0, source_->batch_indices(0, 0).front());
  if (options_.workers > 0) {
    const int device = options_.pin_memory ? options_.pin_device : -1;
    const int64_t per_epoch = batches_per_epoch_;
    prefetch_ = std::make_unique<PrefetchQueue>(
        [source = source_, per_epoch](int64_t number) {
          return source->make_batch(number / per_epoch, number % per_epoch);
        },
        options_.workers, options_.prefetch,
        [device] {
#ifdef WSD_WITH_CUDA
          // Pinning allocates through this thread's current device: without this every rank
          // would create a context on device 0.
          if (device >= 0) c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
#else
          (void)device;
#endif
        });
  }
}

BatchLoader::~BatchLoader() = default;

void BatchLoader::seek(int64_t epoch, int64_t position) {
  TORCH_CHECK(epoch >= 0 && position >= 0 && position <= batches_per_epoch_,
              "loader position out of range");
  epoch_ = epoch;
  position_ = position;
}

std::vector<int64_t> BatchLoader::batch_indices(int64_t epoch, int64_t position) const {
  return source_->batch_indices(epoch, position);
}

torch::Tensor BatchLoader::next() {
  if (position_ == batches_per_epoch_) {
    ++epoch_;
    position_ = 0;
  }
  torch::Tensor batch = prefetch_ ? prefetch_->take(epoch_ * batches_per_epoch_ + position_)
                                  : source_->make_batch(epoch_, position_);
  ++position_;
  return batch;
}

int64_t BatchLoader::skipped_samples() const { return source_->skipped(); }

std::string BatchLoader::describe() const {
  std::string text = source_->dataset().describe() + "; batches of " +
                     std::to_string(options_.batch_size) + " on rank " +
                     std::to_string(options_.rank) + "/" + std::to_string(options_.world_size) +
                     ", " + std::to_string(batches_per_epoch_) + " per epoch, " +
                     std::to_string(options_.workers) + " worker(s)";
  const int64_t skipped = skipped_samples();
  if (skipped > 0) text += ", " + std::to_string(skipped) + " bad sample(s) skipped";
  return text;
}

}  // namespace wsd
