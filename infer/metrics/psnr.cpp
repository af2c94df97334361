#include "infer/metrics/psnr.hpp"

#include <torch/torch.h>

namespace wsd {

torch::Tensor psnr(const torch::Tensor& estimate, const torch::Tensor& reference) {
  TORCH_CHECK(estimate.sizes() == reference.sizes(), "psnr: shapes differ: ", estimate.sizes(),
              " vs ", reference.sizes());
  TORCH_CHECK(estimate.dim() == 4, "psnr: expected [N, C, H, W], got ", estimate.sizes());
  const auto a = ((estimate.to(torch::kFloat64) + 1.0) * 0.5).clamp(0.0, 1.0);
  const auto b = ((reference.to(torch::kFloat64) + 1.0) * 0.5).clamp(0.0, 1.0);
  const auto mse = (a - b).square().flatten(1).mean(1);
  return -10.0 * torch::log10(mse);
}

}  // namespace wsd
