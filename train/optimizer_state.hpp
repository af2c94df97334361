#pragma once

#include <torch/torch.h>

#include "core/checkpoint/checkpoint.hpp"

namespace wsd {

// Adam/AdamW moments as checkpoint tensors keyed "<parameter name>/<slot>" (slots: step,
// exp_avg, exp_avg_sq), so a resumed run continues with exactly the same optimizer state.
StateDict optimizer_state_of(torch::optim::Optimizer& optimizer, const torch::nn::Module& module);
void load_optimizer_state(torch::optim::Optimizer& optimizer, const torch::nn::Module& module,
                          const StateDict& state);

}  // namespace wsd
