#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace wsd {

// Single-head self-attention over the pixels of a feature map (docs/architecture.md, 'The
// network (ddpm_unet)'):
// projection (c -> 3c) gives q, k, v per pixel; weights = softmax over keys of
// 10 tanh(q.k / sqrt(c)) (a soft cap on the logits); out = output(weights v) + x.
// It owns a GroupNorm `norm` that the authors' forward pass never applies: the parameter is
// kept so their state dicts load, and it is deliberately not used (its gradient stays undefined).
class AttentionBlockImpl : public torch::nn::Module {
 public:
  explicit AttentionBlockImpl(int64_t channels, int64_t n_groups = 32);

  torch::Tensor forward(const torch::Tensor& x);  // [N, C, H, W] -> [N, C, H, W]

 private:
  int64_t channels_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Linear projection_{nullptr};
  torch::nn::Linear output_{nullptr};
};
TORCH_MODULE(AttentionBlock);

}  // namespace wsd
