#pragma once

// Data consistency for posterior sampling with y = A x + b (docs/maths.md, 'Likelihood steps').
// After each prior step x_t -> x' of the reverse process, a likelihood step adds an increment
// computed at x_t (the state the prior step started from) and its whitened score s_W(x_t, t):
//   x_{t - dt} = x' + increment.
// Every norm is taken per image, so unrelated images of a batch never influence each other.

#include <torch/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config_enums.hpp"
#include "core/diffusion/schedule.hpp"
#include "core/util/errors.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

// lambda_t: constant, or `linear`, rising from 0 at t = 1 to lambda at t = t_eps, so the data
// term acts most where the prior's estimate is sharp.
struct LambdaWeight {
  double lambda = 1.0;
  LambdaSchedule schedule = LambdaSchedule::kConstant;
  double t_eps = 1e-3;

  double at(double t) const;
};

// What a likelihood step sees at one step of the reverse process.
struct LikelihoodInput {
  const torch::Tensor& x_t;  // state at time t
  const torch::Tensor& s_w;  // s_W(x_t, t); part of x_t's graph when differentiates_prior()
  double t;
  double dt;  // > 0, the step goes from t to t - dt
  const DiffusionSchedule& schedule;
};

class LikelihoodStep {
 public:
  LikelihoodStep(LinearOperator op, torch::Tensor y, LambdaWeight weight);
  virtual ~LikelihoodStep() = default;

  virtual std::string name() const = 0;
  // True when the increment back-propagates through the prior (DPS): the sampler then evaluates
  // s_W with x_t requiring gradients.
  virtual bool differentiates_prior() const { return false; }
  // The increment to add to the prior's step.
  virtual torch::Tensor increment(const LikelihoodInput& in) = 0;

  const torch::Tensor& measurement() const { return y_; }
  const LambdaWeight& weight() const { return weight_; }
  LinearOperator& op() { return op_; }

 protected:
  // y - A x.
  torch::Tensor residual(const torch::Tensor& x);

  LinearOperator op_;
  torch::Tensor y_;
  LambdaWeight weight_;
};

// The step a sampler config names (ws, normalised_gradient or dps; nullptr for none; the proximal
// step is built by the posterior solver, which has its measurement model). `y` must be on the
// operator's device and in the sampler's dtype.
std::shared_ptr<LikelihoodStep> make_likelihood_step(LikelihoodType type, LinearOperator op,
                                                     torch::Tensor y, LambdaWeight weight);

// The largest data weight lambda with which a likelihood step stays stable on a time grid, for
// the steps that have one. The ws step adds eta_t A^H (y - A x) with eta_t = lambda_t beta_t dt /
// 2: an explicit gradient step on ||y - A x||^2 / 2, which multiplies the error along A's top
// singular direction by (1 - eta_t ||A||^2) and so grows unless eta_t ||A||^2 < 2 at every step:
//   lambda < min_i 4 / (w(t_i) beta(t_i) dt_i ||A||^2),   w the lambda schedule's factor.
// nullopt for the steps without such a bound: normalised_gradient and dps move by a length that
// does not grow with lambda ||A||^2 times the error (their divergence is caught while sampling),
// proximal is implicit and none has no step.
std::optional<double> max_stable_lambda(LikelihoodType type, const DiffusionSchedule& schedule,
                                        const std::vector<double>& grid,
                                        LambdaSchedule lambda_schedule, double t_eps,
                                        double op_norm_squared);

// A setting refused before any work because it is provably unstable (InputError: exit 2). The
// lambda searches skip such settings instead of failing.
class UnstableSettingError : public InputError {
 public:
  using InputError::InputError;
};

// Per-image L2 norm of a batch [N, ...] as [N, 1, ..., 1], never exactly zero.
torch::Tensor per_image_norm(const torch::Tensor& x);

}  // namespace wsd
