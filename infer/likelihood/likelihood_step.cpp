#include "infer/likelihood/likelihood_step.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

namespace wsd {

double LambdaWeight::at(double t) const {
  if (schedule == LambdaSchedule::kLinear) {
    return lambda * std::clamp((1.0 - t) / (1.0 - t_eps), 0.0, 1.0);
  }
  return lambda;
}

LikelihoodStep::LikelihoodStep(const LikelihoodSetup& setup)
    : op_(setup.op), y_(setup.y), weight_(setup.weight), kind_(setup.kind) {
  if (kind_ == nullptr) throw std::logic_error("a likelihood step is made by its kind's make()");
}

std::string LikelihoodStep::name() const { return kind_->name(); }

torch::Tensor LikelihoodStep::residual(const torch::Tensor& x) { return y_ - op_->forward(x); }

// A sampler asks for the form its step's kind declares (kReplacesTransition); reaching one of
// these is a programming error, not an input error.
torch::Tensor LikelihoodStep::increment(const LikelihoodInput&) {
  throw std::logic_error("the " + name() + " step replaces the transition; it has no increment");
}

torch::Tensor LikelihoodStep::transition(const LikelihoodInput&) {
  throw std::logic_error("the " + name() + " step is an increment, not a transition");
}

torch::Tensor LikelihoodStep::initial_state(const torch::Tensor& prior_noise, double, double) {
  return prior_noise;
}

std::string LikelihoodKind::name() const { return std::string(enum_name(type())); }

torch::Tensor per_image_norm(const torch::Tensor& x) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < x.dim(); ++d) dims.push_back(d);
  // The floor keeps 0/0 out of normalised steps on an exactly consistent image.
  return x.square().sum(dims, /*keepdim=*/true).sqrt().clamp_min(1e-12);
}

}  // namespace wsd
