#include "core/network/ddpm_unet.hpp"

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

constexpr int64_t kBlockGroups = 32;  // GroupNorm groups inside residual and attention blocks
constexpr int64_t kOutputGroups = 8;  // GroupNorm groups of the output head

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError("ddpm_unet: " + message);
}

}  // namespace

void DdpmUNetOptions::validate() const {
  require(image_channels_ >= 1,
          "image_channels must be >= 1, got " + std::to_string(image_channels_));
  // Every channel count in the network is a multiple of n_channels, so this one check covers
  // all GroupNorm(32, .) layers (and the output GroupNorm(8, n)).
  require(n_channels_ >= kBlockGroups && n_channels_ % kBlockGroups == 0,
          "n_channels must be a positive multiple of 32, got " + std::to_string(n_channels_));
  require(!ch_mults_.empty(), "ch_mults must not be empty");
  for (const int64_t m : ch_mults_) {
    require(m >= 1, "ch_mults entries must be >= 1, got " + std::to_string(m));
  }
  require(is_attn_.size() == ch_mults_.size(), "is_attn has " + std::to_string(is_attn_.size()) +
                                                   " entries, ch_mults has " +
                                                   std::to_string(ch_mults_.size()));
  require(n_blocks_ >= 1, "n_blocks must be >= 1, got " + std::to_string(n_blocks_));
  require(dropout_ >= 0.0 && dropout_ < 1.0,
          "dropout must be in [0, 1), got " + std::to_string(dropout_));
}

DdpmUNetImpl::DdpmUNetImpl(DdpmUNetOptions options) : options_(std::move(options)) {
  options_.validate();
  const int64_t n = options_.n_channels();
  const auto& mults = options_.ch_mults();
  const auto& attn = options_.is_attn();
  const int64_t levels = static_cast<int64_t>(mults.size());
  const double dropout = options_.dropout();

  image_proj_ = register_module(
      "image_proj",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(options_.image_channels(), n, 3).padding(1)));
  time_emb_ = register_module("time_emb", TimeEmbedding(n));
  const int64_t tc = time_emb_->out_channels();

  down_ = register_module("down", torch::nn::ModuleList());
  int64_t in = n;
  for (int64_t i = 0; i < levels; ++i) {
    const int64_t out = in * mults[i];
    for (int64_t j = 0; j < options_.n_blocks(); ++j) {
      down_blocks_.push_back(UNetBlock(in, out, tc, attn[i], dropout));
      down_->push_back(down_blocks_.back());
      in = out;
    }
    if (i + 1 < levels) {
      downsamples_.push_back(Downsample(in));
      down_->push_back(downsamples_.back());
    }
  }

  middle_ = register_module("middle", MiddleBlock(in, tc, dropout));

  up_ = register_module("up", torch::nn::ModuleList());
  for (int64_t i = levels - 1; i >= 0; --i) {
    // n_blocks blocks keep the channel count; one more block consumes the skip saved before
    // this resolution's first down block (c / m channels) and reduces to it.
    for (int64_t j = 0; j < options_.n_blocks(); ++j) {
      up_blocks_.push_back(UNetBlock(in + in, in, tc, attn[i], dropout));
      up_->push_back(up_blocks_.back());
    }
    const int64_t out = in / mults[i];
    up_blocks_.push_back(UNetBlock(in + out, out, tc, attn[i], dropout));
    up_->push_back(up_blocks_.back());
    in = out;
    if (i > 0) {
      upsamples_.push_back(Upsample(in));
      up_->push_back(upsamples_.back());
    }
  }

  norm_ =
      register_module("norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(kOutputGroups, n)));
  final_ = register_module(
      "final",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(n, options_.image_channels(), 3).padding(1)));
}

torch::Tensor DdpmUNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t) {
  const int64_t levels = static_cast<int64_t>(options_.ch_mults().size());
  const int64_t factor = int64_t{1} << (levels - 1);
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.image_channels(), "ddpm_unet: x must be [N, ",
              options_.image_channels(), ", H, W], got ", x.sizes());
  TORCH_CHECK(x.size(2) % factor == 0 && x.size(3) % factor == 0, "ddpm_unet: H and W must be ",
              "divisible by ", factor, ", got ", x.sizes());
  TORCH_CHECK(t.dim() == 0 || (t.dim() == 1 && t.size(0) == x.size(0)),
              "ddpm_unet: t must be [N] with N = ", x.size(0), ", got ", t.sizes());
  const torch::Tensor times = (t.dim() == 0 ? t.expand({x.size(0)}) : t).to(x.device());

  // Every residual block applies swish to the embedding before its own projection; do it once.
  const torch::Tensor time_features = torch::silu(time_emb_(times));

  torch::Tensor h = image_proj_(x);
  std::vector<torch::Tensor> skips{h};
  skips.reserve(down_->size() + 1);
  size_t block = 0;
  for (int64_t i = 0; i < levels; ++i) {
    for (int64_t j = 0; j < options_.n_blocks(); ++j) {
      h = down_blocks_[block++](h, time_features);
      skips.push_back(h);
    }
    if (i + 1 < levels) {
      h = downsamples_[static_cast<size_t>(i)](h);
      skips.push_back(h);
    }
  }

  h = middle_(h, time_features);

  block = 0;
  size_t upsample = 0;
  for (int64_t i = levels - 1; i >= 0; --i) {
    for (int64_t j = 0; j <= options_.n_blocks(); ++j) {
      h = up_blocks_[block++](torch::cat({h, skips.back()}, 1), time_features);
      skips.pop_back();
    }
    if (i > 0) h = upsamples_[upsample++](h);
  }

  return final_(torch::silu(norm_(h)));
}

}  // namespace wsd
