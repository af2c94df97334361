#pragma once

// Data consistency for posterior sampling with y = A x + b (docs/maths.md, 'Likelihood steps').
// A likelihood step acts at every step t -> s = t - dt of the reverse process, given the state
// x_t and the prior's whitened score s_W(x_t, t), in one of two ways:
//   - an increment added to the sampler's own prior step, x_s = x' + increment (ws,
//     normalised_gradient, dps: they compose with every sampler);
//   - a transition that replaces the sampler's step and returns x_s itself (proximal).
// Every norm is taken per image, so unrelated images of a batch never influence each other.
//
// A step class owns what it is. Besides increment() or transition() it declares, as static
// members that likelihood_kind() reads (docs/extending.md, 'A likelihood step'):
//   kWeightMeaning              what the data weight lambda means for it;
//   natural_weight()            the weight `sampler.lambda: auto` stands for, if it has one;
//   kMinDecade, kMaxDecade      otherwise, the decades the discrepancy search tries;
//   stability_bound(query)      the largest stable lambda on a time grid, if bounded;
//   composes_with(method)       the samplers it works with;
//   kReplacesTransition         whether it is a transition rather than an increment;
//   kDifferentiatesPrior        whether it needs autograd through the prior;
//   kNeedsMeasurementModel      whether it needs the data statistics and noise spectrum;
//   kGraphObstacle              why it cannot be recorded as a CUDA graph (nullptr: it can).
// The defaults below are those of a plain explicit increment.

#include <torch/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/config_enums.hpp"
#include "core/config/config_types.hpp"
#include "core/diffusion/schedule.hpp"
#include "core/util/errors.hpp"
#include "operators/linear_operator.hpp"

namespace wsd {

class StructuredNoise;
struct GaussianMeasurementModel;

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
  const torch::Tensor& s_w;  // s_W(x_t, t); part of x_t's graph when the step differentiates
  double t;
  double dt;  // > 0, the step goes from t to t - dt
  const DiffusionSchedule& schedule;
  int64_t step = 0;  // the step's index in its trajectory, 0 for the first
};

class LikelihoodKind;

// What a step is made from: one batch of measurements and what the solve knows around them.
struct LikelihoodSetup {
  // Set by the factory (LikelihoodKind::make), which is the one way to make a step.
  const LikelihoodKind* kind = nullptr;
  LinearOperator op = nullptr;
  torch::Tensor y;  // on the operator's device, in the sampler's dtype
  LambdaWeight weight;
  SamplerConfig sampler;
  // The prior's own noise family, and one seed per row of y.
  const StructuredNoise* prior_noise = nullptr;
  std::vector<uint64_t> seeds;
  // The data's statistics and the measurement noise spectrum (kNeedsMeasurementModel).
  const GaussianMeasurementModel* model = nullptr;
};

// What a stability bound depends on: the schedule, the time grid and the operator.
struct StabilityQuery {
  const DiffusionSchedule& schedule;
  const std::vector<double>& grid;
  LambdaSchedule lambda_schedule;
  double t_eps;
  const LinearOperator& op;
};

class LikelihoodStep {
 public:
  // Capabilities of a plain explicit increment; a step class redeclares those that differ.
  static constexpr bool kReplacesTransition = false;
  static constexpr bool kDifferentiatesPrior = false;
  static constexpr bool kNeedsMeasurementModel = false;
  static constexpr const char* kGraphObstacle = nullptr;
  static constexpr double kMinDecade = -2.0, kMaxDecade = 2.0;
  static std::optional<double> natural_weight() { return std::nullopt; }
  static std::optional<double> stability_bound(const StabilityQuery&) { return std::nullopt; }
  static bool composes_with(SamplerMethod) { return true; }

  explicit LikelihoodStep(const LikelihoodSetup& setup);
  virtual ~LikelihoodStep() = default;

  const LikelihoodKind& kind() const { return *kind_; }
  std::string name() const;
  // The increment to add to the sampler's prior step (steps that do not replace it).
  virtual torch::Tensor increment(const LikelihoodInput& in);
  // x_s itself (steps that replace the transition).
  virtual torch::Tensor transition(const LikelihoodInput& in);
  // The state to start the reverse process from, given a draw of the prior's noise at grid[0]
  // (`prior_noise`, [N, C, H, W]) and the schedule there; the draw itself by default.
  virtual torch::Tensor initial_state(const torch::Tensor& prior_noise, double alpha_t,
                                      double sigma_t);

  const torch::Tensor& measurement() const { return y_; }
  const LambdaWeight& weight() const { return weight_; }
  LinearOperator& op() { return op_; }

 protected:
  // y - A x.
  torch::Tensor residual(const torch::Tensor& x);

  LinearOperator op_;
  torch::Tensor y_;
  LambdaWeight weight_;

 private:
  const LikelihoodKind* kind_;
};

// What a likelihood step is, before there is a measurement: its capabilities (above), read
// from the step class, and the factory of its instances.
class LikelihoodKind {
 public:
  virtual ~LikelihoodKind() = default;

  virtual LikelihoodType type() const = 0;
  std::string name() const;
  // False for `none`: unconditional sampling, nothing ties the samples to measurements.
  virtual bool uses_measurements() const { return true; }
  virtual std::string weight_meaning() const = 0;
  virtual std::optional<double> natural_weight() const = 0;
  virtual double min_decade() const = 0;
  virtual double max_decade() const = 0;
  virtual std::optional<double> stability_bound(const StabilityQuery& query) const = 0;
  virtual bool composes_with(SamplerMethod method) const = 0;
  virtual bool replaces_transition() const = 0;
  virtual bool differentiates_prior() const = 0;
  virtual bool needs_measurement_model() const = 0;
  virtual std::optional<std::string> graph_obstacle() const = 0;
  // The step for one batch of measurements; nullptr for `none`. Throws InputError when the
  // setup cannot carry it (e.g. the proximal step with an operator it cannot solve for).
  virtual std::shared_ptr<LikelihoodStep> make(const LikelihoodSetup& setup) const = 0;
};

// The one factory: the kind a config's sampler.likelihood names (infer/likelihood/
// likelihood_factory.cpp).
const LikelihoodKind& likelihood_kind(LikelihoodType type);

// A setting refused before any work because it is provably unstable (InputError: exit 2). The
// lambda searches skip such settings instead of failing.
class UnstableSettingError : public InputError {
 public:
  using InputError::InputError;
};

// Per-image L2 norm of a batch [N, ...] as [N, 1, ..., 1], never exactly zero.
torch::Tensor per_image_norm(const torch::Tensor& x);

}  // namespace wsd
