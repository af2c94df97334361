#include "train/optimizer_state.hpp"

#include <map>

namespace wsd {
namespace {

torch::optim::AdamParamState* adam_state(torch::optim::Optimizer& optimizer,
                                         const torch::Tensor& parameter) {
  auto& states = optimizer.state();
  const auto it = states.find(parameter.unsafeGetTensorImpl());
  if (it == states.end()) return nullptr;
  return dynamic_cast<torch::optim::AdamParamState*>(it->second.get());
}

}  // namespace

StateDict optimizer_state_of(torch::optim::Optimizer& optimizer, const torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_parameters()) {
    const auto* s = adam_state(optimizer, item.value());
    if (s == nullptr) continue;
    out.emplace_back(item.key() + "/step", torch::tensor(s->step(), torch::kInt64));
    out.emplace_back(item.key() + "/exp_avg", s->exp_avg());
    out.emplace_back(item.key() + "/exp_avg_sq", s->exp_avg_sq());
  }
  return out;
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const torch::nn::Module& module,
                          const StateDict& state) {
  std::map<std::string, torch::Tensor> by_key(state.begin(), state.end());
  for (const auto& item : module.named_parameters()) {
    const auto step = by_key.find(item.key() + "/step");
    if (step == by_key.end()) continue;
    auto s = std::make_unique<torch::optim::AdamParamState>();
    s->step(step->second.item<int64_t>());
    const auto& device = item.value().device();
    s->exp_avg(by_key.at(item.key() + "/exp_avg").to(device).clone());
    s->exp_avg_sq(by_key.at(item.key() + "/exp_avg_sq").to(device).clone());
    optimizer.state()[item.value().unsafeGetTensorImpl()] = std::move(s);
  }
}

}  // namespace wsd
