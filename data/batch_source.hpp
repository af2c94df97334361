#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "data/batch_loader.hpp"
#include "data/dataset.hpp"

namespace wsd {

// The batches of a BatchLoader as a pure function of (epoch, batch index): the epoch's shard of
// the shuffled indices, each sample read, replaced when bad (on_bad_sample: skip), transformed
// and stacked. Safe to call from several threads.
class BatchSource {
 public:
  BatchSource(std::shared_ptr<const Dataset> dataset, const DataConfig& data,
              const LoaderRuntime& runtime, int64_t batches_per_epoch);

  std::vector<int64_t> batch_indices(int64_t epoch, int64_t position) const;
  torch::Tensor make_batch(int64_t epoch, int64_t position) const;
  // One transformed sample, as make_batch makes it (also used to check a dataset at start-up).
  torch::Tensor make_sample(int64_t epoch, int64_t index) const;

  const Dataset& dataset() const { return *dataset_; }
  int64_t skipped() const;

 private:
  std::shared_ptr<const std::vector<int64_t>> shard(int64_t epoch) const;
  void record_skip(const std::string& message) const;

  std::shared_ptr<const Dataset> dataset_;
  DataConfig data_;
  LoaderRuntime runtime_;
  int64_t batches_per_epoch_;
  mutable std::mutex mutex_;
  mutable std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> shards_;  // recent epochs
  mutable std::set<std::string> skipped_;  // messages of the bad samples replaced so far
};

}  // namespace wsd
