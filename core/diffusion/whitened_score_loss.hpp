#pragma once

// The training objective of WS diffusion (docs/maths.md, "Network parameterisations"): clean
// images x_0 are noised with structured noise n at times t, x_t = perturb(x_0, n, t); the model
// sees x_t and its output regresses onto the parameterisation's target (the whitened-score
// target -(beta_t / sigma_t) n for `ws`) with the parameterisation's per-sample weight. The
// training step, validation and the training benchmark all evaluate it through this class.

#include <torch/types.h>

#include <functional>
#include <utility>

#include "core/diffusion/forward_process.hpp"

namespace wsd {

class WhitenedScoreLoss {
 public:
  // The network applied to x_t at times t [N], with whatever input scaling
  // (ForwardProcess::network_input), memory layout and precision its caller runs it in.
  using Model = std::function<torch::Tensor(const torch::Tensor& x_t, const torch::Tensor& t)>;

  explicit WhitenedScoreLoss(ForwardProcess process) : process_(std::move(process)) {}

  const ForwardProcess& process() const { return process_; }

  // The loss of `model` on clean images x0 [N, C, H, W], noise n (same shape) and times t [N],
  // reduced in float32 at least; `frequency_filter` as in ForwardProcess::loss.
  LossTerms operator()(const Model& model, const torch::Tensor& x0, const torch::Tensor& n,
                       const torch::Tensor& t, const torch::Tensor& frequency_filter = {}) const {
    return process_.loss(model(process_.perturb(x0, n, t), t), process_.target(x0, n, t), t,
                         frequency_filter);
  }

 private:
  ForwardProcess process_;
};

}  // namespace wsd
