#pragma once

#include <torch/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/config/config_types.hpp"
#include "train/distributed/dist_env.hpp"

namespace wsd {

class Prior;
class RunDirectoryLock;

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
  // Draws the images of the sample grids that train.sample_every asks for, from the EMA
  // network (as a Prior) and the grid's initial noise x1 (16 images from sampler.seed). The
  // caller brings the sampler (the CLI: preview_samples, infer/samplers/preview_samples.hpp),
  // so training depends on no sampler; without one, no grids are drawn.
  std::function<torch::Tensor(Prior& prior, const torch::Tensor& x1)> draw_samples;
  // The lock on out_dir when the caller took it before writing there (the CLI does, so that a
  // second run is refused before it touches anything); otherwise rank 0 takes it itself.
  std::shared_ptr<RunDirectoryLock> run_directory_lock;
};

// Trains a WS-diffusion prior with TrainStep (train_step.hpp) for train.steps steps or
// train.images images. Rank 0 writes the run directory: metrics.jsonl, validation losses,
// sample grids from the EMA weights, step checkpoints (keep last N), last.h5 and best.h5 (lowest
// validation loss). Non-finite steps are skipped on the device and reported at the log interval;
// train.max_skipped_steps in a row abort the run. Ranks' parameters are compared every
// train.consistency_check_every steps. `stop` is polled once per step (with several ranks, a
// stop on any rank is agreed by all within 10 steps): the step finishes, rank 0 writes a
// checkpoint and every rank returns with `interrupted` set.
TrainOutcome train(const TrainRequest& request, const std::atomic<bool>& stop);

}  // namespace wsd
