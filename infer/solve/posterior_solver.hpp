#pragma once

// Posterior sampling for y = A x + b with a diffusion prior: the configured sampler with the
// configured likelihood step, started from the prior's structured noise (one seed per image),
// finished with the Tweedie estimate at t_eps; with sampler.samples = M > 1 the result is the
// mean of M posterior samples per measurement (sample k of an image has its own seed). Rows
// (image, sample) are solved in batches of
// sampler.batch_size; because every image draws only from its own seed and every norm is per
// image, the result does not depend on the batch size.

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/model/prior.hpp"
#include "core/noise/structured_noise.hpp"
#include "infer/baselines/gaussian_measurement_model.hpp"
#include "infer/samplers/sampler.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

struct PosteriorProblem {
  LinearOperator op;                 // on the prior's device
  torch::Tensor y;                   // [N, C', H', W'] measurements (any device)
  std::vector<uint64_t> seeds;       // one per image
  std::vector<int64_t> image_shape;  // [C, H, W] of x
  // The data's power spectrum and the measurement noise spectrum: what the proximal step needs
  // (sampler.likelihood proximal); unused by the other steps.
  std::optional<GaussianMeasurementModel> model = std::nullopt;
};

// Called after every finished batch with the number of images done so far.
using BatchCallback = std::function<void(int64_t done, int64_t total)>;

struct PosteriorSolver {
  Prior& prior;
  const StructuredNoise& prior_noise;  // the prior's own noise family: x_1 and SDE steps
  SamplerConfig sampler;               // method, steps, likelihood, lambda schedule, batch size
  double t_eps = 1e-3;
  torch::Device device = torch::kCPU;  // where the prior and the operator live

  // The largest stable lambda of the configured likelihood step with this operator
  // (max_stable_lambda; nullopt for the steps without a bound).
  std::optional<double> stability_bound(const LinearOperator& op) const;

  // x_hat [N, C, H, W] on the CPU in float32 with the data weight `lambda`. Throws
  // UnstableSettingError (before any work) for a lambda at or above stability_bound, and
  // DivergenceError when an image's state runs away while sampling.
  torch::Tensor solve(const PosteriorProblem& problem, double lambda,
                      const BatchCallback& on_batch = {}, const StepCallback& on_step = {}) const;
};

}  // namespace wsd
