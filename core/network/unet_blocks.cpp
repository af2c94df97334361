#include "core/network/unet_blocks.hpp"

#include <torch/torch.h>

namespace wsd {

UNetBlockImpl::UNetBlockImpl(int64_t in_channels, int64_t out_channels, int64_t time_channels,
                             bool has_attn, double dropout) {
  res_ = register_module("res", ResidualBlock(in_channels, out_channels, time_channels, dropout));
  if (has_attn) attn_ = register_module("attn", AttentionBlock(out_channels));
}

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& time_features) {
  torch::Tensor h = res_(x, time_features);
  return attn_.is_empty() ? h : attn_(h);
}

MiddleBlockImpl::MiddleBlockImpl(int64_t channels, int64_t time_channels, double dropout) {
  res1_ = register_module("res1", ResidualBlock(channels, channels, time_channels, dropout));
  attn_ = register_module("attn", AttentionBlock(channels));
  res2_ = register_module("res2", ResidualBlock(channels, channels, time_channels, dropout));
}

torch::Tensor MiddleBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& time_features) {
  return res2_(attn_(res1_(x, time_features)), time_features);
}

DownsampleImpl::DownsampleImpl(int64_t channels) {
  conv_ = register_module(
      "conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1)));
}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) { return conv_(x); }

UpsampleImpl::UpsampleImpl(int64_t channels) {
  conv2_ = register_module(
      "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1)));
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  const torch::Tensor up = F::interpolate(x, F::InterpolateFuncOptions()
                                                 .scale_factor(std::vector<double>{2.0, 2.0})
                                                 .mode(torch::kNearest));
  return conv2_(up);
}

}  // namespace wsd
