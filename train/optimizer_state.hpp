#pragma once

#include <torch/torch.h>

#include "core/checkpoint/checkpoint.hpp"
#include "train/gated_adam.hpp"

namespace wsd {

// Adam/AdamW moments as checkpoint tensors keyed "<parameter name>/<slot>" (slots: step,
// exp_avg, exp_avg_sq), so a resumed run continues with exactly the same optimizer state.
// `optimizer` must have been built over module.parameters(), in that order.
StateDict optimizer_state_of(GatedAdam& optimizer, const torch::nn::Module& module);
void load_optimizer_state(GatedAdam& optimizer, const torch::nn::Module& module,
                          const StateDict& state, const std::string& source);

}  // namespace wsd
