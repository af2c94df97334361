#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "data/dataset.hpp"

namespace wsd {

struct LoaderOptions {
  int64_t batch_size = 64;  // per rank
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  int64_t image_size = 32;
  int64_t channels = 1;
  bool random_flip = false;
};

// Deterministic, sharded batches: each epoch is a permutation derived from (seed, epoch); rank r
// takes every world_size-th index of it, so ranks never share a sample and together see every
// sample once per epoch (the tail that does not fill a global batch is dropped). The position is
// (epoch, batch index), which is all an exact resume needs.
class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);

  torch::Tensor next();  // [B, C, S, S] float32 on the CPU, in [-1, 1]
  int64_t epoch() const { return epoch_; }
  int64_t position() const { return position_; }  // batches already taken in this epoch
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  void seek(int64_t epoch, int64_t position);
  // Dataset indices of batch `position` of `epoch` for this rank.
  std::vector<int64_t> batch_indices(int64_t epoch, int64_t position) const;

 private:
  void start_epoch(int64_t epoch);

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
  int64_t batches_per_epoch_ = 0;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  std::vector<int64_t> order_;  // this rank's indices for the current epoch
};

}  // namespace wsd
