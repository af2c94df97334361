#include "data/transforms.hpp"

#include <torch/torch.h>

#include "core/util/seeds.hpp"
#include "data/dataset.hpp"

namespace wsd {
namespace {

torch::Tensor pad_axis(const torch::Tensor& image, int64_t dim, int64_t size) {
  const int64_t current = image.size(dim);
  if (current >= size) return image;
  std::vector<int64_t> shape(image.sizes().begin(), image.sizes().end());
  shape[static_cast<size_t>(dim)] = size;
  auto out = torch::full(shape, -1.0, image.options());
  out.narrow(dim, (size - current) / 2, current).copy_(image);
  return out;
}

torch::Tensor crop_axis(const torch::Tensor& image, int64_t dim, int64_t size, int64_t start) {
  return image.size(dim) > size ? image.narrow(dim, start, size) : image;
}

void check_image(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3, "expected an image [C, H, W], got ", image.sizes());
}

}  // namespace

torch::Tensor fit_to_size(const torch::Tensor& image, int64_t size) {
  check_image(image);
  auto out = pad_axis(pad_axis(image, 1, size), 2, size);
  out = crop_axis(out, 1, size, (out.size(1) - size) / 2);
  return crop_axis(out, 2, size, (out.size(2) - size) / 2);
}

torch::Tensor resize_to_size(const torch::Tensor& image, int64_t size) {
  check_image(image);
  const int64_t h = image.size(1), w = image.size(2);
  if (h == size && w == size) return image;
  const double scale = static_cast<double>(size) / static_cast<double>(std::min(h, w));
  const int64_t new_h = std::max<int64_t>(size, std::llround(h * scale));
  const int64_t new_w = std::max<int64_t>(size, std::llround(w * scale));
  namespace F = torch::nn::functional;
  const auto resized =
      F::interpolate(image.unsqueeze(0), F::InterpolateFuncOptions()
                                             .size(std::vector<int64_t>{new_h, new_w})
                                             .mode(torch::kBilinear)
                                             .align_corners(false)
                                             .antialias(true))
          .squeeze(0);
  return fit_to_size(resized, size);
}

torch::Tensor random_crop(const torch::Tensor& image, int64_t size, uint64_t bits) {
  check_image(image);
  auto out = pad_axis(pad_axis(image, 1, size), 2, size);
  out = crop_axis(out, 1, size, pick(mix64(bits ^ 0x1ULL), out.size(1) - size + 1));
  return crop_axis(out, 2, size, pick(mix64(bits ^ 0x2ULL), out.size(2) - size + 1));
}

torch::Tensor to_channels(const torch::Tensor& image, int64_t channels) {
  const int64_t c = image.size(0);
  if (c == channels) return image;
  if (c == 1 && channels == 3) return image.expand({3, image.size(1), image.size(2)}).clone();
  if (c == 3 && channels == 1) return image.mean(0, /*keepdim=*/true);
  TORCH_CHECK(false, "cannot convert ", c, " channels to ", channels);
}

torch::Tensor bytes_to_unit_range(const torch::Tensor& bytes) {
  return bytes.to(torch::kFloat32).div_(127.5).sub_(1.0);
}

torch::Tensor transform_sample(const torch::Tensor& image, const TransformOptions& options,
                               uint64_t key) {
  check_image(image);
  auto out = to_channels(image, options.channels);
  switch (options.fit) {
    case DataFit::kCenter:
      out = fit_to_size(out, options.size);
      break;
    case DataFit::kResize:
      out = resize_to_size(out, options.size);
      break;
    case DataFit::kRandomCrop:
      out = random_crop(out, options.size, key);
      break;
    case DataFit::kNone:
      if (out.size(1) != options.size || out.size(2) != options.size) {
        throw BadSampleError("is " + std::to_string(out.size(1)) + "x" +
                             std::to_string(out.size(2)) + ", expected " +
                             std::to_string(options.size) + "x" + std::to_string(options.size) +
                             " (data.fit: none; use center, resize or random_crop)");
      }
      break;
  }
  // The lowest bit is the flip, as in earlier versions: runs resume onto the same flips.
  if (options.random_flip && (key & 1ULL)) out = out.flip({2});
  return out.contiguous();
}

}  // namespace wsd
