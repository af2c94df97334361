#pragma once

// The frames `wsdiff noise fit` estimates a noise spectrum from, in the project's image units
// ([-1, 1] images): an HDF5 array or a folder of image files.

#include <torch/types.h>

#include <string>

namespace wsd {

struct NoiseFrames {
  torch::Tensor frames;  // float64 [N, H, W], image units
  std::string units;     // how the stored values were converted, for the report
};

// `path` is an HDF5 file whose `dataset` is [N, H, W] or [N, 1, H, W], uint8 (0..255 mapped to
// [-1, 1] as p / 127.5 - 1, as the data readers do) or float (taken as already in image units);
// or a folder of gray PNG/JPEG/BMP/TGA/PGM/PPM files (8-bit, mapped the same way), all of one
// size, read in sorted path order. Every problem is one InputError naming the file: a missing
// path, an array of another rank or dtype, an RGB image, frames of mixed sizes.
NoiseFrames read_noise_frames(const std::string& path, const std::string& dataset);

}  // namespace wsd
