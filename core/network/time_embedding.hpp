#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace wsd {

// The authors' networks see the diffusion time as t * 1000 (the DDPM step scale), while this
// project passes t in [0, 1]; the scaling is part of the network so that imported weights work.
inline constexpr double kDdpmTimeScale = 1000.0;

// Transformer-style sinusoidal features of time_scale * t: [sin(s t w_i), cos(s t w_i)] with
// w_i = exp(-ln(10000) i / (dim/2 - 1)), i < dim/2. t is [N]; the result is [N, dim] in float32
// (double when t is double): phases reach 1000 rad, far beyond what bf16 can resolve.
torch::Tensor sinusoidal_features(const torch::Tensor& t, int64_t dim, double time_scale);

// Time embedding of a UNet with n base channels: n sinusoidal features -> lin1 (n -> 4n) ->
// swish -> lin2 (4n -> 4n). Parameter names follow the authors' state dict (time_emb.lin1/lin2).
class TimeEmbeddingImpl : public torch::nn::Module {
 public:
  explicit TimeEmbeddingImpl(int64_t n_channels, double time_scale = kDdpmTimeScale);

  // t: [N] on the module's device. Returns [N, 4n].
  torch::Tensor forward(const torch::Tensor& t);

  int64_t out_channels() const { return 4 * n_channels_; }

 private:
  int64_t n_channels_;
  double time_scale_;
  torch::nn::Linear lin1_{nullptr};
  torch::nn::Linear lin2_{nullptr};
};
TORCH_MODULE(TimeEmbedding);

}  // namespace wsd
