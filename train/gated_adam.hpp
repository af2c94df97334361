#pragma once

#include <torch/torch.h>

#include <vector>

namespace wsd {

struct GatedAdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = false;  // false: Adam (L2 added to the gradient); true: AdamW
};

// Adam / AdamW whose every update is gated by a device-side flag: with `apply` = 0 the parameters,
// moments and step count stay bit-identical, even when the gradients hold NaN or Inf. The flag
// never leaves the device, so a non-finite step is skipped without a host synchronisation. The
// step count is a device tensor too (it only advances on applied steps) and feeds the bias
// corrections. Numerically this matches torch::optim::Adam / AdamW (pinned by a test).
class GatedAdam {
 public:
  GatedAdam(std::vector<torch::Tensor> parameters, GatedAdamOptions options);

  // Gradients of every parameter exist from construction on and are zeroed in place, so the
  // gradient buffers keep their addresses and layouts from step to step.
  void zero_grad();
  // One update with learning rate `lr`, applied where `apply` (0-dim float tensor, 0 or 1) is 1.
  // Non-finite gradient entries are zeroed first (they only occur on steps that are not applied).
  void step(double lr, const torch::Tensor& apply);

  const std::vector<torch::Tensor>& parameters() const { return params_; }
  std::vector<torch::Tensor>& exp_avg() { return exp_avg_; }
  std::vector<torch::Tensor>& exp_avg_sq() { return exp_avg_sq_; }
  // Applied steps so far: 0-dim float64 on the parameters' device.
  torch::Tensor& step_count() { return step_; }
  const GatedAdamOptions& options() const { return options_; }

 private:
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> grads_;
  std::vector<torch::Tensor> exp_avg_;
  std::vector<torch::Tensor> exp_avg_sq_;
  torch::Tensor step_;
  GatedAdamOptions options_;
};

}  // namespace wsd
