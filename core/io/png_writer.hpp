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
  // One per image (empty strings for none): drawn in the tile's lower left corner, white on
  // black, e.g. a reconstruction's PSNR.
  std::vector<std::string> tile_labels;
  // A line below the grid saying how to read it (e.g. the intensity scale).
  std::string caption;
  static constexpr int64_t kReadableTile = 96;
  static constexpr int64_t kTextScale = 2;  // labels are drawn at twice the font's size
};

// Writes a batch [N, C, H, W] of images in [-1, 1] (C = 1 or 3) as one PNG grid with mid-grey
// one-pixel separators (visible against dark backgrounds), optional column labels, tile labels
// and a caption. Values are clamped. Automatic magnification makes the tiles wide enough for
// every column label at twice the font's size.
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
