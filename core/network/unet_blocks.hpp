#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

#include "core/network/attention_block.hpp"
#include "core/network/residual_block.hpp"

namespace wsd {

// One entry of the UNet's down or up path: `res`, then `attn` where the resolution has
// attention (no key at all otherwise, as in the authors' state dict).
class UNetBlockImpl : public torch::nn::Module {
 public:
  UNetBlockImpl(int64_t in_channels, int64_t out_channels, int64_t time_channels, bool has_attn,
                double dropout);

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& time_features);

 private:
  ResidualBlock res_{nullptr};
  AttentionBlock attn_{nullptr};  // empty without attention
};
TORCH_MODULE(UNetBlock);

// The bottleneck: res1, attn, res2 at the lowest resolution (always with attention).
class MiddleBlockImpl : public torch::nn::Module {
 public:
  MiddleBlockImpl(int64_t channels, int64_t time_channels, double dropout);

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& time_features);

 private:
  ResidualBlock res1_{nullptr};
  AttentionBlock attn_{nullptr};
  ResidualBlock res2_{nullptr};
};
TORCH_MODULE(MiddleBlock);

// Halves the resolution: 3x3 conv, stride 2, padding 1 (`conv`).
class DownsampleImpl : public torch::nn::Module {
 public:
  explicit DownsampleImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Downsample);

// Doubles the resolution: nearest-neighbour 2x, then a 3x3 conv (`conv2`, the authors' name).
// Unlike a transposed conv this has no checkerboard artefacts.
class UpsampleImpl : public torch::nn::Module {
 public:
  explicit UpsampleImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv2_{nullptr};
};
TORCH_MODULE(Upsample);

}  // namespace wsd
