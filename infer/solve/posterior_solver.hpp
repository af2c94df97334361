#pragma once

// Posterior sampling for y = A x + b with a diffusion prior: the configured sampler with the
// configured likelihood step on the one trajectory runner (infer/samplers/trajectory.hpp),
// started from the prior's own structured noise (one seed per image) or the step's initial
// state, finished with the Tweedie estimate at the prior's t_eps; with sampler.samples = M > 1
// the result is the mean of M posterior samples per measurement (sample k of an image has its
// own seed). Rows (image, sample) are solved in batches of sampler.batch_size; because every
// image draws only from its own seed and every norm is per image, the result does not depend
// on the batch size.

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/config/config_types.hpp"
#include "core/model/prior.hpp"
#include "infer/gaussian/gaussian_measurement_model.hpp"
#include "infer/samplers/sampler.hpp"
#include "infer/samplers/trajectory.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

struct PosteriorProblem {
  LinearOperator op;                 // on the prior's device
  torch::Tensor y;                   // [N, C', H', W'] measurements (any device)
  std::vector<uint64_t> seeds;       // one per image
  std::vector<int64_t> image_shape;  // [C, H, W] of x
  // The data's power spectrum and the measurement noise spectrum: what steps that need a
  // measurement model (the proximal step) use; unused by the others.
  std::optional<GaussianMeasurementModel> model = std::nullopt;
};

struct PosteriorSolver {
  Prior& prior;
  // Method, steps, likelihood step and its data weight sampler.lambda (a number, or `auto` for
  // a step with a natural weight), batch size.
  SamplerConfig sampler;
  torch::Device device = torch::kCPU;  // where the prior and the operator live

  // The same solver at data weight `lambda`.
  PosteriorSolver at_weight(double lambda) const;

  // The largest stable lambda of the configured likelihood step with this operator on this
  // solver's time grid (nullopt for the steps without a bound).
  std::optional<double> stability_bound(const LinearOperator& op) const;

  // x_hat [N, C, H, W] on the CPU in float32. Throws InputError for a step that ties nothing to
  // the data or does not compose with the sampler, for an unresolved `auto` weight, and
  // UnstableSettingError (before any work) for a lambda at or above stability_bound;
  // DivergenceError when an image's state runs away while sampling.
  torch::Tensor solve(const PosteriorProblem& problem, const BatchCallback& on_batch = {},
                      const StepCallback& on_step = {}) const;
};

}  // namespace wsd
