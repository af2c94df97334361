#pragma once

#include <torch/types.h>

#include <string>

namespace wsd {

// Writes a batch [N, C, H, W] of images in [-1, 1] (C = 1 or 3) as one PNG grid with a
// one-pixel separator; `columns` = 0 picks a near-square layout. Values are clamped.
void write_image_grid(const torch::Tensor& images, const std::string& path, int64_t columns = 0);

// Arranges the batch as a grid image [C, rows*(H+1)+1, cols*(W+1)+1] in [-1, 1] (separator -1).
torch::Tensor make_image_grid(const torch::Tensor& images, int64_t columns = 0);

}  // namespace wsd
