#include "infer/likelihood/likelihood_step.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/util/errors.hpp"
#include "infer/likelihood/dps_step.hpp"
#include "infer/likelihood/normalised_gradient_step.hpp"
#include "infer/likelihood/ws_step.hpp"

namespace wsd {

double LambdaWeight::at(double t) const {
  if (schedule == LambdaSchedule::kLinear) {
    return lambda * std::clamp((1.0 - t) / (1.0 - t_eps), 0.0, 1.0);
  }
  return lambda;
}

LikelihoodStep::LikelihoodStep(LinearOperator op, torch::Tensor y, LambdaWeight weight)
    : op_(std::move(op)), y_(std::move(y)), weight_(weight) {}

torch::Tensor LikelihoodStep::residual(const torch::Tensor& x) { return y_ - op_->forward(x); }

std::shared_ptr<LikelihoodStep> make_likelihood_step(LikelihoodType type, LinearOperator op,
                                                     torch::Tensor y, LambdaWeight weight) {
  switch (type) {
    case LikelihoodType::kNone:
      return nullptr;
    case LikelihoodType::kWs:
      return std::make_shared<WsLikelihoodStep>(std::move(op), std::move(y), weight);
    case LikelihoodType::kNormalisedGradient:
      return std::make_shared<NormalisedGradientStep>(std::move(op), std::move(y), weight);
    case LikelihoodType::kDps:
      return std::make_shared<DpsLikelihoodStep>(std::move(op), std::move(y), weight);
    case LikelihoodType::kProximal:
      throw InputError(
          "the proximal step needs the measurement model (ProximalLikelihoodStep, through "
          "PosteriorSolver)");
  }
  throw InputError("unknown sampler.likelihood");
}

std::optional<double> max_stable_lambda(LikelihoodType type, const DiffusionSchedule& schedule,
                                        const std::vector<double>& grid,
                                        LambdaSchedule lambda_schedule, double t_eps,
                                        double op_norm_squared) {
  if (type != LikelihoodType::kWs || op_norm_squared <= 0.0) return std::nullopt;
  const LambdaWeight factor{1.0, lambda_schedule, t_eps};
  double bound = INFINITY;
  for (size_t i = 0; i + 1 < grid.size(); ++i) {
    const double t = grid[i], dt = t - grid[i + 1];
    const double rate = factor.at(t) * schedule.beta(t) * dt * op_norm_squared;
    if (rate > 0.0) bound = std::min(bound, 4.0 / rate);
  }
  if (!std::isfinite(bound)) return std::nullopt;
  return bound;
}

torch::Tensor per_image_norm(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  // The floor keeps 0/0 out of normalised steps on an exactly consistent image.
  return x.square().sum(dims, /*keepdim=*/true).sqrt().clamp_min(1e-12);
}

}  // namespace wsd
