#include "train/gated_adam.hpp"

#include <cmath>
#include <stdexcept>

namespace wsd {

GatedAdam::GatedAdam(std::vector<torch::Tensor> parameters, GatedAdamOptions options)
    : options_(options) {
  if (parameters.empty()) throw std::invalid_argument("GatedAdam: no parameters");
  torch::NoGradGuard no_grad;
  for (auto& p : parameters) {
    if (!p.mutable_grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    params_.push_back(p.detach());
    grads_.push_back(p.mutable_grad());
    exp_avg_.push_back(torch::zeros_like(p));
    exp_avg_sq_.push_back(torch::zeros_like(p));
  }
  step_ =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(params_[0].device()));
}

void GatedAdam::zero_grad() {
  torch::NoGradGuard no_grad;
  torch::_foreach_zero_(grads_);
}

void GatedAdam::step(double lr, const torch::Tensor& apply) {
  torch::NoGradGuard no_grad;
  const auto dtype = params_[0].scalar_type();
  const auto a = apply.to(torch::kFloat64);
  const double b1 = options_.beta1, b2 = options_.beta2;
  // Scalars are computed in float64 on the device and handed to foreach ops in the parameters'
  // dtype; with a = 1 they reduce to Adam's constants, with a = 0 to the identity.
  const auto as_param = [&](const torch::Tensor& x) { return x.to(dtype); };

  step_.add_(a);
  const auto s = step_.clamp_min(1.0);  // no division by zero before the first applied step
  const auto bias1 = 1.0 - torch::pow(b1, s);
  const auto bias2 = 1.0 - torch::pow(b2, s);

  for (auto& g : grads_) g.nan_to_num_(0.0, 0.0, 0.0);
  if (options_.weight_decay > 0) {
    if (options_.decoupled) {
      torch::_foreach_mul_(params_, as_param(1.0 - a * (lr * options_.weight_decay)));
    } else {
      torch::_foreach_add_(grads_, params_, options_.weight_decay);
    }
  }
  // m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
  torch::_foreach_mul_(exp_avg_, as_param(1.0 - a * (1.0 - b1)));
  auto scaled = torch::_foreach_mul(grads_, as_param(a * (1.0 - b1)));
  torch::_foreach_add_(exp_avg_, scaled);
  torch::_foreach_mul_(exp_avg_sq_, as_param(1.0 - a * (1.0 - b2)));
  auto squared = torch::_foreach_mul(grads_, grads_);
  torch::_foreach_mul_(squared, as_param(a * (1.0 - b2)));
  torch::_foreach_add_(exp_avg_sq_, squared);
  // p <- p - lr / bias1 * m / (sqrt(v) / sqrt(bias2) + eps)
  auto denom = torch::_foreach_sqrt(exp_avg_sq_);
  torch::_foreach_div_(denom, as_param(bias2.sqrt()));
  torch::_foreach_add_(denom, options_.eps);
  auto update = torch::_foreach_div(exp_avg_, denom);
  torch::_foreach_mul_(update, as_param(-lr * a / bias1));
  torch::_foreach_add_(params_, update);
}

}  // namespace wsd
