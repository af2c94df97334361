#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace wsd {

struct ImageGridOptions {
  int64_t columns = 0;  // 0 = a near-square layout
  // Nearest-neighbour magnification of every tile; 0 = the smallest that makes tiles at least
  // kReadableTile px (so 32x32 images are not thumbnails) and wide enough for every label.
  int64_t scale = 0;
  std::vector<std::string> column_labels;  // drawn above the columns when given
  static constexpr int64_t kReadableTile = 96;
};

// Writes a batch [N, C, H, W] of images in [-1, 1] (C = 1 or 3) as one PNG grid with mid-grey
// one-pixel separators (visible against dark backgrounds) and optional column labels. Values
// are clamped.
void write_image_grid(const torch::Tensor& images, const std::string& path,
                      const ImageGridOptions& options = {});

// The channels of a batch [N, C, H, W] that show as a picture: all of them for C = 1 or 3 (gray,
// RGB), the first for any other count (a multi-channel unknown such as IDT's [absorption,
// phase]).
torch::Tensor picture_channels(const torch::Tensor& images);

// The picture write_image_grid writes, [C, H', W'] in [-1, 1].
torch::Tensor render_image_grid(const torch::Tensor& images, const ImageGridOptions& options);

// Arranges the batch as a grid image [C, rows*(H+1)+1, cols*(W+1)+1] in [-1, 1], tiles
// separated by one-pixel lines of value `separator`.
torch::Tensor make_image_grid(const torch::Tensor& images, int64_t columns = 0,
                              double separator = -1.0);

}  // namespace wsd
