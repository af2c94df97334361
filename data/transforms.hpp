#pragma once

#include <torch/types.h>

namespace wsd {

// Brings an image [C, H, W] in [-1, 1] to size x size: centred zero-valued (-1, i.e. black)
// padding when smaller (28 -> 32 for MNIST-like data keeps every pixel), centre crop when larger.
torch::Tensor fit_to_size(const torch::Tensor& image, int64_t size);

// Converts between gray and RGB: gray is repeated, RGB is averaged.
torch::Tensor to_channels(const torch::Tensor& image, int64_t channels);

}  // namespace wsd
