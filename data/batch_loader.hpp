#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "data/dataset.hpp"

namespace wsd {

class BatchSource;
class PrefetchQueue;

// A loader is configured by the data section (transforms, workers, prefetch, pin_memory,
// on_bad_sample) and by what only the running process knows, here.
struct LoaderRuntime {
  int64_t batch_size = 64;  // per rank
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  // The CUDA device whose context pins batches (data.pin_memory); -1 = no pinning (CPU runs).
  int pin_device = -1;

  // A training run's: train.batch_size, train.seed, this process's shard, and `device`'s index
  // when it is CUDA.
  static LoaderRuntime for_training(const Config& config, int rank, int world_size,
                                    torch::Device device);
};

// Deterministic, sharded batches: each epoch is a permutation derived from (seed, epoch); rank r
// takes every world_size-th index of it, so ranks never share a sample and together see every
// sample once per epoch (the tail that does not fill a global batch is dropped). The position is
// (epoch, batch index), which is all an exact resume needs.
//
// A batch is a pure function of (epoch, batch index): augmentation draws from (seed, epoch,
// sample index) and a bad sample under on_bad_sample: skip is replaced by the next readable index.
// Worker threads therefore make batches in any order and next() hands them out in sequence, so
// every worker count gives identical batches. An exception in a worker is rethrown by the next()
// that reaches its batch; the destructor stops and joins the workers.
class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const Dataset> dataset, DataConfig data, LoaderRuntime runtime);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  torch::Tensor next();  // [B, C, S, S] float32 on the CPU, in [-1, 1]
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }  // batches already taken in this epoch
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  void seek(int64_t epoch, int64_t position);
  // Dataset indices of batch `position` of `epoch` for this rank.
  std::vector<int64_t> batch_indices(int64_t epoch, int64_t position) const;

  const DataConfig& data() const { return data_; }
  const LoaderRuntime& runtime() const { return runtime_; }
  // Distinct bad samples replaced so far (on_bad_sample: skip).
  int64_t skipped_samples() const;
  std::string describe() const;

 private:
  std::shared_ptr<const BatchSource> source_;  // shared with the worker threads
  std::unique_ptr<PrefetchQueue> prefetch_;    // the worker threads, when options.workers > 0
  DataConfig data_;
  LoaderRuntime runtime_;
  int64_t batches_per_epoch_ = 0;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
};

}  // namespace wsd
