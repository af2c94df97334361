#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "core/config/config_types.hpp"
#include "train/distributed/dist_env.hpp"

namespace wsd {

struct TrainOutcome {
  int64_t steps_done = 0;
  double last_loss = 0.0;
  std::string last_checkpoint;
  bool interrupted = false;  // stopped early by SIGINT/SIGTERM after writing a checkpoint
};

struct TrainRequest {
  Config config;
  std::string out_dir;
  std::string resume;  // "" = fresh, "auto" = newest valid checkpoint in out_dir, or a path
  DistEnv env;
};

// Trains a WS-diffusion prior: batch -> t -> structured noise -> x_t -> loss -> backward ->
// gradient average over ranks -> clip -> optimizer step -> EMA. Rank 0 writes the run directory
// (metrics.jsonl, sample grids, checkpoints). `stop` is polled once per step.
TrainOutcome train(const TrainRequest& request, const std::atomic<bool>& stop);

}  // namespace wsd
