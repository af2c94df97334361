#include "train/optimizer_state.hpp"

#include <map>

#include "core/util/errors.hpp"

namespace wsd {

StateDict optimizer_state_of(GatedAdam& optimizer, const torch::nn::Module& module) {
  StateDict out;
  const auto named = module.named_parameters();
  const auto step = optimizer.step_count().to(torch::kCPU, torch::kInt64);
  for (size_t i = 0; i < named.size(); ++i) {
    out.emplace_back(named[i].key() + "/step", step.clone());
    out.emplace_back(named[i].key() + "/exp_avg", optimizer.exp_avg()[i]);
    out.emplace_back(named[i].key() + "/exp_avg_sq", optimizer.exp_avg_sq()[i]);
  }
  return out;
}

void load_optimizer_state(GatedAdam& optimizer, const torch::nn::Module& module,
                          const StateDict& state, const std::string& source) {
  const std::map<std::string, torch::Tensor> by_key(state.begin(), state.end());
  const auto named = module.named_parameters();
  torch::NoGradGuard no_grad;
  bool have_step = false;
  for (size_t i = 0; i < named.size(); ++i) {
    const std::string& name = named[i].key();
    const auto step = by_key.find(name + "/step");
    if (step == by_key.end()) continue;  // a checkpoint written before this parameter's first step
    const auto avg = by_key.find(name + "/exp_avg");
    const auto avg_sq = by_key.find(name + "/exp_avg_sq");
    if (avg == by_key.end() || avg_sq == by_key.end()) {
      throw InputError(source + ": optimizer state of '" + name + "' lacks its moments");
    }
    optimizer.exp_avg()[i].copy_(avg->second);
    optimizer.exp_avg_sq()[i].copy_(avg_sq->second);
    if (!have_step) {
      optimizer.step_count().copy_(step->second.to(torch::kFloat64).reshape({}));
      have_step = true;
    }
  }
}

}  // namespace wsd
