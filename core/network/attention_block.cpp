#include "core/network/attention_block.hpp"

#include <torch/torch.h>

#include <cmath>

namespace wsd {
namespace {

constexpr double kLogitCap = 10.0;

}  // namespace

AttentionBlockImpl::AttentionBlockImpl(int64_t channels, int64_t n_groups) : channels_(channels) {
  norm_ = register_module("norm",
                          torch::nn::GroupNorm(torch::nn::GroupNormOptions(n_groups, channels)));
  projection_ = register_module("projection", torch::nn::Linear(channels, 3 * channels));
  output_ = register_module("output", torch::nn::Linear(channels, channels));
}

torch::Tensor AttentionBlockImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0);
  const int64_t h = x.size(2);
  const int64_t w = x.size(3);
  // [N, C, H, W] -> [N, HW, C]: one token per pixel.
  const torch::Tensor tokens = x.reshape({n, channels_, h * w}).transpose(1, 2);
  const auto qkv = projection_(tokens).chunk(3, -1);
  const torch::Tensor logits =
      torch::matmul(qkv[0], qkv[1].transpose(1, 2)) * (1.0 / std::sqrt(double(channels_)));
  const torch::Tensor weights = torch::softmax(kLogitCap * torch::tanh(logits), -1);
  const torch::Tensor out = output_(torch::matmul(weights, qkv[2])) + tokens;
  return out.transpose(1, 2).reshape({n, channels_, h, w});
}

}  // namespace wsd
