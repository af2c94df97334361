#include "core/network/time_embedding.hpp"

#include <torch/torch.h>

#include <cmath>

namespace wsd {

torch::Tensor sinusoidal_features(const torch::Tensor& t, int64_t dim, double time_scale) {
  TORCH_CHECK(dim >= 4 && dim % 2 == 0, "sinusoidal_features: dim must be even and >= 4, got ",
              dim);
  TORCH_CHECK(t.dim() == 1, "sinusoidal_features: t must be [N], got ", t.sizes());
  const auto dtype = t.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const int64_t half = dim / 2;
  // Built on t's device every call (a tiny kernel, no host synchronisation): a buffer would
  // add a key that the authors' state dicts do not have.
  const torch::Tensor freqs = torch::exp(torch::arange(half, t.options().dtype(dtype)) *
                                         (-std::log(10000.0) / static_cast<double>(half - 1)));
  // Scale t first, then multiply by the frequencies: the authors' rounding order.
  const torch::Tensor phase = (t.to(dtype) * time_scale).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::sin(phase), torch::cos(phase)}, 1);
}

TimeEmbeddingImpl::TimeEmbeddingImpl(int64_t n_channels, double time_scale)
    : n_channels_(n_channels), time_scale_(time_scale) {
  lin1_ = register_module("lin1", torch::nn::Linear(n_channels, 4 * n_channels));
  lin2_ = register_module("lin2", torch::nn::Linear(4 * n_channels, 4 * n_channels));
}

torch::Tensor TimeEmbeddingImpl::forward(const torch::Tensor& t) {
  // Match the weights' dtype so that a model converted to bf16 runs without autocast; under
  // autocast the weights stay float32 and the linear layer casts by itself.
  const torch::Tensor features =
      sinusoidal_features(t, n_channels_, time_scale_).to(lin1_->weight.scalar_type());
  return lin2_(torch::silu(lin1_(features)));
}

}  // namespace wsd
