#include "train/ema.hpp"

namespace wsd {

Ema::Ema(torch::nn::Module& module, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module.parameters()) shadow_.push_back(p.detach().clone());
}

void Ema::update(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters()) params.push_back(p.detach());
  // shadow <- shadow + (1 - decay) (param - shadow)
  torch::_foreach_lerp_(shadow_, params, at::Scalar(1.0 - decay_));
}

void Ema::update(torch::nn::Module& module, const torch::Tensor& apply) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params;
  for (const auto& p : module.parameters()) params.push_back(p.detach());
  // shadow <- shadow + apply (1 - decay) (param - shadow)
  auto step = torch::_foreach_sub(params, shadow_);
  torch::_foreach_mul_(step, (apply * (1.0 - decay_)).to(shadow_.front().scalar_type()));
  torch::_foreach_add_(shadow_, step);
}

void Ema::copy_to(torch::nn::Module& module) const {
  torch::NoGradGuard no_grad;
  const auto params = module.parameters();
  TORCH_CHECK(params.size() == shadow_.size(), "EMA holds ", shadow_.size(),
              " tensors, module has ", params.size());
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(shadow_[i]);
}

}  // namespace wsd
