#pragma once

#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

// The paper's Algorithm 1: + lambda_t (beta_t dt / 2) A^H (y - A x_t). With measurement noise
// covariance proportional to G G^T this is the preconditioned gradient of log p(y | x_t), which
// needs no inverse of the noise covariance. It moves x_t towards data consistency.
class WsLikelihoodStep final : public LikelihoodStep {
 public:
  using LikelihoodStep::LikelihoodStep;
  std::string name() const override { return "ws"; }
  torch::Tensor increment(const LikelihoodInput& in) override;
};

}  // namespace wsd
