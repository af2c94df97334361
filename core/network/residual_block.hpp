#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace wsd {

// Residual block of the DDPM UNet (docs/architecture.md, 'The network (ddpm_unet)'):
//   h = conv1(swish(norm1(x))) + time_emb(time_features)[:, :, None, None]
//   h = conv2(dropout(swish(norm2(h))))
//   out = (h + shortcut(x)) / sqrt(2)
// norm1/norm2 are GroupNorm(32, .); shortcut is a 1x1 conv only when the channel count changes
// (an identity has no parameters, so the authors' state dict has no key for it).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in_channels, int64_t out_channels, int64_t time_channels,
                    double dropout);

  // x: [N, in, H, W]; time_features: swish(time embedding), [N, time_channels]. The swish is
  // applied once by the caller, not once per block.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& time_features);

 private:
  torch::nn::GroupNorm norm1_{nullptr};
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Linear time_emb_{nullptr};
  torch::nn::GroupNorm norm2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Conv2d shortcut_{nullptr};  // empty when in == out
};
TORCH_MODULE(ResidualBlock);

}  // namespace wsd
