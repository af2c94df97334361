#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <string>

#include "core/checkpoint/checkpoint.hpp"

namespace wsd {

// Named parameters, then named buffers, each in registration order (the authors' key order for
// modules built like theirs). The tensors are detached views sharing the module's storage:
// clone them to keep a snapshot across training steps.
StateDict state_dict_of(const torch::nn::Module& module);

// Copies `state` into the module's parameters and buffers (dtype and device converted as
// needed). Every key must match exactly and every shape must agree; otherwise nothing is copied
// and InputError says, in one line naming `source`, the first missing key (in the module's order),
// the first unexpected or duplicated key, or the first shape mismatch.
void load_state_dict(torch::nn::Module& module, const StateDict& state, const std::string& source);

// Throws InputError naming `source` and the first tensor of `state` holding NaN or Inf: such
// weights turn every network output into NaN without any error downstream.
void check_finite(const StateDict& state, const std::string& source);

// Removes leading "_orig_mod." (torch.compile) and "module." (DataParallel / DDP) prefixes, in
// any combination, so that weights saved from a wrapped model load into a plain one.
std::string strip_wrapper_prefixes(const std::string& key);
StateDict strip_wrapper_prefixes(StateDict state);

// Number of scalar parameters (buffers excluded).
int64_t parameter_count(const torch::nn::Module& module);

}  // namespace wsd
