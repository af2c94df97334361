#pragma once

#include <torch/types.h>

#include <string>

namespace wsd {

// What an image file's header says, without decoding the pixels.
struct ImageInfo {
  bool ok = false;
  int width = 0, height = 0, channels = 0;  // channels as stored: 1 gray .. 4 RGBA
  std::string error;                        // why it is not readable, when !ok
};
ImageInfo probe_image(const std::string& path);

// Decodes a PNG/JPEG/BMP/TGA/PNM file into [C, H, W] float32 in [-1, 1] with C = 1 (gray,
// gray + alpha) or 3 (RGB, RGBA); alpha is dropped. Throws BadSampleError naming the file.
torch::Tensor decode_image(const std::string& path);

}  // namespace wsd
