#pragma once

// `wsdiff bench --what train`: images/s of the full trainer step (TrainStep: t and noise for the
// global batch, forward in the configured precision and layout, fp32 loss, backward over the
// micro-batches, bucketed gradient allreduce when launched on several ranks, clipping, gated
// Adam/AdamW and EMA), fed from pre-made CPU batches as the data loader would deliver them.

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/util/timings.hpp"
#include "train/distributed/communicator.hpp"

namespace wsd {

// One precision / layout / cuDNN setting of the training step.
struct TrainVariant {
  bool bf16 = false;
  bool channels_last = false;
  bool cudnn_benchmark = false;
  std::string name() const;
};

struct TrainBenchRequest {
  BenchSettings settings;  // batch = per-rank micro-batch; device
  Config config;           // model, noise and train sections (grad_accum, clip, EMA, bucket_mb)
  std::vector<TrainVariant> variants;
};

struct TrainBenchRow {
  TrainVariant variant;
  Timings per_step;
  double images_per_s = 0;  // global images (batch x accumulation x ranks) / median step time
  double last_loss = 0;
};

struct TrainBenchResult {
  TrainBenchRequest request;
  int64_t parameters = 0;
  int64_t global_batch = 0;
  int world_size = 1;
  int64_t buckets = 0;
  std::vector<TrainBenchRow> rows;

  nlohmann::ordered_json to_json() const;
};

// Runs every variant in turn over `communicator` (a world of one without a launcher).
TrainBenchResult bench_training(const TrainBenchRequest& request,
                                const std::shared_ptr<Communicator>& communicator);

// The variants worth comparing on `device`: on CUDA fp32/bf16 x contiguous/channels-last x
// cuDNN benchmark off/on; on the CPU fp32 x contiguous/channels-last.
std::vector<TrainVariant> comparison_variants(torch::Device device);

}  // namespace wsd
