#pragma once

// Throughput of the data loader for a config, behind `wsdiff bench --what data`: compare it with
// the training step's images/s (`--what network`) to see whether loading can keep up.

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/config/config_types.hpp"

namespace wsd {

struct LoaderBenchRequest {
  Config config;                       // data section + train.seed; the batch comes from `batch`
  torch::Device device = torch::kCPU;  // CUDA: pinned batches, as in training
  int64_t batch = 64;
  int64_t warmup = 2;    // batches taken before the clock starts (fills the queue)
  int64_t batches = 20;  // timed batches
};

struct LoaderBenchResult {
  std::string dataset;  // the loader's describe()
  int64_t images = 0;   // timed images
  double seconds = 0;   // wall time of the timed batches
  double images_per_s = 0;
  int64_t skipped = 0;  // bad samples replaced (on_bad_sample: skip)
  int64_t workers = 0, prefetch = 0;
  std::string fit;

  nlohmann::ordered_json to_json() const;
};

// Opens the dataset, then times `batches` calls of next() after `warmup` untimed ones. The batches
// come from the start of epoch 0 and wrap into later epochs when the dataset is small.
LoaderBenchResult bench_loader(const LoaderBenchRequest& request);

}  // namespace wsd
