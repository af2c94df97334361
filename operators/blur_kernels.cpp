#include "operators/blur_kernels.hpp"

#include <torch/torch.h>

#include <cmath>

namespace wsd {

torch::Tensor gaussian_kernel(double sigma, int64_t size) {
  TORCH_CHECK(sigma > 0 && size >= 1 && size % 2 == 1, "gaussian_kernel: sigma > 0, odd size");
  const auto d = torch::arange(size, torch::kFloat64) - static_cast<double>(size / 2);
  const auto g = torch::exp(-d.square() / (2 * sigma * sigma));
  const auto kernel = torch::outer(g, g);
  return kernel / kernel.sum();
}

torch::Tensor box_kernel(int64_t size) {
  TORCH_CHECK(size >= 1 && size % 2 == 1, "box_kernel: odd size");
  return torch::full({size, size}, 1.0 / static_cast<double>(size * size), torch::kFloat64);
}

torch::Tensor motion_kernel(double length, double angle_deg) {
  TORCH_CHECK(length > 0 && std::isfinite(angle_deg), "motion_kernel: length > 0");
  const int64_t radius = static_cast<int64_t>(std::floor(length / 2)) + 1;
  const int64_t size = 2 * radius + 1;
  const int64_t points = 16 * static_cast<int64_t>(std::ceil(length));
  const double angle = angle_deg * M_PI / 180.0;
  // Midpoints of equal pieces of the segment: symmetric about the centre, so the kernel is
  // point-symmetric, and each point stands for the same length.
  const double step = length / static_cast<double>(points);
  const auto t = (torch::arange(points, torch::kFloat64) + 0.5) * step - length / 2;
  const auto col = t * std::cos(angle) + static_cast<double>(radius);
  const auto row = -t * std::sin(angle) + static_cast<double>(radius);
  const auto col0 = col.floor();
  const auto row0 = row.floor();
  const auto fc = col - col0;
  const auto fr = row - row0;
  auto kernel = torch::zeros({size * size}, torch::kFloat64);
  const auto splat = [&](const torch::Tensor& r, const torch::Tensor& c, const torch::Tensor& wgt) {
    // Corners outside the grid carry zero weight (a coordinate exactly on the last row/column).
    const auto inside = (r >= 0) & (r < size) & (c >= 0) & (c < size);
    const auto index = (r.clamp(0, size - 1) * size + c.clamp(0, size - 1)).to(torch::kLong);
    kernel.index_add_(0, index, torch::where(inside, wgt, torch::zeros_like(wgt)));
  };
  splat(row0, col0, (1 - fr) * (1 - fc));
  splat(row0, col0 + 1, (1 - fr) * fc);
  splat(row0 + 1, col0, fr * (1 - fc));
  splat(row0 + 1, col0 + 1, fr * fc);
  kernel = kernel.view({size, size});
  return kernel / kernel.sum();
}

}  // namespace wsd
