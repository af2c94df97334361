#pragma once

#include <torch/types.h>

#include <cstdint>

#include "core/config/config_enums.hpp"

namespace wsd {

// Brings an image [C, H, W] in [-1, 1] to size x size: centred padding with -1 (black) when
// smaller (28 -> 32 for MNIST-like data keeps every pixel), centre crop when larger.
torch::Tensor fit_to_size(const torch::Tensor& image, int64_t size);

// Scales the shorter side to `size` (antialiased bilinear, so values stay in [-1, 1]) and
// centre-crops the longer one.
torch::Tensor resize_to_size(const torch::Tensor& image, int64_t size);

// Pads smaller axes like fit_to_size and cuts a size x size window at a position drawn from
// `bits` from larger ones.
torch::Tensor random_crop(const torch::Tensor& image, int64_t size, uint64_t bits);

// Converts between gray and RGB: gray is repeated, RGB is averaged.
torch::Tensor to_channels(const torch::Tensor& image, int64_t channels);

// uint8 pixels 0..255 -> float32 in [-1, 1], the units of every noise level in a config.
torch::Tensor bytes_to_unit_range(const torch::Tensor& bytes);

// What the loader does to every sample, in this order: channels, fit to size, flip.
struct TransformOptions {
  int64_t size = 32;
  int64_t channels = 1;
  DataFit fit = DataFit::kCenter;
  bool random_flip = false;
};

// `key` is the sample's random bits (sample_key of seed, epoch, index). Throws BadSampleError
// (without a file name; the caller adds it) for an image that fit none cannot accept.
torch::Tensor transform_sample(const torch::Tensor& image, const TransformOptions& options,
                               uint64_t key);

}  // namespace wsd
