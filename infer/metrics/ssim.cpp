#include "infer/metrics/ssim.hpp"

#include <torch/torch.h>

#include "core/util/errors.hpp"

namespace wsd {
namespace {

constexpr int64_t kWindow = 11;
constexpr double kSigma = 1.5, kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;

// The separable window as a [1, 1, 11, 11] float64 kernel.
torch::Tensor gaussian_window(torch::Device device) {
  const auto offsets =
      torch::arange(kWindow, torch::TensorOptions().dtype(torch::kFloat64).device(device)) -
      (kWindow - 1) / 2;
  auto g = torch::exp(-offsets.square() / (2 * kSigma * kSigma));
  g = g / g.sum();
  return torch::outer(g, g).view({1, 1, kWindow, kWindow});
}

}  // namespace

torch::Tensor ssim(const torch::Tensor& estimate, const torch::Tensor& reference) {
  TORCH_CHECK(estimate.sizes() == reference.sizes(), "ssim: shapes differ: ", estimate.sizes(),
              " vs ", reference.sizes());
  TORCH_CHECK(estimate.dim() == 4, "ssim: expected [N, C, H, W], got ", estimate.sizes());
  if (estimate.size(2) < kWindow || estimate.size(3) < kWindow) {
    throw InputError("ssim needs images of at least 11 x 11 pixels");
  }
  const int64_t n = estimate.size(0), c = estimate.size(1);
  // Channels become batch entries: every channel is filtered alone.
  const auto a =
      ((estimate.to(torch::kFloat64) + 1.0) * 0.5).clamp(0.0, 1.0).flatten(0, 1).unsqueeze(1);
  const auto b =
      ((reference.to(torch::kFloat64) + 1.0) * 0.5).clamp(0.0, 1.0).flatten(0, 1).unsqueeze(1);
  const auto window = gaussian_window(a.device());
  const auto filter = [&](const torch::Tensor& x) { return torch::conv2d(x, window); };
  const auto mu_a = filter(a), mu_b = filter(b);
  const auto var_a = filter(a * a) - mu_a.square();
  const auto var_b = filter(b * b) - mu_b.square();
  const auto cov = filter(a * b) - mu_a * mu_b;
  const auto map = ((2 * mu_a * mu_b + kC1) * (2 * cov + kC2)) /
                   ((mu_a.square() + mu_b.square() + kC1) * (var_a + var_b + kC2));
  return map.view({n, c, -1}).mean(2).mean(1);
}

}  // namespace wsd
