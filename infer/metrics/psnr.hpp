#pragma once

#include <torch/types.h>

namespace wsd {

// Peak signal-to-noise ratio per image (dB) of batches [N, C, H, W] in [-1, 1] image units.
// Both are mapped to [0, 1] by (x + 1) / 2 and clamped, so the data range is 1.
torch::Tensor psnr(const torch::Tensor& estimate, const torch::Tensor& reference);

}  // namespace wsd
