#include "core/network/residual_block.hpp"

#include <torch/torch.h>

#include <cmath>

namespace wsd {
namespace {

constexpr int64_t kGroups = 32;

torch::nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int64_t in_channels, int64_t out_channels,
                                     int64_t time_channels, double dropout) {
  norm1_ = register_module("norm1",
                           torch::nn::GroupNorm(torch::nn::GroupNormOptions(kGroups, in_channels)));
  conv1_ = register_module("conv1", conv3x3(in_channels, out_channels));
  time_emb_ = register_module("time_emb", torch::nn::Linear(time_channels, out_channels));
  norm2_ = register_module(
      "norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(kGroups, out_channels)));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  conv2_ = register_module("conv2", conv3x3(out_channels, out_channels));
  if (in_channels != out_channels) {
    shortcut_ = register_module(
        "shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, 1)));
  }
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x,
                                         const torch::Tensor& time_features) {
  torch::Tensor h = conv1_(torch::silu(norm1_(x)));
  h = h + time_emb_(time_features).unsqueeze(-1).unsqueeze(-1);
  h = conv2_(dropout_(torch::silu(norm2_(h))));
  const torch::Tensor skip = shortcut_.is_empty() ? x : shortcut_(x);
  // Dividing by sqrt(2) keeps the sum of two unit-variance branches at unit variance; the
  // reference fixture confirms the authors' blocks do it.
  return (h + skip) * (1.0 / std::sqrt(2.0));
}

}  // namespace wsd
