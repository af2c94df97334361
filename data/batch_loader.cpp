#include "data/batch_loader.hpp"

#include <torch/torch.h>

#ifdef WSD_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "core/util/errors.hpp"
#include "data/batch_source.hpp"
#include "data/prefetch_queue.hpp"

namespace wsd {

LoaderRuntime LoaderRuntime::for_training(const Config& config, int rank, int world_size,
                                          torch::Device device) {
  LoaderRuntime r;
  r.batch_size = config.train.batch_size;
  r.seed = config.train.seed;
  r.rank = rank;
  r.world_size = world_size;
  r.pin_device = device.is_cuda() ? (device.has_index() ? device.index() : 0) : -1;
  return r;
}

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> dataset, DataConfig data,
                         LoaderRuntime runtime)
    : data_(std::move(data)), runtime_(runtime) {
  TORCH_CHECK(runtime_.batch_size > 0 && runtime_.world_size > 0 && runtime_.rank >= 0 &&
                  runtime_.rank < runtime_.world_size,
              "loader: invalid batch size or rank");
  const int64_t global_batch = runtime_.batch_size * runtime_.world_size;
  batches_per_epoch_ = dataset->size() / global_batch;
  if (batches_per_epoch_ == 0) {
    throw InputError(dataset->describe() + " has " + std::to_string(dataset->size()) +
                     " images, fewer than one global batch of " + std::to_string(global_batch));
  }
  source_ =
      std::make_shared<const BatchSource>(std::move(dataset), data_, runtime_, batches_per_epoch_);
  // One sample read and transformed now turns a dataset the transforms cannot take (e.g. the
  // wrong size under fit none) into a start-up error rather than one at the first step.
  (void)source_->make_sample(0, source_->batch_indices(0, 0).front());
  if (data_.workers > 0) {
    const int device = data_.pin_memory ? runtime_.pin_device : -1;
    const int64_t per_epoch = batches_per_epoch_;
    prefetch_ = std::make_unique<PrefetchQueue>(
        [source = source_, per_epoch](int64_t number) {
          return source->make_batch(number / per_epoch, number % per_epoch);
        },
        data_.workers, data_.prefetch,
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
                     std::to_string(runtime_.batch_size) + " on rank " +
                     std::to_string(runtime_.rank) + "/" + std::to_string(runtime_.world_size) +
                     ", " + std::to_string(batches_per_epoch_) + " per epoch, " +
                     std::to_string(data_.workers) + " worker(s)";
  const int64_t skipped = skipped_samples();
  if (skipped > 0) text += ", " + std::to_string(skipped) + " bad sample(s) skipped";
  return text;
}

}  // namespace wsd
