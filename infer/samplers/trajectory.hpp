#pragma once

// The one trajectory runner: every path that runs a prior's reverse process goes through it —
// unconditional sampling (`wsdiff sample`, the trainer's sample grids, `wsdiff bench`) and
// posterior solves (PosteriorSolver). A trajectory is the configured sampler from a start state
// at grid[0] down to t_eps, then the Tweedie estimate there; run_batches draws the start states
// from the prior's own noise, one seed per row, and solves them in batches.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/model/prior.hpp"
#include "infer/samplers/sampler.hpp"

namespace wsd {

class Trajectory {
 public:
  // The prior's score (its Tweedie estimate clamped to [-1, 1] at every evaluation with
  // sampler.clamp_x0), sampler.method on the sampler.time_grid of sampler.steps steps from 1
  // down to the prior's t_eps.
  Trajectory(Prior& prior, const SamplerConfig& sampler);
  // The same with the caller's score function (e.g. one evaluated under autocast).
  Trajectory(const DiffusionSchedule& schedule, ScoreFn score, const SamplerConfig& sampler,
             double t_eps);

  const std::vector<double>& grid() const { return grid_; }
  const DiffusionSchedule& schedule() const { return *schedule_; }
  const SamplerConfig& sampler() const { return sampler_; }

  // E[x_0 | x_{t_eps}] after the sampler's steps from x, on the grid from its first time up to
  // `last` (all of it by default), in the caller's grad mode. InputError when the context's
  // likelihood step does not compose with the sampler.
  torch::Tensor integrate(torch::Tensor x, const SamplerContext& context) const;
  torch::Tensor integrate(torch::Tensor x, const SamplerContext& context,
                          const std::vector<double>& grid) const;
  // integrate() without autograd: under InferenceMode, which skips autograd's version and view
  // bookkeeping (faster than NoGradGuard on CPU), or with gradients only inside the steps that
  // differentiate the prior (DPS).
  torch::Tensor operator()(torch::Tensor x, const SamplerContext& context) const;

 private:
  const DiffusionSchedule* schedule_;
  ScoreFn score_;
  SamplerConfig sampler_;
  SamplerFn sample_;
  std::vector<double> grid_;
};

// Called after every finished batch with the number of images done so far.
using BatchCallback = std::function<void(int64_t done, int64_t total)>;

// The rows of a batched run: one seed per row, images of image_shape [C, H, W] on `device`.
struct TrajectoryBatches {
  std::vector<uint64_t> seeds;
  std::vector<int64_t> image_shape;
  int64_t batch_size = 16;
  torch::Device device = torch::kCPU;
};

// Prepares one batch: its first row, its seeds and its start state x, a draw of the prior's
// noise (which it may replace, e.g. by a likelihood step's initial state); returns the batch's
// sampler context.
using BatchSetup = std::function<SamplerContext(
    int64_t first_row, const std::vector<uint64_t>& seeds, torch::Tensor& x)>;

// What runs one batch from its start state: a Trajectory, or its recording as a CUDA graph.
using TrajectoryRun = std::function<torch::Tensor(torch::Tensor x, const SamplerContext& context)>;

// x_0 of every row, float32 [rows, C, H, W] on the CPU. Row i starts from prior.noise() drawn
// from seeds[i] alone, so results depend neither on the batch size nor on the other rows.
torch::Tensor run_batches(const Prior& prior, const TrajectoryBatches& batches,
                          const BatchSetup& setup, const TrajectoryRun& run,
                          const BatchCallback& on_batch = {});

// Progress of unconditional sampling: batch b of `batches` (from 1), step of steps.
using SampleProgress =
    std::function<void(int64_t batch, int64_t batches, int64_t step, int64_t steps)>;

// Unconditional samples [n, C, H, W] (float32, CPU) of a prior: image i from seed first_seed + i
// (consecutive_seeds), in batches of sampler.batch_size. `setting` says what ran for the error of
// a diverged trajectory (DivergenceError).
torch::Tensor sample_prior(Prior& prior, const SamplerConfig& sampler,
                           const std::vector<int64_t>& image_shape, int64_t n, uint64_t first_seed,
                           torch::Device device, const std::string& setting,
                           const SampleProgress& progress = {});

}  // namespace wsd
