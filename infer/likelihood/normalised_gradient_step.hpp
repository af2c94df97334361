#pragma once

#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

// The normalised-gradient step of the authors' code (config spelling `normalised_gradient`, also
// `jalal`, its earlier name): with g = grad_x ||y - A x_t||_2 = -A^H r / ||r||,
//   increment = -(dt / 2) lambda_t ||s_W|| g / ||g|| = (dt / 2) lambda_t ||s_W|| A^H r / ||A^H r||,
// a data-consistency move as long as the prior's own update. Norms are per image (the authors'
// code takes them over the whole batch, which couples unrelated images).
class NormalisedGradientStep final : public LikelihoodStep {
 public:
  static constexpr const char* kWeightMeaning =
      "the data move's length in units of the prior's own update: (dt / 2) lambda_t ||s_W||";

  using LikelihoodStep::LikelihoodStep;
  torch::Tensor increment(const LikelihoodInput& in) override;
};

}  // namespace wsd
