#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/network/state_dict.hpp"

namespace wsd {

// Exponential moving average of a module's parameters, kept by parameter name (buffers are
// copied as they are). The update is one fused foreach call: no host synchronisation in the
// training loop.
class Ema {
 public:
  Ema(torch::nn::Module& module, double decay);
  void update(torch::nn::Module& module);
  // The same update, applied only where `apply` (0-dim float tensor on the device, 0 or 1) is 1:
  // a skipped training step leaves the average bit-identical, without a host synchronisation.
  void update(torch::nn::Module& module, const torch::Tensor& apply);
  // Writes the averaged weights into `module` (same architecture).
  void copy_to(torch::nn::Module& module) const;
  // The averaged weights by parameter name: a checkpoint's `ema` section.
  StateDict state_dict() const;
  // Restores the average from a checkpoint's `ema` section (any order); InputError naming
  // `source` and the first parameter it lacks.
  void load_state_dict(const StateDict& state, const std::string& source);
  const std::vector<torch::Tensor>& shadow() const { return shadow_; }
  double decay() const { return decay_; }

 private:
  double decay_;
  std::vector<std::string> names_;
  std::vector<torch::Tensor> shadow_;
};

}  // namespace wsd
