#pragma once

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/network/time_embedding.hpp"
#include "core/network/unet_blocks.hpp"

namespace wsd {

// Constructor arguments of the authors' UNet; the defaults are their configuration
// (docs/architecture.md, 'The network (ddpm_unet)'). Channel counts at resolution i are
// n_channels * prod(ch_mults[0..i]).
struct DdpmUNetOptions {
  TORCH_ARG(int64_t, image_channels) = 3;
  TORCH_ARG(int64_t, n_channels) = 64;
  TORCH_ARG(std::vector<int64_t>, ch_mults) = {1, 2, 2, 4};
  TORCH_ARG(std::vector<bool>, is_attn) = {false, false, true, true};
  TORCH_ARG(int64_t, n_blocks) = 4;
  TORCH_ARG(double, dropout) = 0.0;

 public:
  // Throws InputError (one line, "ddpm_unet: ...") for options the network cannot be built with:
  // every GroupNorm(32, .) needs a channel count divisible by 32, so n_channels must be.
  void validate() const;
};

// The authors' DDPM UNet ("ddpm_unet"). Submodule and parameter names are their state-dict keys:
// image_proj, time_emb.lin1/lin2, down.{k}.res/attn/conv, middle.res1/attn/res2,
// up.{k}.res/attn/conv2, norm, final.
//
// forward has no host synchronisation and no data-dependent control flow; it runs on any device
// and under autocast.
class DdpmUNetImpl : public torch::nn::Module {
 public:
  explicit DdpmUNetImpl(DdpmUNetOptions options = {});

  // x: [N, image_channels, H, W] with H and W divisible by 2^(levels - 1); t: [N] (or a scalar,
  // broadcast over the batch) in [0, 1], scaled by kDdpmTimeScale inside. Returns x's shape.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t);

  const DdpmUNetOptions& options() const { return options_; }

 private:
  DdpmUNetOptions options_;
  torch::nn::Conv2d image_proj_{nullptr};
  TimeEmbedding time_emb_{nullptr};
  // Registered ModuleLists give the authors' flat indices (down.{k}, up.{k}); the typed vectors
  // below hold the same modules in the order forward visits them.
  torch::nn::ModuleList down_{nullptr};
  torch::nn::ModuleList up_{nullptr};
  std::vector<UNetBlock> down_blocks_;
  std::vector<Downsample> downsamples_;
  MiddleBlock middle_{nullptr};
  std::vector<UNetBlock> up_blocks_;
  std::vector<Upsample> upsamples_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Conv2d final_{nullptr};
};
TORCH_MODULE(DdpmUNet);

}  // namespace wsd
