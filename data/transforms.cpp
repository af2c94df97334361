#include "data/transforms.hpp"

#include <torch/torch.h>

namespace wsd {
namespace {

torch::Tensor fit_axis(const torch::Tensor& image, int64_t dim, int64_t size) {
  const int64_t current = image.size(dim);
  if (current == size) return image;
  if (current > size) return image.narrow(dim, (current - size) / 2, size);
  const int64_t before = (size - current) / 2;
  std::vector<int64_t> shape(image.sizes().begin(), image.sizes().end());
  shape[static_cast<size_t>(dim)] = size;
  auto out = torch::full(shape, -1.0, image.options());
  out.narrow(dim, before, current).copy_(image);
  return out;
}

}  // namespace

torch::Tensor fit_to_size(const torch::Tensor& image, int64_t size) {
  TORCH_CHECK(image.dim() == 3, "fit_to_size: expected [C, H, W], got ", image.sizes());
  return fit_axis(fit_axis(image, 1, size), 2, size);
}

torch::Tensor to_channels(const torch::Tensor& image, int64_t channels) {
  const int64_t c = image.size(0);
  if (c == channels) return image;
  if (c == 1 && channels == 3) return image.expand({3, image.size(1), image.size(2)}).clone();
  if (c == 3 && channels == 1) return image.mean(0, /*keepdim=*/true);
  TORCH_CHECK(false, "cannot convert ", c, " channels to ", channels);
}

}  // namespace wsd
