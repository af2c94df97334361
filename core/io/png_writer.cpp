#include "core/io/png_writer.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_image_write.h>

namespace wsd {

torch::Tensor make_image_grid(const torch::Tensor& images, int64_t columns) {
  TORCH_CHECK(images.dim() == 4, "image grid: expected [N, C, H, W], got ", images.sizes());
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  TORCH_CHECK(n > 0 && (c == 1 || c == 3), "image grid: need N > 0 and 1 or 3 channels");
  const int64_t cols = columns > 0 ? columns : static_cast<int64_t>(std::ceil(std::sqrt(n)));
  const int64_t rows = (n + cols - 1) / cols;
  auto grid = torch::full({c, rows * (h + 1) + 1, cols * (w + 1) + 1}, -1.0f);
  const auto src = images.detach().to(torch::kCPU, torch::kFloat32).clamp(-1.0, 1.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = 1 + (i / cols) * (h + 1), left = 1 + (i % cols) * (w + 1);
    grid.narrow(1, top, h).narrow(2, left, w).copy_(src[i]);
  }
  return grid;
}

void write_image_grid(const torch::Tensor& images, const std::string& path, int64_t columns) {
  const auto grid = make_image_grid(images, columns);
  const auto bytes = ((grid + 1.0) * 127.5)
                         .round()
                         .clamp(0, 255)
                         .to(torch::kUInt8)
                         .permute({1, 2, 0})
                         .contiguous();
  const int height = static_cast<int>(bytes.size(0)), width = static_cast<int>(bytes.size(1));
  const int channels = static_cast<int>(bytes.size(2));
  if (stbi_write_png(path.c_str(), width, height, channels, bytes.data_ptr<uint8_t>(),
                     width * channels) == 0) {
    throw std::runtime_error("cannot write PNG '" + path + "'");
  }
}

}  // namespace wsd
