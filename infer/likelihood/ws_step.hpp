#pragma once

#include "infer/likelihood/likelihood_step.hpp"

namespace wsd {

// The paper's Algorithm 1: + lambda_t (beta_t dt / 2) A^H (y - A x_t). With measurement noise
// covariance proportional to G G^T this is the preconditioned gradient of log p(y | x_t), which
// needs no inverse of the noise covariance. It moves x_t towards data consistency.
class WsLikelihoodStep final : public LikelihoodStep {
 public:
  static constexpr const char* kWeightMeaning =
      "the gradient step's scale: eta_t = lambda_t beta_t dt / 2 on A^H (y - A x_t)";
  static constexpr double kMinDecade = -1.0, kMaxDecade = 4.0;
  // An explicit gradient step on ||y - A x||^2 / 2: it multiplies the error along A's top
  // singular direction by (1 - eta_t ||A||^2) and so grows unless eta_t ||A||^2 < 2 at every
  // step of the grid:  lambda < min_i 4 / (w(t_i) beta(t_i) dt_i ||A||^2),  w the schedule's
  // factor of lambda_t. nullopt when the operator or the grid puts no bound on it.
  static std::optional<double> stability_bound(const StabilityQuery& query);

  using LikelihoodStep::LikelihoodStep;
  torch::Tensor increment(const LikelihoodInput& in) override;
};

}  // namespace wsd
