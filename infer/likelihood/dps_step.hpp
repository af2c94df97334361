#pragma once

#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

// Diffusion posterior sampling (Chung et al. 2023) on the whitened score: the residual is taken
// at the Tweedie estimate x0_hat(x_t) and its gradient back-propagates through the prior,
//   increment = -(zeta_t / ||r||) grad_{x_t} ||r||^2,   r = y - A x0_hat(x_t),
// with zeta_t = lambda_t and per-image ||r||.
class DpsLikelihoodStep final : public LikelihoodStep {
 public:
  static constexpr const char* kWeightMeaning =
      "zeta_t, the step on the gradient of the per-image normalised residual at x0_hat";
  static constexpr bool kDifferentiatesPrior = true;
  static constexpr const char* kGraphObstacle = "the dps step needs autograd";

  using LikelihoodStep::LikelihoodStep;
  torch::Tensor increment(const LikelihoodInput& in) override;
};

}  // namespace wsd
