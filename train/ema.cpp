#include "train/ema.hpp"

#include <map>

#include "core/util/errors.hpp"

namespace wsd {

Ema::Ema(torch::nn::Module& module, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters()) {
    names_.push_back(p.key());
    shadow_.push_back(p.value().detach().clone());
  }
}

StateDict Ema::state_dict() const {
  StateDict out;
  for (size_t i = 0; i < names_.size(); ++i) out.emplace_back(names_[i], shadow_[i]);
  return out;
}

void Ema::load_state_dict(const StateDict& state, const std::string& source) {
  const std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < names_.size(); ++i) {
    const auto it = by_name.find(names_[i]);
    if (it == by_name.end()) throw InputError(source + ": EMA weights lack '" + names_[i] + "'");
    shadow_[i].copy_(it->second);
  }
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
