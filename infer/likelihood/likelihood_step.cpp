#include "infer/likelihood/likelihood_step.hpp"

#include <torch/torch.h>

#include <algorithm>

#include "core/util/errors.hpp"
#include "infer/likelihood/dps_step.hpp"
#include "infer/likelihood/jalal_step.hpp"
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
    case LikelihoodType::kJalal:
      return std::make_shared<JalalLikelihoodStep>(std::move(op), std::move(y), weight);
    case LikelihoodType::kDps:
      return std::make_shared<DpsLikelihoodStep>(std::move(op), std::move(y), weight);
    case LikelihoodType::kProximal:
      throw InputError(
          "the proximal step needs the measurement model (ProximalLikelihoodStep, through "
          "PosteriorSolver)");
  }
  throw InputError("unknown sampler.likelihood");
}

torch::Tensor per_image_norm(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  // The floor keeps 0/0 out of normalised steps on an exactly consistent image.
  return x.square().sum(dims, /*keepdim=*/true).sqrt().clamp_min(1e-12);
}

}  // namespace wsd
